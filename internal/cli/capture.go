package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/browser"
	"github.com/idtrace/idtrace/internal/certs"
	"github.com/idtrace/idtrace/internal/httpmsg"
	"github.com/idtrace/idtrace/internal/proxy"
	"github.com/idtrace/idtrace/internal/record"
	"github.com/idtrace/idtrace/internal/redact"
	"github.com/idtrace/idtrace/internal/trace"
)

// CaptureOptions are the flags of `idtrace capture`.
type CaptureOptions struct {
	Out string
	// Browser records a browser over the DevTools protocol instead of running the proxy.
	Browser     bool
	Headless    bool
	URL         string
	BrowserPath string
	Profile     string
	Attach      string
	Idle        time.Duration
	Timeout     time.Duration
	// Analyze prints findings live; nil means "on when stderr is a terminal".
	Analyze *bool
	Quiet   bool
	// Proxy flags.
	Listen           string
	AllowRemote      []string
	Decrypt          []string
	NoDecrypt        []string
	Upstream         string
	InsecureUpstream bool
	ClientCert       string
	ClientKey        string
	MaxBody          int64
	CADir            string
	SystemProxy      bool
	// Sanitize removes secrets from each flow before it reaches the journal,
	// so neither the journal nor the output ever holds them (live analysis
	// still sees the flows as captured).
	Sanitize bool
	// UI serves the live viewer while capturing; NoOpen prints its URL
	// without opening a browser; UIAddr is its loopback address.
	UI     bool
	NoOpen bool
	UIAddr string
	// UIReady, when set, is called with the viewer's URL (tests).
	UIReady func(url string)
}

