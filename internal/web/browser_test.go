package web

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/idtrace/idtrace/internal/diff"
	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/index"
	"github.com/idtrace/idtrace/internal/trace"
)

// chromiumPath finds Chromium; without it the browser tests fail under
// CI=true (test.sh installs it) and are skipped otherwise.
func chromiumPath(t *testing.T) string {
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

// newBrowser starts headless Chromium with a fresh profile.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1500, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshotDir keeps the screenshots of the browser tests (gitignored).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := filepath.Join("testdata", "screens")
	os.MkdirAll(dir, 0o755)
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

func run(t *testing.T, ctx context.Context, what string, acts ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, acts...); err != nil {
		screenshot(t, ctx, "failed-"+strings.ReplaceAll(t.Name(), "/", "_"))
		t.Fatalf("%s: %v", what, err)
	}
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	p := chromedp.Poll[any](expr, chromedp.WithPollingTimeout(20*time.Second))
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := p(ctx, tg)
		if err != nil {
			err = fmt.Errorf("waiting for %s: %w", expr, err)
		}
		return chromedp.Void{}, err
	}
}

// text reads the text of the first node matching a CSS selector.
func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}

// writeHAR writes flows to a HAR file in dir.
func writeHAR(t *testing.T, dir, name string, flows []*trace.Flow, meta *trace.Meta) string {
	t.Helper()
	var buf bytes.Buffer
	w := har.NewWriter(&buf, meta)
	for _, f := range flows {
		if err := w.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(meta); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFlows(t *testing.T, path string) ([]*trace.Flow, *trace.Meta) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := har.NewReader(bytes.NewReader(b), filepath.Base(path))
	var out []*trace.Flow
	for f, err := range r.Flows() {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out, r.Meta()
}

// The grid shows exactly one row per flow, for samples of several browsers
// and tools, down to the last row.
func TestBrowserGridRowCount(t *testing.T) {
	ctx := newBrowser(t)
	for _, name := range []string{"bluecore_chrome_entra-sharepoint-login.har", "mitmproxy_full_edge.har", "mitmproxy_firefox.har", "nullmicgo_chrome_azure-portal_bearer.har", "h2o_kofax_fiddler-export.har"} {
		tr := loadTrace(t, sharedHAR(t, name))
		s := start(t, Options{Traces: []*Trace{tr}})
		n := tr.Index.Len()
		run(t, ctx, name, chromedp.Navigate(s.URL()),
			waitJS(fmt.Sprintf(`document.getElementById('grid').getAttribute('aria-rowcount') === '%d' && document.querySelectorAll('#grid .row').length > 0`, n)))
		// Go to the end with the keyboard: the last row is flow n.
		run(t, ctx, name+": End key", chromedp.Focus(chromedp.ID("grid")), chromedp.KeyEvent(kb.End),
			waitJS(fmt.Sprintf(`(() => { const r = document.querySelector('#grid .row.active'); return !!r && r.dataset.id === '%d'; })()`, n)))
		if last := text(t, ctx, "#grid .row.active .c-id"); last != fmt.Sprint(n) {
			t.Fatalf("%s: last row %q, want %d", name, last, n)
		}
		status := text(t, ctx, "#grid-status")
		if !strings.HasPrefix(status, fmt.Sprintf("%d of %d", n, n)) && !strings.HasPrefix(status, fmt.Sprintf("%s of %s", comma(n), comma(n))) {
			t.Fatalf("%s: status line %q, want %d of %d", name, status, n, n)
		}
	}
}

func comma(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Filter, open a flow, draw the sign-in, jump from a finding, export.
func TestBrowserInspectAndExport(t *testing.T) {
	ctx := newBrowser(t)
	p := sharedHAR(t, "bluecore_chrome_entra-sharepoint-login.har")
	tr := loadTrace(t, p)
	s := start(t, Options{Traces: []*Trace{tr}})
	want, err := tr.Index.Query(index.Query{Hosts: []string{"microsoftonline"}})
	if err != nil || want.Total == 0 || want.Total == 30 {
		t.Fatalf("expected count: %v %+v", err, want)
	}
	run(t, ctx, "load", chromedp.Navigate(s.URL()), waitJS(`document.querySelectorAll('#grid .row').length === 30`))
	// Every row, sign-in rows included, is drawn with its cells inside it.
	run(t, ctx, "rows drawn", waitJS(`document.querySelectorAll('#grid .row.in-signin').length > 0 && [...document.querySelectorAll('#grid .row')].every(r => {
		const b = r.getBoundingClientRect(), c = r.querySelector('.c-id').getBoundingClientRect();
		return b.height === 22 && c.height > 0 && c.top >= b.top - 0.5 && c.bottom <= b.bottom + 0.5; })`))
	screenshot(t, ctx, "grid")
	run(t, ctx, "filter by host", chromedp.SendKeys(chromedp.CSS(`input[name=host]`), "microsoftonline"),
		waitJS(fmt.Sprintf(`document.querySelectorAll('#grid .row').length === %d && document.getElementById('grid').getAttribute('aria-rowcount') === '%d'`, want.Total, want.Total)))
	// Keyboard only: focus the grid, move down, open.
	run(t, ctx, "open a flow by keyboard", chromedp.Focus(chromedp.ID("grid")), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter),
		waitJS(`(document.getElementById('insp-title')||{textContent:''}).textContent.includes('login.microsoftonline.com')`))
	screenshot(t, ctx, "filtered-inspector")
	// Export the filtered flows as HAR and read the file back.
	dl := t.TempDir()
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl}); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "export", chromedp.Click(chromedp.ID("export-har")))
	var files []string
	for i := 0; i < 100 && len(files) == 0; i++ {
		time.Sleep(100 * time.Millisecond)
		files, _ = filepath.Glob(filepath.Join(dl, "*.har"))
	}
	if len(files) != 1 {
		t.Fatalf("export: files %v", files)
	}
	got, _ := readFlows(t, files[0])
	if len(got) != want.Total {
		t.Fatalf("exported %d flows, the filter shows %d", len(got), want.Total)
	}
	// Identity view: the sequence diagram has a request and a response arrow per step.
	steps := len(tr.Report.Flows[0].Steps)
	run(t, ctx, "identity view", chromedp.Click(chromedp.ID("tab-identity")),
		waitJS(fmt.Sprintf(`document.querySelectorAll('svg.seq g.msg').length === %d`, 2*steps)),
		waitJS(`document.querySelectorAll('#view-identity .finding.error').length > 0`))
	screenshot(t, ctx, "identity")
	// A finding's flow button jumps to the flow in the grid.
	fl := tr.Report.Findings[0].FlowIDs[0]
	run(t, ctx, "jump from a finding", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#view-identity .finding button[data-flow="%d"]`, fl))),
		waitJS(fmt.Sprintf(`(() => { const r = document.querySelector('#grid .row.active'); return !!r && r.dataset.id === '%d' && !document.getElementById('view-sessions').hidden; })()`, fl)),
		waitJS(fmt.Sprintf(`(document.getElementById('insp-title')||{textContent:''}).textContent.startsWith('#%d ')`, fl)))
	// The theme switches.
	var before string
	before, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.dataset.theme`))
	run(t, ctx, "theme", chromedp.Click(chromedp.ID("theme")), waitJS(fmt.Sprintf(`document.documentElement.dataset.theme !== %q`, before)))
	screenshot(t, ctx, "theme-switched")
}

// A bearer token is decoded in place with its claims; it is shown
// shortened until the user reveals it.
func TestBrowserDecodedJWT(t *testing.T) {
	ctx := newBrowser(t)
	tr := loadTrace(t, sharedHAR(t, "nullmicgo_chrome_azure-portal_bearer.har"))
	s := start(t, Options{Traces: []*Trace{tr}})
	id := tr.Report.Tokens[0].FlowID
	hits, err := tr.Index.Query(index.Query{Text: "authorization"})
	if err != nil || hits.Total == 0 || hits.Total == tr.Index.Len() {
		t.Fatalf("search: %v, %d hits", err, hits.Total)
	}
	run(t, ctx, "load", chromedp.Navigate(s.URL()), waitJS(`document.querySelectorAll('#grid .row').length > 0`))
	run(t, ctx, "search", chromedp.SendKeys(chromedp.ID("q"), "authorization"),
		waitJS(fmt.Sprintf(`document.getElementById('grid-status').textContent.startsWith('%d of ')`, hits.Total)),
		waitJS(fmt.Sprintf(`!!document.querySelector('#grid .row[data-id="%d"]')`, id)),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#grid .row[data-id="%d"]`, id))),
		waitJS(`document.querySelectorAll('.token table.claims th').length > 5`))
	claims, display := text(t, ctx, ".token table.claims"), text(t, ctx, ".token .masked")
	for _, c := range []string{"aud", "iss", "tid", "exp"} {
		if !strings.Contains(claims, c) {
			t.Errorf("claim %s not shown", c)
		}
	}
	if !strings.Contains(display, "…[") {
		t.Fatal("the token is not shown shortened")
	}
	screenshot(t, ctx, "jwt")
}

