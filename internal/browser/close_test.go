package browser

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/idtrace/idtrace/internal/trace"
)

// closingSite serves a page that opens a pop-up, which posts a form and
// closes itself; the page then fetches /done. /self-close is a page that
// closes its own window once its fetch has answered.
func closingSite() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!doctype html><title>page</title><script>
const w = window.open('/popup', 'signin', 'width=400,height=400');
(async () => {
  while (!w.closed) await new Promise(res => setTimeout(res, 50));
  await (await fetch('/done')).text();
})();
</script>`)
	})
	mux.HandleFunc("/popup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!doctype html><title>popup</title>
<form id=f method=post action="/popup-post"><input name=code value="c1"></form><script>document.getElementById('f').submit()</script>`)
	})
	mux.HandleFunc("/popup-post", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!doctype html><title>posted</title><script>fetch('/popup-api').then(r => r.text()).then(() => window.close())</script>`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	return mux
}

// TestCaptureEndsWhenWindowCloses closes the browser's last window as a
// user's click on its close button looks to the recorder (the page target
// goes away: Target.closeTarget), after a pop-up closed itself with
// window.close(): the capture returns by itself, with no idle timer and
// before its context ends, and every request was reported.
func TestCaptureEndsWhenWindowCloses(t *testing.T) {
	exe := needBrowser(t)
	// The window closes once /done has been recorded (closing it while a
	// request is in flight reports that request as interrupted).
	done := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(closingSite())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rec := &recorded{}
	err := Capture(ctx, Options{
		ExecPath: exe, Headless: true, URL: srv.URL + "/page",
		Flags: map[string]any{"disable-popup-blocking": true},
		OnFlow: func(f *trace.Flow) {
			rec.mu.Lock()
			rec.flows = append(rec.flows, f)
			rec.mu.Unlock()
			if f.Request.Path() == "/done" {
				once.Do(func() { close(done) })
			}
		},
		Logf: t.Logf,
		Drive: func(ctx context.Context) error {
			select {
			case <-done:
			case <-ctx.Done():
				return ctx.Err()
			}
			id := chromedp.FromContext(ctx).Target.TargetID
			_, err := chromedp.CallBrowser(ctx, target.CloseTarget, target.CloseTargetParams{TargetID: id})
			return err
		},
	})
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the capture went on after its last window closed, until its context ended")
	}
	for _, p := range []string{"/page", "/popup", "/popup-post", "/popup-api", "/done"} {
		f := one(t, rec, p)
		if f.Response == nil || f.Response.Status != 200 {
			t.Errorf("%s: want a 200 response, got error %q", p, f.Error)
		}
	}
}
