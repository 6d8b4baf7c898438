package proxy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/certs"
	"github.com/idtrace/idtrace/internal/trace"
)

// harness is a running proxy whose flows a test reads.
type harness struct {
	t      *testing.T
	p      *Proxy
	addr   string
	ca     *certs.CA
	mu     sync.Mutex
	flows  []*trace.Flow
	flowc  chan *trace.Flow
	cancel context.CancelFunc
	done   chan error
}

var testCA struct {
	once sync.Once
	ca   *certs.CA
	err  error
}

func sharedCA(t *testing.T) *certs.CA {
	testCA.once.Do(func() {
		dir, err := os.MkdirTemp("", "idtrace-proxy-ca")
		if err != nil {
			testCA.err = err
			return
		}
		testCA.ca, _, testCA.err = certs.LoadOrCreate(dir)
	})
	if testCA.err != nil {
		t.Fatal(testCA.err)
	}
	return testCA.ca
}

func upstreamPool(servers ...*httptest.Server) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, s := range servers {
		pool.AddCert(s.Certificate())
	}
	return pool
}

func startProxy(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, flowc: make(chan *trace.Flow, 1024), done: make(chan error, 1)}
	if cfg.CA == nil {
		cfg.CA = sharedCA(t)
	}
	h.ca = cfg.CA
	cfg.OnFlow = func(f *trace.Flow) {
		h.mu.Lock()
		h.flows = append(h.flows, f)
		h.mu.Unlock()
		h.flowc <- f
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.p, h.addr = p, ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- p.Serve(ctx, ln) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.cancel()
	if err := <-h.done; err != nil {
		h.t.Errorf("Serve: %v", err)
	}
	h.done <- nil
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[int]bool{}
	for _, f := range h.flows {
		if (f.Response == nil) == (f.Error == "") {
			h.t.Errorf("flow %d has response=%v and error=%q: want exactly one", f.ID, f.Response != nil, f.Error)
		}
		if seen[f.ID] {
			h.t.Errorf("flow %d reported twice", f.ID)
		}
		seen[f.ID] = true
	}
}

// next waits for the next flow.
func (h *harness) next() *trace.Flow {
	h.t.Helper()
	select {
	case f := <-h.flowc:
		return f
	case <-time.After(20 * time.Second):
		h.t.Fatal("no flow reported")
		return nil
	}
}

func (h *harness) client(h2 bool) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(h.ca.Cert)
	u, _ := url.Parse("http://" + h.addr)
	return &http.Client{Transport: &http.Transport{
		Proxy:              http.ProxyURL(u),
		TLSClientConfig:    &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2:  h2,
		DisableCompression: true,
	}}
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("X-Proto", r.Proto)
	fmt.Fprintf(w, "%s %s %s body=%s", r.Method, r.URL.Path, r.Proto, b)
}

func TestInterceptHTTP1(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(echoHandler))
	defer up.Close()
	h := startProxy(t, Config{RootCAs: upstreamPool(up)})
	resp, err := h.client(false).Post(up.URL+"/token?x=1", "application/x-www-form-urlencoded", strings.NewReader("grant_type=authorization_code"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "POST /token HTTP/1.1 body=grant_type=authorization_code" {
		t.Fatalf("client got %q", body)
	}
	f := h.next()
	if f.ID != 1 || f.Request.Method != "POST" || f.Request.URL != up.URL+"/token?x=1" {
		t.Errorf("flow %d: %s %s", f.ID, f.Request.Method, f.Request.URL)
	}
	if string(f.Request.Body) != "grant_type=authorization_code" || f.Request.BodySize != int64(len("grant_type=authorization_code")) {
		t.Errorf("request body recorded as %q (%d)", f.Request.Body, f.Request.BodySize)
	}
	if f.Response.Status != 200 || f.Response.Reason != "OK" || string(f.Response.Body) != string(body) {
		t.Errorf("response %d %q body %q", f.Response.Status, f.Response.Reason, f.Response.Body)
	}
	if f.Request.Headers.Get("Host") == "" || f.Request.Headers.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("request headers %v", f.Request.Headers)
	}
	if f.ServerAddr != "127.0.0.1" || !strings.HasPrefix(f.ClientAddr, "127.0.0.1:") {
		t.Errorf("server %q client %q", f.ServerAddr, f.ClientAddr)
	}
	tm := f.Timings
	for name, v := range map[string]float64{"connect": tm.Connect, "ssl": tm.SSL, "send": tm.Send, "wait": tm.Wait, "receive": tm.Receive} {
		if v < 0 {
			t.Errorf("timing %s not recorded (%v)", name, v)
		}
	}
	if f.Time < tm.Wait {
		t.Errorf("total time %v below wait %v", f.Time, tm.Wait)
	}
	if runtime.GOOS == "linux" {
		comm, _ := os.ReadFile("/proc/self/comm")
		if want := fmt.Sprintf("%s:%d", strings.TrimSpace(string(comm)), os.Getpid()); f.Process != want {
			t.Errorf("process %q, want %q", f.Process, want)
		}
	}
}

