package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// needBrowser returns the browser to test with: a failure under CI=true
// when none is installed (test.sh installs Debian's chromium), a skip otherwise.
func needBrowser(t *testing.T) string {
	t.Helper()
	p, err := Find(os.Getenv("IDTRACE_BROWSER"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a Chromium-based browser is required when CI=true: %v", err)
		}
		t.Skipf("no browser: %v", err)
	}
	return p
}

// recorded collects the flows of a capture.
type recorded struct {
	mu    sync.Mutex
	flows []*trace.Flow
	pages []trace.Page
}

func (r *recorded) byPath(path string) []*trace.Flow {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*trace.Flow
	for _, f := range r.flows {
		if f.Request.Path() == path {
			out = append(out, f)
		}
	}
	return out
}

func capture(t *testing.T, exe, url string, idle time.Duration) *recorded {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rec := &recorded{}
	err := Capture(ctx, Options{
		ExecPath: exe, Headless: true, URL: url, Idle: idle,
		Flags:  map[string]any{"disable-popup-blocking": true},
		OnFlow: func(f *trace.Flow) { rec.mu.Lock(); rec.flows = append(rec.flows, f); rec.mu.Unlock() },
		OnPage: func(p trace.Page) { rec.mu.Lock(); rec.pages = append(rec.pages, p); rec.mu.Unlock() },
		Logf:   t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the capture did not end by itself (idle) within 3 minutes")
	}
	return rec
}

func one(t *testing.T, rec *recorded, path string) *trace.Flow {
	t.Helper()
	fs := rec.byPath(path)
	if len(fs) != 1 {
		var seen []string
		for _, f := range rec.flows {
			seen = append(seen, f.Request.Method+" "+f.Request.Path())
		}
		t.Fatalf("%s recorded %d times, want once; recorded: %s", path, len(fs), strings.Join(seen, ", "))
	}
	return fs[0]
}

func ext(t *testing.T, f *trace.Flow, name string) string {
	t.Helper()
	b := f.Extra.Get(name)
	if b == nil {
		t.Fatalf("flow %d (%s): no %s", f.ID, f.Request.Path(), name)
	}
	return string(b)
}

func TestCaptureLocalPages(t *testing.T) {
	exe := needBrowser(t)
	srv := httptest.NewServer(testutil.SignInSite())
	defer srv.Close()
	rec := capture(t, exe, srv.URL+"/start", 2*time.Second)

	// Redirects: each hop is its own flow with the Location it followed.
	start := one(t, rec, "/start")
	if start.Response == nil || start.Response.Status != 302 || !strings.HasSuffix(start.Response.RedirectURL, "/hop?x=1") {
		t.Fatalf("/start: want a 302 to /hop?x=1, got %+v", start.Response)
	}
	hop := one(t, rec, "/hop?x=1")
	if hop.Response == nil || hop.Response.Status != 303 || hop.ID <= start.ID {
		t.Fatalf("/hop: want a 303 recorded after /start")
	}
	// The POST form with its body.
	post := one(t, rec, "/post")
	if post.Request.Method != "POST" || string(post.Request.Body) != "user=alice%40example.test&code=abc123" {
		t.Fatalf("/post: method %s, body of %d bytes: not the form as sent", post.Request.Method, len(post.Request.Body))
	}
	if post.Response == nil || !bytes.Contains(post.Response.Body, []byte("got 37 bytes")) {
		t.Fatal("/post: the response body was not recorded")
	}
	if ext(t, post, "_resourceType") != `"document"` {
		t.Fatalf("/post: _resourceType %s, want document", ext(t, post, "_resourceType"))
	}
	// fetch with a JSON body, and its response.
	tok := one(t, rec, "/api/token")
	if !bytes.Contains(tok.Request.Body, []byte(`"grant":"code"`)) || !bytes.Contains(tok.Response.Body, []byte("access_token")) {
		t.Fatal("/api/token: fetch request or response body missing")
	}
	if ext(t, tok, "_resourceType") != `"fetch"` || !strings.Contains(ext(t, tok, "_initiator"), `"script"`) {
		t.Fatalf("/api/token: _resourceType %s, _initiator %s", ext(t, tok, "_resourceType"), ext(t, tok, "_initiator"))
	}
	ext(t, tok, "_priority")
	if tok.Response.Extra.Get("_transferSize") == nil {
		t.Fatal("/api/token: no _transferSize")
	}
	if tok.Timings.Wait < 0 || tok.Time <= 0 || tok.ServerAddr == "" {
		t.Fatalf("/api/token: timings %+v, time %v, server %q", tok.Timings, tok.Time, tok.ServerAddr)
	}
	xhr := one(t, rec, "/api/xhr?q=1")
	if string(xhr.Response.Body) != "xhr answer" || ext(t, xhr, "_resourceType") != `"xhr"` {
		t.Fatal("/api/xhr: body or type wrong")
	}
	// WebSocket frames both ways.
	ws := one(t, rec, "/ws")
	if ws.Response == nil || ws.Response.Status != 101 || len(ws.WebSocket) < 2 ||
		ws.WebSocket[0].Type != "send" || ws.WebSocket[0].Data != "hello ws" || ws.WebSocket[1].Data != "echo: hello ws" {
		t.Fatalf("/ws: handshake or messages missing: %d messages", len(ws.WebSocket))
	}
	// A large download, whole.
	big := one(t, rec, "/big")
	if len(big.Response.Body) != testutil.SignInSiteBigSize {
		t.Fatalf("/big: %d body bytes recorded, want %d", len(big.Response.Body), testutil.SignInSiteBigSize)
	}
	// The pop-up window's own fetch (its document request races the
	// attachment: see the package doc).
	pa := one(t, rec, "/popup-api")
	if string(pa.Response.Body) != "popup answer" {
		t.Fatal("/popup-api: response body missing")
	}
	// A response the service worker served. (The worker fetches its own
	// script in its own target, which is not recorded.)
	if f := rec.byPath("/sw-failed"); len(f) > 0 {
		t.Fatalf("service worker registration failed in the page: %s", f[0].Request.URL)
	}
	sw := one(t, rec, "/via-sw")
	if string(sw.Response.Body) != "from sw" || sw.Response.Extra.Get("_fetchedViaServiceWorker") == nil {
		t.Fatal("/via-sw: not recorded as served by the service worker")
	}
	// The worker's own requests: the fetch it makes to answer /via-sw-net,
	// recorded once and marked as the worker's, and its script (which
	// Chromium can fetch before the worker's target is recorded: at most
	// once, marked).
	if got := ext(t, one(t, rec, "/sw-net"), "_workerType"); got != `"service_worker"` {
		t.Errorf("/sw-net: _workerType %s, want service_worker", got)
	}
	if fs := rec.byPath("/sw.js"); len(fs) > 1 {
		t.Errorf("/sw.js recorded %d times", len(fs))
	} else if len(fs) == 1 && ext(t, fs[0], "_workerType") != `"service_worker"` {
		t.Errorf("/sw.js: _workerType %s, want service_worker", ext(t, fs[0], "_workerType"))
	}
	if f := one(t, rec, "/sw-net"); f.Response == nil || string(f.Response.Body) != "fetched by the worker" {
		t.Error("/sw-net: the worker's fetch is recorded without its response body")
	}
	if f := one(t, rec, "/via-sw-net"); f.Response == nil || string(f.Response.Body) != "fetched by the worker" || f.Response.Extra.Get("_fetchedViaServiceWorker") == nil {
		t.Error("/via-sw-net: not recorded as the worker's answer to the page")
	}
	one(t, rec, "/done")
	// Every flow has a request and a response or an error, never both; IDs unique.
	seen := map[int]bool{}
	for _, f := range rec.flows {
		if seen[f.ID] {
			t.Fatalf("flow ID %d reported twice", f.ID)
		}
		seen[f.ID] = true
		if (f.Response == nil) == (f.Error == "") {
			t.Fatalf("flow %d (%s): response %v and error %q: want exactly one", f.ID, f.Request.URL, f.Response != nil, f.Error)
		}
	}
	// Pages with load timings.
	for _, f := range rec.flows {
		if f.Response != nil && f.Response.BodyOmitted {
			t.Fatalf("flow %d (%s): body not recorded", f.ID, f.Request.Path())
		}
	}
	if len(rec.pages) < 2 {
		t.Fatalf("%d pages recorded, want the form and the posted page at least", len(rec.pages))
	}
	loaded := 0
	for _, p := range rec.pages {
		if p.OnLoad > 0 {
			loaded++
		}
	}
	if loaded == 0 {
		t.Fatal("no page has an onLoad timing")
	}
	b, _ := json.Marshal(rec.pages)
	t.Logf("pages: %s", b)
}
