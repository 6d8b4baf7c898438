package proxy

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/idtrace/idtrace/internal/trace"
)

func isWebSocket(r *http.Request) bool {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return false
	}
	for _, v := range r.Header.Values("Connection") {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "upgrade") {
				return true
			}
		}
	}
	return false
}

// rwConn adapts the upstream's read-write body to what relay needs.
type rwConn struct {
	net.Conn // nil: only Read, Write and Close are used
	rw       io.ReadWriteCloser
}

func (c rwConn) Read(b []byte) (int, error)  { return c.rw.Read(b) }
func (c rwConn) Write(b []byte) (int, error) { return c.rw.Write(b) }
func (c rwConn) Close() error                { return c.rw.Close() }

// relayWebSocket forwards an upgrade request and, once switched, relays the
// connection, recording its messages in f. The caller emits f.
func (p *Proxy) relayWebSocket(w http.ResponseWriter, r *http.Request, target string, f *trace.Flow, tm *timing) {
	ctx, cancel := context.WithCancel(httptrace.WithClientTrace(p.hardCtx, tm.trace()))
	if strings.HasPrefix(target, "http:") {
		ctx = context.WithValue(ctx, plainTargetKey{}, true)
	}
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, r.Method, target, nil)
	if err != nil {
		f.Error = fmt.Sprintf("proxy: bad request URL: %v", err)
		p.errorPage(w, http.StatusBadRequest, "The request URL is not valid.", err)
		return
	}
	out.Header = outboundHeader(r.Header, true)
	out.Header.Del("Sec-Websocket-Extensions") // keep messages uncompressed, so readable
	out.Host = r.Host
	resp, err := p.wsTr.RoundTrip(out)
	if err != nil {
		msg, page := p.describeUpstreamError(r, f, err, nil)
		f.Error = msg
		p.errorPage(w, http.StatusBadGateway, page, err)
		return
	}
	defer resp.Body.Close()
	p.recordResponseHead(f, resp, tm)
	if resp.StatusCode != http.StatusSwitchingProtocols {
		for k, vs := range outboundHeader(resp.Header, false) {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		c := capture{max: p.maxBody}
		if _, err := io.Copy(w, io.TeeReader(resp.Body, captureWriter{&c})); err != nil {
			f.Error = fmt.Sprintf("upgrade refused with %d, then the body failed: %v", resp.StatusCode, err)
			return
		}
		p.recordResponseBody(f, resp, &c)
		return
	}
	up, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		f.Error = "proxy: upstream switched protocols without a writable connection"
		p.errorPage(w, http.StatusBadGateway, "The upstream answer could not be relayed.", fmt.Errorf("%s", f.Error))
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		f.Error = fmt.Sprintf("proxy: cannot take over the client connection (WebSocket over %s is not relayed): %v", r.Proto, err)
		return
	}
	conn = unwrapConn(conn)
	untrack := p.track(conn)
	defer untrack()
	if ci := connInfoFrom(r.Context()); ci != nil && ci.untrack != nil {
		defer ci.untrack() // the intercepted connection ends with this relay
	}
	fmt.Fprintf(brw, "HTTP/1.1 %s\r\n", resp.Status)
	resp.Header.Write(brw)
	brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		conn.Close()
		f.Error = fmt.Sprintf("client went away before the WebSocket opened: %v", err)
		return
	}
	var mu sync.Mutex
	add := func(m trace.WSMessage) {
		mu.Lock()
		f.WebSocket = append(f.WebSocket, m)
		mu.Unlock()
	}
	send := &wsParser{typ: "send", max: p.maxBody, add: add}
	recv := &wsParser{typ: "receive", max: p.maxBody, add: add}
	upN, downN := relay(withBuffered(conn, brw.Reader), rwConn{rw: up}, send, recv)
	f.Request.BodySize = upN
	f.Response.BodySize = downN
	if send.trunc || recv.trunc {
		setFlag(f, "x-idtrace-truncated", "websocket")
	}
	if p.hardCtx.Err() != nil {
		f.Comment = "WebSocket closed when the capture stopped"
	}
}

