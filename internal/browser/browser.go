// Package browser captures sign-in traffic by driving a Chromium-based
// browser (Chromium, Chrome, Edge) over the DevTools protocol with
// chromedp. It needs no proxy and no certificate: the browser reports each
// request, response, body, timing and WebSocket frame itself, as DevTools'
// Network panel sees them, and the recorder turns them into trace.Flows
// carrying the vendor fields DevTools writes in its HAR export
// (_initiator, _resourceType, _priority, _transferSize, _webSocketMessages).
//
// Every page target (the first tab, tabs and pop-up windows it opens) is
// recorded. The browser holds each page opened during the capture before
// its first request (Target.setAutoAttach with waitForDebuggerOnStart)
// until the recorder has turned recording on, so the first document
// request of a pop-up window (MSAL.js loginPopup, window.open,
// target=_blank) is recorded with its redirects; see raw.go. Each recorded
// page, and each iframe, holds its cross-site iframes (which run in a
// process of their own and report their requests on their own session) the
// same way, and the recorder records them with the page that embeds them.
// Service and shared workers are recorded too, their flows marked with
// _workerType.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto"
	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/remote"

	"github.com/idtrace/idtrace/internal/trace"
)

// Options configure a capture.
type Options struct {
	// ExecPath is the browser to start ("" finds one; see Find).
	ExecPath string
	// Headless runs the browser without a window.
	Headless bool
	// Profile is the user data directory; "" uses a fresh temporary
	// profile that is removed afterwards (and, when a capture was killed
	// before it could, by the next capture: see CleanStaleProfiles).
	Profile string
	// Attach is the DevTools address (port, host:port or URL) of a browser
	// the user started with --remote-debugging-port; the capture opens a
	// tab in it and leaves the browser running.
	Attach string
	// URL is opened in the first tab ("about:blank" if empty).
	URL string
	// Flags are extra command-line switches for the browser (name -> value;
	// true for a bare switch).
	Flags map[string]any
	// Idle, when positive, ends the capture once no request has been in
	// flight for that long after the first page loaded.
	Idle time.Duration
	// MaxBody caps each recorded body (0: 100 MiB); longer bodies are cut
	// and the flow is marked truncated.
	MaxBody int64
	// OnFlow receives each completed flow, from the recorder's goroutine,
	// once. It must not keep f after returning if it modifies it.
	OnFlow func(f *trace.Flow)
	// OnPage receives each page (a top-level document load) once its load
	// has ended or the capture ends.
	OnPage func(p trace.Page)
	// Drive, if set, runs once the first tab has opened URL, with that tab's
	// chromedp context (scripted captures and tests: type, click). Its
	// error ends the capture and is returned.
	Drive func(ctx context.Context) error
	// Logf, if set, receives diagnostics (a body that could not be read).
	Logf func(format string, args ...any)
}

