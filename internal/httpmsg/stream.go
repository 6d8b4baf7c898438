package httpmsg

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"strconv"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/idtrace/idtrace/internal/trace"
)

// DecodeStream returns the decoded body of a message whose headers are hs
// and whose body, as received, body yields: chunked framing removed, then
// the content codings undone, last applied first — what ParseRequest and
// ParseResponse put in Body, read as a stream in constant memory.
//
// The ratio cap of lim applies as the body is read (decoded bytes past
// RatioFloor may not exceed MaxRatio times the bytes read from body), and
// MaxBodyBytes caps the decoded total; crossing either fails the read with
// an error wrapping ErrBomb. A body without codings or framing is body
// itself, capped the same way. Close releases the decoders.
func DecodeStream(hs trace.Headers, body io.Reader, lim Limits) (io.ReadCloser, error) {
	lim = lim.norm()
	wire := &countReader{r: body}
	var r io.Reader = wire
	var closers []io.Closer
	if isChunked(hs) {
		r = &chunkReader{br: bufio.NewReaderSize(r, 32<<10)}
	}
	codings := contentCodings(hs)
	if len(codings) > 0 {
		// An empty body stays empty, as decodeOne leaves it.
		br := bufio.NewReaderSize(r, 32<<10)
		if _, err := br.Peek(1); err == io.EOF {
			codings = nil
		}
		r = br
	}
	for i := len(codings) - 1; i >= 0; i-- {
		next, c, err := decodeReader(r, codings[i], lim)
		if err != nil {
			for _, c := range closers {
				c.Close()
			}
			return nil, &BodyError{Stage: codings[i], Err: err}
		}
		r = next
		if c != nil {
			closers = append(closers, c)
		}
	}
	return &cappedBody{r: r, wire: wire, lim: lim, closers: closers}, nil
}

func decodeReader(r io.Reader, coding string, lim Limits) (io.Reader, io.Closer, error) {
	switch coding {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, err
		}
		return zr, zr, nil
	case "deflate":
		// RFC 9110 says zlib; some servers send raw DEFLATE (as decodeOne).
		br := bufio.NewReader(r)
		if b, _ := br.Peek(2); len(b) == 2 && b[0]&0x0f == 8 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 {
			zr, err := zlib.NewReader(br)
			if err != nil {
				return nil, nil, err
			}
			return zr, zr, nil
		}
		fr := flate.NewReader(br)
		return fr, fr, nil
	case "br":
		return brotli.NewReader(r), nil, nil
	case "zstd":
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxMemory(64<<20), zstd.WithDecoderMaxWindow(64<<20))
		if err != nil {
			return nil, nil, err
		}
		return zr, closerFunc(zr.Close), nil
	}
	return nil, nil, fmt.Errorf("unsupported content coding %q", coding)
}

type closerFunc func()

func (f closerFunc) Close() error { f(); return nil }

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// cappedBody enforces the caps of DecodeStream.
type cappedBody struct {
	r       io.Reader
	wire    *countReader
	lim     Limits
	out     int64
	closers []io.Closer
}

func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.out += int64(n)
	if b.out > b.lim.MaxBodyBytes {
		return n, fmt.Errorf("%w: more than %d bytes", ErrBomb, b.lim.MaxBodyBytes)
	}
	if b.out > b.lim.RatioFloor && b.out/b.lim.MaxRatio > b.wire.n {
		return n, fmt.Errorf("%w: more than %d times the %d bytes on the wire", ErrBomb, b.lim.MaxRatio, b.wire.n)
	}
	return n, err
}

func (b *cappedBody) Close() error {
	for _, c := range b.closers {
		c.Close()
	}
	return nil
}

// chunkReader removes chunked framing as it is read, with the leniency of
// dechunk (bare LF line ends, extensions and trailers ignored), so a
// streamed body equals the one ParseResponse decodes.
type chunkReader struct {
	br   *bufio.Reader
	left uint64 // bytes left in the current chunk
	pos  int64  // bytes consumed, for errors
	done bool
	err  error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.done {
		return 0, io.EOF
	}
	if c.left == 0 {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			if err == io.EOF || err == bufio.ErrBufferFull {
				c.err = fmt.Errorf("byte %d: missing chunk size line", c.pos)
			} else {
				c.err = err
			}
			return 0, c.err
		}
		at := c.pos
		c.pos += int64(len(line))
		line = bytes.TrimRight(line[:len(line)-1], "\r")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		line = bytes.TrimSpace(line)
		n, err := strconv.ParseUint(string(line), 16, 63)
		if err != nil || len(line) == 0 {
			c.err = fmt.Errorf("byte %d: invalid chunk size %q", at, truncate(line, 20))
			return 0, c.err
		}
		if n == 0 {
			c.done = true
			return 0, io.EOF
		}
		c.left = n
	}
	if uint64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= uint64(n)
	c.pos += int64(n)
	if err == io.EOF {
		c.err = fmt.Errorf("byte %d: chunk of %d bytes truncated", c.pos, c.left+uint64(n))
		return n, c.err
	}
	if err != nil {
		c.err = err
		return n, err
	}
	if c.left == 0 {
		// CRLF after the data (tolerate bare LF).
		if b, _ := c.br.Peek(1); len(b) == 1 && b[0] == '\r' {
			c.br.Discard(1)
			c.pos++
		}
		if b, _ := c.br.Peek(1); len(b) == 1 && b[0] == '\n' {
			c.br.Discard(1)
			c.pos++
		} else {
			c.err = fmt.Errorf("byte %d: missing CRLF after chunk data", c.pos)
			return n, nil
		}
	}
	return n, nil
}
