package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/testutil"
)

// runCached runs idtrace with its index cache in dir.
func runCached(t testing.TB, dir string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := Env{IO: IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Getenv: func(k string) string {
		if k == "IDTRACE_CACHE_DIR" {
			return dir
		}
		return ""
	}}
	code := Main(context.Background(), args, env)
	return code, out.String(), errOut.String()
}

func TestDiffCommand(t *testing.T) {
	h := testutil.SharedDir(t, "har")
	a := filepath.Join(h, "bluecore_chrome_entra-sharepoint-login.har")
	b := filepath.Join(h, "cloudflare_scrubbed_google_oauth_chrome.har")
	cache := t.TempDir()
	code, out, errOut := runCached(t, cache, "diff", a, a)
	if code != 0 || !strings.Contains(out, "same: no difference") {
		t.Fatalf("diff of a file with itself: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, _ := runCached(t, cache, "diff", "--exit-code", a, a); code != 0 {
		t.Fatalf("--exit-code on identical traces: exit %d", code)
	}
	code, out, _ = runCached(t, cache, "diff", "--exit-code", a, b)
	if code != 3 || !strings.Contains(out, "only in left: sign-in 1") || !strings.Contains(out, "only in right: sign-in 1") {
		t.Fatalf("different traces: exit %d\n%s", code, out)
	}
	code, out, _ = runCached(t, cache, "diff", "--format", "json", a, b)
	if code != 0 || !strings.Contains(out, `"only_left"`) {
		t.Fatalf("json: exit %d %s", code, out)
	}
	dbs, _ := filepath.Glob(filepath.Join(cache, "*.db"))
	if len(dbs) != 2 {
		t.Fatalf("cache holds %d indexes, want 2 (one per distinct file): %v", len(dbs), dbs)
	}
	if code, _, errOut := runCached(t, cache, "diff", "--format", "yaml", a, b); code != 2 {
		t.Fatalf("bad --format: exit %d %s", code, errOut)
	}
	broken := filepath.Join(h, "mitmproxy_corrupted_brokenfile.har")
	code, _, errOut = runCached(t, cache, "diff", a, broken)
	if code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, "mitmproxy_corrupted_brokenfile.har") {
		t.Fatalf("malformed input: exit %d, stderr %q", code, errOut)
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "*.tmp-*")); len(left) != 0 {
		t.Fatalf("a failed build left %v", left)
	}
}

// view serves the page; a second open of the same file reuses its index.
func TestViewCommand(t *testing.T) {
	p := filepath.Join(testutil.SharedDir(t, "har"), "bluecore_chrome_entra-sharepoint-login.har")
	cache := t.TempDir()
	serve := func() (string, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		var out, errOut bytes.Buffer
		app := &App{IO: IOStreams{Out: &out, ErrOut: &errOut}, Ctx: ctx, Getenv: func(k string) string {
			if k == "IDTRACE_CACHE_DIR" {
				return cache
			}
			return ""
		}}
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- runView(app, &ViewOptions{Files: []string{p}, NoOpen: true, Addr: "127.0.0.1:0", Ready: func(u string) { ready <- u }})
		}()
		select {
		case u := <-ready:
			if !strings.Contains(out.String(), u) {
				t.Fatalf("the URL is not printed: %q", out.String())
			}
			return u, func() {
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("view: %v", err)
				}
			}
		case err := <-done:
			t.Fatalf("view ended: %v %s", err, errOut.String())
		case <-time.After(60 * time.Second):
			t.Fatal("view did not start")
		}
		return "", nil
	}
	u, stop := serve()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("app.js")) {
		t.Fatalf("page: %d", resp.StatusCode)
	}
	base := strings.Split(u, "/?")[0]
	resp, err = c.Get(base + "/api/info")
	if err != nil {
		t.Fatal(err)
	}
	info, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(info, []byte(`"flows":30`)) || !bytes.Contains(info, []byte(`"signins":1`)) {
		t.Fatalf("info %s", info)
	}
	stop()
	dbs, _ := filepath.Glob(filepath.Join(cache, "*.db"))
	if len(dbs) != 1 {
		t.Fatalf("cache: %v", dbs)
	}
	st1, _ := os.Stat(dbs[0])
	_, stop = serve()
	stop()
	st2, _ := os.Stat(dbs[0])
	if !st1.ModTime().Equal(st2.ModTime()) || st1.Size() != st2.Size() {
		t.Fatal("the second open rebuilt the index")
	}
	if code, _, errOut := runCached(t, cache, "view", "--addr", "0.0.0.0:0", p); code != 2 {
		t.Fatalf("--addr off loopback: exit %d %s", code, errOut)
	}
	if code, _, _ := runCached(t, cache, "view", p, p, p); code != 2 {
		t.Fatalf("three files: exit %d", code)
	}
}
