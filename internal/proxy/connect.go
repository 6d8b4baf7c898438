package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

// handshakeTimeout bounds the client's TLS handshake on an intercepted connection.
const handshakeTimeout = 15 * time.Second

// prefixConn is a connection whose first bytes were already buffered.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func withBuffered(c net.Conn, br *bufio.Reader) net.Conn {
	if br == nil || br.Buffered() == 0 {
		return c
	}
	b, _ := br.Peek(br.Buffered())
	return &prefixConn{Conn: c, r: io.MultiReader(bytes.NewReader(bytes.Clone(b)), c)}
}

func connectRequest(r *http.Request, target string, wh *wireHead) *trace.Request {
	req := &trace.Request{Method: http.MethodConnect, URL: target, Proto: r.Proto}
	req.Headers, req.HeadersSize = requestHeaders(r, wh)
	return req
}

// serveConnect handles CONNECT: a decrypted connection or a blind tunnel.
func (p *Proxy) serveConnect(w http.ResponseWriter, r *http.Request, wh *wireHead) {
	target := r.Host
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		host = strings.Trim(target, "[]")
		target = net.JoinHostPort(host, "443")
	}
	if host == "" {
		http.Error(w, "idtrace proxy: CONNECT without a host", http.StatusBadRequest)
		return
	}
	if p.cfg.CA == nil || !p.shouldDecrypt(host) {
		p.tunnel(w, r, target, wh)
		return
	}
	started := time.Now()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "idtrace proxy: cannot take over the connection", http.StatusInternalServerError)
		return
	}
	conn = unwrapConn(conn)
	untrack := p.track(conn)
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n")); err != nil {
		untrack()
		conn.Close()
		return
	}
	sc := p.serverTLS.Clone() // shares the session ticket keys: clients resume across connections
	sc.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		name := hello.ServerName
		if name == "" {
			name = host
		}
		return p.cfg.CA.Leaf(name)
	}
	tc := tls.Server(withBuffered(conn, brw.Reader), sc)
	hctx, cancel := context.WithTimeout(p.hardCtx, handshakeTimeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	ci := connInfoFrom(r.Context())
	if err != nil {
		untrack()
		conn.Close()
		if errors.Is(err, io.EOF) {
			p.logf("client %s closed its CONNECT to %s before the TLS handshake", r.RemoteAddr, target)
			return
		}
		if !p.begin() {
			return
		}
		f := p.newFlow(ci)
		f.Started = started
		f.Request = connectRequest(r, target, wh)
		f.Error = fmt.Sprintf("client TLS handshake for %s failed: %v (does the client trust the idtrace CA? see idtrace ca install)", host, err)
		f.Time = ms(started, time.Now())
		p.emit(f, ci)
		return
	}
	// HTTP/1.x requests keep their header blocks; HTTP/2 goes to net/http's
	// HTTP/2 server, which needs the *tls.Conn.
	var served net.Conn = tc
	var wire *reqConn
	if tc.ConnectionState().NegotiatedProtocol != "h2" {
		wire = newReqConn(tc)
		served = wire
	}
	nci := &connInfo{target: target, ln: newOneConnListener(served), wire: wire}
	if ci != nil {
		nci.addr, nci.conn, nci.process = ci.addr, ci.conn, ci.process
	}
	p.conns.Store(served, nci)
	nci.untrack = untrack
	go func() {
		p.inner.Serve(nci.ln)
		if !nci.ln.accepted.Load() {
			// The server was shutting down and never took the connection.
			p.conns.Delete(served)
			untrack()
			tc.Close()
		}
	}()
}

