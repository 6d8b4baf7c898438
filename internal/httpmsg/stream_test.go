package httpmsg

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

// FuzzDecodeStream: whatever the framing and codings, the streamed body
// equals the one ParseResponse decodes whole (the oracle) whenever that
// decodes without a BodyError, and streaming never panics.
func FuzzDecodeStream(f *testing.F) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"a":1}`))
	zw.Close()
	f.Add("Content-Encoding: gzip\r\n", gz.Bytes())
	f.Add("Transfer-Encoding: chunked\r\n", []byte("3\r\nabc\r\n0\r\n\r\n"))
	f.Add("Transfer-Encoding: chunked\r\nContent-Encoding: deflate\r\n", []byte("2\r\n\x03\x00\r\n0\r\n\r\n"))
	f.Add("", []byte("plain"))
	f.Add("Content-Encoding: br\r\n", []byte{0x0b, 0x02, 0x80, 0x68, 0x69, 0x03})
	f.Fuzz(func(t *testing.T, headers string, body []byte) {
		head := "HTTP/1.1 200 OK\r\n" + headers + "\r\n"
		resp, err := ParseResponse(append([]byte(head), body...), Limits{})
		if resp == nil || resp.HeadersSize != int64(len(head)) {
			return // the headers did not end where the body starts
		}
		rc, serr := DecodeStream(resp.Headers, bytes.NewReader(body), Limits{})
		if serr != nil {
			if err == nil && len(body) > 0 {
				t.Fatalf("DecodeStream refused what ParseResponse decoded: %v", serr)
			}
			return
		}
		defer rc.Close()
		got, rerr := io.ReadAll(rc)
		if err != nil {
			return // the whole-body decoder kept it undecoded; the stream may fail or not
		}
		if rerr != nil && len(body) > 0 {
			t.Fatalf("stream failed (%v) where ParseResponse decoded %d bytes", rerr, len(resp.Body))
		}
		if rerr == nil && !bytes.Equal(got, resp.Body) {
			t.Fatalf("stream gave %q, ParseResponse %q", got, resp.Body)
		}
	})
}
