package proxy

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

func TestDecodeRefusesBomb(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(strings.Repeat("A", 1<<20)))
	zw.Close()
	if _, err := decode("gzip", b.Bytes(), 1000); err == nil {
		t.Fatal("a body that decodes past the cap was accepted")
	}
	out, err := decode("gzip", b.Bytes(), 1<<20)
	if err != nil || len(out) != 1<<20 {
		t.Fatalf("decoded %d bytes, err %v", len(out), err)
	}
}

func FuzzDecode(f *testing.F) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte("hello hello hello"))
	zw.Close()
	f.Add("gzip", b.Bytes())
	f.Add("deflate", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	f.Fuzz(func(t *testing.T, enc string, data []byte) {
		out, err := decode(enc, data, 4096)
		if err == nil && len(out) > 4096 {
			t.Fatalf("decoded %d bytes past the cap", len(out))
		}
	})
}