// Two traces: the compare view shows the first difference and opens its flows.
func TestBrowserCompare(t *testing.T) {
	ctx := newBrowser(t)
	p := sharedHAR(t, "cloudflare_scrubbed_google_oauth_chrome.har")
	orig, meta := readFlows(t, p)
	flows, _ := readFlows(t, p)
	for _, f := range flows {
		if f.ID == 28 {
			f.Response.Status, f.Response.Reason = 500, "Internal Server Error"
		}
	}
	dir := t.TempDir()
	good := loadTrace(t, writeHAR(t, dir, "good.har", orig, meta))
	bad := loadTrace(t, writeHAR(t, dir, "bad.har", flows, meta))
	d, err := compareForTest(good, bad)
	if err != nil {
		t.Fatal(err)
	}
	s := start(t, Options{Traces: []*Trace{good, bad}, Diff: d})
	run(t, ctx, "load", chromedp.Navigate(s.URL()), waitJS(`!document.getElementById('tab-compare').hidden`),
		chromedp.Click(chromedp.ID("tab-compare")), waitJS(`!!document.querySelector('.pair.differs .first-diff')`))
	fd, l, r := text(t, ctx, ".pair.differs .first-diff"), text(t, ctx, ".pair.differs .diffval .left"), text(t, ctx, ".pair.differs .diffval .right")
	if !strings.Contains(fd, "status") || l != "302" || r != "500" {
		t.Fatalf("first difference %q: %q vs %q", fd, l, r)
	}
	screenshot(t, ctx, "compare")
	run(t, ctx, "open the right flow", chromedp.Click(chromedp.Search(`//button[contains(., 'Open right flow')]`)),
		waitJS(`document.getElementById('trace').value === '1'`),
		waitJS(`(document.getElementById('insp-title')||{textContent:''}).textContent.startsWith('#28 ')`),
		waitJS(`(document.querySelector('#grid .row.active .c-st')||{textContent:''}).textContent === '✖ 500'`))
	screenshot(t, ctx, "compare-opened")
}

