package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/redact"
	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/trace"
)

// ConvertOptions are the flags of `idtrace convert`.
type ConvertOptions struct {
	In, Out string
	// To is the output format when it cannot come from Out's extension.
	To string
	// OutPassword encrypts a SAZ output (WinZip AES-256).
	OutPassword string
	// Sanitize removes secrets on the way (as `idtrace sanitize` does).
	Sanitize bool
	// Force replaces an existing OUT.
	Force bool
	Selection
	traceOptions
}

func newConvertCmd(app *App) *cobra.Command {
	var o ConvertOptions
	cmd := &cobra.Command{
		Use:   "convert [flags] IN OUT",
		Short: "Convert a trace between HAR and SAZ",
		Long: `Convert a trace between HAR 1.2 and Fiddler SAZ, streaming one session at a time.

The output format comes from OUT's extension (.har or .saz); with OUT "-" the
trace goes to stdout and --to names the format. IN may be "-" for a HAR on stdin.
The output file is written next to its final name and renamed into place only
when complete, so a failed conversion never leaves half a file. An existing OUT
is replaced only with --force.

With selection flags, only the sessions they select are written (Fiddler's
"save selected sessions"); each keeps its data, numbered anew in OUT.

` + selectionHelp + `

Exit codes: 0 ok, 1 error (bad input, cannot write OUT), 2 usage (bad flag,
OUT exists without --force).`,
		Example: `  idtrace convert case.saz case.har
  idtrace convert case.har case.saz --out-password secret
  idtrace convert --sanitize case.saz clean.har
  idtrace convert --host login.microsoftonline.com --status 4xx case.saz cut.saz
  idtrace convert --range 10-40 --force case.har cut.har
  idtrace convert case.saz - --to har | jq '.log.entries | length'`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := fileArg("IN", args[0]); err != nil {
				return err
			}
			if strings.TrimSpace(args[1]) == "" {
				return usageErr("OUT is empty: give a .har or .saz file name, or - for stdout")
			}
			if err := checkSelectionFlags(cmd); err != nil {
				return err
			}
			o.In, o.Out = args[0], args[1]
			return runConvert(app, &o)
		},
	}
	cmd.Flags().StringVar(&o.To, "to", "", "output format: har or saz (default: from OUT's extension)")
	cmd.Flags().StringVar(&o.OutPassword, "out-password", "", "encrypt the SAZ output with this password (AES-256)")
	cmd.Flags().BoolVar(&o.Force, "force", false, "replace OUT if it exists")
	cmd.Flags().BoolVar(&o.Sanitize, "sanitize", false, "remove secrets on the way, as 'idtrace sanitize' does (see its help)")
	addSelectionFlags(cmd, &o.Selection)
	addPasswordFlag(cmd, &o.traceOptions)
	return cmd
}

func runConvert(app *App, o *ConvertOptions) error {
	format := strings.ToLower(o.To)
	if format == "" {
		switch strings.ToLower(filepath.Ext(o.Out)) {
		case ".har", ".json":
			format = "har"
		case ".saz":
			format = "saz"
		default:
			return usageErr("convert: cannot tell the output format of %q: use .har or .saz, or --to", o.Out)
		}
	}
	if format != "har" && format != "saz" {
		return usageErr("convert: --to %q: want har or saz", o.To)
	}
	if o.OutPassword != "" && format != "saz" {
		return usageErr("convert: --out-password applies to SAZ output only")
	}
	ff, err := newFlowFilter(&o.Selection)
	if err != nil {
		return err
	}
	if o.Out != "-" && !o.Force {
		if fi, err := os.Stat(o.Out); err == nil {
			if fi.IsDir() {
				return usageErr("convert: %s is a directory: OUT must be a file name", o.Out)
			}
			return usageErr("convert: %s already exists: use --force to replace it", o.Out)
		}
	}
	src, c, err := openTrace(app, o.In, o.traceOptions)
	if err != nil {
		return err
	}
	defer c.Close()

	var out io.Writer
	var tmp *os.File
	if o.Out == "-" {
		out = app.IO.Out
	} else {
		tmp, err = os.CreateTemp(filepath.Dir(o.Out), "."+filepath.Base(o.Out)+".*.tmp")
		if err != nil {
			return writeErr(o.Out, err)
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		out = tmp
	}
	meta := src.Meta()
	var red *redact.Redactor
	if o.Sanitize {
		red = redact.New(redact.Options{})
		meta = red.Meta(meta)
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	var sink trace.Sink
	if format == "har" {
		sink = har.NewWriter(bw, meta)
	} else {
		sink = saz.NewWriter(bw, meta, saz.WriterOptions{Password: o.OutPassword})
	}
	if red != nil {
		sink = red.Sink(sink)
	}
	n, seen := 0, 0
	for f, err := range src.Flows() {
		if err != nil {
			return err
		}
		if app.Ctx.Err() != nil {
			return app.Ctx.Err()
		}
		seen++
		if !ff.match(f) {
			continue
		}
		if err := sink.WriteFlow(f); err != nil {
			return writeErr(fmt.Sprintf("%s: session %d", o.Out, f.ID), err)
		}
		n++
	}
	if err := sink.Close(src.Meta()); err != nil {
		return writeErr(o.Out, err)
	}
	if err := bw.Flush(); err != nil {
		return writeErr(o.Out, err)
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return writeErr(o.Out, err)
		}
		if err := os.Rename(tmp.Name(), o.Out); err != nil {
			return writeErr(o.Out, err)
		}
		tmp = nil
	}
	if o.Out != "-" || ff.active() || red != nil {
		msg := fmt.Sprintf("wrote %d sessions", n)
		if ff.active() {
			msg += fmt.Sprintf(" of %d", seen)
		}
		if o.Out != "-" {
			msg += " to " + o.Out
		}
		if red != nil {
			msg += ": " + summary(red.Counts())
		}
		fmt.Fprintln(app.IO.ErrOut, msg)
	}
	return nil
}

// writeErr words a failure to write OUT with where (OUT's name as the user
// typed it, perhaps with the session): the temporary file the output goes
// through is never named.
func writeErr(where string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return fmt.Errorf("%s: cannot write: %w", where, err)
}
