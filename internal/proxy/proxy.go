package proxy

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idtrace/idtrace/internal/certs"
	"github.com/idtrace/idtrace/internal/trace"
)

// DefaultListen is the address the proxy listens on when Config.Listen is empty.
const DefaultListen = "127.0.0.1:8888"

// DefaultMaxBody is the body cap used when Config.MaxBody is 0.
const DefaultMaxBody = 16 << 20

// DefaultDrainTimeout is how long Serve waits for flows in progress after
// its context is done before it closes their connections.
const DefaultDrainTimeout = 5 * time.Second

// Config configures a Proxy. The proxy reads it in New and does not modify it.
type Config struct {
	// Listen is the address to listen on; DefaultListen if empty. Serve
	// takes its listener from the caller; ListenAndServe uses Listen.
	Listen string
	// AllowRemote lists the client networks allowed besides loopback.
	AllowRemote []netip.Prefix
	// CA mints the certificates shown to clients. Required unless nothing
	// is decrypted.
	CA *certs.CA
	// Decrypt and NoDecrypt are host patterns ("example.com", "*.example.com",
	// "*"). A CONNECT host is decrypted when Decrypt is empty or one of its
	// patterns matches, and none of NoDecrypt does; other hosts pass as
	// blind tunnels.
	Decrypt, NoDecrypt []string
	// Upstream is a proxy to send everything through (http or https URL,
	// with optional user:password); nil for direct connections.
	Upstream *url.URL
	// InsecureUpstream accepts any upstream certificate.
	InsecureUpstream bool
	// RootCAs verifies upstream certificates; nil means the system roots.
	RootCAs *x509.CertPool
	// ClientCert is presented to upstream servers that ask for one.
	ClientCert *tls.Certificate
	// MaxBody caps each recorded body (and each WebSocket message); 0 means
	// DefaultMaxBody. Bodies above it are still relayed whole, but recorded
	// cut, and the flow is flagged x-idtrace-truncated.
	MaxBody int64
	// DecodeBody, if set, decodes response bodies in content codings the
	// proxy does not decode itself (it does gzip and deflate), such as br and
	// zstd: it returns at most max bytes or an error. The CLI passes the
	// decoder the SAZ reader uses.
	DecodeBody func(coding string, wire []byte, max int64) ([]byte, error)
	// DrainTimeout bounds the wait for flows in progress when Serve stops;
	// 0 means DefaultDrainTimeout.
	DrainTimeout time.Duration
	// SkipProcess turns off the lookup of the client process.
	SkipProcess bool
	// OnFlow is called exactly once for every flow when it has completed (a
	// response or an error, never both, never neither), from any goroutine;
	// f.ID is a sequence number assigned when the request arrived. The
	// callee owns f.
	OnFlow func(f *trace.Flow)
	// Logf, if set, receives one line for events that are not flows (a
	// refused client, a connection that closed before sending anything).
	Logf func(format string, args ...any)
}

// Proxy is an intercepting HTTP proxy. Create it with New.
type Proxy struct {
	cfg     Config
	maxBody int64
	outer   *http.Server // client connections: proxy requests and CONNECT
	inner   *http.Server // decrypted connections (HTTP/1.1 and HTTP/2)
	tr      *http.Transport
	wsTr    *http.Transport // HTTP/1.1 only, for upgrades
	// serverTLS is cloned for each intercepted connection; its session
	// ticket keys, made in New, let clients resume TLS sessions across
	// connections (a browser's many connections skip most of the handshake).
	serverTLS *tls.Config
	seq       atomic.Int64
	started   atomic.Bool

	// inner connection state: *tls.Conn -> *connInfo
	conns sync.Map

	mu       sync.Mutex
	stopping bool
	flows    sync.WaitGroup
	tracked  map[net.Conn]struct{} // hijacked and intercepted connections, closed on a hard stop
	hardCtx  context.Context
	hardStop context.CancelFunc
}

// connInfo is what a connection knows about its client.
type connInfo struct {
	addr    string
	conn    string // connection label (client port)
	process func() string
	// target is the CONNECT authority of an intercepted connection.
	target string
	// wire keeps the request header blocks of an HTTP/1.x connection.
	wire    *reqConn
	ln      *oneConnListener
	untrack func()
}

