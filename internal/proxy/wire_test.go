package proxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/trace"
)

// Headers with odd case, order and duplicates, as a client or server may
// send them; the trace must keep them exactly.
var (
	oddRequest = trace.Headers{{Name: "x-lower", Value: "a"}, {Name: "HOST", Value: "%s"}, {Name: "Zeta", Value: "z"},
		{Name: "X-Dup", Value: "1"}, {Name: "Accept", Value: "*/*"}, {Name: "x-dup", Value: "2"}, {Name: "alpha", Value: "  padded\t"}}
	chunkedRequest = trace.Headers{{Name: "Host", Value: "%s"}, {Name: "transfer-encoding", Value: "chunked"},
		{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}, {Name: "b", Value: "2"}, {Name: "A", Value: "1"}}
	lastRequest = trace.Headers{{Name: "Host", Value: "%s"}, {Name: "Connection", Value: "close"}, {Name: "X-Last", Value: "yes"}}
)

const (
	oddResponse = "HTTP/1.1 200 OK\r\nzeta: last-first\r\nSet-Cookie: a=1; Path=/\r\nX-Multi: one\r\ncontent-type: text/plain\r\n" +
		"set-cookie: b=2\r\nX-MULTI: two\r\nContent-Length: 5\r\n\r\nhello"
	chunkedResponse = "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
		"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nb-second: 2\r\nA-First: 1\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"
	lastResponse = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nZ: 1\r\nconnection: close\r\n\r\n"
)

var wantResponse = map[string]trace.Headers{
	"/one": {{Name: "zeta", Value: "last-first"}, {Name: "Set-Cookie", Value: "a=1; Path=/"}, {Name: "X-Multi", Value: "one"},
		{Name: "content-type", Value: "text/plain"}, {Name: "set-cookie", Value: "b=2"}, {Name: "X-MULTI", Value: "two"}, {Name: "Content-Length", Value: "5"}},
	"/two":   {{Name: "Transfer-Encoding", Value: "chunked"}, {Name: "b-second", Value: "2"}, {Name: "A-First", Value: "1"}},
	"/three": {{Name: "Content-Length", Value: "0"}, {Name: "Z", Value: "1"}, {Name: "connection", Value: "close"}},
}

// rawUpstream answers each request with the raw response for its path, on
// keep-alive connections, over TLS when cert is not nil.
func rawUpstream(t *testing.T, cert *tls.Certificate) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if cert != nil {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{"http/1.1"}})
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, r.Body)
					switch r.URL.Path {
					case "/one":
						io.WriteString(c, oddResponse)
					case "/two":
						io.WriteString(c, chunkedResponse)
					default:
						io.WriteString(c, lastResponse)
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func writeHead(w io.Writer, line string, hs trace.Headers, host string) {
	fmt.Fprintf(w, "%s\r\n", line)
	for _, h := range hs {
		fmt.Fprintf(w, "%s: %s\r\n", h.Name, strings.ReplaceAll(h.Value, "%s", host))
	}
	io.WriteString(w, "\r\n")
}

// sendPipelined writes three requests at once (odd headers; a chunked
// form post; a last one closing the connection) and reads the answers.
func sendPipelined(t *testing.T, c net.Conn, prefix, host string) {
	t.Helper()
	var b strings.Builder
	writeHead(&b, "GET "+prefix+"/one HTTP/1.1", oddRequest, host)
	writeHead(&b, "POST "+prefix+"/two HTTP/1.1", chunkedRequest, host)
	body := "grant_type=refresh_token"
	fmt.Fprintf(&b, "%x\r\n%s\r\n%x;ext=1\r\n%s\r\n0\r\n\r\n", 4, body[:4], len(body)-4, body[4:])
	writeHead(&b, "GET "+prefix+"/three HTTP/1.1", lastRequest, host)
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for _, want := range []int{200, 201, 404} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want || (want != 404 && string(got) != "hello") {
			t.Fatalf("client got %d %q, want %d", resp.StatusCode, got, want)
		}
	}
}