// tunnel relays a CONNECT blindly and records it as one flow.
func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request, target string, wh *wireHead) {
	if !p.begin() {
		http.Error(w, "idtrace proxy is shutting down", http.StatusServiceUnavailable)
		return
	}
	ci := connInfoFrom(r.Context())
	f := p.newFlow(ci)
	f.Request = connectRequest(r, target, wh)
	setFlag(f, "x-idtrace-tunnel", "blind")
	defer func() {
		f.Time = ms(f.Started, time.Now())
		p.emit(f, ci)
	}()
	ctx, cancel := context.WithTimeout(p.hardCtx, 30*time.Second)
	t0 := time.Now()
	up, err := p.dialTunnel(ctx, target)
	cancel()
	if err != nil {
		f.Error = fmt.Sprintf("connect to %s: %v", target, err)
		p.errorPage(w, http.StatusBadGateway, fmt.Sprintf("idtrace could not open a tunnel to %s.", target), err)
		return
	}
	f.Timings.Connect = ms(t0, time.Now())
	f.Timings.Blocked = ms(f.Started, t0)
	if a, ok := up.RemoteAddr().(*net.TCPAddr); ok {
		f.ServerAddr = a.IP.String()
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		f.Error = fmt.Sprintf("proxy: cannot take over the client connection: %v", err)
		return
	}
	conn = unwrapConn(conn)
	untrackC, untrackU := p.track(conn), p.track(up)
	defer untrackC()
	defer untrackU()
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n")); err != nil {
		conn.Close()
		up.Close()
		f.Error = fmt.Sprintf("client went away before the tunnel opened: %v", err)
		return
	}
	t1 := time.Now()
	upN, downN := relay(withBuffered(conn, brw.Reader), up, nil, nil)
	f.Request.BodySize = upN
	f.Response = &trace.Response{Status: 200, Reason: "Connection Established", Proto: "HTTP/1.1",
		HeadersSize: trace.Unknown, BodySize: downN, Size: 0}
	f.Response.Comment = fmt.Sprintf("blind tunnel: %d bytes sent, %d bytes received", upN, downN)
	f.Timings.Send, f.Timings.Wait, f.Timings.Receive = 0, 0, ms(t1, time.Now())
	if p.hardCtx.Err() != nil {
		f.Comment = "tunnel closed when the capture stopped"
	}
}

// unwrapConn returns the connection under a reqConn: after CONNECT its
// bytes are no longer HTTP.
func unwrapConn(c net.Conn) net.Conn {
	if rc, ok := c.(*reqConn); ok {
		return rc.Conn
	}
	return c
}

// relay copies both ways until either side ends, then closes both. Each
// direction's bytes also go to its observer, when not nil.
func relay(client, server net.Conn, toServer, toClient io.Writer) (up, down int64) {
	var wg sync.WaitGroup
	var once sync.Once
	closeBoth := func() { client.Close(); server.Close() }
	var nu, nd atomic.Int64
	cp := func(dst net.Conn, src io.Reader, obs io.Writer, n *atomic.Int64) {
		defer wg.Done()
		bp := bufPool.Get().(*[]byte)
		defer bufPool.Put(bp)
		buf := *bp
		for {
			k, err := src.Read(buf)
			if k > 0 {
				if obs != nil {
					obs.Write(buf[:k])
				}
				if _, werr := dst.Write(buf[:k]); werr != nil {
					break
				}
				n.Add(int64(k))
			}
			if err != nil {
				break
			}
		}
		once.Do(closeBoth)
	}
	wg.Add(2)
	go cp(server, client, toServer, &nu)
	go cp(client, server, toClient, &nd)
	wg.Wait()
	return nu.Load(), nd.Load()
}

// dialTunnel opens a TCP connection to target, through the upstream proxy if any.
func (p *Proxy) dialTunnel(ctx context.Context, target string) (net.Conn, error) {
	d := &net.Dialer{KeepAlive: 30 * time.Second}
	u := p.cfg.Upstream
	if u == nil {
		return d.DialContext(ctx, "tcp", target)
	}
	addr := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("upstream proxy: %w", err)
	}
	if u.Scheme == "https" {
		tc := tls.Client(c, &tls.Config{ServerName: u.Hostname(), RootCAs: p.cfg.RootCAs, InsecureSkipVerify: p.cfg.InsecureUpstream}) //nolint:gosec // the user asked for it
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("upstream proxy TLS: %w", err)
		}
		c = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n"
	if u.User != nil {
		pw, _ := u.User.Password()
		req += "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)) + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		c.Close()
		return nil, fmt.Errorf("upstream proxy: %w", err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("upstream proxy: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("upstream proxy refused CONNECT: %s", resp.Status)
	}
	c.SetDeadline(time.Time{})
	return withBuffered(c, br), nil
}