// Capture records until the context ends, every browser window is closed,
// or (with Idle) the pages have gone quiet. Flows still in flight at the end
// are reported with an error saying the capture stopped. It returns nil when
// the capture ended by one of these means.
func Capture(ctx context.Context, o Options) error {
	if o.OnFlow == nil {
		return errors.New("browser: Options.OnFlow is nil")
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 100 << 20
	}
	s := &session{o: o, tabs: map[target.ID]*tab{}, done: make(chan struct{})}
	var allocCtx context.Context
	var cancelAlloc context.CancelFunc
	if o.Attach != "" {
		allocCtx, cancelAlloc = chromedp.NewAllocatorContext(ctx, &attachAllocator{addr: attachURL(o.Attach), s: s})
	} else {
		exe, err := Find(o.ExecPath)
		if err != nil {
			return err
		}
		dir := o.Profile
		if dir == "" {
			for _, d := range CleanStaleProfiles("") {
				s.logf("browser: removed %s, the temporary profile of a capture that was killed", d)
			}
			tmp, err := newTempProfile("")
			if err != nil {
				return err
			}
			defer removeProfile(tmp)
			dir = tmp
		}
		opts := append([]chromedp.ExecAllocatorOption(nil), chromedp.DefaultExecAllocatorOptions[:]...)
		opts = append(opts,
			chromedp.ExecPath(exe),
			chromedp.UserDataDir(dir),
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-quic", true),
			// Sign-in pages behave as for a person: no automation banner.
			chromedp.Flag("enable-automation", false),
		)
		if !o.Headless {
			opts = append(opts, chromedp.VisibleWindow)
		} else {
			opts = append(opts, chromedp.Flag("disable-gpu", true))
		}
		if os.Geteuid() == 0 {
			opts = append(opts, chromedp.Flag("no-sandbox", true)) // Chromium refuses to start as root otherwise
		}
		for k, v := range o.Flags {
			opts = append(opts, chromedp.Flag(k, v))
		}
		// A websocket on a loopback port rather than chromedp's default
		// pipe: only a connection of the recorder's own (tap) can read and
		// write the sessions of the pages the browser holds for it.
		opts = append(opts, chromedp.WithDialer(func(ctx context.Context, wsURL string) (chromedp.Transport, error) {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			c, err := remote.DialContext(ctx, wsURL)
			if err != nil {
				return nil, err
			}
			s.tap = &tap{Transport: c, s: s}
			return s.tap, nil
		}))
		allocCtx, cancelAlloc = chromedp.NewExecAllocator(ctx, opts...)
	}
	defer cancelAlloc()

	s.lastActivity.Store(time.Now().UnixNano())
	first := &tab{s: s, recorded: true}
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithListener(first.listen), chromedp.WithErrorf(s.chromedpError))
	defer cancelBrowser()
	first.ctx = browserCtx
	s.browserCtx = browserCtx
	first.start()
	if err := chromedp.Do(browserCtx); err != nil {
		first.stop()
		return fmt.Errorf("browser: start: %w", err)
	}
	c := chromedp.FromContext(browserCtx)
	first.id = c.Target.TargetID
	s.mu.Lock()
	s.first, s.firstSession = first, c.Target.SessionID
	s.tabs[first.id] = first
	s.open = 1
	s.mu.Unlock()
	// Pages that were there before the capture are not recorded: the blank
	// tab a started browser opens with is closed (one window for the user
	// to close), and an attached browser's own tabs are left alone.
	if ts, err := chromedp.CallBrowser(browserCtx, target.GetTargets, target.GetTargetsParams{}); err == nil {
		for _, ti := range ts.TargetInfos {
			if ti.Type != "page" || ti.TargetID == first.id {
				continue
			}
			s.mu.Lock()
			s.tabs[ti.TargetID] = &tab{s: s, id: ti.TargetID}
			s.mu.Unlock()
			if o.Attach == "" && ti.URL == "about:blank" {
				chromedp.CallBrowser(browserCtx, target.CloseTarget, target.CloseTargetParams{TargetID: ti.TargetID})
			}
		}
	}
	if err := chromedp.ListenBrowser(browserCtx, s.browserEvent); err != nil {
		first.stop()
		return fmt.Errorf("browser: %w", err)
	}
	if _, err := chromedp.CallBrowser(browserCtx, target.SetDiscoverTargets, target.SetDiscoverTargetsParams{Discover: true}); err != nil {
		first.stop()
		return fmt.Errorf("browser: discover targets: %w", err)
	}
	// Every page opened from now on waits, before its first request, until
	// the recorder has attached to it and lets it run (autoAttached). The
	// targets are not filtered to pages: Chromium 156 holds a new service
	// worker until released even when the filter leaves workers out, so
	// every target is attached, and what is not recorded (a page, a
	// service or shared worker; see autoAttached) is let run at once.
	if s.tap != nil {
		s.auto.Store(true)
		yes := true
		if _, err := chromedp.CallBrowser(browserCtx, target.SetAutoAttach, target.SetAutoAttachParams{
			AutoAttach: true, WaitForDebuggerOnStart: true, Flatten: &yes,
		}); err != nil {
			s.auto.Store(false)
			s.logf("browser: new windows are attached after they start, so their first request can be missed: %v", err)
		}
	}
	if err := first.enable(); err != nil {
		first.stop()
		return err
	}
	if s.auto.Load() {
		// chromedp attaches the tab's iframes without holding them; the
		// recorder takes them over (see autoAttached).
		if _, err := chromedp.Call(browserCtx, target.SetAutoAttach, childAttach()); err != nil {
			s.logf("browser: the requests of cross-site iframes may not be recorded: %v", err)
		}
	}
	go s.watchClose(browserCtx, first)
	url := o.URL
	if url == "" {
		url = "about:blank"
	}
	if _, err := chromedp.Call(browserCtx, page.Navigate, page.NavigateParams{URL: url}); err != nil {
		s.finish()
		return fmt.Errorf("browser: open %s: %w", url, err)
	}
	driveErr := make(chan error, 1)
	if o.Drive != nil {
		go func() {
			if err := o.Drive(browserCtx); err != nil {
				driveErr <- err
			}
		}()
	}
	var idle <-chan time.Time
	if o.Idle > 0 {
		t := time.NewTicker(o.Idle / 4)
		defer t.Stop()
		idle = t.C
	}
	for {
		select {
		case <-ctx.Done():
			s.finish()
			return nil
		case <-s.done:
			s.finish()
			return nil
		case <-c.Browser.LostConnection:
			// The browser went away: its last window was closed, or it
			// exited.
			s.finish()
			return nil
		case err := <-driveErr:
			s.finish()
			return fmt.Errorf("browser: %w", err)
		case <-idle:
			if s.inflight.Load() == 0 && time.Since(time.Unix(0, s.lastActivity.Load())) >= o.Idle {
				s.finish()
				return nil
			}
		}
	}
}

