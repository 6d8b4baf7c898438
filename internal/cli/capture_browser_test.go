package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"

	"github.com/idtrace/idtrace/internal/browser"
)

// TestCaptureBrowserCommand runs `idtrace capture --browser --headless` on a
// local page and reads the HAR back: every request, its body, and the
// fields DevTools writes.
func TestCaptureBrowserCommand(t *testing.T) {
	if _, err := browser.Find(os.Getenv("IDTRACE_BROWSER")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a Chromium-based browser is required when CI=true: %v", err)
		}
		t.Skip(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			http.Redirect(w, r, "/page", http.StatusFound)
		case "/page":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<!doctype html><title>p</title><script>fetch('/api', {method: 'POST', body: 'client_id=abc&grant_type=refresh_token'}).then(r => r.text())</script>`)
		case "/api":
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Write(append([]byte(`{"echo":"`), append(b, `"}`...)...))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "b.har")
	code, _, stderr := run(t, "", "capture", "--browser", "--headless", "--url", srv.URL+"/", "--idle", "1500ms", "--timeout", "60s", "-o", out, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	_, flows := readAll(t, out)
	paths := map[string]int{}
	for _, f := range flows {
		paths[f.Request.Path()]++
	}
	for _, p := range []string{"/", "/page", "/api"} {
		if paths[p] != 1 {
			t.Fatalf("%s recorded %d times; all: %v", p, paths[p], paths)
		}
	}
	raw, _ := os.ReadFile(out)
	var doc struct {
		Log struct {
			Pages   []map[string]any `json:"pages"`
			Entries []struct {
				Request struct {
					URL      string `json:"url"`
					PostData struct {
						Text string `json:"text"`
					} `json:"postData"`
				} `json:"request"`
				Response map[string]any `json:"response"`
			} `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var generic struct {
		Log struct {
			Entries []map[string]any `json:"entries"`
		} `json:"log"`
	}
	json.Unmarshal(raw, &generic)
	for i, e := range doc.Log.Entries {
		g := generic.Log.Entries[i]
		for _, k := range []string{"_initiator", "_resourceType", "_priority"} {
			if g[k] == nil {
				t.Fatalf("entry %d (%s): no %s", i, e.Request.URL, k)
			}
		}
		if e.Response["_transferSize"] == nil {
			t.Fatalf("entry %d (%s): no response._transferSize", i, e.Request.URL)
		}
		if strings.HasSuffix(e.Request.URL, "/api") && e.Request.PostData.Text != "client_id=abc&grant_type=refresh_token" {
			t.Fatalf("/api: postData not recorded as sent")
		}
	}
	if len(doc.Log.Pages) == 0 {
		t.Fatal("no pages in the HAR")
	}
}

// TestCaptureBrowserEndsWhenWindowCloses runs `idtrace capture --browser`
// and, once the page has loaded, closes its window from a second DevTools
// client (found through the profile's DevToolsActivePort), which is what a
// user's closing the window looks like to the recorder: the command writes
// the HAR and exits 0 by itself, long before its --timeout and before the
// test's own context ends.
func TestCaptureBrowserEndsWhenWindowCloses(t *testing.T) {
	if _, err := browser.Find(os.Getenv("IDTRACE_BROWSER")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a Chromium-based browser is required when CI=true: %v", err)
		}
		t.Skip(err)
	}
	loaded := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<!doctype html><title>p</title><script>fetch('/api').then(r => r.text())</script>`)
		case "/api":
			io.WriteString(w, "answer")
			once.Do(func() { close(loaded) })
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "b.har")
	profile := browserProfileDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errOut syncBuffer
	env := Env{IO: IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut}, Getenv: func(string) string { return "" }}
	exit := make(chan int, 1)
	go func() {
		exit <- Main(ctx, []string{"capture", "--browser", "--headless", "--profile", profile, "--url", srv.URL + "/", "--timeout", "10m", "-o", out, "--quiet"}, env)
	}()
	select {
	case <-loaded:
	case code := <-exit:
		t.Fatalf("the capture ended (exit %d) before the page loaded: %s", code, errOut.String())
	case <-ctx.Done():
		t.Fatal("the page did not load")
	}
	// Chromium writes its DevTools port and path there once it listens.
	b, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
	lines := strings.Fields(string(b))
	if err != nil || len(lines) != 2 {
		t.Fatalf("DevToolsActivePort: %v (%d fields)", err, len(lines))
	}
	actx, acancel := remote.NewAllocator(ctx, "ws://127.0.0.1:"+lines[0]+lines[1], remote.NoModifyURL)
	defer acancel()
	cctx, ccancel := chromedp.NewContext(actx)
	defer ccancel()
	ts, err := chromedp.CallBrowser(cctx, target.GetTargets, target.GetTargetsParams{})
	if err != nil {
		t.Fatal(err)
	}
	closed := 0
	for _, ti := range ts.TargetInfos {
		if ti.Type == "page" && strings.HasPrefix(ti.URL, srv.URL) {
			if _, err := chromedp.CallBrowser(cctx, target.CloseTarget, target.CloseTargetParams{TargetID: ti.TargetID}); err != nil {
				t.Fatal(err)
			}
			closed++
		}
	}
	if closed != 1 {
		t.Fatalf("%d windows showed the page, want 1", closed)
	}
	var code int
	select {
	case code = <-exit:
	case <-ctx.Done():
		t.Fatal("the capture did not end when its window closed")
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	_, flows := readAll(t, out)
	paths := map[string]int{}
	for _, f := range flows {
		paths[f.Request.Path()]++
	}
	if paths["/"] != 1 || paths["/api"] != 1 {
		t.Fatalf("want / and /api once each in the HAR; got %v", paths)
	}
	if _, err := os.Stat(out + ".idtrace-journal"); !os.IsNotExist(err) {
		t.Fatalf("the journal is still there after the capture ended: %v", err)
	}
}

// browserProfileDir returns a new directory for a browser profile, removed
// when the test ends. The browser's helper processes may still write into a
// profile for a moment after a capture has ended (t.TempDir's cleanup then
// fails with "directory not empty"), so the removal is tried again for up to
// five seconds.
func browserProfileDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "idtrace-test-profile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if err := os.RemoveAll(dir); err == nil {
				return
			} else if time.Now().After(deadline) {
				t.Errorf("the browser profile of the test stays: %v", err)
				return
			}
		}
	})
	return dir
}