func expand(hs trace.Headers, host string) trace.Headers {
	out := slices.Clone(hs)
	for i := range out {
		out[i].Value = strings.TrimRight(strings.TrimLeft(strings.ReplaceAll(out[i].Value, "%s", host), " \t"), " \t")
	}
	return out
}

func checkWireOrder(t *testing.T, flows []*trace.Flow, host string) {
	t.Helper()
	sort.Slice(flows, func(i, j int) bool { return flows[i].ID < flows[j].ID })
	wantReq := map[string]trace.Headers{"/one": oddRequest, "/two": chunkedRequest, "/three": lastRequest}
	for _, f := range flows {
		path := f.Request.URL[strings.LastIndex(f.Request.URL, "/"):]
		if f.Response == nil {
			t.Fatalf("%s: error %q", path, f.Error)
		}
		if want := expand(wantReq[path], host); !slices.Equal(f.Request.Headers, want) {
			t.Errorf("%s request headers\n got %q\nwant %q", path, f.Request.Headers, want)
		}
		if want := wantResponse[path]; !slices.Equal(f.Response.Headers, want) {
			t.Errorf("%s response headers\n got %q\nwant %q", path, f.Response.Headers, want)
		}
		if f.Request.HeadersSize <= 0 || f.Response.HeadersSize <= 0 {
			t.Errorf("%s header sizes %d / %d, want the wire block sizes", path, f.Request.HeadersSize, f.Response.HeadersSize)
		}
	}
	byPath := map[string]*trace.Flow{}
	for _, f := range flows {
		byPath[f.Request.URL[strings.LastIndex(f.Request.URL, "/"):]] = f
	}
	if f := byPath["/two"]; f == nil || string(f.Request.Body) != "grant_type=refresh_token" || f.Response.Status != 201 || string(f.Response.Body) != "hello" {
		t.Errorf("chunked flow recorded as %+v", f)
	}
	if f := byPath["/one"]; f == nil || len(f.Response.Cookies) != 2 || f.Response.MimeType != "text/plain" {
		t.Errorf("odd-case response: cookies %v, type %q", f.Response.Cookies, f.Response.MimeType)
	}
	if len(flows) != 3 {
		t.Errorf("%d flows, want 3", len(flows))
	}
}

func TestWireOrderPlainHTTP(t *testing.T) {
	up := rawUpstream(t, nil)
	h := startProxy(t, Config{})
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sendPipelined(t, c, "http://"+up, up)
	checkWireOrder(t, []*trace.Flow{h.next(), h.next(), h.next()}, up)
}

func TestWireOrderDecryptedHTTP1(t *testing.T) {
	ca := sharedCA(t)
	leaf, err := ca.Leaf("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	up := rawUpstream(t, leaf)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	h := startProxy(t, Config{RootCAs: pool})
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nhost: %s\r\n\r\n", up, up)
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	tc := tls.Client(c, &tls.Config{ServerName: "127.0.0.1", RootCAs: pool, NextProtos: []string{"http/1.1"}})
	defer tc.Close()
	sendPipelined(t, tc, "", up)
	checkWireOrder(t, []*trace.Flow{h.next(), h.next(), h.next()}, up)
}

func TestWireOrderCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl not installed")
		}
		t.Skip("curl not installed")
	}
	up := rawUpstream(t, nil)
	h := startProxy(t, Config{})
	out, err := exec.Command("curl", "-sS", "-x", "http://"+h.addr, "-H", "x-b: 2", "-H", "X-A: 1", "-H", "accept: text/html", "http://"+up+"/one").CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v %s", err, out)
	}
	f := h.next()
	var names []string
	for _, hd := range f.Request.Headers {
		names = append(names, hd.Name)
	}
	// curl writes Host, User-Agent, its own headers, then ours in the order given.
	if got := strings.Join(names, ","); !strings.HasPrefix(got, "Host,User-Agent,") || !strings.HasSuffix(got, "x-b,X-A,accept") {
		t.Errorf("curl's request headers recorded as %s", got)
	}
	if !slices.Equal(f.Response.Headers, wantResponse["/one"]) {
		t.Errorf("response headers %q", f.Response.Headers)
	}
}

