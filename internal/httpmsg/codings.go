package httpmsg

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// decodeBody undoes the content codings, last applied first, with the
// absolute and ratio caps of lim measured against the wire size.
func decodeBody(wire []byte, codings []string, lim Limits) ([]byte, error) {
	max := lim.MaxRatio * int64(len(wire))
	if max < lim.RatioFloor || max/lim.MaxRatio != int64(len(wire)) {
		max = lim.RatioFloor
	}
	if max > lim.MaxBodyBytes {
		max = lim.MaxBodyBytes
	}
	b := wire
	for i := len(codings) - 1; i >= 0; i-- {
		out, err := decodeOne(b, codings[i], max)
		if err != nil {
			return nil, &BodyError{Stage: codings[i], Err: err}
		}
		b = out
	}
	return b, nil
}

func decodeOne(b []byte, coding string, max int64) ([]byte, error) {
	if len(b) == 0 {
		return b, nil
	}
	var r io.Reader
	switch coding {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	case "deflate":
		// RFC 9110 says zlib; some servers send raw DEFLATE.
		if len(b) >= 2 && b[0]&0x0f == 8 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 {
			zr, err := zlib.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			defer zr.Close()
			r = zr
		} else {
			fr := flate.NewReader(bytes.NewReader(b))
			defer fr.Close()
			r = fr
		}
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	case "zstd":
		mem := uint64(max) + 1
		if mem < 8<<20 {
			mem = 8 << 20
		}
		zr, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(mem), zstd.WithDecoderMaxWindow(min(mem, 64<<20)))
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("unsupported content coding %q", coding)
	}
	out, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes from %d on the wire", ErrBomb, max, len(b))
	}
	return out, nil
}

// encodeBody applies the codings in order (used when writing a decoded
// body whose Wire is unknown). It fails for codings it cannot produce.
func encodeBody(body []byte, codings []string) ([]byte, error) {
	b := body
	for _, c := range codings {
		var buf bytes.Buffer
		var w io.WriteCloser
		switch c {
		case "gzip", "x-gzip":
			w = gzip.NewWriter(&buf)
		case "deflate":
			w = zlib.NewWriter(&buf)
		case "br":
			w = brotli.NewWriter(&buf)
		case "zstd":
			zw, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
			if err != nil {
				return nil, err
			}
			w = zw
		default:
			return nil, errors.New("cannot encode " + c)
		}
		if _, err := w.Write(b); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		b = buf.Bytes()
	}
	return b, nil
}

// DecodeCoding undoes one content coding (gzip, x-gzip, deflate, br, zstd)
// of wire, yielding at most max bytes: a body that would inflate beyond
// that is refused with ErrBomb. Live sources (the proxy) use it for the
// codings they do not decode themselves.
func DecodeCoding(coding string, wire []byte, max int64) ([]byte, error) {
	return decodeOne(wire, coding, max)
}
