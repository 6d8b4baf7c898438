package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/browser"
	"github.com/idtrace/idtrace/internal/trace"
)

func waitJS(ctx context.Context, expr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s: not true after 30 s", expr)
}

// TestCaptureProxySignInWithChromium: headless Chromium goes through
// `idtrace capture` (the proxy) and signs in with code + PKCE against
// oidc-provider. The SAZ and the HAR written hold every request the browser
// made, and the findings printed live are those of analyze on the file.
func TestCaptureProxySignInWithChromium(t *testing.T) {
	exe, err := browser.Find(os.Getenv("IDTRACE_BROWSER"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a Chromium-based browser is required when CI=true: %v", err)
		}
		t.Skip(err)
	}
	appURL, issuer := pkceSignInApp(t, "proxy")

	for _, ext := range []string{"saz", "har"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "signin."+ext)
			addr := freeAddr(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var errOut syncBuffer
			done := make(chan int, 1)
			exit := -1
			defer func() {
				if exit < 0 {
					cancel()
					<-done
				}
			}()
			go func() {
				done <- Main(ctx, []string{"capture", "-o", out, "--listen", addr, "--ca-dir", filepath.Join(dir, "ca"), "--analyze"},
					Env{IO: IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut}, Getenv: func(string) string { return "" }})
			}()
			for i := 0; i < 100; i++ {
				if c, err := net.Dial("tcp", addr); err == nil {
					c.Close()
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			// The browser's own view of its requests, to check the proxy's against.
			var seen []*trace.Flow
			bctx, bcancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer bcancel()
			err := browser.Capture(bctx, browser.Options{
				ExecPath: exe, Headless: true, URL: appURL + "/", Idle: 2 * time.Second,
				Flags:  map[string]any{"proxy-server": "http://" + addr, "proxy-bypass-list": "<-loopback>"},
				OnFlow: func(f *trace.Flow) { seen = append(seen, f) },
				Drive: func(ctx context.Context) error {
					if err := waitJS(ctx, `document.querySelector('input[name=login]') !== null`); err != nil {
						return err
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
					return chromedp.Do(ctx, chromedp.Navigate(issuer+"/jwks"))
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			if exit = <-done; exit != 0 {
				t.Fatalf("capture exit %d: %s", exit, errOut.String())
			}
			_, flows := readAll(t, out)
			if len(seen) < 5 {
				t.Fatalf("the browser recorded only %d requests", len(seen))
			}
			inFile := map[string]int{}
			for _, f := range flows {
				inFile[f.Request.Method+" "+f.Request.URL]++
			}
			for _, f := range seen {
				if f.Error != "" || strings.HasSuffix(f.Request.URL, "/favicon.ico") {
					continue
				}
				k := f.Request.Method + " " + f.Request.URL
				if inFile[k] == 0 {
					t.Fatalf("the browser made %s but %s does not hold it (%d flows)", k, out, len(flows))
				}
				inFile[k]--
			}
			app2 := &App{IO: IOStreams{In: strings.NewReader("")}, Getenv: func(string) string { return "" }, Ctx: context.Background()}
			src, c, err := openTrace(app2, out, traceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := analyze.Run(src, analyze.Options{})
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
			ok := false
			for _, s := range rep.Flows {
				if s.Grant == "authorization_code" && s.Result == analyze.ResultSuccess && s.ClientID == "public-pkce" {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("analyze on %s finds no successful code sign-in", out)
			}
			var want, got []string
			for _, f := range rep.Findings {
				want = append(want, f.Code)
			}
			for _, m := range regexp.MustCompile(`(?m)^idtrace: \[\w+\] (\S+)`).FindAllStringSubmatch(errOut.String(), -1) {
				got = append(got, m[1])
			}
			sort.Strings(want)
			sort.Strings(got)
			if strings.Join(want, ",") != strings.Join(got, ",") {
				t.Fatalf("live findings %v; analyze on the file: %v", got, want)
			}
		})
	}
}