type ctxKey struct{}

// New checks cfg and returns a Proxy.
func New(cfg Config) (*Proxy, error) {
	if cfg.OnFlow == nil {
		return nil, errors.New("proxy: Config.OnFlow is nil")
	}
	if cfg.CA == nil && !decryptsNothing(cfg) {
		return nil, errors.New("proxy: Config.CA is nil but some hosts are to be decrypted")
	}
	for _, p := range append(append([]string(nil), cfg.Decrypt...), cfg.NoDecrypt...) {
		if err := checkPattern(p); err != nil {
			return nil, err
		}
	}
	if cfg.Upstream != nil && cfg.Upstream.Scheme != "http" && cfg.Upstream.Scheme != "https" {
		return nil, fmt.Errorf("proxy: upstream proxy %q: scheme must be http or https", cfg.Upstream.Redacted())
	}
	if cfg.Upstream != nil && cfg.Upstream.Host == "" {
		return nil, fmt.Errorf("proxy: upstream proxy %q has no host", cfg.Upstream.Redacted())
	}
	if cfg.MaxBody < 0 {
		return nil, fmt.Errorf("proxy: MaxBody %d is negative", cfg.MaxBody)
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	p := &Proxy{cfg: cfg, maxBody: cfg.MaxBody, tracked: map[net.Conn]struct{}{}}
	if p.maxBody == 0 {
		p.maxBody = DefaultMaxBody
	}
	p.hardCtx, p.hardStop = context.WithCancel(context.Background())
	p.serverTLS = &tls.Config{NextProtos: []string{"h2", "http/1.1"}}
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	p.serverTLS.SetSessionTicketKeys([][32]byte{key})
	p.tr = p.newTransport(true)
	p.wsTr = p.newTransport(false)
	p.outer = &http.Server{
		Handler:           http.HandlerFunc(p.serveOuter),
		ReadHeaderTimeout: 60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          p.errorLog(),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, ctxKey{}, p.newConnInfo(c))
		},
	}
	p.inner = &http.Server{
		Handler:           http.HandlerFunc(p.serveInner),
		ReadHeaderTimeout: 60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          p.errorLog(),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if v, ok := p.conns.Load(c); ok {
				return context.WithValue(ctx, ctxKey{}, v.(*connInfo))
			}
			return ctx
		},
		ConnState: func(c net.Conn, s http.ConnState) {
			if s != http.StateClosed && s != http.StateHijacked {
				return
			}
			if v, ok := p.conns.LoadAndDelete(c); ok {
				ci := v.(*connInfo)
				ci.ln.Close()
				if s == http.StateClosed && ci.untrack != nil {
					ci.untrack()
				}
			}
		},
	}
	return p, nil
}

func (p *Proxy) newTransport(h2 bool) *http.Transport {
	tlsConf := &tls.Config{RootCAs: p.cfg.RootCAs, InsecureSkipVerify: p.cfg.InsecureUpstream, //nolint:gosec // the user asked for it
		ClientSessionCache: tls.NewLRUClientSessionCache(512)}
	if c := p.cfg.ClientCert; c != nil {
		tlsConf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c, nil }
	}
	protos := []string{"h2", "http/1.1"}
	if !h2 {
		protos = []string{"http/1.1"}
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		// Plain HTTP (to the server or to an upstream proxy): the
		// connection keeps the response header blocks in wire order.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &respConn{Conn: c}, nil
		},
		// TLS is done here rather than by the transport so that an HTTP/1.1
		// connection can be wrapped the same way (an h2 one is returned as
		// the *tls.Conn the transport needs to speak HTTP/2).
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return p.dialTLS(ctx, d, addr, protos, tlsConf)
		},
		TLSClientConfig:       tlsConf,
		ForceAttemptHTTP2:     h2,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	if u := p.cfg.Upstream; u != nil {
		// HTTPS targets reach the upstream proxy through dialTLS (CONNECT);
		// plain ones are sent to it as absolute-URI requests.
		tr.Proxy = func(r *http.Request) (*url.URL, error) {
			if r.URL.Scheme == "http" {
				return u, nil
			}
			return nil, nil
		}
	}
	return tr
}

// plainTargetKey marks, in a request's context, a request to an http://
// URL: a TLS dial for it is one to an https:// upstream proxy.
type plainTargetKey struct{}

