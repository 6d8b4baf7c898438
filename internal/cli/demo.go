package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/sample"
)

func newDemoCmd(app *App) *cobra.Command {
	var view ViewOptions
	var open bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show what idtrace does, on a built-in sample trace",
		Long: `Open the sample trace built into idtrace — a synthetic Entra ID sign-in made by
the project, with made-up names and throwaway keys —, list its sessions and
analyze it: the sign-ins, the tokens, and what went wrong. With --view, open
it in the viewer (see 'idtrace view') instead.

Exit codes: 0 ok, 1 error.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if open {
				return runDemoView(app, &view)
			}
			return runDemo(app)
		},
	}
	cmd.Flags().BoolVar(&open, "view", false, "open the sample in the viewer")
	cmd.Flags().BoolVar(&view.NoOpen, "no-open", false, "with --view: print the URL instead of opening the browser")
	return cmd
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

func runDemo(app *App) error {
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
