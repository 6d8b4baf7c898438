package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

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
	// found are the live analysis' findings so far.
	found []analyze.Finding
}

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
	srv, err := web.New(web.Options{Traces: []*web.Trace{{Name: filepath.Base(o.Out), Index: x}}, Addr: o.UIAddr})
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

// findings shows the live analysis' new findings on the page (its summary
// and the inspector of the flows they name). Sign-ins and tokens are left
// to 'idtrace view' on the written file.
func (u *captureUI) findings(fs []analyze.LiveFinding) {
	u.mu.Lock()
	for _, f := range fs {
		u.found = append(u.found, f.Finding)
	}
	rep := &analyze.Report{Source: "live capture", Findings: slices.Clone(u.found),
		Verdict: []analyze.Failure{}, Flows: []analyze.SignIn{}, Tokens: []analyze.Token{}}
	u.mu.Unlock()
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
	u.stop()
	<-u.done
	u.x.Close()
	os.RemoveAll(u.dir)
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}