// dialTLS opens a TLS connection to addr (through the upstream proxy, if
// any), reporting the handshake to the request's httptrace.
func (p *Proxy) dialTLS(ctx context.Context, d *net.Dialer, addr string, protos []string, base *tls.Config) (net.Conn, error) {
	var raw net.Conn
	var err error
	host, _, _ := net.SplitHostPort(addr)
	if p.cfg.Upstream != nil && ctx.Value(plainTargetKey{}) == nil {
		raw, err = p.dialTunnel(ctx, addr)
	} else {
		raw, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	cfg := base.Clone()
	cfg.ServerName, cfg.NextProtos = host, protos
	if ctx.Value(plainTargetKey{}) != nil {
		cfg.NextProtos = []string{"http/1.1"} // the upstream proxy itself
	}
	tc := tls.Client(raw, cfg)
	tr := httptrace.ContextClientTrace(ctx)
	if tr != nil && tr.TLSHandshakeStart != nil {
		tr.TLSHandshakeStart()
	}
	err = tc.HandshakeContext(ctx)
	if tr != nil && tr.TLSHandshakeDone != nil {
		tr.TLSHandshakeDone(tc.ConnectionState(), err)
	}
	if err != nil {
		raw.Close()
		return nil, err
	}
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		return tc, nil
	}
	return &respConn{Conn: tc}, nil
}

func (p *Proxy) logf(format string, args ...any) {
	if p.cfg.Logf != nil {
		p.cfg.Logf(format, args...)
	}
}

// ListenAndServe listens on Config.Listen and serves until ctx is done.
func (p *Proxy) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", p.cfg.Listen)
	if err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	return p.Serve(ctx, ln)
}

// Serve accepts proxy clients on ln until ctx is done. Then it stops
// accepting, lets flows in progress finish for up to DrainTimeout, closes
// what is left (those flows end with an error), and returns once every flow
// has been reported. It closes ln. A Proxy serves once.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	if !p.started.CompareAndSwap(false, true) {
		return errors.New("proxy: Serve called twice")
	}
	fl := &filterListener{Listener: ln, p: p}
	errc := make(chan error, 1)
	go func() { errc <- p.outer.Serve(fl) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	grace := p.cfg.DrainTimeout
	if grace <= 0 {
		grace = DefaultDrainTimeout
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range []*http.Server{p.outer, p.inner} {
		wg.Add(1)
		go func() { defer wg.Done(); s.Shutdown(sctx) }()
	}
	drained := make(chan struct{})
	go func() { wg.Wait(); p.flows.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-sctx.Done():
	}
	// Hard stop: no new flow may start; cancel upstream work; close every connection.
	p.mu.Lock()
	p.stopping = true
	conns := make([]net.Conn, 0, len(p.tracked))
	for c := range p.tracked {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	p.hardStop()
	for _, c := range conns {
		c.Close()
	}
	p.outer.Close()
	p.inner.Close()
	p.flows.Wait()
	p.tr.CloseIdleConnections()
	p.wsTr.CloseIdleConnections()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("proxy: %w", serveErr)
	}
	return nil
}

// begin registers a flow about to start; false once the proxy is stopping hard.
func (p *Proxy) begin() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return false
	}
	p.flows.Add(1)
	return true
}

// track registers a connection to close on a hard stop; the returned func forgets it.
func (p *Proxy) track(c net.Conn) (untrack func()) {
	p.mu.Lock()
	stopping := p.stopping
	if !stopping {
		p.tracked[c] = struct{}{}
	}
	p.mu.Unlock()
	if stopping {
		c.Close()
	}
	return func() {
		p.mu.Lock()
		delete(p.tracked, c)
		p.mu.Unlock()
	}
}

// emit reports a completed flow and releases its begin. The client's
// process is asked for only now, so that looking it up never delays a request.
func (p *Proxy) emit(f *trace.Flow, ci *connInfo) {
	defer p.flows.Done()
	if ci != nil && ci.process != nil {
		f.Process = ci.process()
	}
	if f.Response != nil && f.Error != "" {
		f.Response = nil // the invariant: the error wins
	}
	if f.Response == nil && f.Error == "" {
		f.Error = "flow ended without a response"
	}
	p.cfg.OnFlow(f)
}

