package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/index"
	"github.com/idtrace/idtrace/internal/trace"
	"github.com/idtrace/idtrace/internal/web"
)

// captureUI is the viewer `capture --ui` runs beside the capture: an index
// in a temporary directory, filled as flows complete, served on the loopback
// interface with the viewer's token and Host checks. Open pages update
// through the server's event stream.
type captureUI struct {
	srv  *web.Server
	x    *index.Index
	dir  string
	mu   sync.Mutex
	err  error
	stop context.CancelFunc
	done chan error

	// lock is the live analysis' lock (liveView.mu): analyzed is called
	// with it held, and the delayed snapshot takes it. The fields below are
	// guarded by it.
	lock   sync.Locker
	a      *analyze.Analyzer
	last   time.Time
	timer  *time.Timer
	closed bool
	// checked keeps the token signature checks between snapshots.
	checked analyze.SnapshotCache
}

// liveReportEvery is the shortest time between two snapshots of the live
// analysis sent to the page: a burst of requests costs one snapshot per
// interval, and the last flow of a burst is always shown.
const liveReportEvery = 200 * time.Millisecond

// liveSource names the live report; the page says the view grows live when
// it sees it.
const liveSource = "live capture"

// startCaptureUI creates the live index and the server and starts serving;
// it prints the URL and opens it unless o.NoOpen.
func startCaptureUI(app *App, o *CaptureOptions, say func(string, ...any)) (*captureUI, error) {
	dir, err := os.MkdirTemp("", "idtrace-live-")
	if err != nil {
		return nil, fmt.Errorf("capture: --ui: %w", err)
	}
	x, err := index.Create(filepath.Join(dir, "live.db"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("capture: --ui: %w", err)
	}
	if err := x.Flush(); err != nil {
		x.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("capture: --ui: %w", err)
	}
	empty := analyze.New(analyze.Options{}).Snapshot(nil)
	empty.Source = liveSource
	srv, err := web.New(web.Options{Traces: []*web.Trace{{Name: filepath.Base(o.Out), Index: x, Report: empty}}, Addr: o.UIAddr})
	if err != nil {
		x.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("capture: --ui: %w", err)
	}
	u := &captureUI{srv: srv, x: x, dir: dir, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	u.stop = cancel
	go func() { u.done <- srv.Serve(ctx) }()
	url := srv.URL()
	// The URL goes to stdout, as `idtrace view` prints it, even with --quiet:
	// it is the one way into the page.
	fmt.Fprintf(app.IO.Out, "%s\n", url)
	say("idtrace: the live viewer is on 127.0.0.1 only (the URL above carries its token); it stops with the capture\n")
	if !o.NoOpen {
		if err := openBrowser(url); err != nil {
			say("idtrace: could not open a browser (%v): open the URL above\n", err)
		}
	}
	if o.UIReady != nil {
		o.UIReady(url)
	}
	return u, nil
}

// add shows one completed flow in the grid. The first error is kept and
// reported once the capture ends; the capture itself goes on.
func (u *captureUI) add(f *trace.Flow) {
	if u == nil {
		return
	}
	if err := u.srv.Publish(0, f); err != nil {
		u.mu.Lock()
		if u.err == nil {
			u.err = err
		}
		u.mu.Unlock()
	}
}

// analyzed shows the live analysis on the page after a flow was added to
// it: sign-ins, their steps, tokens with their verdicts so far, findings
// (analyze.Analyzer.Snapshot, the analyzer capture prints findings from).
// Called with u.lock held; snapshots are at most liveReportEvery apart,
// and a flow that comes sooner is shown when the interval ends.
func (u *captureUI) analyzed(a *analyze.Analyzer) {
	if u.closed {
		return
	}
	u.a = a
	wait := liveReportEvery - time.Since(u.last)
	if wait <= 0 {
		u.publishReport()
		return
	}
	if u.timer == nil {
		u.timer = time.AfterFunc(wait, func() {
			u.lock.Lock()
			defer u.lock.Unlock()
			u.timer = nil
			if !u.closed {
				u.publishReport()
			}
		})
	}
}

// publishReport sends a snapshot of the analysis to the server; u.lock held.
func (u *captureUI) publishReport() {
	u.last = time.Now()
	rep := u.a.Snapshot(&u.checked)
	rep.Source = liveSource
	if err := u.srv.SetReport(0, rep); err != nil {
		u.mu.Lock()
		if u.err == nil {
			u.err = err
		}
		u.mu.Unlock()
	}
}

// close stops the server and removes the live index; it returns the first
// error met while adding flows.
func (u *captureUI) close() error {
	if u == nil {
		return nil
	}
	if u.lock != nil {
		u.lock.Lock()
		u.closed = true
		if u.timer != nil {
			u.timer.Stop()
		}
		u.lock.Unlock()
	}
	u.stop()
	<-u.done
	u.x.Close()
	os.RemoveAll(u.dir)
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}
