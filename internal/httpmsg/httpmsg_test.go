package httpmsg

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/idtrace/idtrace/internal/trace"
)

// Synthetic bodies and encoders for the table tests.

const jsonBody = `{"access_token":"synthetic","token_type":"Bearer","expires_in":3599}`

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zl(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func rawDeflate(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, 6)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func br(b []byte) []byte {
	var buf bytes.Buffer
	w := brotli.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zs(b []byte) []byte {
	w, _ := zstd.NewWriter(nil)
	defer w.Close()
	return w.EncodeAll(b, nil)
}

func chunk(b []byte, size int) []byte {
	var buf bytes.Buffer
	for len(b) > 0 {
		n := min(size, len(b))
		fmt.Fprintf(&buf, "%x;ext=1\r\n", n)
		buf.Write(b[:n])
		buf.WriteString("\r\n")
		b = b[n:]
	}
	buf.WriteString("0\r\n\r\n")
	return buf.Bytes()
}

func resp(headers string, body []byte) []byte {
	return append([]byte("HTTP/1.1 200 OK\r\n"+headers+"\r\n"), body...)
}

func TestParseResponseBodies(t *testing.T) {
	body := []byte(strings.Repeat(jsonBody, 20))
	tests := []struct {
		name     string
		raw      []byte
		encoding string
		wire     []byte // expected Wire; nil means none
		wantErr  bool
	}{
		{"identity", resp("Content-Length: 1380\r\n", body), "", nil, false},
		{"chunked", resp("Transfer-Encoding: chunked\r\n", chunk(body, 100)), "", nil, false},
		{"chunked+gzip", resp("Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n", chunk(gz(body), 50)), "gzip", gz(body), false},
		{"br", resp("Content-Encoding: br\r\n", br(body)), "br", br(body), false},
		{"zstd", resp("Content-Encoding: zstd\r\n", zs(body)), "zstd", zs(body), false},
		{"deflate zlib", resp("Content-Encoding: deflate\r\n", zl(body)), "deflate", zl(body), false},
		{"deflate raw", resp("Content-Encoding: deflate\r\n", rawDeflate(body)), "deflate", rawDeflate(body), false},
		{"stacked gzip then br", resp("Content-Encoding: gzip, br\r\n", br(gz(body))), "gzip, br", br(gz(body)), false},
		{"stacked two headers", resp("Content-Encoding: gzip\r\nContent-Encoding: zstd\r\n", zs(gz(body))), "gzip, zstd", zs(gz(body)), false},
		{"identity coding", resp("Content-Encoding: identity\r\n", body), "", nil, false},
		{"bad gzip kept", resp("Content-Encoding: gzip\r\n", body), "gzip", body, true},
		{"unknown coding kept", resp("Content-Encoding: compress\r\n", body), "compress", body, true},
		{"bad chunk kept", resp("Transfer-Encoding: chunked\r\n", body), "", body, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseResponse(tc.raw, Limits{})
			if r == nil {
				t.Fatalf("no response: %v", err)
			}
			var be *BodyError
			if tc.wantErr != errors.As(err, &be) {
				t.Fatalf("err = %v, want BodyError: %v", err, tc.wantErr)
			}
			if tc.wantErr {
				if r.Extra.Get(DecodeErrorField) == nil {
					t.Errorf("decode error not recorded in Extra")
				}
				if !bytes.Equal(r.Body, tc.wire) {
					t.Errorf("body not kept as received")
				}
			} else if !bytes.Equal(r.Body, body) {
				t.Errorf("body = %q..., want the decoded body", truncate(r.Body, 40))
			}
			if r.Encoding != tc.encoding {
				t.Errorf("Encoding = %q, want %q", r.Encoding, tc.encoding)
			}
			if !bytes.Equal(r.Wire, tc.wire) {
				t.Errorf("Wire = %d bytes, want %d", len(r.Wire), len(tc.wire))
			}
			if want := int64(len(body) - len(tc.wire)); !tc.wantErr && tc.wire != nil && r.Compression != want {
				t.Errorf("Compression = %d, want %d", r.Compression, want)
			}
			if r.Status != 200 || r.Reason != "OK" || r.Proto != "HTTP/1.1" {
				t.Errorf("status line = %q %d %q", r.Proto, r.Status, r.Reason)
			}
		})
	}
}

func TestParseResponseBomb(t *testing.T) {
	big := bytes.Repeat([]byte{'A'}, 8<<20)
	for _, tc := range []struct {
		name string
		enc  string
		wire []byte
		lim  Limits
	}{
		{"gzip ratio", "gzip", gz(big), Limits{}},
		{"stacked gzip ratio", "gzip, gzip", gz(gz(big)), Limits{}},
		{"zstd ratio", "zstd", zs(big), Limits{}},
		{"br ratio", "br", br(big), Limits{}},
		{"absolute cap", "gzip", gz(big), Limits{MaxBodyBytes: 1 << 20, MaxRatio: 1 << 30}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseResponse(resp("Content-Encoding: "+tc.enc+"\r\n", tc.wire), tc.lim)
			if !errors.Is(err, ErrBomb) {
				t.Fatalf("err = %v, want ErrBomb", err)
			}
			if r == nil || !bytes.Equal(r.Body, tc.wire) || len(r.Body) >= len(big) {
				t.Fatalf("response must be kept with the wire body")
			}
		})
	}
}