// newFlow starts a flow for a request that has just arrived.
func (p *Proxy) newFlow(ci *connInfo) *trace.Flow {
	f := &trace.Flow{ID: int(p.seq.Add(1)), Started: time.Now(), Time: trace.NA, Timings: trace.NoTimings()}
	if ci != nil {
		f.ClientAddr = ci.addr
		f.Connection = ci.conn
	}
	return f
}

func connInfoFrom(ctx context.Context) *connInfo {
	ci, _ := ctx.Value(ctxKey{}).(*connInfo)
	return ci
}

// wireHead returns the header block of r as its client sent it, or nil
// (HTTP/2, or not known). A handler of an HTTP/1.x connection calls it once
// for every request, in order.
func (ci *connInfo) wireHead(r *http.Request) *wireHead {
	if ci == nil || ci.wire == nil || r.ProtoMajor != 1 {
		return nil
	}
	return ci.wire.take(r)
}

func (p *Proxy) newConnInfo(c net.Conn) *connInfo {
	ci := &connInfo{addr: c.RemoteAddr().String()}
	if rc, ok := c.(*reqConn); ok {
		ci.wire = rc
	}
	if ap, err := netip.ParseAddrPort(ci.addr); err == nil {
		ci.conn = fmt.Sprint(ap.Port())
		if !p.cfg.SkipProcess && ap.Addr().Unmap().IsLoopback() {
			ci.process = lookupProcessAsync(c)
		}
	}
	return ci
}

// filterListener refuses clients that are neither on loopback nor allowed.
type filterListener struct {
	net.Listener
	p *Proxy
}

func (l *filterListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.p.allowed(c.RemoteAddr()) {
			return newReqConn(c), nil
		}
		l.p.logf("refused client %s: not on loopback and not in --allow-remote", c.RemoteAddr())
		c.Close()
	}
}

func (p *Proxy) allowed(a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return false
	}
	ip := ap.Addr().Unmap()
	if ip.IsLoopback() {
		return true
	}
	for _, pr := range p.cfg.AllowRemote {
		if pr.Contains(ip) {
			return true
		}
	}
	return false
}

// oneConnListener hands one connection to an http.Server, then blocks until closed.
type oneConnListener struct {
	conn     net.Conn
	once     sync.Once
	accepted atomic.Bool
	closed   chan struct{}
	cmu      sync.Once
}

func newOneConnListener(c net.Conn) *oneConnListener {
	return &oneConnListener{conn: c, closed: make(chan struct{})}
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	var c net.Conn
	l.once.Do(func() { c = l.conn })
	if c != nil {
		l.accepted.Store(true)
		return c, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	l.cmu.Do(func() { close(l.closed) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return l.conn.LocalAddr() }

// hostPattern matching.

func checkPattern(p string) error {
	if p == "" || strings.ContainsAny(p, "/ :") || (strings.Contains(p, "*") && p != "*" && !strings.HasPrefix(p, "*.")) ||
		strings.Count(p, "*") > 1 {
		return &PatternError{Pattern: p}
	}
	return nil
}

// PatternError is a host pattern that is not "*", "name" or "*.name".
type PatternError struct{ Pattern string }

func (e *PatternError) Error() string {
	return fmt.Sprintf("proxy: host pattern %q: want a host name, *.domain or *", e.Pattern)
}

func matchHost(pattern, host string) bool {
	pattern, host = strings.ToLower(pattern), strings.ToLower(strings.TrimSuffix(host, "."))
	switch {
	case pattern == "*":
		return true
	case strings.HasPrefix(pattern, "*."):
		return strings.HasSuffix(host, pattern[1:])
	default:
		return host == pattern
	}
}

func matchAny(patterns []string, host string) bool {
	for _, p := range patterns {
		if matchHost(p, host) {
			return true
		}
	}
	return false
}

func decryptsNothing(cfg Config) bool {
	return slices.Contains(cfg.NoDecrypt, "*")
}

func (p *Proxy) shouldDecrypt(host string) bool {
	if matchAny(p.cfg.NoDecrypt, host) {
		return false
	}
	return len(p.cfg.Decrypt) == 0 || matchAny(p.cfg.Decrypt, host)
}