func TestCookiesListed(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "ESTSAUTH=secret1; path=/; secure; HttpOnly; SameSite=None")
		w.Header().Add("Set-Cookie", "fpc=x; expires=Fri, 25 Dec 2026 10:00:00 GMT")
	}))
	defer up.Close()
	h := startProxy(t, Config{RootCAs: upstreamPool(up)})
	req, _ := http.NewRequest("GET", up.URL, nil)
	req.Header.Set("Cookie", "a=1; buid=2")
	resp, err := h.client(false).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	f := h.next()
	if len(f.Request.Cookies) != 2 || f.Request.Cookies[1].Name != "buid" {
		t.Errorf("request cookies: %d, want a and buid", len(f.Request.Cookies))
	}
	rc := f.Response.Cookies
	if len(rc) != 2 || rc[0].Name != "ESTSAUTH" || rc[0].Path != "/" || !*rc[0].Secure || !*rc[0].HTTPOnly || rc[0].SameSite != "None" ||
		rc[1].Name != "fpc" || rc[1].Expires == "" || *rc[1].Secure {
		t.Errorf("response cookies parsed wrong (%d cookies)", len(rc))
	}
}

func TestHTTP2BothSides(t *testing.T) {
	up := httptest.NewUnstartedServer(http.HandlerFunc(echoHandler))
	up.EnableHTTP2 = true
	up.StartTLS()
	defer up.Close()
	h := startProxy(t, Config{RootCAs: upstreamPool(up)})
	resp, err := h.client(true).Get(up.URL + "/h2")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" || resp.Header.Get("X-Proto") != "HTTP/2.0" {
		t.Fatalf("client saw %s, upstream saw %s: want HTTP/2 on both sides", resp.Proto, resp.Header.Get("X-Proto"))
	}
	f := h.next()
	if f.Request.Proto != "HTTP/2.0" || f.Response.Proto != "HTTP/2.0" {
		t.Errorf("flow records %s / %s", f.Request.Proto, f.Response.Proto)
	}
}

func TestPlainHTTP(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(echoHandler))
	defer up.Close()
	h := startProxy(t, Config{})
	resp, err := h.client(false).Get(up.URL + "/plain")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	f := h.next()
	if f.Request.URL != up.URL+"/plain" || f.Response.Status != 200 {
		t.Errorf("flow %s -> %v", f.Request.URL, f.Response)
	}
	if f.Request.Headers.Get("Proxy-Connection") == "" && f.Request.Headers.Get("Host") == "" {
		t.Error("request headers not recorded")
	}
}

func TestCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl not installed")
		}
		t.Skip("curl not installed")
	}
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// curl exits as soon as it has its answer; holding the answer a
		// moment keeps it alive while the proxy looks up its process.
		time.Sleep(300 * time.Millisecond)
		echoHandler(w, r)
	}))
	up.EnableHTTP2 = true
	up.StartTLS()
	defer up.Close()
	h := startProxy(t, Config{RootCAs: upstreamPool(up)})
	for _, proto := range []string{"--http1.1", "--http2"} {
		out, err := exec.Command("curl", "-sS", proto, "--proxy", "http://"+h.addr, "--cacert", h.ca.CertPath,
			"-d", "user=alice", up.URL+"/curl").CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s through the proxy: %v\n%s", proto, err, out)
		}
		if !strings.HasPrefix(string(out), "POST /curl HTTP/2.0 body=user=alice") {
			t.Errorf("curl %s got %q", proto, out)
		}
		f := h.next()
		want := map[string]string{"--http1.1": "HTTP/1.1", "--http2": "HTTP/2.0"}[proto]
		if f.Request.Proto != want || string(f.Request.Body) != "user=alice" {
			t.Errorf("curl %s: flow %s body %q", proto, f.Request.Proto, f.Request.Body)
		}
		if runtime.GOOS == "linux" && !strings.HasPrefix(f.Process, "curl:") {
			t.Errorf("process %q, want curl:PID", f.Process)
		}
	}
	// Without the CA, curl refuses the minted certificate and the flow says why.
	out, err := exec.Command("curl", "-sS", "--proxy", "http://"+h.addr, up.URL+"/untrusted").CombinedOutput()
	if err == nil {
		t.Fatalf("curl accepted the minted certificate without the CA: %s", out)
	}
	f := h.next()
	if f.Request.Method != "CONNECT" || !strings.Contains(f.Error, "trust the idtrace CA") {
		t.Errorf("refused handshake recorded as %s %q", f.Request.Method, f.Error)
	}
}

func TestBlindTunnel(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(echoHandler))
	defer up.Close()
	h := startProxy(t, Config{NoDecrypt: []string{"127.0.0.1"}})
	c := h.client(false)
	c.Transport.(*http.Transport).TLSClientConfig.RootCAs = upstreamPool(up) // the client sees the real server
	resp, err := c.Get(up.URL + "/blind")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	c.CloseIdleConnections()
	f := h.next()
	if f.Request.Method != "CONNECT" || f.Request.URL != strings.TrimPrefix(up.URL, "https://") {
		t.Errorf("tunnel recorded as %s %s", f.Request.Method, f.Request.URL)
	}
	if f.Response == nil || f.Response.Status != 200 || f.Request.BodySize < 100 || f.Response.BodySize < 100 {
		t.Fatalf("tunnel response %+v, bytes up %d", f.Response, f.Request.BodySize)
	}
	if f.Flag("x-idtrace-tunnel") != "blind" {
		t.Error("tunnel flag missing")
	}
}

func TestDecryptPatterns(t *testing.T) {
	p, err := New(Config{CA: sharedCA(t), OnFlow: func(*trace.Flow) {}, Decrypt: []string{"*.microsoftonline.com", "graph.microsoft.com"}, NoDecrypt: []string{"secure.microsoftonline.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"login.microsoftonline.com": true, "LOGIN.microsoftonline.com.": true, "graph.microsoft.com": true,
		"secure.microsoftonline.com": false, "microsoftonline.com": false, "evilmicrosoftonline.com": false, "example.com": false,
	} {
		if got := p.shouldDecrypt(host); got != want {
			t.Errorf("shouldDecrypt(%q) = %v, want %v", host, got, want)
		}
	}
	for _, bad := range []string{"", "a*.com", "*.*.com", "host:443", "http://x"} {
		if _, err := New(Config{CA: sharedCA(t), OnFlow: func(*trace.Flow) {}, Decrypt: []string{bad}}); err == nil {
			t.Errorf("pattern %q accepted", bad)
		}
	}
}

func TestBodyCap(t *testing.T) {
	big := strings.Repeat("0123456789", 100)
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, big)
	}))
	defer up.Close()
	h := startProxy(t, Config{RootCAs: upstreamPool(up), MaxBody: 64})
	resp, err := h.client(false).Post(up.URL, "text/plain", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != big {
		t.Fatalf("client got %d bytes, want the whole %d", len(got), len(big))
	}
	f := h.next()
	if len(f.Response.Body) != 64 || f.Response.BodySize != 1000 || len(f.Request.Body) != 64 || f.Request.BodySize != 1000 {
		t.Errorf("recorded request %d/%d, response %d/%d bytes", len(f.Request.Body), f.Request.BodySize, len(f.Response.Body), f.Response.BodySize)
	}
	if f.Flag("x-idtrace-truncated") != "request,response" {
		t.Errorf("truncated flag %q", f.Flag("x-idtrace-truncated"))
	}
}

