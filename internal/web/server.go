// Package web is idtrace's local viewer: an HTTP server on the loopback
// interface that serves the page in ui/ (static ES modules and CSS, embedded,
// no build step) and a JSON API over one or two indexed traces, their
// analysis reports and, for two traces, their comparison.
//
// Security model: the server listens on 127.0.0.1 only, on a random port.
// Every request must carry the per-run token (the URL printed by the CLI
// carries it once; the server trades it for an HttpOnly, SameSite=Strict
// cookie) or the X-Idtrace-Token header; a Host header other than the
// loopback address and port is refused (DNS rebinding); state-changing
// cross-origin requests are refused by http.CrossOriginProtection; every
// answer carries a strict Content-Security-Policy. Tokens, cookies and
// secrets in flows are masked in API answers unless the caller asks for
// them with reveal=1.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/diff"
	"github.com/idtrace/idtrace/internal/index"
)

//go:embed ui
var uiFS embed.FS

// Trace is one trace the viewer shows.
type Trace struct {
	// Name is the file name shown on the page.
	Name   string
	Index  *index.Index
	Report *analyze.Report
}

// Options configure a Server.
type Options struct {
	Traces []*Trace
	// Diff compares Traces[0] with Traces[1]; nil with one trace.
	Diff *diff.Result
	// Addr is the listen address; "127.0.0.1:0" (a random port) when empty.
	// It must be a loopback address.
	Addr string
	// Token is the per-run secret; a random one when empty (tests set it).
	Token string
}

// Server is a running viewer.
type Server struct {
	opts   Options
	token  string
	ln     net.Listener
	port   string
	hosts  map[string]bool
	srv    *http.Server
	events *broker
	// repMu guards the traces' Report fields, which SetReport replaces
	// while the server runs (live capture).
	repMu sync.RWMutex
}

// ErrNotLoopback is returned by New for a listen address off the loopback interface.
var ErrNotLoopback = errors.New("the viewer listens only on a loopback address (127.0.0.1, ::1, localhost)")

// New listens on opts.Addr and returns the server, not yet serving.
func New(opts Options) (*Server, error) {
	if len(opts.Traces) == 0 || len(opts.Traces) > 2 {
		return nil, fmt.Errorf("web: want one or two traces, got %d", len(opts.Traces))
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("web: address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("web: address %q: %w", addr, ErrNotLoopback)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, ln: ln, events: newBroker()}
	s.token = opts.Token
	if s.token == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			ln.Close()
			return nil, err
		}
		s.token = hex.EncodeToString(b)
	}
	_, s.port, _ = net.SplitHostPort(ln.Addr().String())
	s.hosts = map[string]bool{}
	for _, h := range []string{"127.0.0.1", "localhost", "[::1]"} {
		s.hosts[h+":"+s.port] = true
	}
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// URL is the address to open, with the token.
func (s *Server) URL() string {
	return fmt.Sprintf("http://127.0.0.1:%s/?token=%s", s.port, s.token)
}

// BaseURL is the address without the token.
func (s *Server) BaseURL() string { return "http://127.0.0.1:" + s.port }

// Token is the per-run token.
func (s *Server) Token() string { return s.token }

// Serve answers requests until ctx ends, then shuts down.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		s.events.close()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s.srv.Shutdown(sctx)
		return nil
	}
}

// Close stops the server at once.
func (s *Server) Close() error {
	s.events.close()
	return s.srv.Close()
}

// csp allows the page's own scripts, styles and API, images from data: and
// blob: URLs (image preview, export), and nothing else.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
	"font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler is the whole server: security checks around the page and the API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	ui, _ := fs.Sub(uiFS, "ui")
	static := http.FileServerFS(ui)
	mux.Handle("GET /ui/", http.StripPrefix("/ui/", static))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		b, err := uiFS.ReadFile("ui/index.html")
		if err != nil {
			http.Error(w, "page missing", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b)
	})
	s.routes(mux)
	cop := http.NewCrossOriginProtection()
	return s.secure(cop.Handler(mux))
}

func (s *Server) cookieName() string { return "idtrace_" + s.port }

// secure sets the security headers, checks the Host and the token, and
// trades a valid ?token= on the page for a cookie.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if !s.hosts[strings.ToLower(r.Host)] {
			http.Error(w, "forbidden: unexpected Host header", http.StatusForbidden)
			return
		}
		if t := r.URL.Query().Get("token"); t != "" && r.Method == http.MethodGet && r.URL.Path == "/" {
			if !s.tokenOK(t) {
				http.Error(w, "forbidden: wrong token", http.StatusForbidden)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: s.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		tok := r.Header.Get("X-Idtrace-Token")
		if tok == "" {
			if c, err := r.Cookie(s.cookieName()); err == nil {
				tok = c.Value
			}
		}
		if !s.tokenOK(tok) {
			http.Error(w, "forbidden: open the viewer with the URL idtrace printed (it carries the token)", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) tokenOK(t string) bool {
	return t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(s.token)) == 1
}

// traceParam reads the t= parameter (0 or 1).
func (s *Server) traceParam(r *http.Request) (*Trace, int, error) {
	v := r.URL.Query().Get("t")
	if v == "" {
		v = "0"
	}
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || i >= len(s.opts.Traces) {
		return nil, 0, fmt.Errorf("t=%q: want 0..%d", v, len(s.opts.Traces)-1)
	}
	s.repMu.RLock()
	t := *s.opts.Traces[i] // a copy: SetReport may replace the report meanwhile
	s.repMu.RUnlock()
	return &t, i, nil
}
