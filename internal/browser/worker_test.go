package browser

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestSharedWorker records a page whose shared worker fetches from the
// network: the worker's script and fetch are recorded once, the fetch with
// its bodies and marked as the shared worker's. (Before shared events were
// routed to the tab that saw a request first, the script's request stayed
// open on the page's session and the capture never went idle.)
func TestSharedWorker(t *testing.T) {
	exe := needBrowser(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<!doctype html><title>shared</title><script>
const w = new SharedWorker('/shared.js');
w.port.onmessage = e => fetch('/done?got=' + encodeURIComponent(e.data));
w.port.start();
w.port.postMessage('go');
</script>`)
	})
	mux.HandleFunc("/shared.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, `onconnect = e => {
  const port = e.ports[0];
  port.onmessage = async () => port.postMessage(await (await fetch('/shared-net', {method: 'POST', body: 'from the worker'})).text());
};`)
	})
	mux.HandleFunc("/shared-net", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "shared answer to %d bytes", len(b))
	})
	mux.HandleFunc("/done", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	rec := capture(t, exe, srv.URL+"/page", 3*time.Second)

	one(t, rec, "/done?got=shared%20answer%20to%2015%20bytes")
	// The worker's script: the page and the worker both report it (the
	// page its start, the worker its end); recorded once, whole.
	if s := one(t, rec, "/shared.js"); s.Response == nil || s.Response.Status != 200 || s.Error != "" {
		t.Errorf("/shared.js: no 200 response (error %q)", s.Error)
	}
	f := one(t, rec, "/shared-net")
	if got := ext(t, f, "_workerType"); got != `"shared_worker"` {
		t.Errorf("/shared-net: _workerType %s, want shared_worker", got)
	}
	if f.Request.Method != "POST" || string(f.Request.Body) != "from the worker" {
		t.Errorf("/shared-net: %s with %d body bytes, want the worker's POST", f.Request.Method, len(f.Request.Body))
	}
	if f.Response == nil || string(f.Response.Body) != "shared answer to 15 bytes" {
		t.Error("/shared-net: recorded without its response body")
	}
	if f.PageRef != "" {
		t.Errorf("/shared-net: pageref %q, want none (a worker serves every page of its origin)", f.PageRef)
	}
}