type captureWriter struct{ c *capture }

func (w captureWriter) Write(b []byte) (int, error) { w.c.add(b); return len(b), nil }

// wsParser follows a stream of WebSocket frames (RFC 6455 section 5) and
// reports each complete message. It never fails: bytes that are not frames
// give odd messages, never a panic, and memory stays within max per message.
type wsParser struct {
	typ   string
	max   int64
	add   func(trace.WSMessage)
	trunc bool

	hdr       [14]byte
	hlen      int
	inPayload bool
	need      uint64
	op        byte
	fin       bool
	masked    bool
	mask      [4]byte
	mpos      int

	msgOp int
	msg   []byte
	ctl   []byte
}

func (p *wsParser) headerSize() int {
	if p.hlen < 2 {
		return 2
	}
	n := 2
	switch p.hdr[1] & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if p.hdr[1]&0x80 != 0 {
		n += 4
	}
	return n
}

func (p *wsParser) Write(b []byte) (int, error) {
	total := len(b)
	for len(b) > 0 {
		if !p.inPayload {
			p.hdr[p.hlen] = b[0]
			p.hlen++
			b = b[1:]
			if p.hlen < 2 || p.hlen < p.headerSize() {
				continue
			}
			p.startFrame()
			if p.need == 0 {
				p.endFrame()
			}
			continue
		}
		n := len(b)
		if uint64(n) > p.need {
			n = int(p.need)
		}
		p.payload(b[:n])
		b = b[n:]
		p.need -= uint64(n)
		if p.need == 0 {
			p.endFrame()
		}
	}
	return total, nil
}

func (p *wsParser) startFrame() {
	h := p.hdr[:p.hlen]
	p.fin = h[0]&0x80 != 0
	p.op = h[0] & 0x0f
	p.masked = h[1]&0x80 != 0
	i := 2
	switch l := h[1] & 0x7f; l {
	case 126:
		p.need = uint64(binary.BigEndian.Uint16(h[2:4]))
		i = 4
	case 127:
		p.need = binary.BigEndian.Uint64(h[2:10])
		i = 10
	default:
		p.need = uint64(l)
	}
	if p.masked {
		copy(p.mask[:], h[i:i+4])
	}
	p.mpos = 0
	p.hlen = 0
	p.inPayload = true
	if p.op < 8 && p.op != 0 {
		p.msgOp = int(p.op)
		p.msg = p.msg[:0]
	}
	p.ctl = p.ctl[:0]
}

func (p *wsParser) payload(b []byte) {
	control := p.op >= 8
	for _, c := range b {
		if p.masked {
			c ^= p.mask[p.mpos&3]
			p.mpos++
		}
		if control {
			if len(p.ctl) < 125 {
				p.ctl = append(p.ctl, c)
			}
		} else if int64(len(p.msg)) < p.max {
			p.msg = append(p.msg, c)
		} else {
			p.trunc = true
		}
	}
}

func (p *wsParser) endFrame() {
	p.inPayload = false
	now := float64(time.Now().UnixNano()) / 1e9
	switch {
	case p.op == 8 && len(p.ctl) >= 2:
		// A close frame: its status code in decimal, then the reason.
		data := strconv.Itoa(int(binary.BigEndian.Uint16(p.ctl)))
		if len(p.ctl) > 2 {
			data += " " + wsText(p.ctl[2:], false)
		}
		p.add(trace.WSMessage{Type: p.typ, Time: now, Opcode: 8, Data: data})
	case p.op >= 8:
		p.add(trace.WSMessage{Type: p.typ, Time: now, Opcode: int(p.op), Data: wsText(p.ctl, false)})
	case p.fin && p.msgOp != 0:
		p.add(trace.WSMessage{Type: p.typ, Time: now, Opcode: p.msgOp, Data: wsText(p.msg, p.msgOp == 2)})
		p.msgOp = 0
		p.msg = p.msg[:0]
	}
}

func wsText(b []byte, binary bool) string {
	if binary || !utf8.Valid(b) {
		return base64.StdEncoding.EncodeToString(b)
	}
	return string(b)
}