func TestGzipBodyDecoded(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, `{"error":"invalid_grant","error_description":"AADSTS50126"}`)
	zw.Close()
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz.Bytes())
	}))
	defer up.Close()
	h := startProxy(t, Config{RootCAs: upstreamPool(up)})
	resp, err := h.client(false).Get(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, gz.Bytes()) {
		t.Error("client did not get the gzip bytes unchanged")
	}
	f := h.next()
	if !strings.Contains(string(f.Response.Body), "AADSTS50126") || !bytes.Equal(f.Response.Wire, gz.Bytes()) || f.Response.Encoding != "gzip" {
		t.Errorf("body %q, encoding %q, wire %d bytes", f.Response.Body, f.Response.Encoding, len(f.Response.Wire))
	}
}

func TestOtherCodingsUseDecodeBody(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", r.URL.Query().Get("ce"))
		io.WriteString(w, "ENCODED")
	}))
	defer up.Close()
	h := startProxy(t, Config{RootCAs: upstreamPool(up), DecodeBody: func(coding string, wire []byte, max int64) ([]byte, error) {
		if coding != "br" {
			return nil, fmt.Errorf("content coding %q not decoded", coding)
		}
		return bytes.ToLower(wire), nil
	}})
	for _, ce := range []string{"br", "zstd"} {
		resp, err := h.client(false).Get(up.URL + "/?ce=" + ce)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		f := h.next()
		switch ce {
		case "br":
			if string(f.Response.Body) != "encoded" || string(f.Response.Wire) != "ENCODED" || f.Flag("x-idtrace-undecoded") != "" {
				t.Errorf("br: body %q wire %q flag %q", f.Response.Body, f.Response.Wire, f.Flag("x-idtrace-undecoded"))
			}
		case "zstd":
			if string(f.Response.Body) != "ENCODED" || f.Flag("x-idtrace-undecoded") != "response" {
				t.Errorf("zstd: body %q flag %q", f.Response.Body, f.Flag("x-idtrace-undecoded"))
			}
		}
	}
}

func TestUpstreamBadCertificate(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(echoHandler))
	defer up.Close()
	h := startProxy(t, Config{RootCAs: x509.NewCertPool()})
	resp, err := h.client(false).Get(up.URL + "/bad")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(page), "not trusted") || !strings.Contains(string(page), "--insecure-upstream") {
		t.Errorf("client got %d %q", resp.StatusCode, page)
	}
	f := h.next()
	if f.Response != nil || !strings.Contains(f.Error, "certificate") {
		t.Errorf("flow error %q", f.Error)
	}

	h2 := startProxy(t, Config{RootCAs: x509.NewCertPool(), InsecureUpstream: true})
	resp, err = h2.client(false).Get(up.URL + "/insecure")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("--insecure-upstream: status %d", resp.StatusCode)
	}
	if f := h2.next(); f.Response == nil || f.Response.Status != 200 {
		t.Errorf("--insecure-upstream flow: %q", f.Error)
	}
}

func TestAllowed(t *testing.T) {
	p, _ := New(Config{CA: sharedCA(t), OnFlow: func(*trace.Flow) {}, AllowRemote: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}})
	for addr, want := range map[string]bool{
		"127.0.0.1:5000": true, "[::1]:5000": true, "127.9.9.9:1": true, "[::ffff:127.0.0.1]:1": true,
		"10.1.2.3:5000": true, "10.2.0.1:5000": false, "192.168.1.10:80": false, "[fe80::1]:80": false,
	} {
		a, _ := net.ResolveTCPAddr("tcp", addr)
		if got := p.allowed(a); got != want {
			t.Errorf("allowed(%s) = %v, want %v", addr, got, want)
		}
	}
}

