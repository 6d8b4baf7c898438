package cli

import (
	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/diff"
)

// DiffOptions are the flags of `idtrace diff`.
type DiffOptions struct {
	Left, Right string
	// Format is "text" (default) or "json".
	Format string
	// ExitCode makes differences exit 3 (for CI).
	ExitCode bool
	NoCache  bool
	traceOptions
}

func newDiffCmd(app *App) *cobra.Command {
	var o DiffOptions
	cmd := &cobra.Command{
		Use:   "diff [flags] GOOD BAD",
		Short: "Compare the sign-ins of two traces and show the first difference in each",
		Long: `diff matches the sign-ins of two HAR or SAZ traces (the day it worked, and
today) and shows, for each pair, the first step where they part: the endpoint
reached, the status, a request parameter, a cookie sent, a token claim, or an
error. Values that change on every sign-in (state, nonce, codes, request IDs,
token times) are compared by presence only. Secrets are shown shortened.

Sign-ins found in one trace only are listed at the end.

Exit codes: 0 ok, 1 error, 2 usage, 3 differences found (with --exit-code).`,
		Example: `  idtrace diff good.har bad.har
  idtrace diff --format json good.saz bad.saz
  idtrace diff --exit-code baseline.har today.har`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Left, o.Right = args[0], args[1]
			return runDiff(app, &o)
		},
	}
	f := cmd.Flags()
	addFormatFlag(cmd, &o.Format, "text", "json")
	f.BoolVar(&o.ExitCode, "exit-code", false, "exit 3 when the traces differ")
	f.BoolVar(&o.NoCache, "no-cache", false, "do not keep the indexes in the cache directory")
	addPasswordFlag(cmd, &o.traceOptions)
	return cmd
}

func runDiff(app *App, o *DiffOptions) error {
	if o.Format != "text" && o.Format != "json" {
		return usageErr("--format: want text or json, got %q", o.Format)
	}
	dir, cleanup, err := indexDir(app, o.NoCache)
	if err != nil {
		return err
	}
	defer cleanup()
	a, err := loadIndexed(app, o.Left, dir, o.traceOptions)
	if err != nil {
		return err
	}
	defer a.Index.Close()
	b, err := loadIndexed(app, o.Right, dir, o.traceOptions)
	if err != nil {
		return err
	}
	defer b.Index.Close()
	res, err := compareTraces(a, b)
	if err != nil {
		return err
	}
	if o.Format == "json" {
		err = diff.WriteJSON(app.IO.Out, res)
	} else {
		err = diff.WriteText(app.IO.Out, res)
	}
	if err != nil {
		return err
	}
	if o.ExitCode && res.Differs() {
		return &ExitError{Code: 3}
	}
	return nil
}
