package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/idtrace/idtrace/internal/certs"
	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/proxy"
	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// TestProxyFlowsThroughWriters records live flows of every kind the proxy
// makes (decrypted with a gzip body, a form post, an upstream certificate
// error, a blind tunnel) and writes them with the HAR and SAZ writers:
// read back, every flow is there with its URL and status or error, and
// har-validator accepts the HAR.
func TestProxyFlowsThroughWriters(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"error":"invalid_grant","error_description":"AADSTS50126: Error validating credentials"}`))
	zw.Close()
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(400)
			w.Write(gz.Bytes())
			return
		}
		w.Header().Set("Set-Cookie", "x-ms-gateway-slice=estsfd; path=/; secure; httponly")
		io.WriteString(w, "<html>ok</html>")
	}))
	defer up.Close()
	bad := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer bad.Close()

	ca, _, err := certs.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(up.Certificate())
	var mu sync.Mutex
	var flows []*trace.Flow
	p, err := proxy.New(proxy.Config{CA: ca, RootCAs: pool, NoDecrypt: []string{"localhost"},
		OnFlow: func(f *trace.Flow) { mu.Lock(); flows = append(flows, f); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()

	clientPool := x509.NewCertPool()
	clientPool.AddCert(ca.Cert)
	pu, _ := url.Parse("http://" + ln.Addr().String())
	c := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: clientPool}, DisableCompression: true}}
	get := func(req *http.Request) {
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	r1, _ := http.NewRequest("GET", up.URL+"/authorize?client_id=abc", nil)
	get(r1)
	r2, _ := http.NewRequest("POST", up.URL+"/token", strings.NewReader("grant_type=password&username=alice&password=hunter2"))
	r2.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	get(r2)
	r3, _ := http.NewRequest("GET", bad.URL+"/untrusted", nil)
	get(r3)
	tunnel := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if resp, err := tunnel.Get(strings.Replace(up.URL, "127.0.0.1", "localhost", 1) + "/blind"); err == nil {
		resp.Body.Close()
	} else {
		t.Fatal(err)
	}
	tunnel.CloseIdleConnections()
	c.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sort.Slice(flows, func(i, j int) bool { return flows[i].ID < flows[j].ID })
	if len(flows) != 4 {
		t.Fatalf("%d flows, want 4", len(flows))
	}
	summary := func(fs []*trace.Flow) []string {
		var out []string
		for _, f := range fs {
			s := f.Request.Method + " " + f.Request.URL
			if f.Response != nil {
				s += " " + http.StatusText(f.Response.Status)
			}
			if f.Error != "" {
				s += " error"
			}
			out = append(out, s)
		}
		return out
	}
	want := summary(flows)

	dir := t.TempDir()
	harPath, sazPath := filepath.Join(dir, "live.har"), filepath.Join(dir, "live.saz")
	meta := &trace.Meta{Creator: trace.Software{Name: "idtrace", Version: "test"}}
	for _, out := range []struct {
		path string
		sink func(io.Writer) trace.Sink
	}{
		{harPath, func(w io.Writer) trace.Sink { return har.NewWriter(w, meta) }},
		{sazPath, func(w io.Writer) trace.Sink { return saz.NewWriter(w, meta, saz.WriterOptions{}) }},
	} {
		fh, err := os.Create(out.path)
		if err != nil {
			t.Fatal(err)
		}
		s := out.sink(fh)
		for _, f := range flows {
			if err := s.WriteFlow(f); err != nil {
				t.Fatalf("%s: flow %d: %v", filepath.Base(out.path), f.ID, err)
			}
		}
		if err := s.Close(meta); err != nil {
			t.Fatal(err)
		}
		fh.Close()
	}

	hf, _ := os.Open(harPath)
	defer hf.Close()
	var fromHAR []*trace.Flow
	for f, err := range har.NewReader(hf, harPath).Flows() {
		if err != nil {
			t.Fatal(err)
		}
		fromHAR = append(fromHAR, f)
	}
	sr, err := saz.OpenFile(sazPath, saz.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var fromSAZ []*trace.Flow
	for f, err := range sr.Flows() {
		if err != nil {
			t.Fatal(err)
		}
		fromSAZ = append(fromSAZ, f)
	}
	for name, got := range map[string][]*trace.Flow{"HAR": fromHAR, "SAZ": fromSAZ} {
		if g := summary(got); strings.Join(g, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s read back:\n%s\nwant:\n%s", name, strings.Join(g, "\n"), strings.Join(want, "\n"))
		}
		for _, f := range got {
			if strings.HasSuffix(f.Request.URL, "/token") && !strings.Contains(string(f.Response.Body), "AADSTS50126") {
				t.Errorf("%s: the token response body was not kept decoded", name)
			}
		}
	}

	validatorDir := filepath.Join(testutil.Root(), "tools", "harvalidate")
	node, errNode := exec.LookPath("node")
	if _, err := os.Stat(filepath.Join(validatorDir, "node_modules", "har-validator")); err != nil || errNode != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("har-validator is not installed (npm ci in tools/harvalidate)")
		}
		t.Skip("har-validator not installed")
	}
	if out, err := exec.Command(node, filepath.Join(validatorDir, "validate.js"), harPath).CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "ok ") {
		t.Errorf("har-validator rejected the HAR of live flows: %v\n%s", err, out)
	}
}