// TestRemoteClientRefused connects from a client that is not on loopback (see
// remoteClientListener) and expects the connection closed unread.
func TestRemoteClientRefused(t *testing.T) {
	ln, dial := remoteClientListener(t)
	var logged []string
	var mu sync.Mutex
	cfg := Config{CA: sharedCA(t), OnFlow: func(*trace.Flow) { t.Error("a refused client produced a flow") },
		Logf: func(f string, a ...any) { mu.Lock(); logged = append(logged, fmt.Sprintf(f, a...)); mu.Unlock() }}
	p, _ := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	c, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 100))
	if n != 0 || err == nil {
		t.Fatalf("a remote client got %d bytes, err %v: want the connection closed", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 1 || !strings.Contains(logged[0], "refused") {
		t.Errorf("logged %q", logged)
	}
}

func TestUpstreamProxyChain(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(echoHandler))
	defer up.Close()
	plain := httptest.NewServer(http.HandlerFunc(echoHandler))
	defer plain.Close()
	// The upstream proxy is a second idtrace proxy that decrypts nothing.
	second := startProxy(t, Config{NoDecrypt: []string{"*"}})
	u, _ := url.Parse("http://" + second.addr)
	first := startProxy(t, Config{RootCAs: upstreamPool(up), Upstream: u, NoDecrypt: []string{"localhost"}})

	resp, err := first.client(false).Get(up.URL + "/chained")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if f := first.next(); f.Response == nil || f.Response.Status != 200 || f.Request.URL != up.URL+"/chained" {
		t.Fatalf("first proxy flow: %+v %q", f.Request, f.Error)
	}
	resp, err = first.client(false).Get(plain.URL + "/plain-chained")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	first.next()
	// A blind tunnel of the first proxy also goes through the second.
	c := first.client(false)
	c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the test cert does not name localhost
	lhURL := strings.Replace(up.URL, "127.0.0.1", "localhost", 1)
	resp, err = c.Get(lhURL + "/blind-chained")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c.CloseIdleConnections()
	if f := first.next(); f.Flag("x-idtrace-tunnel") != "blind" || f.Response == nil {
		t.Errorf("first proxy tunnel: %s %q", f.Request.Method, f.Error)
	}
	// The second proxy's tunnels end when the first closes its upstream connections.
	first.stop()
	seen := map[string]bool{}
	for range 3 {
		f := second.next()
		seen[f.Request.Method+" "+f.Request.URL] = true
	}
	for _, want := range []string{"CONNECT " + strings.TrimPrefix(up.URL, "https://"), "GET " + plain.URL + "/plain-chained",
		"CONNECT " + strings.TrimPrefix(lhURL, "https://")} {
		if !seen[want] {
			t.Errorf("second proxy did not see %s; saw %v", want, seen)
		}
	}
}

func TestClientDisconnectMidBody(t *testing.T) {
	got := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		close(got)
	}))
	defer up.Close()
	h := startProxy(t, Config{})
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "POST %s/upload HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n\r\n%s", up.URL, up.Listener.Addr(), strings.Repeat("x", 100))
	time.Sleep(50 * time.Millisecond) // let the proxy start forwarding before the client goes away
	c.Close()
	f := h.next()
	if f.Response != nil || !strings.Contains(f.Error, "client disconnected") {
		t.Errorf("flow error %q", f.Error)
	}
	<-got
}

func TestUpstreamReset(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			br := bufio.NewReader(c)
			http.ReadRequest(br)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"+strings.Repeat("y", 100))
			c.(*net.TCPConn).SetLinger(0) // close with a RST
			c.Close()
		}
	}()
	h := startProxy(t, Config{})
	resp, err := h.client(false).Get("http://" + ln.Addr().String() + "/reset")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("client read a complete body from an upstream that reset")
	}
	f := h.next()
	if f.Response != nil || !strings.Contains(f.Error, "upstream failed while sending the response body (200 OK, 100 body bytes") {
		t.Errorf("flow error %q", f.Error)
	}
}

func TestDrainEndsEveryFlow(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok")
	}))
	defer up.Close()
	defer close(release)
	h := startProxy(t, Config{DrainTimeout: 100 * time.Millisecond})
	c := h.client(false)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := "/fast"
			if i%4 == 0 {
				path = "/slow"
			}
			if resp, err := c.Get(up.URL + path); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	for range 15 {
		h.next() // the fast ones
	}
	h.cancel()
	wg.Wait()
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	h.done <- nil
	h.mu.Lock()
	n := len(h.flows)
	stopped := 0
	for _, f := range h.flows {
		if strings.Contains(f.Error, "capture stopped") {
			stopped++
		}
	}
	h.mu.Unlock()
	if n != 20 || stopped != 5 {
		t.Errorf("%d flows reported (%d ended by the stop), want 20 (5)", n, stopped)
	}
}

