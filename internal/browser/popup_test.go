package browser

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

// popupRuns is how many pop-ups the opener page opens one after the other:
// the first document request of a pop-up used to race the recorder's
// attachment, so one success proves little.
const popupRuns = 20

// popupIdle ends the pop-up captures: between two pop-ups nothing is in
// flight for a moment, longer on a loaded machine.
const popupIdle = 5 * time.Second

// popupSite is the MSAL.js loginPopup pattern: the opener opens a window on
// /authorize, which answers 302 to /login; /login sets a cookie and posts a
// form back to /callback, whose page tells the opener and closes itself.
// After popupRuns pop-ups with an opener, one more opens with noopener (as
// target=_blank does), and the page fetches /done once its callback came.
func popupSite() http.Handler {
	var mu sync.Mutex
	called := map[string]bool{}
	mux := http.NewServeMux()
	mux.HandleFunc("/opener", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>opener</title><script>
(async () => {
  for (let i = 0; i < %d; i++) {
    const got = new Promise(res => window.addEventListener('message', function h(e) {
      if (e.data === 'done ' + i) { window.removeEventListener('message', h); res(); }
    }));
    const w = window.open('/authorize?i=' + i, 'signin', 'width=400,height=400');
    await got;
    while (!w.closed) await new Promise(res => setTimeout(res, 20));
  }
  window.open('/authorize?i=noopener', '_blank', 'noopener');
  for (;;) {
    const r = await fetch('/called?i=noopener');
    if (await r.text() === 'yes') break;
    await new Promise(res => setTimeout(res, 100));
  }
  await fetch('/done');
})();
</script>`, popupRuns)
	})
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/login?i="+r.URL.Query().Get("i"), http.StatusFound)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		i := r.URL.Query().Get("i")
		http.SetCookie(w, &http.Cookie{Name: "popstate", Value: "s" + i, Path: "/"})
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>login</title>
<form id=f method=post action="/callback?i=%s"><input name=code value="code-%s"><input name=state value="st"></form>
<script>document.getElementById('f').submit()</script>`, i, i)
	})
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		i := r.URL.Query().Get("i")
		r.ParseForm()
		c, err := r.Cookie("popstate")
		ok := err == nil && c.Value == "s"+i && r.PostForm.Get("code") == "code-"+i
		mu.Lock()
		called[i] = true
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>callback</title><p>%v</p>
<script>if (window.opener) window.opener.postMessage('done %s', '*'); setTimeout(() => window.close(), 300)</script>`, ok, i)
	})
	mux.HandleFunc("/called", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if called[r.URL.Query().Get("i")] {
			io.WriteString(w, "yes")
			return
		}
		io.WriteString(w, "no")
	})
	mux.HandleFunc("/done", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	return mux
}

// TestPopupFirstRequest checks that each pop-up's first document request,
// its redirect and the form it posts back are recorded, for every one of
// popupRuns pop-ups and a noopener window.
func TestPopupFirstRequest(t *testing.T) {
	exe := needBrowser(t)
	srv := httptest.NewServer(popupSite())
	defer srv.Close()
	rec := capture(t, exe, srv.URL+"/opener", popupIdle)
	checkPopups(t, rec)
}

// checkPopups checks the requests of every pop-up of popupSite.
func checkPopups(t *testing.T, rec *recorded) {
	t.Helper()
	one(t, rec, "/done")
	ids := []string{"noopener"}
	for i := range popupRuns {
		ids = append(ids, fmt.Sprint(i))
	}
	for _, i := range ids {
		auth := one(t, rec, "/authorize?i="+i)
		if auth.Response == nil || auth.Response.Status != 302 || !strings.HasSuffix(auth.Response.RedirectURL, "/login?i="+i) {
			t.Errorf("pop-up %s: /authorize: want a 302 to /login, got %+v", i, auth.Response)
			continue
		}
		if ext(t, auth, "_resourceType") != `"document"` {
			t.Errorf("pop-up %s: /authorize: _resourceType %s, want document", i, ext(t, auth, "_resourceType"))
		}
		login := one(t, rec, "/login?i="+i)
		if login.Response == nil || login.Response.Status != 200 || login.Response.Headers.Get("Set-Cookie") == "" {
			st, names := 0, []string{}
			if login.Response != nil {
				st = login.Response.Status
				for _, h := range login.Response.Headers {
					names = append(names, h.Name)
				}
			}
			t.Errorf("pop-up %s: /login: want a 200 setting a cookie; status %d, headers %v", i, st, names)
			continue
		}
		cb := one(t, rec, "/callback?i="+i)
		if cb.Request.Method != "POST" || string(cb.Request.Body) != "code=code-"+i+"&state=st" {
			t.Errorf("pop-up %s: /callback: method %s, %d body bytes: not the form as posted", i, cb.Request.Method, len(cb.Request.Body))
		}
		if !strings.Contains(cb.Request.Headers.Get("Cookie"), "popstate=") {
			t.Errorf("pop-up %s: /callback: the cookie set by /login is not among the request headers", i)
		}
		// The window closes itself soon after; a body not read by then is
		// marked omitted (a gap docs/capture.md names), never wrong.
		if cb.Response == nil || cb.Response.Status != 200 {
			t.Errorf("pop-up %s: /callback: no 200 response", i)
		} else if !cb.Response.BodyOmitted && !strings.Contains(string(cb.Response.Body), "<p>true</p>") {
			t.Errorf("pop-up %s: /callback: the server did not see the cookie and form", i)
		}
		if !(auth.ID < login.ID && login.ID < cb.ID) {
			t.Errorf("pop-up %s: flows out of order: /authorize %d, /login %d, /callback %d", i, auth.ID, login.ID, cb.ID)
		}
	}
}

// TestPopupFirstRequestAttached does the same with --attach: in a browser
// started apart with remote debugging, as a user does for their own
// profile.
func TestPopupFirstRequestAttached(t *testing.T) {
	exe := needBrowser(t)
	srv := httptest.NewServer(popupSite())
	defer srv.Close()
	profile := t.TempDir()
	args := []string{"--headless", "--disable-gpu", "--no-first-run", "--disable-popup-blocking", "--remote-debugging-port=0",
		"--user-data-dir=" + profile, "about:blank"}
	if os.Geteuid() == 0 {
		args = append(args, "--no-sandbox")
	}
	cmd := exec.Command(exe, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var port string
	for i := 0; i < 300 && port == ""; i++ {
		if b, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort")); err == nil {
			if f := strings.Fields(string(b)); len(f) == 2 {
				port = f[0]
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if port == "" {
		t.Fatal("the browser did not write DevToolsActivePort in 30 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := &recorded{}
	err := Capture(ctx, Options{
		Attach: port, URL: srv.URL + "/opener", Idle: popupIdle,
		OnFlow: func(f *trace.Flow) { rec.mu.Lock(); rec.flows = append(rec.flows, f); rec.mu.Unlock() },
		Logf:   t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the capture did not end by itself (idle) within 3 minutes")
	}
	checkPopups(t, rec)
	// The browser goes on after the capture, and holds no new window.
	if cmd.ProcessState != nil {
		t.Fatal("the attached browser exited with the capture")
	}
}
