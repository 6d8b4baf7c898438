package cli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/sample"
	"github.com/idtrace/idtrace/internal/saz"
)

func newDemoCmd(app *App) *cobra.Command {
	var view ViewOptions
	var open, force bool
	var write, format string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show what idtrace does, on a built-in sample trace",
		Long: `Open the sample trace built into idtrace — a synthetic Entra ID sign-in made by
the project, with made-up names and throwaway keys —, list its sessions and
analyze it: the sign-ins, the tokens, and what went wrong. With --view, open
it in the viewer (see 'idtrace view') instead. With --write FILE, save it as a
HAR or SAZ file (from FILE's extension; "-" writes the HAR to stdout) to try
the other commands on, or to open in Fiddler or a browser's DevTools.
--format md or json prints only the analysis, as 'idtrace analyze' would.

Exit codes: 0 ok, 1 error (cannot write FILE), 2 usage (FILE exists without
--force, or has neither a .har nor a .saz extension).`,
		Example: `  idtrace demo
  idtrace demo --view
  idtrace demo --write sample.har && idtrace ls sample.har
  idtrace demo --write sample.saz
  idtrace demo --format md > sample-report.md`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("write") {
				if open {
					return usageErr("demo: --write and --view: choose one")
				}
				return runDemoWrite(app, write, force)
			}
			if open {
				return runDemoView(app, &view)
			}
			return runDemo(app, format)
		},
	}
	addFormatFlag(cmd, &format, "text", "md", "json")
	cmd.Flags().BoolVar(&open, "view", false, "open the sample in the viewer")
	cmd.Flags().StringVar(&write, "write", "", "save the sample trace to this .har or .saz file (- for a HAR on stdout)")
	cmd.Flags().BoolVar(&force, "force", false, "with --write: replace the file if it exists")
	cmd.Flags().BoolVar(&view.NoOpen, "no-open", false, "with --view: print the URL instead of opening the browser")
	return cmd
}

// runDemoWrite saves the sample as a HAR (its bytes as embedded) or a SAZ
// (converted), through a temporary file renamed into place.
func runDemoWrite(app *App, out string, force bool) error {
	if strings.TrimSpace(out) == "" {
		return usageErr("demo: --write: empty value: give a .har or .saz file name, or -")
	}
	if out == "-" {
		_, err := app.IO.Out.Write(sample.Bytes())
		return err
	}
	format := strings.ToLower(filepath.Ext(out))
	if format != ".har" && format != ".saz" {
		return usageErr("demo: --write %q: want a .har or .saz file name", out)
	}
	if fi, err := os.Stat(out); err == nil && !force {
		if fi.IsDir() {
			return usageErr("demo: --write: %s is a directory", out)
		}
		return usageErr("demo: %s already exists: use --force to replace it", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return writeErr(out, err)
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n := 0
	if format == ".har" {
		if _, err := tmp.Write(sample.Bytes()); err != nil {
			return writeErr(out, err)
		}
		for _, err := range har.NewReader(sample.Open(), sample.Name).Flows() {
			if err != nil {
				return err
			}
			n++
		}
	} else {
		src := har.NewReader(sample.Open(), sample.Name)
		bw := bufio.NewWriter(tmp)
		sink := saz.NewWriter(bw, src.Meta(), saz.WriterOptions{})
		for f, err := range src.Flows() {
			if err != nil {
				return err
			}
			if err := sink.WriteFlow(f); err != nil {
				return writeErr(out, err)
			}
			n++
		}
		if err := sink.Close(src.Meta()); err != nil {
			return writeErr(out, err)
		}
		if err := bw.Flush(); err != nil {
			return writeErr(out, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return writeErr(out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return writeErr(out, err)
	}
	tmp = nil
	fmt.Fprintf(app.IO.ErrOut, "wrote the sample trace (%d sessions) to %s. Next: idtrace ls %s\n", n, out, out)
	return nil
}

// runDemoView writes the sample to a temporary file and views it.
func runDemoView(app *App, o *ViewOptions) error {
	dir, err := os.MkdirTemp("", "idtrace-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, sample.Name)
	if err := os.WriteFile(p, sample.Bytes(), 0o600); err != nil {
		return err
	}
	o.Files, o.Addr = []string{p}, "127.0.0.1:0"
	return runView(app, o)
}

func runDemo(app *App, format string) error {
	if format == "md" || format == "json" {
		return RunAnalyze(app, har.NewReader(sample.Open(), sample.Name), AnalyzeOptions{Name: sample.Name, Format: format})
	}
	src := har.NewReader(sample.Open(), sample.Name)
	fmt.Fprintf(app.IO.ErrOut, "idtrace demo: the built-in sample trace %s (synthetic sign-in)\n\n", sample.Name)
	n := 0
	tw := newTable(app.IO.Out)
	for f, err := range src.Flows() {
		if err != nil {
			return err
		}
		writeLsRow(tw, f, true)
		n++
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(app.IO.Out, "\n")
	if err := RunAnalyze(app, har.NewReader(sample.Open(), sample.Name), AnalyzeOptions{Name: sample.Name}); err != nil {
		return err
	}
	fmt.Fprintf(app.IO.ErrOut, "\n%d sessions. Next: idtrace ls FILE, idtrace show N FILE, idtrace analyze FILE, idtrace convert IN.har OUT.saz\n", n)
	fmt.Fprint(app.IO.ErrOut, `Capture your own sign-in:
  idtrace capture --browser -o case.har      a browser window recorded over DevTools (no certificate), until you close it
  idtrace capture -o case.saz                a proxy on 127.0.0.1:8888: point a browser or HTTPS_PROXY at it,
                                             trust its CA first with 'idtrace ca install' and remove it after with 'idtrace ca uninstall'
  Findings are printed as they happen; Ctrl-C writes the file. Guide: docs/capture.md
`)
	return nil
}
