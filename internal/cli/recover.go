package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/record"
)

// RecoverOptions are the flags of `idtrace recover`.
type RecoverOptions struct {
	Journal string
	// Out is the trace to write; default: the journal's name without its extension.
	Out string
	// Format is "text" (what was recovered, on stderr) or "json" (a
	// recoverJSON object on stdout).
	Format string
}

// recoverJSON is what `recover --format json` prints.
type recoverJSON struct {
	Journal  string `json:"journal"`
	Output   string `json:"output"`
	Format   string `json:"format"`
	Requests int    `json:"requests"`
	// Torn names the record the crash cut, left out; empty when none was.
	Torn string `json:"torn,omitempty"`
}

func newRecoverCmd(app *App) *cobra.Command {
	var o RecoverOptions
	cmd := &cobra.Command{
		Use:   "recover [flags] JOURNAL",
		Short: "Write the trace of a capture that was killed, from its journal",
		Long: `recover turns the journal a capture leaves beside its output
(case.saz.idtrace-journal) into the trace, when the capture could not finish:
kill -9, a crash, a power loss. Every request that had completed is written;
a request the crash cut in the middle of being recorded is left out and named.
The journal is removed once the trace is written. What was recovered is said
on stderr; --format json prints it on stdout as {"journal", "output", "format",
"requests", "torn"}.

Exit codes: 0 ok, 1 error (unreadable journal, cannot write the trace), 2 usage.`,
		Example: `  idtrace recover case.saz.idtrace-journal
  idtrace recover case.saz.idtrace-journal -o case.har
  idtrace recover --format json case.har.idtrace-journal`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Journal = args[0]
			return runRecover(app, &o)
		},
	}
	addFormatFlag(cmd, &o.Format, "text", "json")
	cmd.Flags().StringVarP(&o.Out, "output", "o", "", "the trace to write: `FILE`.har or FILE.saz (default: the journal's name without "+record.Ext+")")
	return cmd
}

func runRecover(app *App, o *RecoverOptions) error {
	out := o.Out
	if out == "" {
		if !strings.HasSuffix(o.Journal, record.Ext) {
			return usageErr("recover: %s does not end in %s: give the output with -o", o.Journal, record.Ext)
		}
		out = strings.TrimSuffix(o.Journal, record.Ext)
	}
	format, ok := record.FormatOf(out)
	if !ok {
		return usageErr("recover: cannot tell the format of %q: use .har or .saz", out)
	}
	f, _, err := openInput(o.Journal, "a capture journal")
	if err != nil {
		return err
	}
	f.Close()
	res, err := record.Finalize(o.Journal, out, format, nil)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	if o.Format == "json" {
		return writeJSON(app.IO.Out, recoverJSON{Journal: o.Journal, Output: out, Format: strings.TrimPrefix(filepath.Ext(out), "."),
			Requests: res.Flows, Torn: res.Torn})
	}
	if res.Torn != "" {
		fmt.Fprintf(app.IO.ErrOut, "idtrace: the last record was cut by the crash and is left out (%s)\n", res.Torn)
	}
	fmt.Fprintf(app.IO.ErrOut, "idtrace: recovered %s into %s\n", count(res.Flows, "request"), out)
	return nil
}
