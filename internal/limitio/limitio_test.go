package limitio

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReaderStopsAtLimitAndMoves(t *testing.T) {
	errBig := errors.New("too big")
	r := &Reader{R: strings.NewReader("0123456789abcdef"), Limit: 4, Err: errBig}
	b, err := io.ReadAll(r)
	if string(b) != "0123" || !errors.Is(err, errBig) {
		t.Fatalf("read %q, %v; want 0123 and the limit error", b, err)
	}
	r.Allow(3)
	b, err = io.ReadAll(r)
	if string(b) != "456" || !errors.Is(err, errBig) || r.N != 7 {
		t.Fatalf("after Allow(3): %q, %v, N=%d", b, err, r.N)
	}
	r.Allow(100)
	b, err = io.ReadAll(r)
	if string(b) != "789abcdef" || err != nil {
		t.Fatalf("to the end: %q, %v", b, err)
	}
	z := &Reader{R: strings.NewReader("x")}
	if _, err := z.Read(make([]byte, 1)); err != io.ErrUnexpectedEOF {
		t.Errorf("zero limit, nil Err: %v", err)
	}
}
