package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

func tlsConfig(pool *x509.CertPool) *tls.Config { return &tls.Config{RootCAs: pool} }

func testFlow(id int) *trace.Flow {
	return &trace.Flow{ID: id, Started: time.Date(2026, 11, 25, 0, 0, id, 0, time.UTC), Time: 1, Timings: trace.NoTimings(),
		Request:  &trace.Request{Method: "GET", URL: fmt.Sprintf("https://example.test/%d", id), Proto: "HTTP/1.1"},
		Response: &trace.Response{Status: 200, Reason: "OK", Proto: "HTTP/1.1", Body: []byte("ok")}}
}

// runningCapture is an `idtrace capture` started by startCapture.
type runningCapture struct {
	Addr   string      // the proxy's address
	Out    *syncBuffer // what the capture printed on stdout so far
	ErrOut *syncBuffer // what the capture printed on stderr so far
	cancel context.CancelFunc
	done   chan int
	exit   int
}

// startCapture runs `idtrace capture -o out --listen ADDR --ca-dir DIR/ca
// args...` in the background on a free loopback port and waits until the
// proxy accepts connections. The capture is stopped when the test ends if
// Stop was not called.
func startCapture(t *testing.T, out string, args ...string) *runningCapture {
	t.Helper()
	rc := &runningCapture{Addr: freeAddr(t), Out: &syncBuffer{}, ErrOut: &syncBuffer{}, done: make(chan int, 1), exit: -1}
	ctx, cancel := context.WithCancel(context.Background())
	rc.cancel = cancel
	argv := append([]string{"capture", "-o", out, "--listen", rc.Addr, "--ca-dir", filepath.Join(filepath.Dir(out), "ca")}, args...)
	go func() {
		rc.done <- Main(ctx, argv, Env{IO: IOStreams{In: strings.NewReader(""), Out: rc.Out, ErrOut: rc.ErrOut}, Getenv: func(string) string { return "" }})
	}()
	t.Cleanup(func() { rc.Stop() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", rc.Addr); err == nil {
			c.Close()
			return rc
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the capture proxy did not start: %s", rc.ErrOut.String())
	return nil
}

// Stop ends the capture as Ctrl-C does and returns its exit code.
func (rc *runningCapture) Stop() int {
	if rc.exit < 0 {
		rc.cancel()
		rc.exit = <-rc.done
	}
	return rc.exit
}

// ViewerURL waits for the URL (with its token) that `capture --ui` prints
// on stdout and returns it.
func (rc *runningCapture) ViewerURL(t *testing.T) string {
	t.Helper()
	urlRE := regexp.MustCompile(`http://127\.0\.0\.1:\d+/\?token=[0-9a-f]+`)
	for i := 0; i < 200; i++ {
		if u := urlRE.FindString(rc.Out.String()); u != "" {
			return u
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no viewer URL on stdout; stdout %q, stderr:\n%s", rc.Out.String(), rc.ErrOut.String())
	return ""
}

// Client is an HTTP client that sends everything through the capture.
func (rc *runningCapture) Client(tr *http.Transport) *http.Client {
	if tr == nil {
		tr = &http.Transport{}
	}
	pu, _ := url.Parse("http://" + rc.Addr)
	tr.Proxy = http.ProxyURL(pu)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// pkceSignInApp serves a page that signs in with the authorization code flow
// and PKCE against a local oidc-provider (client public-pkce, state
// "st-TAG-1", nonce "n-TAG-1") and redeems the code from a form it posts
// itself. It returns the app's URL and the provider's issuer.
func pkceSignInApp(t *testing.T, tag string) (appURL, issuer string) {
	t.Helper()
	v := make([]byte, 32)
	rand.Read(v)
	verifier := base64.RawURLEncoding.EncodeToString(v)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		redirect := "http://" + r.Host + "/cb"
		switch r.URL.Path {
		case "/":
			q := url.Values{"client_id": {"public-pkce"}, "response_type": {"code"}, "redirect_uri": {redirect},
				"scope": {"openid email"}, "state": {"st-" + tag + "-1"}, "nonce": {"n-" + tag + "-1"},
				"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
			fmt.Fprintf(w, `<!doctype html><script>location.href = %q</script>`, issuer+"/auth?"+q.Encode())
		case "/cb":
			fmt.Fprintf(w, `<!doctype html><form id=f method=post action=%q>
<input type=hidden name=grant_type value=authorization_code><input type=hidden name=client_id value=public-pkce>
<input type=hidden name=redirect_uri value=%q><input type=hidden name=code_verifier value=%q><input type=hidden name=code id=code></form>
<script>document.getElementById('code').value = new URLSearchParams(location.search).get('code'); document.getElementById('f').submit()</script>`,
				issuer+"/token", redirect, verifier)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(app.Close)
	issuer = testutil.OIDCProvider(t, app.URL+"/cb")
	return app.URL, issuer
}
