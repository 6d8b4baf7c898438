package browser

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

// iframeSite is the silent-iframe pattern of MSAL.js (ssoSilent,
// acquireTokenSilent) with the iframe on another site: /top?n=1, served on
// 127.0.0.1, embeds /frame?n=1 from localhost (another site, so Chromium
// runs it in a process of its own), and opens a window on /top?n=2, which
// embeds /frame?n=2 the same way. Each iframe page loads a script, makes a
// fetch POST and an XHR, and posts a form to /frame/post, whose page
// fetches /frame/done. The first page fetches /done once both iframes
// posted their forms.
func iframeSite(other func() string) http.Handler {
	var mu sync.Mutex
	posted := map[string]bool{}
	mux := http.NewServeMux()
	mux.HandleFunc("/top", func(w http.ResponseWriter, r *http.Request) {
		n := r.URL.Query().Get("n")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>top %s</title><iframe src="%s/frame?n=%s"></iframe>`, n, other(), n)
		if n == "1" {
			io.WriteString(w, `<script>
window.open('/top?n=2', 'second', 'width=400,height=400');
(async () => {
  for (;;) {
    const r = await fetch('/posted');
    if (await r.text() === 'yes') break;
    await new Promise(res => setTimeout(res, 100));
  }
  await fetch('/done');
})();
</script>`)
		}
	})
	mux.HandleFunc("/frame", func(w http.ResponseWriter, r *http.Request) {
		n := r.URL.Query().Get("n")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>frame %[1]s</title><script src="/frame/app.js?n=%[1]s"></script>
<form id=f method=post action="/frame/post?n=%[1]s"><input name=code value="frame-code-%[1]s"><input name=state value="s%[1]s"></form>
<script>
(async () => {
  const r = await fetch('/frame/api?n=%[1]s', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({frame: %[1]s})});
  await r.text();
  await new Promise(res => {
    const x = new XMLHttpRequest();
    x.open('GET', '/frame/xhr?n=%[1]s');
    x.onloadend = res;
    x.send();
  });
  document.getElementById('f').submit();
})();
</script>`, n)
	})
	mux.HandleFunc("/frame/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, "window.app = 'app %s';\n", r.URL.Query().Get("n"))
	})
	mux.HandleFunc("/frame/api", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"api":%q,"got":%d}`, r.URL.Query().Get("n"), len(b))
	})
	mux.HandleFunc("/frame/xhr", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "xhr %s", r.URL.Query().Get("n"))
	})
	mux.HandleFunc("/frame/post", func(w http.ResponseWriter, r *http.Request) {
		n := r.URL.Query().Get("n")
		r.ParseForm()
		mu.Lock()
		posted[n] = r.PostForm.Get("code") == "frame-code-"+n
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>posted %[1]s</title><p>posted %[1]s</p><script>fetch('/frame/done?n=%[1]s')</script>`, n)
	})
	mux.HandleFunc("/frame/done", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "frame done") })
	mux.HandleFunc("/posted", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if posted["1"] && posted["2"] {
			io.WriteString(w, "yes")
			return
		}
		io.WriteString(w, "no")
	})
	mux.HandleFunc("/done", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	return mux
}

// newIframeServer serves iframeSite on 127.0.0.1 and returns the first
// page's URL; the iframes come from the same server named localhost.
func newIframeServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(iframeSite(func() string {
		u, _ := url.Parse(srv.URL)
		return "http://localhost:" + u.Port()
	}))
	t.Cleanup(srv.Close)
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("the test server is not on 127.0.0.1: %s", srv.URL)
	}
	return srv, srv.URL + "/top?n=1"
}

// checkIframes checks that every request of both cross-site iframes of
// iframeSite (its document, script, fetch, XHR, form post and the posted
// page's fetch) is recorded once, with its bodies, and belongs to the page
// of the window that embeds it.
func checkIframes(t *testing.T, rec *recorded) {
	t.Helper()
	one(t, rec, "/done")
	for _, n := range []string{"1", "2"} {
		top := one(t, rec, "/top?n="+n)
		for _, c := range []struct {
			path, method, reqBody, respBody, kind string
		}{
			{"/frame?n=" + n, "GET", "", "<title>frame " + n + "</title>", "document"},
			{"/frame/app.js?n=" + n, "GET", "", "window.app = 'app " + n + "';", "script"},
			{"/frame/api?n=" + n, "POST", `{"frame":` + n + `}`, `{"api":"` + n + `","got":11}`, "fetch"},
			{"/frame/xhr?n=" + n, "GET", "", "xhr " + n, "xhr"},
			{"/frame/post?n=" + n, "POST", "code=frame-code-" + n + "&state=s" + n, "<p>posted " + n + "</p>", "document"},
			{"/frame/done?n=" + n, "GET", "", "frame done", "fetch"},
		} {
			f := one(t, rec, c.path)
			if f.Request.Method != c.method || string(f.Request.Body) != c.reqBody {
				t.Errorf("%s: method %s with %d body bytes, want %s with %d", c.path, f.Request.Method, len(f.Request.Body), c.method, len(c.reqBody))
			}
			if !strings.HasPrefix(f.Request.URL, "http://localhost:") {
				t.Errorf("%s: URL host is not localhost: %s", c.path, f.Request.URL)
			}
			if f.Response == nil || f.Response.Status != 200 {
				t.Errorf("%s: no 200 response (error %q)", c.path, f.Error)
				continue
			}
			if !strings.Contains(string(f.Response.Body), c.respBody) {
				t.Errorf("%s: response body (%d bytes, omitted %v) lacks what the server sent", c.path, len(f.Response.Body), f.Response.BodyOmitted)
			}
			if got := ext(t, f, "_resourceType"); got != `"`+c.kind+`"` {
				t.Errorf("%s: _resourceType %s, want %q", c.path, got, c.kind)
			}
			if f.PageRef == "" || f.PageRef != top.PageRef {
				t.Errorf("%s: pageref %q, want %q, the page of /top?n=%s", c.path, f.PageRef, top.PageRef, n)
			}
			if f.Timings.Wait < 0 || f.Time < 0 {
				t.Errorf("%s: no timings", c.path)
			}
		}
	}
}

