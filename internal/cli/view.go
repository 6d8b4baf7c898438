package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/diff"
	"github.com/idtrace/idtrace/internal/index"
	"github.com/idtrace/idtrace/internal/web"
)

// ViewOptions are the flags of `idtrace view`.
type ViewOptions struct {
	Files []string
	// NoOpen prints the URL instead of opening the default browser.
	NoOpen bool
	// Addr is the loopback address to listen on ("127.0.0.1:0": a random port).
	Addr string
	// NoCache indexes into a temporary directory removed on exit.
	NoCache bool
	// Ready, when set, is called with the URL once the server listens (tests).
	Ready func(url string)
	traceOptions
}

func newViewCmd(app *App) *cobra.Command {
	var o ViewOptions
	cmd := &cobra.Command{
		Use:   "view [flags] FILE [FILE2]",
		Short: "Open a trace (or compare two) in a local web page",
		Long: `view serves a local web page for a HAR or SAZ trace: the session grid with
filters and full-text search, inspectors (headers, query, form, cookies, JSON,
XML, raw, hex, image, decoded tokens), a timeline, and the identity view that
draws each sign-in as a sequence diagram with its findings.

With two files (the day it worked, and today) the page also compares them:
their sign-ins matched, and the first difference in each.

The trace is indexed once into the user cache directory (keyed by the file's
SHA-256), so opening the same file again is immediate. The page listens on
127.0.0.1 only and needs the per-run token in the printed URL. Tokens and
cookies are shown shortened unless you ask to reveal them. Stop with Ctrl-C.

Exit codes: 0 ok, 1 error (unreadable or malformed input), 2 usage.`,
		Example: `  idtrace view case.saz
  idtrace view --no-open case.har
  idtrace view good.har bad.har`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageErr("%s: expected 1 or 2 files, got %d", cmd.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Files = args
			return runView(app, &o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.NoOpen, "no-open", false, "print the URL instead of opening the browser")
	f.StringVar(&o.Addr, "addr", "127.0.0.1:0", "loopback `address` to listen on")
	f.BoolVar(&o.NoCache, "no-cache", false, "do not keep the index in the cache directory")
	addPasswordFlag(cmd, &o.traceOptions)
	return cmd
}

func runView(app *App, o *ViewOptions) error {
	if host, _, err := net.SplitHostPort(o.Addr); err != nil {
		return usageErr("--addr %q: %v", o.Addr, err)
	} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usageErr("--addr %q: the viewer listens only on a loopback address (127.0.0.1, ::1, localhost)", o.Addr)
	}
	dir, cleanup, err := indexDir(app, o.NoCache)
	if err != nil {
		return err
	}
	defer cleanup()
	var traces []*web.Trace
	for _, p := range o.Files {
		t, err := loadIndexed(app, p, dir, o.traceOptions)
		if err != nil {
			return err
		}
		defer t.Index.Close()
		traces = append(traces, t)
	}
	opts := web.Options{Traces: traces, Addr: o.Addr}
	if len(traces) == 2 {
		if opts.Diff, err = compareTraces(traces[0], traces[1]); err != nil {
			return err
		}
	}
	srv, err := web.New(opts)
	if err != nil {
		return err
	}
	url := srv.URL()
	fmt.Fprintf(app.IO.Out, "%s\n", url)
	fmt.Fprintln(app.IO.ErrOut, "idtrace view: serving on 127.0.0.1 only; press Ctrl-C to stop")
	if !o.NoOpen {
		if err := openBrowser(url); err != nil {
			fmt.Fprintf(app.IO.ErrOut, "idtrace view: could not open a browser (%v): open the URL above\n", err)
		}
	}
	if o.Ready != nil {
		o.Ready(url)
	}
	return srv.Serve(app.Ctx)
}

// indexDir is where indexes go: $IDTRACE_CACHE_DIR, else the user cache
// directory, else (or with noCache) a temporary directory removed by cleanup.
func indexDir(app *App, noCache bool) (string, func(), error) {
	if !noCache {
		if d := app.Getenv("IDTRACE_CACHE_DIR"); d != "" {
			return d, func() {}, nil
		}
		if d, err := index.CacheDir(); err == nil {
			return d, func() {}, nil
		}
	}
	d, err := os.MkdirTemp("", "idtrace-index-")
	if err != nil {
		return "", nil, err
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// analysisKey names the stored analysis; analysisStamp says which idtrace
// made it, so a newer binary analyses again instead of trusting an old report.
const analysisKey = "analysis"

func analysisStamp() string {
	s := "idtrace " + Version
	if exe, err := os.Executable(); err == nil {
		if st, err := os.Stat(exe); err == nil {
			s += fmt.Sprintf(" %d %d", st.Size(), st.ModTime().UnixNano())
		}
	}
	return s
}

type storedAnalysis struct {
	Stamp  string          `json:"stamp"`
	Report *analyze.Report `json:"report"`
}

// loadIndexed opens the cached index of a trace file, or builds it (and
// analyses the trace in the same pass) when there is none.
func loadIndexed(app *App, path, dir string, opts traceOptions) (*web.Trace, error) {
	if path == "-" {
		return nil, usageErr("the viewer needs a file name, not standard input")
	}
	f, _, err := openFile(path)
	if err != nil {
		return nil, err
	}
	f.Close()
	name := filepath.Base(path)
	sum, err := index.HashFile(path)
	if err != nil {
		return nil, err
	}
	dbPath := index.CachePath(dir, sum)
	var x *index.Index
	var rep *analyze.Report
	if _, err := os.Stat(dbPath); err == nil {
		if x, err = index.Open(dbPath); err != nil {
			fmt.Fprintf(app.IO.ErrOut, "idtrace: %s: the cached index is unreadable (%v); indexing again\n", name, err)
			os.Remove(dbPath)
			x = nil
		} else if b, _ := x.Blob(analysisKey); b != nil {
			var sa storedAnalysis
			if json.Unmarshal(b, &sa) == nil && sa.Stamp == analysisStamp() && sa.Report != nil {
				rep = sa.Report
			}
		}
	}
	if x == nil {
		src, c, err := openTrace(app, path, opts)
		if err != nil {
			return nil, err
		}
		if app.IO.ErrTTY {
			fmt.Fprintf(app.IO.ErrOut, "idtrace: indexing %s\n", name)
		}
		a := analyze.New(analyze.Options{})
		x, err = index.Build(app.Ctx, dbPath, src, a.Add)
		c.Close()
		if err != nil {
			return nil, err
		}
		rep = a.Finish()
		if err := storeAnalysis(x, rep); err != nil {
			x.Close()
			return nil, err
		}
	} else if rep == nil {
		r, err := analyze.Run(x.Source(), analyze.Options{})
		if err != nil {
			x.Close()
			return nil, err
		}
		rep = r
		if err := storeAnalysis(x, rep); err != nil {
			x.Close()
			return nil, err
		}
	}
	rep.Source = name
	return &web.Trace{Name: name, Index: x, Report: rep}, nil
}

func storeAnalysis(x *index.Index, rep *analyze.Report) error {
	b, err := json.Marshal(storedAnalysis{Stamp: analysisStamp(), Report: rep})
	if err != nil {
		return err
	}
	if err := x.SetBlob(analysisKey, b); err != nil {
		return err
	}
	marks := map[int]int{}
	for _, s := range rep.Flows {
		for _, st := range s.Steps {
			marks[st.FlowID] = s.ID
		}
	}
	for _, t := range rep.Tokens {
		if _, ok := marks[t.FlowID]; !ok && t.SignIn > 0 {
			marks[t.FlowID] = t.SignIn
		}
	}
	return x.MarkSignIns(marks)
}

// compareTraces runs the sign-in comparison of two indexed traces.
func compareTraces(a, b *web.Trace) (*diff.Result, error) {
	return diff.Compare(
		diff.Side{Name: a.Name, Report: a.Report, Flow: a.Index.Flow},
		diff.Side{Name: b.Name, Report: b.Report, Flow: b.Index.Flow})
}

// openBrowser asks the desktop to open url in the default browser.
func openBrowser(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	case "darwin":
		cmd = exec.Command("open", url)
	default:
		if _, err := exec.LookPath("xdg-open"); err != nil {
			return errors.New("xdg-open not found")
		}
		cmd = exec.Command("xdg-open", url)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait()
	return nil
}
