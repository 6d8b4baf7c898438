package saz

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/idtrace/idtrace/internal/httpmsg"
)

// bigSAZ is a SAZ of two sessions whose first response body, gzip-encoded
// and chunked, and whose first request body are larger than 1 MB; prefix
// bytes before the zip make the reader go through archive/zip.
func bigSAZ(t testing.TB, prefix string) (archive []byte, respBody, reqBody []byte) {
	rng := rand.New(rand.NewPCG(1, 2))
	respBody = make([]byte, 3<<20)
	for i := range respBody {
		respBody[i] = "abcdefghijklmnopqrstuvwxyz{}\":,\n"[rng.IntN(32)]
	}
	reqBody = bytes.Repeat([]byte("q=1&"), 400<<10)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(respBody)
	zw.Close()
	var chunked bytes.Buffer
	for b := gz.Bytes(); len(b) > 0; {
		n := min(len(b), 70000)
		fmt.Fprintf(&chunked, "%x;ext=1\r\n", n)
		chunked.Write(b[:n])
		chunked.WriteString("\r\n")
		b = b[n:]
	}
	chunked.WriteString("0\r\n\r\n")
	var buf bytes.Buffer
	buf.WriteString(prefix)
	w := zip.NewWriter(&buf)
	w.SetOffset(int64(len(prefix)))
	add := func(name string, parts ...[]byte) {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			f.Write(p)
		}
	}
	add("raw/1_c.txt", []byte(fmt.Sprintf("POST https://a.example/up HTTP/1.1\r\nHost: a.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", len(reqBody))), reqBody)
	add("raw/1_s.txt", []byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"), chunked.Bytes())
	add("raw/2_c.txt", []byte("GET https://a.example/small HTTP/1.1\r\nHost: a.example\r\n\r\n"))
	add("raw/2_s.txt", []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), respBody, reqBody
}

// TestStreamOver: with StreamOver, the large bodies stay in the archive
// (headers only in the flow) and OpenBody streams exactly the bytes the
// whole-entry reader decodes — the oracle — through the index reader and
// through archive/zip.
func TestStreamOver(t *testing.T) {
	for _, prefix := range []string{"", "data before the zip"} {
		t.Run(fmt.Sprintf("prefix=%d", len(prefix)), func(t *testing.T) {
			b, respBody, reqBody := bigSAZ(t, prefix)
			whole, err := Open(bytes.NewReader(b), int64(len(b)), "big.saz", Options{})
			if err != nil {
				t.Fatal(err)
			}
			var oracle []*flowBodies
			for f, err := range whole.Flows() {
				if err != nil {
					t.Fatal(err)
				}
				oracle = append(oracle, &flowBodies{f.Request.Body, f.Response.Body, f.Response.Status})
			}
			if !bytes.Equal(oracle[0].resp, respBody) || !bytes.Equal(oracle[0].req, reqBody) {
				t.Fatal("the whole-entry reader does not decode the bodies written")
			}
			r, err := Open(bytes.NewReader(b), int64(len(b)), "big.saz", Options{StreamOver: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			i := 0
			for f, err := range r.Flows() {
				if err != nil {
					t.Fatal(err)
				}
				want := oracle[i]
				i++
				if f.Response.Status != want.status {
					t.Errorf("session %d: status %d, want %d", f.ID, f.Response.Status, want.status)
				}
				if f.ID == 2 {
					if string(f.Response.Body) != "ok" || f.Response.BodyOmitted {
						t.Errorf("session 2: a small body must be read as usual")
					}
					continue
				}
				if len(f.Response.Body) != 0 || !f.Response.BodyOmitted || len(f.Request.Body) != 0 || !f.Request.HasBody {
					t.Fatalf("session 1: bodies over StreamOver must stay in the archive")
				}
				if f.Response.Headers.Get("Content-Encoding") != "gzip" || f.Response.BodySize <= 0 {
					t.Errorf("session 1: headers or recorded size lost: %v %d", f.Response.Headers, f.Response.BodySize)
				}
				for _, req := range []bool{false, true} {
					rc, err := r.OpenBody(f.ID, req)
					if err != nil {
						t.Fatal(err)
					}
					got, err := io.ReadAll(rc)
					rc.Close()
					if err != nil {
						t.Fatal(err)
					}
					exp := want.resp
					if req {
						exp = want.req
					}
					if !bytes.Equal(got, exp) {
						t.Errorf("OpenBody(request=%v): %d bytes, want the %d the whole-entry reader gives", req, len(got), len(exp))
					}
				}
			}
		})
	}
}

type flowBodies struct {
	req, resp []byte
	status    int
}

// TestOpenBodyBomb: a body that inflates past MaxRatio times its size on
// the wire fails while it is streamed, however it is framed.
func TestOpenBodyBomb(t *testing.T) {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(make([]byte, 64<<20))
	zw.Close()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, _ := w.Create("raw/1_c.txt")
	io.WriteString(f, "GET https://a.example/ HTTP/1.1\r\n\r\n")
	f, _ = w.Create("raw/1_s.txt")
	fmt.Fprintf(f, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n", gz.Len())
	f.Write(gz.Bytes())
	w.Close()
	r, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "bomb.saz", Options{StreamOver: 1})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := r.OpenBody(1, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); !errors.Is(err, httpmsg.ErrBomb) {
		t.Fatalf("a 1000:1 body streamed with error %v, want ErrBomb", err)
	}
	if _, err := r.OpenBody(2, false); err == nil {
		t.Fatal("OpenBody(2) of a one-session archive: no error")
	}
}

// FuzzStreamOver: for any response entry, a reader that leaves every body
// in the archive (StreamOver 1) never panics, gives the same status and
// headers as the whole-entry reader, and OpenBody streams the body that
// reader decodes whenever it decodes one without a warning.
func FuzzStreamOver(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 302 Found\nLocation: /x\n\n"))
	f.Fuzz(func(t *testing.T, resp []byte) {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		c, _ := w.Create("raw/1_c.txt")
		io.WriteString(c, "GET https://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n")
		s, _ := w.Create("raw/1_s.txt")
		s.Write(resp)
		w.Close()
		b := buf.Bytes()
		whole, err := Open(bytes.NewReader(b), int64(len(b)), "f.saz", Options{})
		if err != nil {
			t.Fatal(err)
		}
		var want []byte
		var wantStatus int
		var clean bool
		for fl, err := range whole.Flows() {
			if err != nil || fl.Response == nil {
				return
			}
			want, wantStatus, clean = fl.Response.Body, fl.Response.Status, len(whole.Warnings()) == 0
		}
		r, err := Open(bytes.NewReader(b), int64(len(b)), "f.saz", Options{StreamOver: 1})
		if err != nil {
			t.Fatal(err)
		}
		for fl, err := range r.Flows() {
			if err != nil {
				t.Fatalf("the streaming reader fails where the whole one reads: %v", err)
			}
			if fl.Response == nil || fl.Response.Status != wantStatus {
				t.Fatalf("status differs from the whole-entry reader")
			}
		}
		rc, err := r.OpenBody(1, false)
		if err != nil {
			if clean && len(want) > 0 {
				t.Fatalf("OpenBody: %v", err)
			}
			return
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if clean && (err != nil || !bytes.Equal(got, want)) {
			t.Fatalf("OpenBody gave %q (%v), the whole-entry reader %q", got, err, want)
		}
	})
}