func TestWireOrderHTTP2StaysSorted(t *testing.T) {
	// HTTP/2 keeps no wire order here: the headers are listed by name.
	up := httptest.NewUnstartedServer(http.HandlerFunc(echoHandler))
	up.EnableHTTP2 = true
	up.StartTLS()
	defer up.Close()
	h := startProxy(t, Config{RootCAs: upstreamPool(up)})
	req, _ := http.NewRequest("GET", up.URL+"/h2", nil)
	req.Header.Set("Zeta", "z")
	req.Header.Set("Alpha", "a")
	resp, err := h.client(true).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	f := h.next()
	if f.Request.Proto != "HTTP/2.0" {
		t.Fatalf("proto %s", f.Request.Proto)
	}
	var names []string
	for _, hd := range f.Request.Headers[1:] {
		names = append(names, hd.Name)
	}
	if f.Request.Headers[0].Name != "Host" || !sort.StringsAreSorted(names) || f.Request.HeadersSize != trace.Unknown {
		t.Errorf("HTTP/2 request headers %q (size %d)", f.Request.Headers, f.Request.HeadersSize)
	}
}

func TestAgrees(t *testing.T) {
	hs := trace.Headers{{Name: "Host", Value: "x"}, {Name: "a", Value: "1"}, {Name: "A", Value: "2"}, {Name: "transfer-encoding", Value: "chunked"}}
	for _, c := range []struct {
		h    http.Header
		want bool
	}{
		{http.Header{"A": {"1", "2"}}, true},
		{http.Header{"A": {"2", "1"}}, false},
		{http.Header{"A": {"1"}}, false},
		{http.Header{"A": {"1", "2"}, "B": {"3"}}, false},
		{http.Header{"A": {"1", "2", "3"}}, false},
	} {
		if got := agrees(hs, c.h); got != c.want {
			t.Errorf("agrees(%v) = %v", c.h, got)
		}
	}
}

// A request whose header block does not match what net/http parsed falls
// back to sorted headers, and the connection stops guessing.
func TestReqConnMismatchFallsBack(t *testing.T) {
	rc := newReqConn(nil)
	rc.feed([]byte("GET /a HTTP/1.1\r\nHost: x\r\nB: 1\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"))
	r := &http.Request{Method: "GET", RequestURI: "/other", Header: http.Header{"B": {"1"}}}
	if wh := rc.take(r); wh != nil {
		t.Fatalf("took %v for a different request", wh)
	}
	r2 := &http.Request{Method: "GET", RequestURI: "/b", Header: http.Header{}}
	if wh := rc.take(r2); wh != nil {
		t.Fatalf("took %v after losing the stream", wh)
	}
}

// Feeding a stream in any pieces finds the same header blocks.
func TestReqConnSplitAnywhere(t *testing.T) {
	stream := "POST /x HTTP/1.1\r\nContent-Length: 3\r\nA: 1\r\n\r\nabc\r\n" + // a stray CRLF after a POST
		"PUT /y HTTP/1.1\nTransfer-Encoding: chunked\nB: 2\n  folded\n\n2\r\nab\r\n0\r\nT: 1\r\n\r\n" +
		"GET /z HTTP/1.1\r\nC: 3\r\n\r\n"
	whole := newReqConn(nil)
	whole.feed([]byte(stream))
	if len(whole.queue) != 3 || whole.queue[1].headers[1].Value != "2 folded" || whole.queue[2].target != "/z" {
		t.Fatalf("whole stream: %+v", whole.queue)
	}
	for i := 1; i < len(stream); i++ {
		rc := newReqConn(nil)
		rc.feed([]byte(stream[:i]))
		rc.feed([]byte(stream[i:]))
		if fmt.Sprint(rc.queue) != fmt.Sprint(whole.queue) || rc.state != whole.state {
			t.Fatalf("split at %d: %+v", i, rc.queue)
		}
	}
}

