package cli

import (
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
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/idtrace/idtrace/internal/browser"
)

// uiChromium finds Chromium for the live-viewer test: it fails under
// CI=true (test.sh installs Chromium) and skips otherwise.
func uiChromium(t *testing.T) string {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (required when CI=true; test.sh installs it)")
	}
	t.Skip("chromium not found")
	return ""
}

// TestCaptureUIGridGrowsLive runs `idtrace capture --ui --no-open` in proxy
// mode, opens the printed URL in headless Chromium, sends requests through
// the proxy in two batches and waits for the grid's row count to reach the
// number sent after each, without the page being reloaded.
func TestCaptureUIGridGrowsLive(t *testing.T) {
	chrome := uiChromium(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "live.har")
	plain := httptest.NewServer(idp())
	defer plain.Close()
	capture := startCapture(t, out, "--ui", "--no-open", "--no-analyze")
	addr := capture.Addr
	viewer := capture.ViewerURL(t)

	// Without the token the viewer refuses, as `idtrace view` does.
	u, _ := url.Parse(viewer)
	resp, err := http.Get("http://" + u.Host + "/api/info")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("/api/info without the token: status %d, want 403", resp.StatusCode)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelC := chromedp.NewContext(actx)
	defer cancelC()
	bctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
	defer cancelT()
	waitRows := func(what string, n int) {
		t.Helper()
		expr := fmt.Sprintf(`document.getElementById('grid') !== null && document.getElementById('grid').getAttribute('aria-rowcount') === '%d' && document.querySelectorAll('#grid .row').length === %d`, n, n)
		if _, err := chromedp.Run(bctx, chromedp.Poll[any](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			rc, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`String(document.getElementById('grid') && document.getElementById('grid').getAttribute('aria-rowcount'))`))
			t.Fatalf("%s: the grid did not reach %d rows (aria-rowcount %q): %v", what, n, rc, err)
		}
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(viewer)); err != nil {
		t.Fatalf("open the viewer: %v", err)
	}
	waitRows("empty capture", 0)
	// A mark the page keeps only if it is not reloaded.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[int](`window.idtraceMark = 1`)); err != nil {
		t.Fatal(err)
	}

	pu, _ := url.Parse("http://" + addr)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}, Timeout: 10 * time.Second}
	sent := 0
	send := func(k int) {
		for i := 0; i < k; i++ {
			resp, err := client.Get(fmt.Sprintf("%s/page/%d", plain.URL, sent))
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			sent++
		}
	}
	send(5)
	waitRows("first batch", sent)
	send(12)
	waitRows("second batch", sent)
	// A refused token request: its finding reaches the page's summary live.
	form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}, "refresh_token": {"not-a-token"}}
	resp, err = client.PostForm(plain.URL+"/organizations/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	sent++
	waitRows("token request", sent)
	if _, err := chromedp.Run(bctx, chromedp.Poll[any](`/\b[1-9]\d* findings?\b/.test(document.getElementById('summary').textContent)`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		sum, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('summary').textContent`))
		t.Fatalf("the AADSTS50076 finding did not reach the page's summary %q: %v", sum, err)
	}
	codes, err := chromedp.Run(bctx, chromedp.Evaluate[string](`fetch('/api/report').then(r => r.json()).then(r => r.findings.map(f => f.code).join(','))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(codes, "50076") {
		t.Fatalf("the live report's findings %q do not name AADSTS50076", codes)
	}
	mark, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.idtraceMark === 1`))
	if err != nil {
		t.Fatal(err)
	}
	if !mark {
		t.Fatal("the page was reloaded: the grid must grow in place")
	}
	last, err := chromedp.Run(bctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#grid .row')].pop().textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(last, "/organizations/oauth2/v2.0/token") {
		t.Fatalf("the last row does not show the last request (the token request): %q", last)
	}

	if exit := capture.Stop(); exit != 0 {
		t.Fatalf("capture exit %d: %s", exit, capture.ErrOut.String())
	}
	_, flows := readAll(t, out)
	if len(flows) != sent {
		t.Fatalf("%s holds %d requests, want %d", out, len(flows), sent)
	}
	// The viewer stopped with the capture.
	if resp, err := http.Get("http://" + u.Host + "/"); err == nil {
		resp.Body.Close()
		t.Fatal("the viewer still answers after the capture ended")
	}
}

func TestCaptureUIFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"capture", "-o", "x.har", "--no-open"},
		{"capture", "-o", "x.har", "--ui-addr", "127.0.0.1:9999"},
		{"capture", "-o", "x.har", "--ui", "--ui-addr", "0.0.0.0:9999"},
		{"capture", "-o", "x.har", "--ui", "--ui-addr", "nonsense"},
	} {
		code, _, stderr := run(t, "", args...)
		if code != 2 {
			t.Fatalf("%v: exit %d, want 2 (usage); stderr %q", args, code, stderr)
		}
		if !strings.Contains(stderr, "--no-open") && !strings.Contains(stderr, "--ui-addr") {
			t.Fatalf("%v: the error does not name the flag: %q", args, stderr)
		}
	}
}

// TestCaptureUIBrowserMode runs `idtrace capture --browser --headless --ui`
// on a local page and reads the viewer's API (with the token from the
// printed URL) while the capture still runs: the page's requests are there.
func TestCaptureUIBrowserMode(t *testing.T) {
	uiChromium(t)
	if _, err := browser.Find(os.Getenv("IDTRACE_BROWSER")); err != nil {
		t.Fatalf("chromium is on PATH but the capture cannot find it: %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<!doctype html><title>p</title><script>fetch('/api/a').then(() => fetch('/api/b'))</script>`)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{}`)
		}
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "b.har")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, errOut syncBuffer
	done := make(chan int, 1)
	exit := -1
	defer func() {
		if exit < 0 {
			cancel()
			<-done
		}
	}()
	go func() {
		done <- Main(ctx, []string{"capture", "--browser", "--headless", "--url", srv.URL + "/", "--timeout", "60s", "-o", out, "--ui", "--no-open", "--quiet"},
			Env{IO: IOStreams{In: strings.NewReader(""), Out: &stdout, ErrOut: &errOut}, Getenv: os.Getenv})
	}()
	urlRE := regexp.MustCompile(`http://127\.0\.0\.1:\d+/\?token=([0-9a-f]+)`)
	var m []string
	for i := 0; i < 200 && m == nil; i++ {
		if m = urlRE.FindStringSubmatch(stdout.String()); m == nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if m == nil {
		t.Fatalf("no viewer URL on stdout; stdout %q, stderr:\n%s", stdout.String(), errOut.String())
	}
	u, _ := url.Parse(m[0])
	paths := func() string {
		req, _ := http.NewRequest("GET", "http://"+u.Host+"/api/flows?limit=100", nil)
		req.Header.Set("X-Idtrace-Token", m[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("/api/flows: %d %s", resp.StatusCode, b)
		}
		return string(b)
	}
	// A request is reported once its ExtraInfo events are in (or after a
	// short wait), so the three may arrive in any order.
	missing := func(got string) string {
		for _, p := range []string{"/", "/api/a", "/api/b"} {
			if !strings.Contains(got, `"`+srv.URL+p+`"`) {
				return p
			}
		}
		return ""
	}
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = paths(); missing(got) == "" {
			break
		}
	}
	if p := missing(got); p != "" {
		t.Fatalf("the viewer does not list %s while the capture runs; /api/flows: %.2000s", p, got)
	}
	cancel()
	if exit = <-done; exit != 0 {
		t.Fatalf("capture exit %d: %s", exit, errOut.String())
	}
}