func TestParseHeaders(t *testing.T) {
	raw := "HTTP/1.1 302 Found\r\n" +
		"Set-Cookie: a=1\r\n" +
		"X-Folded: first\r\n" +
		"\t second\r\n" +
		"  third\r\n" +
		"set-cookie: b=2\r\n" +
		"Location: https://login.example/authorize\r\n" +
		"Empty:\r\n" +
		"\r\n"
	r, err := ParseResponse([]byte(raw), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := trace.Headers{{Name: "Set-Cookie", Value: "a=1"}, {Name: "X-Folded", Value: "first second third"},
		{Name: "set-cookie", Value: "b=2"}, {Name: "Location", Value: "https://login.example/authorize"}, {Name: "Empty", Value: ""}}
	if fmt.Sprint(r.Headers) != fmt.Sprint(want) {
		t.Errorf("headers = %v\nwant %v", r.Headers, want)
	}
	if got := r.Headers.Values("set-cookie"); len(got) != 2 {
		t.Errorf("duplicates lost: %v", got)
	}
	if r.RedirectURL != "https://login.example/authorize" || r.Status != 302 {
		t.Errorf("redirect = %q status %d", r.RedirectURL, r.Status)
	}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name, raw, method, url, proto, body string
	}{
		{"absolute", "POST https://login.example/token HTTP/1.1\r\nHost: login.example\r\nContent-Length: 9\r\n\r\ncode=abc1", "POST", "https://login.example/token", "HTTP/1.1", "code=abc1"},
		{"connect", "CONNECT login.example:443 HTTP/1.1\r\nHost: login.example:443\r\n\r\nA SSLv3-compatible ClientHello...", "CONNECT", "login.example:443", "HTTP/1.1", "A SSLv3-compatible ClientHello..."},
		{"origin form", "GET /a?b=c HTTP/1.1\nHost: example.test\n\n", "GET", "http://example.test/a?b=c", "HTTP/1.1", ""},
		{"no length header", "GET http://localhost:9000/test HTTP/1.1\r\nAccept: */*\r\n\r\n{\"request\":\"test\"}", "GET", "http://localhost:9000/test", "HTTP/1.1", `{"request":"test"}`},
		{"chunked", "POST http://x.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "POST", "http://x.test/", "HTTP/1.1", "abcde"},
		{"no blank line", "GET http://x.test/ HTTP/1.1\r\nHost: x.test", "GET", "http://x.test/", "HTTP/1.1", ""},
		{"space in target", "GET http://x.test/a b  HTTP/1.1\r\n\r\n", "GET", "http://x.test/a b", "HTTP/1.1", ""},
		{"pseudo header", "GET https://x.test/ HTTP/2\r\n:authority: x.test\r\n\r\n", "GET", "https://x.test/", "HTTP/2", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			if r.Method != tc.method || r.URL != tc.url || r.Proto != tc.proto || string(r.Body) != tc.body {
				t.Errorf("got %s %s %s body %q", r.Method, r.URL, r.Proto, r.Body)
			}
		})
	}
	if r, _ := ParseRequest([]byte("GET https://x.test/ HTTP/2\r\n:authority: x.test\r\n\r\n")); r.Headers[0].Name != ":authority" {
		t.Errorf("pseudo-header name = %q", r.Headers[0].Name)
	}
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("a", 70<<10)
	many := strings.Repeat("X-A: b\r\n", 1001)
	tests := []struct {
		name string
		raw  string
		req  bool
		off  int64
	}{
		{"empty", "", true, 0},
		{"not http", "I'm not a saz file.", true, 0},
		{"bad status", "HTTP/1.1 OK\r\n\r\n", false, 9},
		{"not a status line", "hello world\r\n\r\n", false, 0},
		{"header without colon", "HTTP/1.1 200 OK\r\nbroken header\r\n\r\n", false, 17},
		{"fold first", "HTTP/1.1 200 OK\r\n folded\r\n\r\n", false, 17},
		{"long line", "HTTP/1.1 200 OK\r\nX: " + long + "\r\n\r\n", false, 17},
		{"too many headers", "HTTP/1.1 200 OK\r\n" + many + "\r\n", false, 17 + 1000*8},
		{"bad method", "G(T / HTTP/1.1\r\n\r\n", true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.req {
				_, err = ParseRequest([]byte(tc.raw))
			} else {
				_, err = ParseResponse([]byte(tc.raw), Limits{})
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want SyntaxError", err)
			}
			if se.Offset != tc.off {
				t.Errorf("offset = %d, want %d (%v)", se.Offset, tc.off, err)
			}
		})
	}
}

