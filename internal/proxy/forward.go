package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

// hopHeaders are connection-specific headers a proxy does not forward (RFC 9110 7.6.1).
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// serveOuter handles what a client sends to the proxy itself.
func (p *Proxy) serveOuter(w http.ResponseWriter, r *http.Request) {
	wh := connInfoFrom(r.Context()).wireHead(r)
	switch {
	case r.Method == http.MethodConnect:
		p.serveConnect(w, r, wh)
	case r.URL.IsAbs() && (r.URL.Scheme == "http" || r.URL.Scheme == "https"):
		p.forward(w, r, r.URL.String(), wh)
	default:
		p.serveLocal(w, r)
	}
}

// serveInner handles a request decrypted from an intercepted connection.
func (p *Proxy) serveInner(w http.ResponseWriter, r *http.Request) {
	ci := connInfoFrom(r.Context())
	wh := ci.wireHead(r)
	host := r.Host
	if host == "" && ci != nil {
		host = ci.target
	}
	if h, port, err := net.SplitHostPort(host); err == nil && port == "443" {
		host = h
		if strings.Contains(h, ":") {
			host = "[" + h + "]"
		}
	}
	p.forward(w, r, "https://"+host+r.URL.RequestURI(), wh)
}

// serveLocal answers requests addressed to the proxy: a page with the CA.
func (p *Proxy) serveLocal(w http.ResponseWriter, r *http.Request) {
	if p.cfg.CA != nil && (r.URL.Path == "/ca.pem" || r.URL.Path == "/ca.crt") {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Header().Set("Content-Disposition", `attachment; filename="idtrace-ca.pem"`)
		w.Write(p.cfg.CA.CertPEM())
		return
	}
	if p.cfg.CA != nil && r.URL.Path == "/ca.der" {
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		w.Header().Set("Content-Disposition", `attachment; filename="idtrace-ca.cer"`)
		w.Write(p.cfg.CA.CertDER())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	if r.URL.Path != "/" {
		w.WriteHeader(http.StatusNotFound)
	}
	fmt.Fprint(w, `<!doctype html><title>idtrace proxy</title><h1>idtrace capture proxy</h1>
<p>This is the idtrace proxy. Point your browser or tool at it as an HTTP and HTTPS proxy.`)
	if p.cfg.CA != nil {
		fmt.Fprintf(w, `<p>To decrypt HTTPS, trust its root certificate: <a href="/ca.pem">PEM</a> or <a href="/ca.der">DER</a>
(SHA-256 %s). Remove it from your trust store when you are done (idtrace ca uninstall).`, html.EscapeString(p.cfg.CA.Fingerprint()))
	}
}

// bufPool holds the buffers responses are relayed through.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// timing collects httptrace events of one upstream round trip.
type timing struct {
	mu                                     sync.Mutex
	getConn, gotConn, dnsStart, dnsDone    time.Time
	connStart, connDone, tlsStart, tlsDone time.Time
	wrote, firstByte                       time.Time
	reused                                 bool
	serverAddr                             string
	// wire is the HTTP/1.x upstream connection the request was given, which
	// keeps the response's header block.
	wire *respConn
}

func (t *timing) trace() *httptrace.ClientTrace {
	set := func(p *time.Time, first bool) {
		t.mu.Lock()
		if !first || p.IsZero() {
			*p = time.Now()
		}
		t.mu.Unlock()
	}
	return &httptrace.ClientTrace{
		GetConn: func(string) { set(&t.getConn, true) },
		GotConn: func(i httptrace.GotConnInfo) {
			t.mu.Lock()
			t.gotConn = time.Now()
			t.reused = i.Reused
			if rc, ok := i.Conn.(*respConn); ok {
				rc.arm()
				t.wire = rc
			} else {
				t.wire = nil
			}
			if i.Conn != nil {
				if a, ok := i.Conn.RemoteAddr().(*net.TCPAddr); ok {
					t.serverAddr = a.IP.String()
				}
			}
			t.mu.Unlock()
		},
		DNSStart:             func(httptrace.DNSStartInfo) { set(&t.dnsStart, true) },
		DNSDone:              func(httptrace.DNSDoneInfo) { set(&t.dnsDone, false) },
		ConnectStart:         func(string, string) { set(&t.connStart, true) },
		ConnectDone:          func(string, string, error) { set(&t.connDone, false) },
		TLSHandshakeStart:    func() { set(&t.tlsStart, true) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { set(&t.tlsDone, false) },
		WroteRequest:         func(httptrace.WroteRequestInfo) { set(&t.wrote, false) },
		GotFirstResponseByte: func() { set(&t.firstByte, true) },
	}
}

func ms(a, b time.Time) float64 {
	if a.IsZero() || b.IsZero() {
		return trace.NA
	}
	d := float64(b.Sub(a).Microseconds()) / 1000
	if d < 0 {
		return 0
	}
	return d
}

// fill writes the phases into f, ending at end.
func (t *timing) fill(f *trace.Flow, end time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	tm := trace.NoTimings()
	if !t.reused {
		tm.DNS = ms(t.dnsStart, t.dnsDone)
		tm.Connect = ms(t.connStart, t.connDone)
		tm.SSL = ms(t.tlsStart, t.tlsDone)
		if tm.SSL >= 0 && tm.Connect >= 0 {
			tm.Connect += tm.SSL // HAR: connect includes ssl
		}
	}
	if !t.gotConn.IsZero() {
		tm.Blocked = ms(f.Started, t.gotConn)
		for _, v := range []float64{tm.DNS, tm.Connect} {
			if v > 0 {
				tm.Blocked -= v
			}
		}
		tm.Blocked = max(tm.Blocked, 0)
		tm.Send = ms(t.gotConn, t.wrote)
		if !t.wrote.IsZero() && !t.firstByte.IsZero() && t.firstByte.Before(t.wrote) {
			tm.Wait = 0 // the server answered before the request was sent in full
		} else {
			tm.Wait = ms(t.wrote, t.firstByte)
		}
		if !t.firstByte.IsZero() {
			tm.Receive = ms(t.firstByte, end)
		}
	}
	f.Timings = tm
	f.ServerAddr = t.serverAddr
	f.Time = ms(f.Started, end)
}

// capture records up to max bytes of a stream and counts all of it.
type capture struct {
	buf   []byte
	max   int64
	n     int64
	trunc bool
}

func (c *capture) add(b []byte) {
	c.n += int64(len(b))
	if room := c.max - int64(len(c.buf)); room > 0 {
		if int64(len(b)) > room {
			b = b[:room]
			c.trunc = true
		}
		c.buf = append(c.buf, b...)
	} else if len(b) > 0 {
		c.trunc = true
	}
}

// bodyReader records a request body while the transport reads it.
type bodyReader struct {
	r   io.ReadCloser
	c   capture
	err error // a read error other than EOF: the client went away
	mu  sync.Mutex
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.mu.Lock()
	b.c.add(p[:n])
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	b.mu.Unlock()
	return n, err
}

func (b *bodyReader) Close() error { return b.r.Close() }

func (b *bodyReader) snapshot() (capture, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.c, b.err
}

// requestHeaders returns the request's headers as the client sent them
// when known (wh), else from r sorted by name (HTTP/2), with the size of
// the header block (or trace.Unknown).
func requestHeaders(r *http.Request, wh *wireHead) (trace.Headers, int64) {
	if wh != nil {
		return wh.headers, wh.size
	}
	return recordHeaders(r.Header, r.Host), trace.Unknown
}

// recordHeaders lists h sorted by name, after Host when host is not empty.
func recordHeaders(h http.Header, host string) trace.Headers {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(trace.Headers, 0, len(h)+1)
	if host != "" {
		out = append(out, trace.Header{Name: "Host", Value: host})
	}
	for _, k := range keys {
		for _, v := range h[k] {
			out = append(out, trace.Header{Name: k, Value: v})
		}
	}
	return out
}

// copyEndToEnd copies the end-to-end fields of src into dst: all but the
// hop-by-hop ones and those src's Connection names.
func copyEndToEnd(dst, src http.Header) {
	conn := src["Connection"]
	for k, vs := range src {
		if isHop(k, conn) {
			continue
		}
		dst[k] = vs
	}
}

// isHop reports whether the field k (canonical) is hop-by-hop, given the
// message's Connection values.
func isHop(k string, conn []string) bool {
	for _, h := range hopHeaders {
		if k == h {
			return true
		}
	}
	for _, c := range conn {
		for name := range strings.SplitSeq(c, ",") {
			if strings.EqualFold(strings.TrimSpace(name), k) {
				return true
			}
		}
	}
	return false
}

func outboundHeader(in http.Header, keepUpgrade bool) http.Header {
	h := in.Clone()
	for _, c := range in.Values("Connection") {
		for _, name := range strings.Split(c, ",") {
			if name = strings.TrimSpace(name); name != "" && !(keepUpgrade && strings.EqualFold(name, "upgrade")) {
				h.Del(name)
			}
		}
	}
	for _, k := range hopHeaders {
		if keepUpgrade && (k == "Connection" || k == "Upgrade") {
			continue
		}
		h.Del(k)
	}
	return h
}

func setFlag(f *trace.Flow, name, value string) {
	for i := range f.Flags {
		if f.Flags[i].Name == name {
			f.Flags[i].Value += "," + value
			return
		}
	}
	f.Flags = append(f.Flags, trace.Flag{Name: name, Value: value})
}

// forward relays one request to target (an absolute URL) and records it.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, target string, wh *wireHead) {
	if !p.begin() {
		http.Error(w, "idtrace proxy is shutting down", http.StatusServiceUnavailable)
		return
	}
	ci := connInfoFrom(r.Context())
	f := p.newFlow(ci)
	f.Request = &trace.Request{
		Method: r.Method, URL: target, Proto: r.Proto,
		BodySize: 0, MimeType: r.Header.Get("Content-Type"),
	}
	f.Request.Headers, f.Request.HeadersSize = requestHeaders(r, wh)
	f.Request.Cookies = f.Request.Headers.RequestCookies()
	var tm timing
	aborted := false
	defer func() {
		if v := recover(); v != nil {
			if f.Error == "" {
				f.Error = fmt.Sprintf("proxy: internal error: %v", v)
			}
			aborted = true
		}
		tm.fill(f, time.Now())
		p.emit(f, ci)
		if aborted {
			panic(http.ErrAbortHandler) // reset the client's connection
		}
	}()

	if isWebSocket(r) {
		p.relayWebSocket(w, r, target, f, &tm)
		return
	}

	// A hard stop closes the client's connection, which cancels r.Context().
	ctx := httptrace.WithClientTrace(r.Context(), tm.trace())
	if strings.HasPrefix(target, "http:") {
		ctx = context.WithValue(ctx, plainTargetKey{}, true)
	}

	var body *bodyReader
	var outBody io.ReadCloser
	if r.Body != nil && r.Body != http.NoBody && (r.ContentLength != 0 || len(r.TransferEncoding) > 0 || r.ProtoMajor == 2) {
		body = &bodyReader{r: r.Body, c: capture{max: p.maxBody}}
		outBody = body
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, target, outBody)
	if err != nil {
		f.Error = fmt.Sprintf("proxy: bad request URL: %v", err)
		p.errorPage(w, http.StatusBadRequest, "The request URL is not valid.", err)
		return
	}
	out.Header = outboundHeader(r.Header, false)
	out.ContentLength = r.ContentLength
	if outBody == nil {
		out.ContentLength = 0
	}
	if r.Host != "" {
		out.Host = r.Host
	}
	resp, rtErr := p.tr.RoundTrip(out)
	p.recordRequestBody(f, body)
	if rtErr != nil {
		_, clientErr := body.snapshotOrNil()
		msg, page := p.describeUpstreamError(r, f, rtErr, clientErr)
		f.Error = msg
		if clientErr == nil {
			p.errorPage(w, http.StatusBadGateway, page, rtErr)
		}
		return
	}
	defer resp.Body.Close()
	p.recordResponseHead(f, resp, &tm)

	copyEndToEnd(w.Header(), resp.Header)
	if len(resp.Trailer) > 0 {
		for k := range resp.Trailer {
			w.Header().Add("Trailer", k)
		}
	}
	w.WriteHeader(resp.StatusCode)
	rc := http.NewResponseController(w)
	flushEach := resp.ContentLength < 0
	c := capture{max: p.maxBody}
	if resp.ContentLength > 0 {
		c.buf = make([]byte, 0, min(resp.ContentLength, p.maxBody))
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			c.add(buf[:n])
			if _, werr := w.Write(buf[:n]); werr != nil {
				f.Error = fmt.Sprintf("client disconnected while receiving the response (%d %s, %d body bytes relayed)", resp.StatusCode, f.Response.Reason, c.n-int64(n))
				aborted = true
				return
			}
			if flushEach {
				rc.Flush()
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if errors.Is(rerr, context.Canceled) && p.hardCtx.Err() != nil {
				f.Error = fmt.Sprintf("capture stopped while receiving the response (%d %s, %d body bytes received)", resp.StatusCode, f.Response.Reason, c.n)
			} else {
				f.Error = fmt.Sprintf("upstream failed while sending the response body (%d %s, %d body bytes received): %v", resp.StatusCode, f.Response.Reason, c.n, rerr)
			}
			aborted = true
			return
		}
	}
	for k, vs := range resp.Trailer {
		for _, v := range vs {
			w.Header().Add(http.TrailerPrefix+k, v)
		}
	}
	if len(resp.Trailer) == 0 {
		rc.Flush() // the client has its answer before the flow is recorded
	}
	p.recordResponseBody(f, resp, &c)
}

func (b *bodyReader) snapshotOrNil() (capture, error) {
	if b == nil {
		return capture{}, nil
	}
	return b.snapshot()
}

func (p *Proxy) recordRequestBody(f *trace.Flow, body *bodyReader) {
	if body == nil {
		return
	}
	c, _ := body.snapshot()
	f.Request.Body = c.buf
	f.Request.HasBody = c.n > 0
	f.Request.BodySize = c.n
	if c.trunc {
		setFlag(f, "x-idtrace-truncated", "request")
		f.Request.Comment = fmt.Sprintf("body cut at %d of %d bytes (--max-body)", len(c.buf), c.n)
	}
}

func (p *Proxy) recordResponseHead(f *trace.Flow, resp *http.Response, tm *timing) {
	reason := strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	if reason == "" {
		reason = http.StatusText(resp.StatusCode)
	}
	f.Response = &trace.Response{
		Status: resp.StatusCode, Reason: reason, Proto: resp.Proto,
		MimeType:    resp.Header.Get("Content-Type"),
		RedirectURL: resp.Header.Get("Location"),
		HeadersSize: trace.Unknown, BodySize: 0, Size: 0,
	}
	tm.mu.Lock()
	wire := tm.wire
	tm.mu.Unlock()
	if wh := wire.takeOrNil(resp); wh != nil {
		f.Response.Headers, f.Response.HeadersSize = wh.headers, wh.size
	} else {
		f.Response.Headers = recordHeaders(resp.Header, "")
	}
	f.Response.Cookies = f.Response.Headers.ResponseCookies()
}

func (p *Proxy) recordResponseBody(f *trace.Flow, resp *http.Response, c *capture) {
	rs := f.Response
	rs.BodySize = c.n
	rs.Body = c.buf
	rs.Size = int64(len(c.buf))
	if c.trunc {
		setFlag(f, "x-idtrace-truncated", "response")
		rs.Comment = fmt.Sprintf("body cut at %d of %d bytes (--max-body)", len(c.buf), c.n)
		rs.Size = c.n
	}
	enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	if enc == "" || enc == "identity" || len(c.buf) == 0 {
		return
	}
	rs.Encoding = enc
	if c.trunc {
		rs.Wire = c.buf
		setFlag(f, "x-idtrace-undecoded", "response")
		return
	}
	dec, err := decode(enc, c.buf, p.maxBody)
	if err != nil && p.cfg.DecodeBody != nil && enc != "gzip" && enc != "x-gzip" && enc != "deflate" {
		dec, err = p.cfg.DecodeBody(enc, c.buf, p.maxBody)
	}
	if err != nil {
		setFlag(f, "x-idtrace-undecoded", "response")
		rs.Wire = c.buf
		return
	}
	rs.Wire = c.buf
	rs.Body = dec
	rs.Size = int64(len(dec))
}

// decode undoes gzip and deflate, reading at most max+1 bytes (a bomb is refused).
func decode(enc string, b []byte, max int64) ([]byte, error) {
	var r io.Reader
	switch enc {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		r = zr
	case "deflate":
		if len(b) >= 2 && b[0]&0x0f == 8 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 {
			zr, err := zlib.NewReader(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			r = zr
		} else {
			r = flate.NewReader(bytes.NewReader(b))
		}
	default:
		return nil, fmt.Errorf("content coding %q not decoded", enc)
	}
	out, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > max {
		return nil, errors.New("decoded body larger than the cap")
	}
	return out, nil
}

// describeUpstreamError turns a failed round trip into the flow's error and
// the sentence shown on the 502 page.
func (p *Proxy) describeUpstreamError(r *http.Request, f *trace.Flow, err, clientErr error) (msg, page string) {
	host := r.Host
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case clientErr != nil:
		n := int64(0)
		if f.Request != nil {
			n = f.Request.BodySize
		}
		return fmt.Sprintf("client disconnected while sending the request body (%d bytes received): %v", n, clientErr), ""
	case p.hardCtx.Err() != nil:
		return "capture stopped before the upstream answered", "The capture stopped before the server answered."
	case errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci):
		return fmt.Sprintf("upstream certificate not trusted for %s: %v", host, unwrapURL(err)),
			fmt.Sprintf("The certificate of %s is not trusted, so idtrace did not send your request. "+
				"If you expect this (a test server, a corporate TLS inspector), run the capture with --insecure-upstream.", host)
	case errors.Is(err, context.Canceled):
		return "client cancelled the request before the upstream answered", "The request was cancelled."
	default:
		return fmt.Sprintf("upstream %s: %v", host, unwrapURL(err)), fmt.Sprintf("idtrace could not get an answer from %s.", host)
	}
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// errorPage answers the client with a short HTML page explaining a failure.
func (p *Proxy) errorPage(w http.ResponseWriter, status int, sentence string, err error) {
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Idtrace-Error", "1")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>%d %s (idtrace)</title><h1>%d %s</h1><p>%s<p><code>%s</code><p>Generated by the idtrace capture proxy; the session is in the trace with this error.\n",
		status, http.StatusText(status), status, http.StatusText(status), html.EscapeString(sentence), html.EscapeString(fmt.Sprint(err)))
}

func (p *Proxy) errorLog() *log.Logger {
	return log.New(logWriter{p}, "", 0)
}

type logWriter struct{ p *Proxy }

func (l logWriter) Write(b []byte) (int, error) {
	l.p.logf("%s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
