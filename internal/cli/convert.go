package cli

import (
	"bufio"
	"fmt"
	"io"
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
when complete, so a failed conversion never leaves half a file.

Exit codes: 0 ok, 1 error, 2 usage.`,
		Example: `  idtrace convert case.saz case.har
  idtrace convert case.har case.saz --out-password secret
  idtrace convert --sanitize case.saz clean.har
  idtrace convert case.saz - --to har | jq '.log.entries | length'`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.In, o.Out = args[0], args[1]
			return runConvert(app, &o)
		},
	}
	cmd.Flags().StringVar(&o.To, "to", "", "output format: har or saz (default: from OUT's extension)")
	cmd.Flags().StringVar(&o.OutPassword, "out-password", "", "encrypt the SAZ output with this password (AES-256)")
	cmd.Flags().BoolVar(&o.Sanitize, "sanitize", false, "remove secrets on the way, as 'idtrace sanitize' does (see its help)")
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
	if o.Sanitize {
		red := redact.New(redact.Options{})
		n, err := writeTrace(app, o.In, o.Out, format, o.OutPassword, o.traceOptions, red)
		if err != nil {
			return err
		}
		fmt.Fprintf(app.IO.ErrOut, "wrote %d sessions to %s: %s\n", n, o.Out, summary(red.Counts()))
		return nil
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
			return err
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		out = tmp
	}
	bw := bufio.NewWriterSize(out, 256<<10)
	var sink trace.Sink
	if format == "har" {
		sink = har.NewWriter(bw, src.Meta())
	} else {
		sink = saz.NewWriter(bw, src.Meta(), saz.WriterOptions{Password: o.OutPassword})
	}
	n := 0
	for f, err := range src.Flows() {
		if err != nil {
			return err
		}
		if app.Ctx.Err() != nil {
			return app.Ctx.Err()
		}
		if err := sink.WriteFlow(f); err != nil {
			return fmt.Errorf("write %s: session %d: %w", o.Out, f.ID, err)
		}
		n++
	}
	if err := sink.Close(src.Meta()); err != nil {
		return fmt.Errorf("write %s: %w", o.Out, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", o.Out, err)
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp.Name(), o.Out); err != nil {
			return err
		}
		tmp = nil
		fmt.Fprintf(app.IO.ErrOut, "wrote %d sessions to %s\n", n, o.Out)
	}
	return nil
}