// TestWriteRoundTrip checks trace -> wire -> trace keeps the decoded body
// and the header list, with and without Wire.
func TestWriteRoundTrip(t *testing.T) {
	body := []byte(strings.Repeat(jsonBody, 10))
	tests := []struct {
		name string
		raw  []byte
		drop bool // drop Wire before writing (as after HAR)
		// wantHeaders: the header names expected after the round trip ("" = unchanged)
		wantNames string
	}{
		{"gzip with wire", resp("Content-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n", gz(body)), false, ""},
		{"gzip no wire", resp("Content-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n", gz(body)), true, ""},
		{"chunked br no wire", resp("Transfer-Encoding: chunked\r\nContent-Encoding: br\r\n", chunk(br(body), 64)), true, ""},
		{"chunked zstd", resp("Transfer-Encoding: chunked\r\nContent-Encoding: zstd\r\n", chunk(zs(body), 64)), false, ""},
		{"unknown coding no wire", resp("Content-Encoding: compress\r\nContent-Length: 1\r\n", body), true, "[Content-Length]"},
		{"head answer keeps length", []byte("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"), false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r1, _ := ParseResponse(tc.raw, Limits{})
			if tc.drop {
				r1.Wire = nil
			}
			var buf bytes.Buffer
			if err := WriteResponse(&buf, r1); err != nil {
				t.Fatal(err)
			}
			r2, _ := ParseResponse(buf.Bytes(), Limits{})
			if !bytes.Equal(r1.Body, r2.Body) {
				t.Errorf("decoded body changed: %d -> %d bytes", len(r1.Body), len(r2.Body))
			}
			names := func(hs trace.Headers) string {
				var n []string
				for _, h := range hs {
					n = append(n, h.Name)
				}
				return "[" + strings.Join(n, " ") + "]"
			}
			want := names(r1.Headers)
			if tc.wantNames != "" {
				want = tc.wantNames
			}
			if got := names(r2.Headers); got != want {
				t.Errorf("headers %s, want %s", got, want)
			}
			if cl := r2.Headers.Get("Content-Length"); cl != "" && len(r2.Body) > 0 && r2.Wire == nil && cl != fmt.Sprint(len(r2.Body)) {
				t.Errorf("Content-Length %s for %d bytes", cl, len(r2.Body))
			}
		})
	}
	req, _ := ParseRequest([]byte("POST https://x.test/t HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Bad: a\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	req.Headers = append(req.Headers, trace.Header{Name: "X-Inject", Value: "v\r\nEvil: 1"})
	var buf bytes.Buffer
	if err := WriteRequest(&buf, req); err != nil {
		t.Fatal(err)
	}
	back, err := ParseRequest(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Body) != "abc" || back.URL != req.URL || len(back.Headers) != 3 || back.Headers.Get("Evil") != "" {
		t.Errorf("request round trip: %+v", back)
	}
}

func TestCookiesAndInterim(t *testing.T) {
	raw := "HTTP/1.1 100 Continue\r\n\r\n" +
		"HTTP/1.1 200 OK\r\n" +
		"Set-Cookie: esctx=synthetic; domain=.login.example; path=/; secure; HttpOnly; SameSite=None\r\n" +
		"Set-Cookie: x-ms-gateway-slice=estsfd; path=/; expires=Wed, 01 Jan 2031 00:00:00 GMT\r\n" +
		"Content-Length: 2\r\n\r\nok"
	r, err := ParseResponse([]byte(raw), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || string(r.Body) != "ok" || string(r.Extra.Get(InterimField)) != `["HTTP/1.1 100 Continue"]` {
		t.Errorf("status %d body %q interim %s", r.Status, r.Body, r.Extra.Get(InterimField))
	}
	if len(r.Cookies) != 2 {
		t.Fatalf("cookies = %+v", r.Cookies)
	}
	c := r.Cookies[0]
	if c.Name != "esctx" || c.Value != "synthetic" || c.Domain != ".login.example" || c.Path != "/" || !*c.Secure || !*c.HTTPOnly || c.SameSite != "None" {
		t.Errorf("cookie 0 = %+v", c)
	}
	if c := r.Cookies[1]; *c.Secure || c.Expires != "Wed, 01 Jan 2031 00:00:00 GMT" {
		t.Errorf("cookie 1 = %+v", c)
	}
	q, err := ParseRequest([]byte("GET https://x.test/ HTTP/1.1\r\nCookie: a=1; b=two=2\r\nCookie: c\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(q.Cookies) != fmt.Sprint([]trace.Cookie{{Name: "a", Value: "1"}, {Name: "b", Value: "two=2"}, {Name: "c"}}) {
		t.Errorf("request cookies = %+v", q.Cookies)
	}
	// A syntax error after an interim answer reports the offset in the file.
	_, err = ParseResponse([]byte("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nbad\r\n\r\n"), Limits{})
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != 57 {
		t.Errorf("err = %v", err)
	}
}

// TestWriteIgnoresStaleWire checks a Body changed after parsing (as a
// redactor does) is what gets written, not the old Wire.
func TestWriteIgnoresStaleWire(t *testing.T) {
	r, err := ParseResponse(resp("Content-Encoding: gzip\r\nContent-Length: 1\r\n", gz([]byte(`{"access_token":"secret-synthetic"}`))), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	r.Body = []byte(`{"access_token":"REDACTED"}`)
	var buf bytes.Buffer
	if err := WriteResponse(&buf, r); err != nil {
		t.Fatal(err)
	}
	back, err := ParseResponse(buf.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if string(back.Body) != `{"access_token":"REDACTED"}` || back.Encoding != "gzip" {
		t.Errorf("written body = %q (%s)", back.Body, back.Encoding)
	}
}