// TestCrossSiteIframe records a page and a pop-up window that each embed
// an iframe from another site: every request made in the iframes is
// recorded once.
func TestCrossSiteIframe(t *testing.T) {
	exe := needBrowser(t)
	_, u := newIframeServer(t)
	rec := capture(t, exe, u, 3*time.Second)
	checkIframes(t, rec)
}

// startAttachable starts a headless browser with remote debugging, as a
// user does for --attach, and returns its DevTools port and process.
func startAttachable(t *testing.T, exe string) (string, *exec.Cmd) {
	t.Helper()
	// Not t.TempDir: the browser's helper processes can still write in
	// the profile for a moment after the browser is killed.
	profile, err := os.MkdirTemp("", "idtrace-attach-test-")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--headless", "--disable-gpu", "--no-first-run", "--disable-popup-blocking", "--remote-debugging-port=0",
		"--user-data-dir=" + profile, "about:blank"}
	if os.Geteuid() == 0 {
		args = append(args, "--no-sandbox")
	}
	cmd := exec.Command(exe, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("the test profile %s could not be removed", profile)
	})
	for range 300 {
		if b, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort")); err == nil {
			if f := strings.Fields(string(b)); len(f) == 2 {
				return f[0], cmd
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the browser did not write DevToolsActivePort in 30 s")
	return "", nil
}

// TestCrossSiteIframeAttached does the same with --attach.
func TestCrossSiteIframeAttached(t *testing.T) {
	exe := needBrowser(t)
	_, u := newIframeServer(t)
	port, cmd := startAttachable(t, exe)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := &recorded{}
	err := Capture(ctx, Options{
		Attach: port, URL: u, Idle: 3 * time.Second,
		OnFlow: func(f *trace.Flow) { rec.mu.Lock(); rec.flows = append(rec.flows, f); rec.mu.Unlock() },
		Logf:   t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the capture did not end by itself (idle) within 3 minutes")
	}
	checkIframes(t, rec)
	if cmd.ProcessState != nil {
		t.Fatal("the attached browser exited with the capture")
	}
}

// TestIframeSameAsPlaywright records iframeSite with idtrace and with
// Playwright's recordHar, the oracle: the same requests (method, URL path,
// status), each as many times, with the same request and response bodies.
// The /posted polls vary in number from run to run and are left out.
func TestIframeSameAsPlaywright(t *testing.T) {
	exe := needBrowser(t)
	_, pwURL := newIframeServer(t) // each server remembers its posted forms
	pw := playwrightHAR(t, exe, pwURL)
	_, u := newIframeServer(t)
	rec := capture(t, exe, u, 3*time.Second)

	count := func(flows []*trace.Flow) (map[string]int, map[string]*trace.Flow) {
		n, by := map[string]int{}, map[string]*trace.Flow{}
		for _, f := range flows {
			switch f.Request.Path() {
			case "/posted", "/favicon.ico":
				continue
			}
			n[key(f)]++
			by[key(f)] = f
		}
		return n, by
	}
	ours, ourFlows := count(rec.flows)
	theirs, theirFlows := count(pw)
	if len(theirs) != 2*7+1 {
		t.Fatalf("Playwright recorded %d distinct requests, want %d (the oracle did not see both iframes): %v", len(theirs), 2*7+1, theirs)
	}
	for k, n := range theirs {
		if ours[k] != n {
			t.Errorf("%s: idtrace recorded it %d times, Playwright %d", k, ours[k], n)
		}
	}
	for k := range ours {
		if theirs[k] == 0 {
			t.Errorf("%s: recorded by idtrace only", k)
		}
	}
	for k, p := range theirFlows {
		o := ourFlows[k]
		if o == nil {
			continue
		}
		if !bytes.Equal(o.Request.Body, p.Request.Body) {
			t.Errorf("%s: request body differs (%d bytes vs Playwright's %d)", k, len(o.Request.Body), len(p.Request.Body))
		}
		// The pages name their own server's port.
		if o.Response != nil && p.Response != nil && len(p.Response.Body) > 0 &&
			!bytes.Equal(anyPort.ReplaceAll(o.Response.Body, nil), anyPort.ReplaceAll(p.Response.Body, nil)) {
			t.Errorf("%s: response body differs (%d bytes vs Playwright's %d)", k, len(o.Response.Body), len(p.Response.Body))
		}
	}
}

var anyPort = regexp.MustCompile(`localhost:[0-9]+`)