// attachURL turns "9222", "host:9222" or a URL into a DevTools address.
func attachURL(a string) string {
	for _, c := range a {
		if c < '0' || c > '9' {
			if len(a) > 5 && (a[:5] == "http:" || a[:3] == "ws:") {
				return a
			}
			return "http://" + a
		}
	}
	return "http://127.0.0.1:" + a
}

// session is one capture: its tabs and the flow numbering they share.
type session struct {
	o            Options
	mu           sync.Mutex
	tabs         map[target.ID]*tab
	open         int
	seq          atomic.Int64
	pageSeq      atomic.Int64
	inflight     atomic.Int64
	lastActivity atomic.Int64
	emitMu       sync.Mutex
	done         chan struct{}
	doneOnce     sync.Once
	finished     bool
	// browserCtx is the first tab's chromedp context, for browser commands.
	browserCtx context.Context
	// auto is true once the browser holds each new page until released.
	auto atomic.Bool
	// tap is the connection to the browser, when the recorder dialed it.
	tap *tap
	// raws are the sessions of the pages and iframes the browser
	// auto-attached.
	raws map[target.SessionID]*rawSession
	// first is the first tab, recorded on chromedp's session firstSession.
	first        *tab
	firstSession target.SessionID
	// navs names the tab that recorded each request first: the page of a
	// cross-site iframe and the iframe's own session both report its
	// document request (same request ID), a page and its shared worker the
	// worker's script; each is recorded once. An entry is kept until the
	// capture ends (a late event of the other session finds its owner).
	navMu sync.Mutex
	navs  map[network.RequestID]*tab
}

func (s *session) touch() { s.lastActivity.Store(time.Now().UnixNano()) }

// browserEvent attaches new page targets (tabs and pop-ups) and routes the
// messages of their sessions. It runs in chromedp's read loop, so it only
// queues and starts goroutines.
func (s *session) browserEvent(ev any) {
	switch e := ev.(type) {
	case *target.EventTargetDestroyed:
		s.mu.Lock()
		t := s.tabs[e.TargetID]
		s.mu.Unlock()
		if t != nil && t.recorded {
			go s.tabGone(t)
		}
	case *target.EventDetachedFromTarget:
		s.mu.Lock()
		r := s.raws[e.SessionID]
		delete(s.raws, e.SessionID)
		s.mu.Unlock()
		if r != nil {
			r.detached()
			if r.t != nil {
				go s.tabGone(r.t)
			}
		}
	case *target.EventTargetCreated:
		if s.auto.Load() || e.TargetInfo == nil || e.TargetInfo.Type != "page" {
			return
		}
		id := e.TargetInfo.TargetID
		s.mu.Lock()
		if _, seen := s.tabs[id]; seen || s.finished {
			s.mu.Unlock()
			return
		}
		t := &tab{s: s, id: id, recorded: true}
		s.tabs[id] = t
		s.open++
		s.mu.Unlock()
		go s.attach(t)
	}
}