func compareForTest(a, b *Trace) (*diff.Result, error) {
	return diff.Compare(diff.Side{Name: a.Name, Report: a.Report, Flow: a.Index.Flow}, diff.Side{Name: b.Name, Report: b.Report, Flow: b.Index.Flow})
}

// At 1400 px (and narrower) the grid's header stays inside its pane: the
// last column ("Comments") ends before the inspector starts, and each
// header cell lines up with the cells of the rows below it, also after
// the rows are scrolled sideways.
func TestBrowserGridHeaderFits(t *testing.T) {
	ctx := newBrowser(t)
	tr := loadTrace(t, sharedHAR(t, "bluecore_chrome_entra-sharepoint-login.har"))
	s := start(t, Options{Traces: []*Trace{tr}})
	fits := `(() => {
		const h = document.querySelector('.grid-head .c-cm').getBoundingClientRect();
		const wrap = document.querySelector('.gridwrap').getBoundingClientRect();
		const insp = document.getElementById('inspector').getBoundingClientRect();
		const heads = [...document.querySelectorAll('.grid-head span')].map(x => x.getBoundingClientRect());
		const cells = [...document.querySelector('#grid .row').children].map(x => x.getBoundingClientRect());
		const aligned = heads.every((b, i) => Math.abs(b.left - cells[i].left) < 1);
		const visible = h.right <= wrap.right + 0.5 ? h.right <= insp.left : true;
		return wrap.right <= insp.left && aligned && visible && document.elementFromPoint(insp.left + 2, h.top + h.height / 2).closest('#inspector') !== null;
	})()`
	for _, w := range []int64{1400, 1100, 900} {
		run(t, ctx, fmt.Sprintf("width %d", w), chromedp.EmulateViewport(w, 900), chromedp.Navigate(s.URL()),
			waitJS(`document.querySelectorAll('#grid .row').length === 30`))
		run(t, ctx, fmt.Sprintf("header fits at %d px", w), waitJS(fits))
		screenshot(t, ctx, fmt.Sprintf("grid-%dpx", w))
		// Scrolled sideways, the header follows the rows.
		run(t, ctx, fmt.Sprintf("scrolled sideways at %d px", w), chromedp.Evaluate[chromedp.Void](`document.getElementById('grid').scrollLeft = 200`), waitJS(fits))
	}
}
