package proxy

import (
	"bytes"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"

	"github.com/idtrace/idtrace/internal/trace"
)

// Header order. net/http hands a handler its headers as a map, which loses
// the order and the case the client sent them in; Fiddler and HAR keep both.
// So the HTTP/1.x connections on both sides of the proxy are wrapped in
// connections that look at the bytes net/http reads and keep each header
// block as it crossed the wire:
//
//   - reqConn (a client's plain or decrypted HTTP/1.x connection) follows the
//     message framing of every request (Content-Length, chunked) so that it
//     finds each request's header block, even when requests are pipelined,
//     and queues them; the handler takes them in order.
//   - respConn (an upstream HTTP/1.x connection) is armed when the transport
//     hands the connection to a request (httptrace GotConn) and keeps the
//     next final response's header block (after any 1xx).
//
// A block is used only when it agrees with what net/http parsed (the same
// request line, the same values under the same names); otherwise, and for
// HTTP/2, where the standard library does not expose the HPACK order, the
// headers are recorded sorted by name as before.

// maxHeaderBlock bounds the bytes kept while looking for the end of one
// header block (net/http refuses larger blocks anyway).
const maxHeaderBlock = http.DefaultMaxHeaderBytes + 4096

// maxQueued bounds the request header blocks waiting for their handler.
const maxQueued = 16

// wireHead is one header block as it crossed the wire.
type wireHead struct {
	method, target string // request line (requests)
	status         int    // status line (responses)
	headers        trace.Headers
	size           int64 // bytes up to and including the blank line
}

// headerEnd returns the index just past the blank line that ends the header
// block in b (CRLF or bare LF line ends), or -1. from is where to start
// looking for the line end before the blank line.
func headerEnd(b []byte, from int) int {
	for from < len(b) {
		i := bytes.IndexByte(b[from:], '\n')
		if i < 0 {
			return -1
		}
		i += from
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		case i+1 == len(b) || (i+2 == len(b) && b[i+1] == '\r'):
			return -1
		}
		from = i + 1
	}
	return -1
}

// parseHead splits a header block into its first line and its fields, in
// order and with the names' case as sent. Obsolete line folding is joined
// with one space, as net/textproto does. ok is false for a line that is
// not a field.
func parseHead(block []byte) (first string, hs trace.Headers, ok bool) {
	s := string(block)
	nl := strings.IndexByte(s, '\n')
	if nl < 0 {
		return "", nil, false
	}
	first = strings.TrimSuffix(s[:nl], "\r")
	s = s[nl+1:]
	hs = make(trace.Headers, 0, strings.Count(s, "\n"))
	for s != "" {
		nl = strings.IndexByte(s, '\n')
		if nl < 0 {
			nl = len(s)
		}
		line := strings.TrimSuffix(s[:nl], "\r")
		s = s[min(nl+1, len(s)):]
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(hs) == 0 {
				return "", nil, false
			}
			last := &hs[len(hs)-1]
			if v := strings.Trim(line, " \t"); v != "" {
				if last.Value == "" {
					last.Value = v
				} else {
					last.Value += " " + v
				}
			}
			continue
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return "", nil, false
		}
		hs = append(hs, trace.Header{Name: line[:colon], Value: strings.Trim(line[colon+1:], " \t")})
	}
	return first, hs, true
}

// agrees reports whether the wire fields hs say what net/http parsed into
// h: every value under its name in the same order, none missing, none
// extra. Host and Transfer-Encoding are not in h (net/http moves them); a
// Content-Length h lacks is one net/http dropped for chunked framing, and a
// Connection one it dropped after reading "close" from it.
func agrees(hs trace.Headers, h http.Header) bool {
	var canon [48]string
	names := canon[:0]
	counted := 0
	for i, f := range hs {
		k := textproto.CanonicalMIMEHeaderKey(f.Name)
		names = append(names, k)
		if k == "Host" || k == "Transfer-Encoding" {
			continue
		}
		vs, found := h[k]
		if !found && (k == "Content-Length" || k == "Connection") {
			continue
		}
		j := 0
		for _, prev := range names[:i] {
			if prev == k {
				j++
			}
		}
		if j >= len(vs) || vs[j] != f.Value {
			return false
		}
		counted++
	}
	total := 0
	for _, vs := range h {
		total += len(vs)
	}
	return total == counted
}