// autoAttached starts recording a target the browser attached on a session
// of its own, waiting for the recorder: a new page (parent "", attached by
// the browser) gets a tab, a cross-site iframe (attached by the session of
// its page, parent) a frame tab; each has recording on before it is let
// run. Anything else is let run at once. It runs in chromedp's read loop
// (from tap), before any message of the session.
func (s *session) autoAttached(e *target.EventAttachedToTarget, parent target.SessionID) {
	if e.TargetInfo == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.raws == nil {
		s.raws = map[target.SessionID]*rawSession{}
	}
	id := e.TargetInfo.TargetID
	_, seen := s.tabs[id]
	var top *tab
	worker := ""
	switch e.TargetInfo.Type {
	case "iframe":
		top = s.pageOf(parent)
	case "service_worker", "shared_worker":
		worker = e.TargetInfo.Type
	}
	record := !seen && !s.finished && (e.TargetInfo.Type == "page" && parent == "" || top != nil || worker != "")
	if !record {
		r := newRawSession(s, e.SessionID, nil)
		s.raws[e.SessionID] = r
		go s.resume(r)
		return
	}
	t := &tab{s: s, id: id, recorded: true, ctx: s.browserCtx, top: top, worker: worker}
	t.raw = newRawSession(s, e.SessionID, t)
	t.start()
	s.tabs[id] = t
	s.raws[e.SessionID] = t.raw
	if t.window() {
		s.open++
	}
	go t.enableAndRun()
}

// pageOf returns the recorded page tab whose session (or whose iframe's
// session) is id, nil if none. s.mu is held.
func (s *session) pageOf(id target.SessionID) *tab {
	var t *tab
	if id == s.firstSession {
		t = s.first
	} else if r := s.raws[id]; r != nil {
		t = r.t
	}
	if t == nil || !t.recorded {
		return nil
	}
	if t.top != nil {
		return t.top
	}
	return t
}

// childDetached ends the recording of an iframe whose session its page's
// session reports detached. It runs in chromedp's read loop.
func (s *session) childDetached(id target.SessionID) {
	s.mu.Lock()
	r := s.raws[id]
	delete(s.raws, id)
	s.mu.Unlock()
	if r != nil {
		r.detached()
		if r.t != nil {
			go s.tabGone(r.t)
		}
	}
}

// enableAndRun turns recording on for a page the browser holds, and lets it
// run. The commands go out together, and the page runs after the browser
// has read the first two.
func (t *tab) enableAndRun() {
	ctx := t.s.browserCtx
	var waits []func(context.Context, any) error
	var errs []error
	for _, c := range []struct {
		method string
		params any
	}{
		{network.Enable.Method, networkParams()},
		{page.Enable.Method, page.EnableParams{}},
		{target.SetAutoAttach.Method, childAttach()},
		{cdpruntime.RunIfWaitingForDebugger.Method, nil},
	} {
		if c.method == page.Enable.Method && t.top != nil {
			continue // an iframe's loads are not pages
		}
		if t.worker != "" && (c.method == page.Enable.Method || c.method == target.SetAutoAttach.Method) {
			continue // a worker has neither pages nor iframes
		}
		w, err := t.raw.send(ctx, c.method, c.params)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		waits = append(waits, w)
	}
	for _, w := range waits {
		if err := w(ctx, nil); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil && ctx.Err() == nil && !errors.Is(err, errSessionGone) {
		t.s.logf("browser: record tab %s: %v", t.id, err)
	}
}

// resume lets a page that waits for the recorder run.
// It does not depend on the capture's context: a page opened as the capture
// ends is let run too (an attached browser outlives the capture).
func (s *session) resume(r *rawSession) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.call(ctx, cdpruntime.RunIfWaitingForDebugger.Method, nil, nil); err != nil && s.browserCtx.Err() == nil {
		s.logf("browser: resume the page of session %s: %v", r.id, err)
	}
}

