package redact

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
)

// maxDecoded caps what a compressed request body may inflate to.
const maxDecoded = 64 << 20

// decodeCoding undoes gzip or deflate (zlib-wrapped or raw, as both are
// seen on the wire).
func decodeCoding(b []byte, ce string) ([]byte, error) {
	var rd io.Reader
	switch ce {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		rd = zr
	case "deflate":
		if zr, err := zlib.NewReader(bytes.NewReader(b)); err == nil {
			rd = zr
		} else {
			rd = flate.NewReader(bytes.NewReader(b))
		}
	default:
		return nil, errors.New("unsupported coding " + ce)
	}
	out, err := io.ReadAll(io.LimitReader(rd, maxDecoded+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxDecoded {
		return nil, errors.New("decoded body too large")
	}
	return out, nil
}

func encodeCoding(b []byte, ce string) ([]byte, error) {
	var buf bytes.Buffer
	var w io.WriteCloser
	switch ce {
	case "gzip", "x-gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	default:
		return nil, errors.New("unsupported coding " + ce)
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