// Request framing states of reqConn.
const (
	rsHead      = iota // reading a header block
	rsBody             // n body bytes left
	rsChunkSize        // reading a chunk-size line
	rsChunkData        // n chunk bytes left
	rsChunkEnd         // the line end after a chunk
	rsTrailer          // trailer lines until a blank one
	rsOff              // no longer HTTP (CONNECT, WebSocket) or lost
)

// reqConn is a client connection whose request header blocks are kept in
// wire order for the handler (see the comment at the top of this file).
type reqConn struct {
	net.Conn

	mu    sync.Mutex
	state int
	n     int64
	buf   []byte // partial header block or line
	queue []wireHead
}

func newReqConn(c net.Conn) *reqConn { return &reqConn{Conn: c} }

func (c *reqConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		if c.state != rsOff {
			c.feed(b[:n])
		}
		c.mu.Unlock()
	}
	return n, err
}

// feed follows the request stream through b.
func (c *reqConn) feed(b []byte) {
	for len(b) > 0 && c.state != rsOff {
		switch c.state {
		case rsHead:
			if len(c.buf) == 0 {
				for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
					b = b[1:]
				}
				if len(b) == 0 {
					return
				}
				if end := headerEnd(b, 0); end >= 0 {
					c.request(b[:end])
					b = b[end:]
					continue
				}
				c.keep(b)
				return
			}
			old := len(c.buf)
			c.buf = append(c.buf, b...)
			end := headerEnd(c.buf, max(0, old-3))
			if end < 0 {
				if len(c.buf) > maxHeaderBlock {
					c.lose()
				}
				return
			}
			c.request(c.buf[:end])
			b = b[end-old:]
			c.buf = c.buf[:0]
		case rsBody, rsChunkData:
			k := min(c.n, int64(len(b)))
			c.n -= k
			b = b[k:]
			if c.n == 0 {
				if c.state == rsBody {
					c.state = rsHead
				} else {
					c.state = rsChunkEnd
				}
			}
		case rsChunkEnd:
			i := bytes.IndexByte(b, '\n')
			if i < 0 || i > 1 || (i == 1 && b[0] != '\r') {
				if i < 0 && len(b) == 1 && b[0] == '\r' {
					return
				}
				c.lose()
				return
			}
			b = b[i+1:]
			c.state = rsChunkSize
		case rsChunkSize, rsTrailer:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				c.buf = append(c.buf, b...)
				if len(c.buf) > 4096 {
					c.lose()
				}
				return
			}
			line := b[:i]
			if len(c.buf) > 0 {
				c.buf = append(c.buf, line...)
				line = c.buf
			}
			b = b[i+1:]
			c.line(bytes.TrimSuffix(line, []byte("\r")))
			c.buf = c.buf[:0]
		}
	}
}

// keep stores the start of a header block.
func (c *reqConn) keep(b []byte) {
	if len(b) > maxHeaderBlock {
		c.lose()
		return
	}
	c.buf = append(c.buf[:0], b...)
}

// line handles one chunk-size or trailer line.
func (c *reqConn) line(l []byte) {
	if c.state == rsTrailer {
		if len(l) == 0 {
			c.state = rsHead
		}
		return
	}
	if i := bytes.IndexByte(l, ';'); i >= 0 {
		l = l[:i]
	}
	size, err := strconv.ParseUint(string(bytes.Trim(l, " \t")), 16, 63)
	if err != nil {
		c.lose()
		return
	}
	if size == 0 {
		c.state = rsTrailer
		return
	}
	c.n, c.state = int64(size), rsChunkData
}

// lose stops following the stream: later requests on this connection are
// recorded with their headers sorted.
func (c *reqConn) lose() {
	c.state = rsOff
	c.buf = nil
	c.queue = append(c.queue, wireHead{}) // a marker: what follows is unknown
}

