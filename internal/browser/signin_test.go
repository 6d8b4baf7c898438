package browser

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/record"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// TestSignInCodePKCE signs in with the code flow and PKCE in headless
// Chromium against oidc-provider, records it, writes the HAR through the
// journal, and checks that the analysis finds the sign-in and verifies its
// tokens with the provider's keys, as for the proxy capture.
func TestSignInCodePKCE(t *testing.T) {
	exe := needBrowser(t)
	var issuer string
	verifier := make([]byte, 32)
	rand.Read(verifier)
	ver := base64.RawURLEncoding.EncodeToString(verifier)
	sum := sha256.Sum256([]byte(ver))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		redirect := "http://" + r.Host + "/cb"
		switch r.URL.Path {
		case "/":
			q := url.Values{"client_id": {"public-pkce"}, "response_type": {"code"}, "redirect_uri": {redirect},
				"scope": {"openid email"}, "state": {"st-browser-1"}, "nonce": {"n-browser-1"},
				"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
			fmt.Fprintf(w, `<!doctype html><title>app</title><script>location.href = %q</script>`, issuer+"/auth?"+q.Encode())
		case "/cb":
			// The token request as a form post (no CORS needed).
			fmt.Fprintf(w, `<!doctype html><title>cb</title><form id=f method=post action=%q>
<input type=hidden name=grant_type value=authorization_code><input type=hidden name=client_id value=public-pkce>
<input type=hidden name=redirect_uri value=%q><input type=hidden name=code_verifier value=%q><input type=hidden name=code id=code></form>
<script>document.getElementById('code').value = new URLSearchParams(location.search).get('code'); document.getElementById('f').submit()</script>`,
				issuer+"/token", redirect, ver)
		}
	}))
	defer app.Close()
	issuer = testutil.OIDCProvider(t, app.URL+"/cb")

	var mu sync.Mutex
	var flows []*trace.Flow
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := Capture(ctx, Options{
		ExecPath: exe, Headless: true, URL: app.URL + "/", Idle: 2 * time.Second,
		OnFlow: func(f *trace.Flow) { mu.Lock(); flows = append(flows, f); mu.Unlock() },
		Drive: func(ctx context.Context) error {
			// Login, then consent, then the keys (as a client library fetches them).
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "alice"),
				chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "alice-password-for-tests"),
				chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			); err != nil {
				return fmt.Errorf("login page: %w", err)
			}
			if err := waitJS(ctx, `document.querySelector('input[name=login]') === null && document.querySelector('button[type=submit]') !== null`); err != nil {
				return fmt.Errorf("consent page: %w", err)
			}
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[type=submit]`))); err != nil {
				return fmt.Errorf("consent: %w", err)
			}
			if err := waitJS(ctx, `location.pathname === '/token'`); err != nil {
				return fmt.Errorf("token response: %w", err)
			}
			return chromedp.Do(ctx, chromedp.Navigate(issuer+"/jwks"))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Through the journal into a HAR, then the analysis of the file.
	dir := t.TempDir()
	out := filepath.Join(dir, "signin.har")
	j, err := record.Create(record.JournalPath(out), &trace.Meta{Creator: trace.Software{Name: "idtrace", Version: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flows {
		if err := j.Append(f); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	if _, err := record.Finalize(record.JournalPath(out), out, record.HAR, nil); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rep, err := analyze.Run(har.NewReader(fh, out), analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var si *analyze.SignIn
	for i := range rep.Flows {
		if rep.Flows[i].Grant == "authorization_code" {
			si = &rep.Flows[i]
		}
	}
	if si == nil {
		var seen []string
		for _, f := range flows {
			seen = append(seen, f.Request.Method+" "+f.Request.URL)
		}
		t.Fatalf("no code sign-in found; recorded: %s", strings.Join(seen, "\n"))
	}
	if si.Result != analyze.ResultSuccess || si.ClientID != "public-pkce" {
		t.Fatalf("sign-in: result %q, client %q; want success for public-pkce", si.Result, si.ClientID)
	}
	verified := 0
	for _, tk := range rep.Tokens {
		if tk.Verified != nil && *tk.Verified {
			verified++
		}
	}
	if verified == 0 {
		t.Fatalf("no token verified with the provider's keys (%d tokens)", len(rep.Tokens))
	}
}

// waitJS evaluates expr until it is true, across navigations (which make
// an evaluation fail while the next page loads).
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
