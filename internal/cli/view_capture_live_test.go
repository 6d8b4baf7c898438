package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/idtrace/idtrace/internal/browser"
	"github.com/idtrace/idtrace/internal/trace"
)

// TestCaptureUIIdentityLive: `idtrace capture --ui` in proxy mode while
// headless Chromium signs in through the proxy (code + PKCE against
// oidc-provider, tests/oidc). A second headless Chromium has the live
// viewer open on its identity view. While the capture still runs, and with
// no page reload, the view shows the sign-in with its sequence diagram and
// its ID token, first "not checked" (no keys yet), then "verified" once the
// browser has fetched the provider's JWKS through the proxy.
func TestCaptureUIIdentityLive(t *testing.T) {
	chrome := uiChromium(t)
	exe, err := browser.Find(os.Getenv("IDTRACE_BROWSER"))
	if err != nil {
		t.Fatalf("chromium is on PATH but the capture cannot find it: %v", err)
	}
	appURL, issuer := pkceSignInApp(t, "live")

	dir := t.TempDir()
	out := filepath.Join(dir, "live.har")
	capture := startCapture(t, out, "--ui", "--no-open", "--no-analyze")
	addr := capture.Addr
	viewer := capture.ViewerURL(t)

	// The viewer, in its own headless Chromium, on the identity view.
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.WindowSize(1400, 900), chromedp.UserDataDir(t.TempDir()))
	defer cancelA()
	vctx, cancelV := chromedp.NewContext(actx)
	defer cancelV()
	vctx, cancelT := context.WithTimeout(vctx, 120*time.Second)
	defer cancelT()
	if err := chromedp.Do(vctx, chromedp.Navigate(viewer), chromedp.WaitVisible(chromedp.ID(`tab-identity`)), chromedp.Click(chromedp.ID(`tab-identity`))); err != nil {
		t.Fatalf("open the viewer's identity view: %v", err)
	}
	if err := waitJS(vctx, `document.querySelector('#view-identity').textContent.includes('No OAuth2')`); err != nil {
		t.Fatalf("the identity view of the empty capture: %v", err)
	}
	if _, err := chromedp.Run(vctx, chromedp.Evaluate[int](`window.idtraceMark = 1`)); err != nil {
		t.Fatal(err)
	}
	viewerText := func() string {
		s, _ := chromedp.Run(vctx, chromedp.Evaluate[string](`document.querySelector('#view-identity').innerText`))
		return s
	}
	// The row of the ID token of the code sign-in, with its verdict.
	tokenRow := `[...document.querySelectorAll('#view-identity section.signin[data-result=success] svg.seq')].length > 0 &&
		[...document.querySelectorAll('#view-identity section.signin[data-result=success] tr.token-row')].some(r => r.textContent.includes('id_token') && r.dataset.verdict === %q)`

	var seen []*trace.Flow
	bctx, bcancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer bcancel()
	err = browser.Capture(bctx, browser.Options{
		ExecPath: exe, Headless: true, URL: appURL + "/", Idle: 2 * time.Second,
		Flags:  map[string]any{"proxy-server": "http://" + addr, "proxy-bypass-list": "<-loopback>"},
		OnFlow: func(f *trace.Flow) { seen = append(seen, f) },
		Drive: func(ctx context.Context) error {
			if err := waitJS(ctx, `document.querySelector('input[name=login]') !== null`); err != nil {
				return err
			}
			// The authorize request is in: the sign-in is drawn, still open.
			if err := waitJS(vctx, `document.querySelector('#view-identity section.signin[data-result=in_progress] svg.seq') !== null`); err != nil {
				return fmt.Errorf("the sign-in in progress is not drawn live: %v; the view shows:\n%s", err, viewerText())
			}
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "alice"),
				chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "alice-password-for-tests"),
				chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			); err != nil {
				return err
			}
			if err := waitJS(ctx, `document.querySelector('input[name=login]') === null && document.querySelector('button[type=submit]') !== null`); err != nil {
				return err
			}
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[type=submit]`))); err != nil {
				return err
			}
			if err := waitJS(ctx, `location.pathname === '/token'`); err != nil {
				return err
			}
			// The token response is in: the sign-in succeeded and its ID
			// token is listed; no key has been seen, so it is not checked.
			if err := waitJS(vctx, fmt.Sprintf(tokenRow, "not checked")); err != nil {
				return fmt.Errorf("the ID token is not shown live as not checked: %v; the view shows:\n%s", err, viewerText())
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(issuer+"/jwks")); err != nil {
				return err
			}
			// The JWKS went through the proxy: the same token is now verified.
			if err := waitJS(vctx, fmt.Sprintf(tokenRow, "verified")); err != nil {
				return fmt.Errorf("the ID token is not verified live after the JWKS: %v; the view shows:\n%s", err, viewerText())
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 5 {
		t.Fatalf("the browser recorded only %d requests", len(seen))
	}
	txt := viewerText()
	for _, want := range []string{"Sign-in 1: oidc authorization_code", "public-pkce", "✔ verified", "Live capture"} {
		if !strings.Contains(txt, want) {
			t.Fatalf("the live identity view lacks %q:\n%s", want, txt)
		}
	}
	// Tokens are shown by fingerprint, never whole.
	if m := regexp.MustCompile(`eyJ[A-Za-z0-9_-]{10,}\.`).FindString(txt); m != "" {
		t.Fatalf("the identity view shows a raw token (%.12s…)", m)
	}
	mark, err := chromedp.Run(vctx, chromedp.Evaluate[bool](`window.idtraceMark === 1`))
	if err != nil {
		t.Fatal(err)
	}
	if !mark {
		t.Fatal("the viewer page was reloaded: the identity view must grow in place")
	}
	os.MkdirAll(filepath.Join("..", "web", "testdata", "screens"), 0o755)
	if png, err := chromedp.Run(vctx, chromedp.FullScreenshot(100)); err == nil {
		os.WriteFile(filepath.Join("..", "web", "testdata", "screens", "capture-ui-identity-live.png"), png, 0o644)
	}
	if exit := capture.Stop(); exit != 0 {
		t.Fatalf("capture exit %d: %s", exit, capture.ErrOut.String())
	}
}