func newCaptureCmd(app *App) *cobra.Command {
	var o CaptureOptions
	var analyzeFlag, noAnalyze bool
	cmd := &cobra.Command{
		Use:   "capture [flags] -o case.saz|case.har",
		Short: "Capture sign-in traffic through a local proxy or a browser, explained as it happens",
		Long: `capture records HTTP(S) traffic into a HAR or SAZ file (by -o's extension).

Proxy mode (default): an intercepting proxy on 127.0.0.1:8888 (--listen). Point
a browser or a command at it (HTTPS_PROXY=http://127.0.0.1:8888) and trust the
local CA once with 'idtrace ca install' (remove it with 'idtrace ca uninstall').
--system-proxy points Windows (WinINET) or macOS (networksetup) at the proxy and
restores the previous settings when the capture ends; on Linux it prints the
environment variables and the GNOME settings to use (also with --quiet).

Browser mode (--browser): starts Chromium, Chrome or Edge with a fresh profile
and records it over the DevTools protocol: no proxy and no certificate. It runs
until the browser window is closed or Ctrl-C; --headless with --idle or
--timeout for scripts. --profile uses your own profile and --attach PORT a
browser you started with --remote-debugging-port: the trace then holds that
profile's cookies; add --sanitize to keep them out of the file.

--sanitize removes cookies, tokens, codes, passwords and other secrets from
each request before it is written (as 'idtrace sanitize' does), so neither the
journal nor OUT ever holds them; the live findings still see the traffic.

Each completed request is written at once to a journal beside the output
(OUT.idtrace-journal); Ctrl-C or SIGTERM turns it into OUT. After a crash or
kill -9, 'idtrace recover OUT.idtrace-journal' writes every completed request.
With --analyze (default on a terminal) each sign-in finding is printed on
stderr as soon as the requests that reveal it complete, with a status line;
--quiet prints neither.

--ui also serves the viewer (as 'idtrace view' does) on 127.0.0.1 and opens
it (--no-open prints the URL only): every completed request appears in its
grid as it is recorded, and its identity view draws the sign-ins, their
tokens (signatures checked with the keys seen so far) and findings as the
live analysis finds them. The page stops with the capture; open OUT with
'idtrace view' afterwards.

Exit codes: 0 ok, 1 error, 2 usage.`,
		Example: `  idtrace capture -o case.saz
  idtrace capture -o case.har --browser --url https://myapps.microsoft.com
  idtrace capture -o case.saz --ui
  idtrace capture -o ci.har --browser --headless --url http://localhost:3000 --idle 3s --timeout 2m
  HTTPS_PROXY=http://127.0.0.1:8888 curl https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("analyze") {
				o.Analyze = &analyzeFlag
			}
			if noAnalyze {
				f := false
				o.Analyze = &f
			}
			return runCapture(app, &o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Out, "output", "o", "", "the trace to write: `FILE`.har or FILE.saz")
	f.BoolVar(&o.Browser, "browser", false, "record a Chromium-based browser over DevTools instead of running the proxy")
	f.BoolVar(&o.Headless, "headless", false, "with --browser: no window")
	f.StringVar(&o.URL, "url", "", "with --browser: the `URL` to open")
	f.StringVar(&o.BrowserPath, "browser-path", "", "with --browser: the browser `PATH` (default: Chromium, Chrome or Edge found on this machine)")
	f.StringVar(&o.Profile, "profile", "", "with --browser: use this browser profile `DIR` instead of a fresh one (its cookies end up in the trace)")
	f.StringVar(&o.Attach, "attach", "", "with --browser: record a browser already started with --remote-debugging-port=`PORT`")
	f.DurationVar(&o.Idle, "idle", 0, "with --browser: stop when no request has been in flight for this `DURATION`")
	f.DurationVar(&o.Timeout, "timeout", 0, "stop after this `DURATION`")
	f.BoolVar(&analyzeFlag, "analyze", false, "print sign-in findings and a status line on stderr as they happen (default on a terminal)")
	f.BoolVar(&noAnalyze, "no-analyze", false, "do not analyse while capturing")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "print nothing but errors (for scripts)")
	f.StringVar(&o.Listen, "listen", proxy.DefaultListen, "proxy: `ADDR`ess to listen on")
	f.StringSliceVar(&o.AllowRemote, "allow-remote", nil, "proxy: also accept clients from this `CIDR` (repeatable)")
	f.StringSliceVar(&o.Decrypt, "decrypt", nil, "proxy: decrypt only these host `PATTERN`s (example.com, *.example.com)")
	f.StringSliceVar(&o.NoDecrypt, "no-decrypt", nil, "proxy: pass these host `PATTERN`s as blind tunnels")
	f.StringVar(&o.Upstream, "upstream", "", "proxy: send everything through this proxy `URL` (default: HTTPS_PROXY)")
	f.BoolVar(&o.InsecureUpstream, "insecure-upstream", false, "proxy: accept any upstream certificate")
	f.StringVar(&o.ClientCert, "client-cert", "", "proxy: client certificate `FILE` (PEM) for servers that ask for one")
	f.StringVar(&o.ClientKey, "client-key", "", "proxy: the client certificate's key `FILE` (PEM; default: --client-cert)")
	f.Int64Var(&o.MaxBody, "max-body", 0, "cap each recorded body at `BYTES` (default 100 MiB); longer ones are marked truncated")
	f.StringVar(&o.CADir, "ca-dir", "", "proxy: the CA `DIR`ectory (default: as 'idtrace ca path')")
	f.BoolVar(&o.Sanitize, "sanitize", false, "remove secrets from every request before it is written (see 'idtrace sanitize')")
	f.BoolVar(&o.UI, "ui", false, "show the requests live in the viewer (a local web page) while capturing")
	f.BoolVar(&o.NoOpen, "no-open", false, "with --ui: print the viewer's URL instead of opening the browser")
	f.StringVar(&o.UIAddr, "ui-addr", "127.0.0.1:0", "with --ui: loopback `address` the viewer listens on")
	f.BoolVar(&o.SystemProxy, "system-proxy", false, "proxy: point the system (Windows, macOS) at the capture while it runs")
	return cmd
}

func checkCaptureOptions(o *CaptureOptions) (record.Format, error) {
	if o.Out == "" {
		return "", usageErr("capture: -o FILE.har or FILE.saz is required")
	}
	format, ok := record.FormatOf(o.Out)
	if !ok {
		return "", usageErr("capture: cannot tell the format of %q: use .har or .saz", o.Out)
	}
	if !o.Browser {
		for name, set := range map[string]bool{"--headless": o.Headless, "--url": o.URL != "", "--browser-path": o.BrowserPath != "",
			"--profile": o.Profile != "", "--attach": o.Attach != "", "--idle": o.Idle != 0} {
			if set {
				return "", usageErr("capture: %s needs --browser", name)
			}
		}
	} else {
		for name, set := range map[string]bool{"--system-proxy": o.SystemProxy, "--decrypt": len(o.Decrypt) > 0, "--no-decrypt": len(o.NoDecrypt) > 0,
			"--upstream": o.Upstream != "", "--client-cert": o.ClientCert != "", "--allow-remote": len(o.AllowRemote) > 0, "--insecure-upstream": o.InsecureUpstream} {
			if set {
				return "", usageErr("capture: %s applies to the proxy, not to --browser", name)
			}
		}
		if o.Attach != "" && (o.Profile != "" || o.BrowserPath != "" || o.Headless) {
			return "", usageErr("capture: --attach records a running browser: --profile, --browser-path and --headless do not apply")
		}
		if o.URL != "" {
			if u, err := url.Parse(o.URL); err != nil || u.Scheme == "" {
				return "", usageErr("capture: --url %q: want an absolute URL (https://...)", o.URL)
			}
		}
	}
	if !o.UI && (o.NoOpen || (o.UIAddr != "" && o.UIAddr != "127.0.0.1:0")) {
		return "", usageErr("capture: --no-open and --ui-addr need --ui")
	}
	if o.UI {
		if o.UIAddr == "" {
			o.UIAddr = "127.0.0.1:0"
		}
		if host, _, err := net.SplitHostPort(o.UIAddr); err != nil {
			return "", usageErr("capture: --ui-addr %q: %v", o.UIAddr, err)
		} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return "", usageErr("capture: --ui-addr %q: the viewer listens only on a loopback address (127.0.0.1, ::1, localhost)", o.UIAddr)
		}
	}
	if o.Idle < 0 || o.Timeout < 0 || o.MaxBody < 0 {
		return "", usageErr("capture: --idle, --timeout and --max-body must not be negative")
	}
	if o.Headless && o.Idle == 0 && o.Timeout == 0 {
		return "", usageErr("capture: --headless needs --idle or --timeout to know when to stop")
	}
	return format, nil
}

func runCapture(app *App, o *CaptureOptions) error {
	format, err := checkCaptureOptions(o)
	if err != nil {
		return err
	}
	live := app.IO.ErrTTY
	if o.Analyze != nil {
		live = *o.Analyze
	}
	if o.Quiet {
		live = false
	}
	status := live && app.IO.ErrTTY
	say := func(format string, a ...any) {
		if !o.Quiet {
			fmt.Fprintf(app.IO.ErrOut, format, a...)
		}
	}

	jpath := record.JournalPath(o.Out)
	if _, err := os.Stat(jpath); err == nil {
		return fmt.Errorf("capture: %s holds the requests of an earlier capture that did not finish: write them with 'idtrace recover %s', or delete it", jpath, jpath)
	}
	meta := &trace.Meta{Creator: trace.Software{Name: "idtrace", Version: Version}}
	if o.Browser {
		meta.Comment = "captured by idtrace over the DevTools protocol"
	} else {
		meta.Comment = "captured by the idtrace proxy"
	}
	var j *record.Journal
	var lv *liveView
	var ui *captureUI
	var appendErr error
	var errOnce sync.Once
	var red *redact.Redactor
	if o.Sanitize {
		red = redact.New(redact.Options{})
		meta = red.Meta(meta)
	}
	onFlow := func(f *trace.Flow) {
		saved := f
		if red != nil {
			saved = red.Flow(f)
		}
		if err := j.Append(saved); err != nil {
			errOnce.Do(func() { appendErr = err })
		}
		ui.add(saved)
		lv.add(f)
	}
	var serve func(context.Context) error
	if o.Browser && o.Attach == "" {
		// Say so before anything is recorded.
		if _, err := browser.Find(o.BrowserPath); err != nil {
			return fmt.Errorf("capture: %w", err)
		}
	}
	if !o.Browser {
		var closeListener func()
		if serve, closeListener, err = prepareProxy(app, o, onFlow, say); err != nil {
			return err
		}
		// Whatever fails before the proxy serves (the journal, the viewer)
		// must not leave its port open; Serve closes it otherwise.
		defer closeListener()
	}
	j, err = record.Create(jpath, meta)
	if err != nil {
		return fmt.Errorf("capture: %w", err)
	}

	if o.UI {
		if ui, err = startCaptureUI(app, o, say); err != nil {
			j.Close()
			os.Remove(jpath)
			return err
		}
	}

	ctx, stop := signal.NotifyContext(app.Ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}

	lv = newLiveView(app.IO.ErrOut, live, status, j)
	if ui != nil {
		lv.onAdd = ui.analyzed
		ui.lock = &lv.mu
		if lv.a == nil {
			lv.a = analyze.New(analyze.Options{})
		}
	}
	lv.start()

	var runErr error
	if o.Browser {
		runErr = captureBrowser(ctx, o, onFlow, j, say)
	} else {
		runErr = serve(ctx)
	}
	lv.stop()
	uiErr := ui.close()
	if err := j.Close(); err != nil && appendErr == nil {
		appendErr = err
	}
	lv.finish()
	if appendErr != nil {
		return fmt.Errorf("capture: the journal %s could not be written: %w", jpath, appendErr)
	}
	res, ferr := record.Finalize(jpath, o.Out, format, meta)
	if ferr != nil {
		return fmt.Errorf("capture: writing %s failed (the journal %s is kept; 'idtrace recover' writes it): %w", o.Out, jpath, ferr)
	}
	say("idtrace: wrote %s to %s\n", count(res.Flows, "request"), o.Out)
	if uiErr != nil {
		say("idtrace: warning: the live viewer missed requests (%v); 'idtrace view %s' shows them all\n", uiErr, o.Out)
	}
	if red != nil {
		say("idtrace: sanitized: %s\n", summary(red.Counts()))
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) && !errors.Is(runErr, context.DeadlineExceeded) {
		return runErr
	}
	return nil
}

func captureBrowser(ctx context.Context, o *CaptureOptions, onFlow func(*trace.Flow), j *record.Journal, say func(string, ...any)) error {
	if o.Profile != "" || o.Attach != "" {
		say("idtrace: warning: recording your own browser profile: the trace will hold its cookies and tokens (--sanitize keeps them out of the file)\n")
	}
	opts := browser.Options{
		ExecPath: o.BrowserPath, Headless: o.Headless, Profile: o.Profile, Attach: o.Attach,
		URL: o.URL, Idle: o.Idle, MaxBody: o.MaxBody, OnFlow: onFlow,
		OnPage: func(p trace.Page) {
			if err := j.AddPage(p); err != nil {
				say("idtrace: %v\n", err)
			}
		},
		// A body the browser no longer had, a window that could not be
		// recorded: one line each.
		Logf: func(format string, args ...any) { say("idtrace: "+format+"\n", args...) },
	}
	if !o.Headless && o.Attach == "" {
		say("idtrace: recording the browser window; close it or press Ctrl-C to stop\n")
	}
	if err := browser.Capture(ctx, opts); err != nil {
		return fmt.Errorf("capture: %w", err)
	}
	return nil
}

// prepareProxy checks the proxy flags, loads the CA and listens, so that a
// mistake is reported before anything is recorded; serve then runs the proxy
// until ctx ends. closeListener closes the listener when serve is never
// called (closing it again after serve is harmless).
func prepareProxy(app *App, o *CaptureOptions, onFlow func(*trace.Flow), say func(string, ...any)) (serve func(ctx context.Context) error, closeListener func(), err error) {
	cfg := proxy.Config{Listen: o.Listen, Decrypt: o.Decrypt, NoDecrypt: o.NoDecrypt, InsecureUpstream: o.InsecureUpstream,
		MaxBody: o.MaxBody, OnFlow: onFlow, DecodeBody: httpmsg.DecodeCoding}
	for _, c := range o.AllowRemote {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, nil, usageErr("capture: --allow-remote %q: want a CIDR such as 192.168.1.0/24", c)
		}
		cfg.AllowRemote = append(cfg.AllowRemote, p)
	}
	up := o.Upstream
	if up == "" {
		up = firstEnv(app, "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
	}
	if up != "" {
		u, err := url.Parse(up)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, nil, usageErr("capture: upstream proxy %q: want http://host:port or https://host:port", up)
		}
		cfg.Upstream = u
	}
	if o.ClientCert != "" {
		key := o.ClientKey
		if key == "" {
			key = o.ClientCert
		}
		c, err := tls.LoadX509KeyPair(o.ClientCert, key)
		if err != nil {
			return nil, nil, fmt.Errorf("capture: --client-cert: %w", err)
		}
		cfg.ClientCert = &c
	}
	dir := o.CADir
	if dir == "" {
		d, err := certs.DefaultDir()
		if err != nil {
			return nil, nil, fmt.Errorf("capture: %w", err)
		}
		dir = d
	}
	ca, created, err := certs.LoadOrCreate(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("capture: %w", err)
	}
	cfg.CA = ca
	if created {
		say("idtrace: created a local root CA in %s; trust it with 'idtrace ca install' (remove it later with 'idtrace ca uninstall')\n", dir)
	}
	p, err := proxy.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("capture: %w", err)
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("capture: %w", err)
	}
	return func(ctx context.Context) error {
		addr := ln.Addr().String()
		say("idtrace: proxy listening on %s; point a browser or a command at it (HTTPS_PROXY=http://%s); Ctrl-C stops and writes %s\n", addr, addr, o.Out)
		if o.SystemProxy {
			tell := func(format string, a ...any) { fmt.Fprintf(app.IO.ErrOut, format, a...) }
			restore, err := setSystemProxy(addr, say, tell)
			if err != nil {
				ln.Close()
				return fmt.Errorf("capture: --system-proxy: %w", err)
			}
			defer restore() // on every way out of the capture, panics included
		}
		if err := p.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("capture: %w", err)
		}
		return nil
	}, func() { ln.Close() }, nil
}

func firstEnv(app *App, names ...string) string {
	for _, n := range names {
		if v := app.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// liveView prints findings as they appear and a status line on a terminal.
// Flows reach it from any goroutine; it analyses them one at a time.
type liveView struct {
	w       io.Writer
	enabled bool
	status  bool
	j       *record.Journal
	mu      sync.Mutex
	a       *analyze.Analyzer
	mark    int
	started time.Time
	done    chan struct{}
	wg      sync.WaitGroup
	lineLen int
	printed []analyze.Finding
	// onAdd, when set, is called after each flow is analysed, with mu held
	// (capture --ui); the analyzer then runs even when nothing is printed.
	onAdd func(*analyze.Analyzer)
}

func newLiveView(w io.Writer, enabled, status bool, j *record.Journal) *liveView {
	lv := &liveView{w: w, enabled: enabled, status: status, j: j, started: time.Now(), done: make(chan struct{})}
	if enabled {
		lv.a = analyze.New(analyze.Options{})
	}
	return lv
}

func (lv *liveView) start() {
	if !lv.status {
		return
	}
	lv.wg.Add(1)
	go func() {
		defer lv.wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-lv.done:
				return
			case <-t.C:
				lv.mu.Lock()
				lv.drawStatus()
				lv.mu.Unlock()
			}
		}
	}()
}

func (lv *liveView) stop() {
	close(lv.done)
	lv.wg.Wait()
}

func (lv *liveView) add(f *trace.Flow) {
	if lv.a == nil {
		return
	}
	lv.mu.Lock()
	defer lv.mu.Unlock()
	lv.a.Add(f)
	var fs []analyze.LiveFinding
	fs, lv.mark = lv.a.NewFindings(lv.mark)
	if lv.enabled {
		lv.print(fs, "")
	}
	if lv.onAdd != nil {
		lv.onAdd(lv.a)
	}
}

// finish settles the analysis and prints the findings only the whole
// capture reveals (signatures checked with every key, sign-ins left
// incomplete), then a summary line.
func (lv *liveView) finish() {
	if !lv.enabled {
		return
	}
	lv.mu.Lock()
	defer lv.mu.Unlock()
	rep := lv.a.Finish()
	known := map[string]int{}
	for _, f := range lv.printed {
		known[findingKey(f)]++
	}
	var rest []analyze.LiveFinding
	for _, f := range rep.Findings {
		if k := findingKey(f); known[k] > 0 {
			known[k]--
			continue
		}
		rest = append(rest, analyze.LiveFinding{Finding: f})
	}
	lv.print(rest, " (at the end)")
	lv.clearStatus()
	st := lv.j.Stats()
	fmt.Fprintf(lv.w, "idtrace: %s, %s, %s, %s, %s\n", count(st.Flows, "request"), count(st.Errors, "error"), humanBytes(st.Bytes), count(len(rep.Flows), "sign-in"), count(len(rep.Findings), "finding"))
}

func findingKey(f analyze.Finding) string {
	return fmt.Sprintf("%s|%d|%s", f.Code, f.SignIn, f.Detail)
}

// print writes one line per finding:
// "idtrace: [error] aadsts_50076 for alice@… at login.microsoftonline.com, flow #41: title".
func (lv *liveView) print(fs []analyze.LiveFinding, when string) {
	if len(fs) == 0 {
		return
	}
	lv.clearStatus()
	for _, f := range fs {
		lv.printed = append(lv.printed, f.Finding)
		var b strings.Builder
		fmt.Fprintf(&b, "idtrace: [%s] %s", f.Severity, f.Code)
		if f.User != "" {
			fmt.Fprintf(&b, " for %s", f.User)
		}
		if f.IdP != "" {
			fmt.Fprintf(&b, " at %s", f.IdP)
		}
		if len(f.FlowIDs) > 0 {
			fmt.Fprintf(&b, ", flow #%d", f.FlowIDs[0])
		}
		fmt.Fprintf(&b, "%s: %s\n", when, f.Title)
		io.WriteString(lv.w, b.String())
	}
	lv.drawStatus()
}

// drawStatus redraws the status line (on a terminal only); lv.mu held.
func (lv *liveView) drawStatus() {
	if !lv.status {
		return
	}
	st := lv.j.Stats()
	secs := time.Since(lv.started).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(st.Flows) / secs
	}
	line := fmt.Sprintf("%s, %s, %s, %.1f req/s, %s", count(st.Flows, "request"), count(st.Errors, "error"), humanBytes(st.Bytes), rate, count(lv.a.SignIns(), "sign-in"))
	pad := ""
	if n := lv.lineLen - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprintf(lv.w, "\r%s%s", line, pad)
	lv.lineLen = len(line)
}

func (lv *liveView) clearStatus() {
	if !lv.status || lv.lineLen == 0 {
		return
	}
	fmt.Fprintf(lv.w, "\r%s\r", strings.Repeat(" ", lv.lineLen))
	lv.lineLen = 0
}
