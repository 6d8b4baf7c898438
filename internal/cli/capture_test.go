package cli

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/record"
)

// syncBuffer is a bytes.Buffer safe for the capture's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := l.Addr().String()
	l.Close()
	return a
}

// idp answers like a token endpoint that refuses with AADSTS50076, and
// serves a page and a body for the other paths.
func idp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/organizations/oauth2/v2.0/token":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			io.WriteString(w, `{"error":"invalid_grant","error_description":"AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'.","error_codes":[50076]}`)
		default:
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "page %s", r.URL.Path)
		}
	})
}

func TestCaptureProxyWritesEveryFlowAndExplainsLive(t *testing.T) {
	for _, ext := range []string{"saz", "har"} {
		t.Run(ext, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "case."+ext)
			tlsSrv := httptest.NewTLSServer(idp())
			defer tlsSrv.Close()
			plain := httptest.NewServer(idp())
			defer plain.Close()
			rc := startCapture(t, out, "--insecure-upstream", "--analyze")
			errOut := rc.ErrOut
			ca, _ := os.ReadFile(filepath.Join(dir, "ca", "idtrace-ca.pem"))
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(ca) {
				t.Fatalf("no CA certificate after start: %s", errOut.String())
			}
			client := rc.Client(&http.Transport{TLSClientConfig: tlsConfig(pool)})
			const n = 30
			for i := 0; i < n; i++ {
				base := plain.URL
				if i%2 == 0 {
					base = tlsSrv.URL
				}
				resp, err := client.Get(fmt.Sprintf("%s/page/%d", base, i))
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			form := url.Values{"grant_type": {"refresh_token"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}, "refresh_token": {"not-a-token"}, "scope": {"https://graph.microsoft.com/.default"}}
			resp, err := client.PostForm(tlsSrv.URL+"/organizations/oauth2/v2.0/token", form)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			// The finding is printed while the capture runs.
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(errOut.String(), "aadsts50076") && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if !strings.Contains(errOut.String(), "aadsts50076") {
				t.Fatalf("AADSTS50076 not reported during the capture; stderr:\n%s", errOut.String())
			}
			if code := rc.Stop(); code != 0 {
				t.Fatalf("capture exit %d: %s", code, errOut.String())
			}
			if _, err := os.Stat(record.JournalPath(out)); !os.IsNotExist(err) {
				t.Fatal("the journal was left behind after a clean stop")
			}
			_, flows := readAll(t, out)
			// n pages plus the token request; HTTPS ones may add a CONNECT session.
			got := 0
			for _, f := range flows {
				if f.Request.Method == "CONNECT" {
					continue
				}
				got++
				if (f.Response == nil) == (f.Error == "") {
					t.Fatalf("flow %d: want a response or an error", f.ID)
				}
			}
			if got != n+1 {
				t.Fatalf("%s holds %d requests, want %d", out, got, n+1)
			}
			// The live findings are those of `idtrace analyze` on the file.
			app := &App{IO: IOStreams{In: strings.NewReader("")}, Getenv: func(string) string { return "" }, Ctx: context.Background()}
			src, c, err := openTrace(app, out, traceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := analyze.Run(src, analyze.Options{})
			c.Close()
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, f := range rep.Findings {
				want = append(want, f.Code)
			}
			live := regexp.MustCompile(`(?m)^idtrace: \[\w+\] (\S+)`).FindAllStringSubmatch(errOut.String(), -1)
			var gotCodes []string
			for _, m := range live {
				gotCodes = append(gotCodes, m[1])
			}
			sort.Strings(want)
			sort.Strings(gotCodes)
			if strings.Join(want, ",") != strings.Join(gotCodes, ",") {
				t.Fatalf("live findings %v, analyze on %s: %v", gotCodes, out, want)
			}
		})
	}
}

func TestRecoverCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "case.har")
	j, err := record.Create(record.JournalPath(out), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		f := testFlow(i)
		if err := j.Append(f); err != nil {
			t.Fatal(err)
		}
	}
	// No Close: as after kill -9.
	code, _, stderr := run(t, "", "recover", record.JournalPath(out))
	if code != 0 || !strings.Contains(stderr, "recovered 5 requests") {
		t.Fatalf("recover: exit %d: %s", code, stderr)
	}
	_, flows := readAll(t, out)
	if len(flows) != 5 {
		t.Fatalf("%d flows recovered, want 5", len(flows))
	}
	// A second capture to the same name refuses while a journal is there.
	j2, _ := record.Create(record.JournalPath(out), nil)
	j2.Close()
	code, _, stderr = run(t, "", "capture", "-o", out, "--listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(stderr, "idtrace recover") {
		t.Fatalf("capture over a left journal: exit %d: %s", code, stderr)
	}
}

func TestCaptureFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"capture"},
		{"capture", "-o", "x.txt"},
		{"capture", "-o", "x.har", "--headless"},
		{"capture", "-o", "x.har", "--browser", "--headless"},
		{"capture", "-o", "x.har", "--browser", "--system-proxy"},
		{"capture", "-o", "x.har", "--browser", "--attach", "9222", "--profile", "p"},
		{"capture", "-o", "x.har", "--browser", "--url", "not a url"},
		{"capture", "-o", "x.har", "--allow-remote", "10.0.0.0/99"},
		{"capture", "-o", "x.har", "--timeout", "-1s"},
		{"recover", "x.json"},
	} {
		// A usage error: one line naming the problem, then the command's
		// usage line and where its help is (the conventions of every command).
		code, _, stderr := run(t, "", args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || len(lines) != 3 || !strings.HasPrefix(lines[0], "idtrace: "+args[0]+": ") ||
			!strings.HasPrefix(lines[1], "Usage: idtrace "+args[0]+" ") {
			t.Errorf("%v: exit %d, stderr %q: want a usage error (exit 2): the problem, then the usage line", args, code, stderr)
		}
	}
}