func TestConcurrentFlowsExactlyOnce(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(echoHandler))
	defer up.Close()
	h := startProxy(t, Config{RootCAs: upstreamPool(up)})
	c := h.client(true)
	const n = 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	var clientErrs []string
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := up.URL
			if i%5 == 0 {
				target = "https://127.0.0.1:1" // nothing listens: an error flow
			}
			resp, err := c.Get(fmt.Sprintf("%s/%d", target, i))
			if err != nil {
				mu.Lock()
				clientErrs = append(clientErrs, err.Error())
				mu.Unlock()
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
	c.CloseIdleConnections()
	h.stop() // when Serve returns, every flow has been reported
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := map[int]bool{}
	for _, f := range h.flows {
		if f.Request.Method != "CONNECT" {
			ids[f.ID] = true
		}
	}
	maxID := 0
	for _, f := range h.flows {
		maxID = max(maxID, f.ID)
	}
	for i := 1; i <= maxID; i++ {
		if !ids[i] && !connectFlow(h.flows, i) {
			t.Errorf("flow ID %d was assigned but never reported", i)
		}
	}
	if len(ids) != n {
		t.Errorf("%d request flows for %d requests; client errors: %q", len(ids), n, clientErrs)
	}
}

func connectFlow(flows []*trace.Flow, id int) bool {
	for _, f := range flows {
		if f.ID == id && f.Request.Method == "CONNECT" {
			return true
		}
	}
	return false
}

func TestServeLocalCA(t *testing.T) {
	h := startProxy(t, Config{})
	resp, err := http.Get("http://" + h.addr + "/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(b, h.ca.CertPEM()) {
		t.Error("/ca.pem is not the CA certificate")
	}
	select {
	case f := <-h.flowc:
		t.Errorf("a request to the proxy itself became flow %d", f.ID)
	default:
	}
}

func TestClientCertificatePassedUpstream(t *testing.T) {
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "client cert: %s", r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	up.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	up.StartTLS()
	defer up.Close()
	// The client certificate is a leaf of another test CA.
	other, _, err := certs.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cc, err := other.Leaf("alice.example")
	if err != nil {
		t.Fatal(err)
	}
	h := startProxy(t, Config{RootCAs: upstreamPool(up), ClientCert: cc})
	resp, err := h.client(false).Get(up.URL + "/mtls")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "client cert: alice.example" {
		t.Errorf("upstream answered %q", b)
	}
	h.next()

	without := startProxy(t, Config{RootCAs: upstreamPool(up)})
	resp, err = without.client(false).Get(up.URL + "/mtls")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if f := without.next(); resp.StatusCode != http.StatusBadGateway || f.Response != nil || f.Error == "" {
		t.Errorf("without a client certificate: status %d, flow error %q", resp.StatusCode, f.Error)
	}
}

// remoteClientListener gives a listener whose clients are not on loopback,
// and a dialer for one such client. On a machine with a non-loopback IPv4
// address the client really connects from it; otherwise the listener is on
// loopback and reports every client as 192.0.2.10 (TEST-NET-1), which is what
// the proxy's address check reads.
func remoteClientListener(t *testing.T) (net.Listener, func() (net.Conn, error)) {
	t.Helper()
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ln, err := net.Listen("tcp", net.JoinHostPort(n.IP.String(), "0"))
			if err != nil {
				t.Fatal(err)
			}
			return ln, func() (net.Conn, error) {
				return net.DialTCP("tcp", &net.TCPAddr{IP: n.IP}, ln.Addr().(*net.TCPAddr))
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return remoteAddrListener{ln}, func() (net.Conn, error) { return net.Dial("tcp", ln.Addr().String()) }
}

type remoteAddrListener struct{ net.Listener }

func (l remoteAddrListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return remoteAddrConn{c}, nil
}

type remoteAddrConn struct{ net.Conn }

func (remoteAddrConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 10), Port: 40000}
}