// chromedpError passes chromedp's error messages on to Logf, without the
// ones about the sessions the recorder handles itself (chromedp, which
// does not know them, names each as it ends).
func (s *session) chromedpError(format string, args ...any) {
	if strings.HasPrefix(format, "executor for %q doesn't exist") {
		return
	}
	s.logf("browser: chromedp: "+format, args...)
}

// attach records a tab opened while the browser did not auto-attach, with
// a chromedp context of its own, until it goes away.
func (s *session) attach(t *tab) {
	ctx, cancel := chromedp.NewContext(s.browserCtx, chromedp.WithTargetID(t.id), chromedp.WithListener(t.listen))
	t.ctx, t.cancel = ctx, cancel
	t.start()
	if err := chromedp.Do(ctx); err != nil {
		s.logf("browser: attach to tab %s: %v", t.id, err)
		s.tabGone(t)
		return
	}
	if err := t.enable(); err != nil {
		s.logf("%v", err)
	}
	s.watchClose(ctx, t)
}

// watchClose waits until the tab goes away, then flushes it.
func (s *session) watchClose(ctx context.Context, t *tab) {
	ch, err := chromedp.Detached(ctx)
	if err != nil {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
		return
	}
	s.tabGone(t)
}

// tabGone flushes a tab that closed and ends the capture with the last one.
// It runs once per tab, whichever of the target's destruction or its
// session's detachment is seen first.
func (s *session) tabGone(t *tab) {
	t.goneOnce.Do(func() {
		t.stop()
		if t.window() {
			s.closed()
		}
	})
}

// childAttach are the Target.setAutoAttach parameters of every recorded
// page and iframe: Chromium attaches a page's cross-site iframes (which run
// in a process of their own and report their requests on their own
// session) only through the session of their page, and holds each before
// its first request until the recorder lets it run.
func childAttach() target.SetAutoAttachParams {
	yes := true
	return target.SetAutoAttachParams{AutoAttach: true, WaitForDebuggerOnStart: true, Flatten: &yes}
}

func (s *session) closed() {
	s.mu.Lock()
	s.open--
	n := s.open
	s.mu.Unlock()
	if n <= 0 {
		s.doneOnce.Do(func() { close(s.done) })
	}
}

// finish stops every tab's recorder and reports what was still in flight.
func (s *session) finish() {
	if s.auto.Load() && s.tap != nil {
		// The browser holds no new page for the recorder any longer (an
		// attached browser goes on after the capture). The reply, if the
		// connection is still open, goes to no one.
		if b, err := jsonv2.Marshal(target.SetAutoAttachParams{AutoAttach: false}, chromedp.DefaultMarshalOptions); err == nil {
			s.tap.Write(context.Background(), &cdproto.Message{ID: 1<<30 - 1, Method: target.CommandSetAutoAttach, Params: b})
		}
	}
	s.mu.Lock()
	s.finished = true
	tabs := make([]*tab, 0, len(s.tabs))
	for _, t := range s.tabs {
		tabs = append(tabs, t)
	}
	s.mu.Unlock()
	for _, t := range tabs {
		t.stop()
	}
}

func (s *session) emit(f *trace.Flow) {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.o.OnFlow(f)
}

func (s *session) emitPage(p trace.Page) {
	if s.o.OnPage == nil {
		return
	}
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.o.OnPage(p)
}

func (s *session) logf(format string, args ...any) {
	if s.o.Logf != nil {
		s.o.Logf(format, args...)
	}
}

// enable turns on the Network and Page domains of the tab.
func (t *tab) enable() error {
	if _, err := call(t, network.Enable, networkParams()); err != nil {
		return fmt.Errorf("browser: enable network recording: %w", err)
	}
	if _, err := call(t, page.Enable, page.EnableParams{}); err != nil {
		return fmt.Errorf("browser: enable page events: %w", err)
	}
	return nil
}

// networkParams are the Network.enable parameters of every tab.
func networkParams() network.EnableParams {
	buf := int64(200 << 20)
	res := int64(100 << 20)
	// Durable messages keep bodies past a cross-process navigation (a form
	// page that posts itself away at once).
	durable := true
	return network.EnableParams{MaxTotalBufferSize: &buf, MaxResourceBufferSize: &res, EnableDurableMessages: &durable}
}