// request queues one request header block and sets up its body's framing.
func (c *reqConn) request(block []byte) {
	first, hs, ok := parseHead(block)
	if !ok {
		c.lose()
		return
	}
	method, rest, _ := strings.Cut(first, " ")
	target, _, _ := strings.Cut(rest, " ")
	if len(c.queue) >= maxQueued {
		c.lose()
		return
	}
	c.queue = append(c.queue, wireHead{method: method, target: target, headers: hs, size: int64(len(block))})
	c.state, c.n = rsHead, 0
	var te, cl string
	nte, ncl := 0, 0
	for _, h := range hs {
		switch {
		case strings.EqualFold(h.Name, "Transfer-Encoding"):
			te = h.Value
			nte++
		case strings.EqualFold(h.Name, "Content-Length"):
			if ncl > 0 && h.Value != cl {
				c.lose()
				return
			}
			cl = h.Value
			ncl++
		case strings.EqualFold(h.Name, "Upgrade") && strings.Contains(strings.ToLower(h.Value), "websocket"):
			c.state = rsOff // the connection may switch protocols
		}
	}
	switch {
	case method == http.MethodConnect || c.state == rsOff:
		c.state = rsOff
	case nte > 0:
		codings := strings.Split(te, ",")
		if nte != 1 || !strings.EqualFold(strings.TrimSpace(codings[len(codings)-1]), "chunked") {
			c.state = rsOff // net/http answers 501 and closes
			return
		}
		c.state = rsChunkSize
	case ncl > 0:
		n, err := strconv.ParseInt(strings.TrimSpace(cl), 10, 64)
		if err != nil || n < 0 {
			c.state = rsOff
			return
		}
		if n > 0 {
			c.state, c.n = rsBody, n
		}
	}
}

// take returns the wire header block of r, the request net/http has just
// parsed on this connection, or nil when it is not known.
func (c *reqConn) take(r *http.Request) *wireHead {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		return nil
	}
	h := c.queue[0]
	if h.headers == nil {
		return nil // the marker of lose stays: nothing after it is known
	}
	c.queue[0] = wireHead{}
	c.queue = c.queue[1:]
	if len(c.queue) == 0 {
		c.queue = c.queue[:0:0]
	}
	if h.method != r.Method || h.target != r.RequestURI {
		c.state = rsOff
		c.queue = append(c.queue[:0], wireHead{})
		return nil
	}
	if !agrees(h.headers, r.Header) {
		return nil
	}
	return &h
}

// respConn is an upstream connection whose response header blocks are kept
// in wire order (see the comment at the top of this file).
type respConn struct {
	net.Conn

	mu    sync.Mutex
	armed bool
	buf   []byte
	head  *wireHead
}

func (c *respConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		if c.armed {
			c.feed(b[:n])
		}
		c.mu.Unlock()
	}
	return n, err
}

// arm starts looking for the next response's header block.
func (c *respConn) arm() {
	c.mu.Lock()
	c.armed, c.head, c.buf = true, nil, c.buf[:0]
	c.mu.Unlock()
}

func (c *respConn) feed(b []byte) {
	for len(b) > 0 && c.armed {
		var block []byte
		if len(c.buf) == 0 {
			end := headerEnd(b, 0)
			if end < 0 {
				if len(b) > maxHeaderBlock {
					c.armed = false
					return
				}
				c.buf = append(c.buf, b...)
				return
			}
			block, b = b[:end], b[end:]
		} else {
			old := len(c.buf)
			c.buf = append(c.buf, b...)
			end := headerEnd(c.buf, max(0, old-3))
			if end < 0 {
				if len(c.buf) > maxHeaderBlock {
					c.armed, c.buf = false, nil
				}
				return
			}
			block, b = c.buf[:end], b[end-old:]
		}
		first, hs, ok := parseHead(block)
		c.buf = c.buf[:0]
		if !ok {
			c.armed = false
			return
		}
		_, code, _ := strings.Cut(first, " ")
		code, _, _ = strings.Cut(code, " ")
		status, err := strconv.Atoi(code)
		if err != nil {
			c.armed = false
			return
		}
		if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
			continue // an interim response: the final one follows
		}
		c.head = &wireHead{status: status, headers: hs, size: int64(len(block))}
		c.armed = false
	}
}

func (c *respConn) takeOrNil(resp *http.Response) *wireHead {
	if c == nil {
		return nil
	}
	return c.take(resp)
}

// take returns the header block of resp, the response the transport has
// just read on this connection, or nil when it is not known.
func (c *respConn) take(resp *http.Response) *wireHead {
	c.mu.Lock()
	h := c.head
	c.head = nil
	c.mu.Unlock()
	if h == nil || h.status != resp.StatusCode || !agrees(h.headers, resp.Header) {
		return nil
	}
	return h
}