func TestRespConnSkipsInterim(t *testing.T) {
	rc := &respConn{}
	rc.arm()
	rc.feed([]byte(chunkedResponse[:40]))
	rc.feed([]byte(chunkedResponse[40:]))
	h := rc.take(&http.Response{StatusCode: 201, Header: http.Header{"B-Second": {"2"}, "A-First": {"1"}}})
	if h == nil || !slices.Equal(h.headers, wantResponse["/two"]) {
		t.Fatalf("took %+v", h)
	}
	// Not armed: bytes of a body are not taken for a header block.
	rc.feed([]byte(oddResponse))
	if rc.take(&http.Response{StatusCode: 200, Header: http.Header{}}) != nil {
		t.Fatal("took a block while not armed")
	}
}

func FuzzReqConn(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 5)
	f.Add([]byte("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;e\r\nabc\r\n0\r\nT: 1\r\n\r\nGET /y HTTP/1.0\n\n"), 17)
	f.Add([]byte("PUT /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n  x\r\n\r\nabCONNECT a:1 HTTP/1.1\r\n\r\n"), 30)
	f.Fuzz(func(t *testing.T, b []byte, split int) {
		whole := newReqConn(nil)
		whole.feed(b)
		if split < 0 || split > len(b) {
			split = len(b) / 2
		}
		parts := newReqConn(nil)
		parts.feed(b[:split])
		parts.feed(b[split:])
		if fmt.Sprint(whole.queue) != fmt.Sprint(parts.queue) {
			t.Fatalf("split at %d changed the blocks:\n%v\n%v", split, whole.queue, parts.queue)
		}
		if len(whole.queue) > maxQueued+1 || len(whole.buf) > maxHeaderBlock+len(b) {
			t.Fatalf("unbounded: %d blocks, %d bytes kept", len(whole.queue), len(whole.buf))
		}
		for _, h := range whole.queue {
			if h.size > int64(len(b)) {
				t.Fatalf("block size %d beyond the input", h.size)
			}
		}
		rc := &respConn{}
		rc.arm()
		rc.feed(b)
	})
}

func TestCopyEndToEnd(t *testing.T) {
	src := http.Header{"Connection": {"close, X-Hop"}, "X-Hop": {"1"}, "Keep-Alive": {"timeout=5"}, "Transfer-Encoding": {"chunked"},
		"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1", "b=2"}}
	dst := http.Header{}
	copyEndToEnd(dst, src)
	want := http.Header{"Content-Type": {"text/plain"}, "Set-Cookie": {"a=1", "b=2"}}
	if fmt.Sprint(dst) != fmt.Sprint(want) {
		t.Errorf("copied %v, want %v", dst, want)
	}
	if fmt.Sprint(outboundHeader(src, false)) != fmt.Sprint(want) {
		t.Errorf("outboundHeader disagrees: %v", outboundHeader(src, false))
	}
}

// A client that comes back on a new connection resumes its TLS session
// with the proxy instead of a full handshake.
func TestClientSessionResumes(t *testing.T) {
	up := httptest.NewTLSServer(http.HandlerFunc(echoHandler))
	defer up.Close()
	h := startProxy(t, Config{RootCAs: upstreamPool(up)})
	pool := x509.NewCertPool()
	pool.AddCert(h.ca.Cert)
	cache := tls.NewLRUClientSessionCache(4)
	for i, wantResumed := range []bool{false, true} {
		c, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		target := up.Listener.Addr().String()
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
		br := bufio.NewReader(c)
		if resp, err := http.ReadResponse(br, &http.Request{Method: "CONNECT"}); err != nil || resp.StatusCode != 200 {
			t.Fatalf("CONNECT: %v", err)
		}
		tc := tls.Client(c, &tls.Config{ServerName: "127.0.0.1", RootCAs: pool, ClientSessionCache: cache, NextProtos: []string{"http/1.1"}})
		fmt.Fprintf(tc, "GET /r%d HTTP/1.1\r\nHost: %s\r\n\r\n", i, target)
		resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) // TLS 1.3 tickets arrive after the handshake
		resp.Body.Close()
		if got := tc.ConnectionState().DidResume; got != wantResumed {
			t.Errorf("connection %d resumed %v, want %v", i+1, got, wantResumed)
		}
		tc.Close()
		h.next()
	}
}
