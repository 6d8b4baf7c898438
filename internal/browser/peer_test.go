package browser

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// playwrightHAR records url with Playwright's HAR recorder (tests/playwright)
// and returns its flows, read with the project's HAR reader.
func playwrightHAR(t *testing.T, exe, url string) []*trace.Flow {
	t.Helper()
	dir := filepath.Join(testutil.Root(), "tests", "playwright")
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil || serr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("needs node and tests/playwright/node_modules (npm ci in tests/playwright): node %v, modules %v", err, serr)
		}
		t.Skip("node or tests/playwright/node_modules missing")
	}
	out := filepath.Join(t.TempDir(), "playwright.har")
	cmd := exec.Command(node, "record.mjs", url, out, "/done", "60000")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "IDTRACE_BROWSER="+exe)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("playwright: %v: %s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var flows []*trace.Flow
	for fl, err := range har.NewReader(f, out).Flows() {
		if err != nil {
			t.Fatal(err)
		}
		flows = append(flows, fl)
	}
	return flows
}

func key(f *trace.Flow) string {
	st := 0
	if f.Response != nil {
		st = f.Response.Status
	}
	return fmt.Sprintf("%s %s %d", f.Request.Method, f.Request.Path(), st)
}

// TestSameAsPlaywright records the local pages with idtrace and with
// Playwright's recordHar in the same browser build: the same requests
// (method, URL, status) and the same request and response bodies, apart
// from the differences docs/capture.md explains.
func TestSameAsPlaywright(t *testing.T) {
	exe := needBrowser(t)
	srv := httptest.NewServer(testutil.SignInSite())
	defer srv.Close()
	pw := playwrightHAR(t, exe, srv.URL+"/start")
	rec := capture(t, exe, srv.URL+"/start", 2*time.Second)

	// Explained differences (docs/capture.md): favicon requests depend on
	// timing; Chromium can fetch the service worker's script before the
	// worker's target is recorded (TestCaptureLocalPages checks it is
	// there at most once).
	skip := func(f *trace.Flow) bool {
		p := f.Request.Path()
		return p == "/favicon.ico" || p == "/sw.js"
	}
	ours := map[string]*trace.Flow{}
	for _, f := range rec.flows {
		if !skip(f) {
			ours[key(f)] = f
		}
	}
	theirs := map[string]*trace.Flow{}
	for _, f := range pw {
		if !skip(f) {
			theirs[key(f)] = f
		}
	}
	var missing, extra []string
	for k := range theirs {
		if ours[k] == nil {
			missing = append(missing, k)
		}
	}
	for k := range ours {
		if theirs[k] == nil {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("requests differ from Playwright's HAR:\n  only in Playwright's: %s\n  only in idtrace's: %s", strings.Join(missing, "; "), strings.Join(extra, "; "))
	}
	for k, p := range theirs {
		o := ours[k]
		if !bytes.Equal(o.Request.Body, p.Request.Body) {
			t.Errorf("%s: request body differs (%d bytes vs Playwright's %d)", k, len(o.Request.Body), len(p.Request.Body))
		}
		if o.Response != nil && p.Response != nil && len(p.Response.Body) > 0 && !bytes.Equal(o.Response.Body, p.Response.Body) {
			t.Errorf("%s: response body differs (%d bytes vs Playwright's %d)", k, len(o.Response.Body), len(p.Response.Body))
		}
	}
}

// TestPopupSameAsPlaywright records the pop-up sign-in pattern (popupSite)
// with idtrace and with Playwright's recordHar: every pop-up's first
// document request, its redirect and its form post are in both, with the
// same bodies.
func TestPopupSameAsPlaywright(t *testing.T) {
	exe := needBrowser(t)
	srvPW := httptest.NewServer(popupSite()) // each server remembers its callbacks
	defer srvPW.Close()
	pw := playwrightHAR(t, exe, srvPW.URL+"/opener")
	srv := httptest.NewServer(popupSite())
	defer srv.Close()
	rec := capture(t, exe, srv.URL+"/opener", popupIdle)

	count := func(flows []*trace.Flow) map[string]int {
		n := map[string]int{}
		for _, f := range flows {
			switch strings.SplitN(f.Request.Path(), "?", 2)[0] {
			case "/authorize", "/login", "/callback", "/opener", "/done":
				n[key(f)]++
			}
		}
		return n
	}
	ours, theirs := count(rec.flows), count(pw)
	if len(theirs) != 3*(popupRuns+1)+2 {
		t.Fatalf("Playwright recorded %d distinct pop-up requests, want %d", len(theirs), 3*(popupRuns+1)+2)
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
	for _, p := range pw {
		if p.Request.Method != "POST" {
			continue
		}
		for _, o := range rec.flows {
			if key(o) == key(p) && !bytes.Equal(o.Request.Body, p.Request.Body) {
				t.Errorf("%s: request body differs (%d bytes vs Playwright's %d)", key(p), len(o.Request.Body), len(p.Request.Body))
			}
		}
	}
}
