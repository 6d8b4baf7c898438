package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/har"
	"github.com/idtrace/idtrace/internal/redact"
	"github.com/idtrace/idtrace/internal/saz"
	"github.com/idtrace/idtrace/internal/trace"
)

// SanitizeOptions are the flags of `idtrace sanitize`.
type SanitizeOptions struct {
	In string
	// Out is the output file ("-" for stdout); empty with Check.
	Out string
	// To is the output format when Out's extension does not tell it.
	To string
	// Check only looks for secrets left in In.
	Check bool
	// Report is a file that lists each removal by flow and rule ("-" for stderr).
	Report string
	// Tokens is "keep" (claims kept, signature dropped) or "drop".
	Tokens string
	// PII also pseudonymizes user names, e-mail addresses, names, object IDs and client IPs.
	PII         bool
	OutPassword string
	// Format is how --check lists secrets and --report lists removals:
	// "text", "json" or "ndjson".
	Format string
	traceOptions
}

func newSanitizeCmd(app *App) *cobra.Command {
	var o SanitizeOptions
	cmd := &cobra.Command{
		Use:   "sanitize [flags] IN -o OUT | sanitize --check FILE",
		Short: "Remove the secrets of a trace before sharing it",
		Long: `Write a copy of a HAR or SAZ trace without what could sign anyone in: cookies,
Authorization headers (Bearer, Basic, NTLM, Negotiate), API keys, the Windows PRT
cookie, authorization and device codes, tokens in URLs, forms and JSON (refresh
tokens too), client secrets and assertions, passwords, the ESTS sign-in page's
flow tokens and canaries, SAML and WS-Fed signature values, credentials in
URLs, and any other cookie or field that looks like a credential.

Each removed value becomes a pseudonym such as REDACTED:cookie:ESTSAUTH:3f2a91c0de,
the same for the same value everywhere in the output (a keyed hash, with a key
drawn at random for each run), so flows still correlate. JWTs keep their header
and claims and lose their signature (analyze then says "removed by sanitize");
--tokens drop removes them whole. Lengths are fixed and bodies re-encoded, so the
output stays a valid HAR or SAZ. HAR in, SAZ out (and back) works.

--check FILE reads a trace and lists every secret left in it (rule and place,
never the value); it exits 3 when it finds one, so it can gate an upload.
--format json or ndjson writes that list, and the --report, for machines.
See docs/sanitize.md for the rules and the false-positive policy.

Exit codes: 0 ok (check: nothing found), 1 error, 2 usage, 3 secrets left (--check).`,
		Example: `  idtrace sanitize case.har -o clean.har
  idtrace sanitize case.saz -o clean.har --report removed.txt
  idtrace sanitize --pii --tokens drop case.har -o clean.har
  idtrace sanitize --check clean.har && upload clean.har`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("%s: expected 1 input file, got %d", cmd.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.In = args[0]
			return runSanitize(app, &o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Out, "output", "o", "", "output file (.har or .saz; \"-\" for stdout)")
	f.StringVar(&o.To, "to", "", "output format: har or saz (default: from the output's extension)")
	f.BoolVar(&o.Check, "check", false, "only list the secrets left in the trace (exit 3 if any)")
	f.StringVar(&o.Report, "report", "", "write what was removed, by flow and rule, to this file (\"-\": stderr)")
	f.StringVar(&o.Tokens, "tokens", "keep", "JWTs: keep (header and claims, no signature) or drop")
	f.BoolVar(&o.PII, "pii", false, "also replace user names, e-mails, names, object IDs and client IPs by pseudonyms")
	f.StringVar(&o.OutPassword, "out-password", "", "encrypt the SAZ output with this password (AES-256)")
	addFormatFlag(cmd, &o.Format, "text", "json", "ndjson")
	addPasswordFlag(cmd, &o.traceOptions)
	return cmd
}

// redactOptions validates --tokens and --pii into redact.Options.
func redactOptions(tokens string, pii bool) (redact.Options, error) {
	o := redact.Options{PII: pii}
	switch strings.ToLower(tokens) {
	case "", "keep":
	case "drop":
		o.Tokens = redact.DropTokens
	default:
		return o, usageErr("--tokens %q: want keep or drop", tokens)
	}
	return o, nil
}

func runSanitize(app *App, o *SanitizeOptions) error {
	ropts, err := redactOptions(o.Tokens, o.PII)
	if err != nil {
		return err
	}
	if o.Check {
		if o.Out != "" || o.Report != "" || o.OutPassword != "" {
			return usageErr("sanitize: --check reads one file and writes nothing; drop -o, --report and --out-password")
		}
		return runSanitizeCheck(app, o, ropts)
	}
	if o.Out == "" {
		return usageErr("sanitize: -o OUT is required (or --check)")
	}
	format, err := outputFormat(o.Out, o.To)
	if err != nil {
		return err
	}
	if o.OutPassword != "" && format != "saz" {
		return usageErr("sanitize: --out-password applies to SAZ output only")
	}
	if o.Out != "-" && o.In != "-" {
		if a, b := absPath(o.In), absPath(o.Out); a == b {
			return usageErr("sanitize: the output would overwrite the input %s", o.In)
		}
	}
	var report *bufio.Writer
	var list *removalList
	if o.Report != "" {
		var rw io.Writer = app.IO.ErrOut
		if o.Report != "-" {
			rf, err := os.Create(o.Report)
			if err != nil {
				return writeErr(o.Report, err)
			}
			defer rf.Close()
			rw = rf
		}
		report = bufio.NewWriter(rw)
		if o.Format != "text" {
			list = newRemovalList(report, o.Format, o.In, "removed")
			ropts.OnRemove = list.add
		} else {
			fmt.Fprintln(report, "flow\trule\twhere")
			ropts.OnRemove = func(m redact.Removal) {
				fmt.Fprintf(report, "%d\t%s\t%s\n", m.FlowID, m.Rule, m.Where)
			}
		}
	}
	red := redact.New(ropts)
	n, err := writeTrace(app, o.In, o.Out, format, o.OutPassword, o.traceOptions, red)
	if err != nil {
		return err
	}
	if list != nil {
		if err := list.close(n, red.Counts()); err != nil {
			return fmt.Errorf("write %s: %w", o.Report, err)
		}
	}
	if report != nil {
		if err := report.Flush(); err != nil {
			return fmt.Errorf("write %s: %w", o.Report, err)
		}
	}
	fmt.Fprintf(app.IO.ErrOut, "sanitized %d sessions: %s\n", n, summary(red.Counts()))
	return nil
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// summary renders removal counts by rule, most first.
func summary(c map[string]int) string {
	if len(c) == 0 {
		return "nothing removed"
	}
	total := 0
	for _, v := range c {
		total += v
	}
	return fmt.Sprintf("%d values removed (%s)", total, byRule(c))
}

// byRule renders counts by rule, most first: "cookie 12, param 3".
func byRule(c map[string]int) string {
	rules := make([]string, 0, len(c))
	for k := range c {
		rules = append(rules, k)
	}
	slices.SortFunc(rules, func(a, b string) int {
		if c[a] != c[b] {
			return c[b] - c[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(rules))
	for i, k := range rules {
		parts[i] = fmt.Sprintf("%s %d", k, c[k])
	}
	return strings.Join(parts, ", ")
}

// runSanitizeCheck lists the secrets a trace still holds.
func runSanitizeCheck(app *App, o *SanitizeOptions, ropts redact.Options) error {
	src, c, err := openTrace(app, o.In, o.traceOptions)
	if err != nil {
		return err
	}
	defer c.Close()
	w := bufio.NewWriter(app.IO.Out)
	ropts.OnRemove = func(m redact.Removal) {
		fmt.Fprintf(w, "flow %d: %s: %s\n", m.FlowID, m.Rule, m.Where)
	}
	var list *removalList
	if o.Format != "" && o.Format != "text" {
		list = newRemovalList(w, o.Format, o.In, "secrets")
		ropts.OnRemove = list.add
	}
	ropts.Key = make([]byte, 32) // nothing is written; pseudonyms are never shown
	red := redact.New(ropts)
	// Reading and judging run on two goroutines; nothing is written.
	n, err := pipeFlows(app.Ctx, src, red, func(*trace.Flow) error { return nil })
	if err != nil {
		w.Flush()
		return err
	}
	red.Meta(src.Meta())
	if list != nil {
		if err := list.close(n, red.Counts()); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if red.Total() > 0 {
		return &ExitError{Code: 3, Err: fmt.Errorf("%s: %d secrets left in %d sessions (%s)", filepath.Base(o.In), red.Total(), n, byRule(red.Counts()))}
	}
	fmt.Fprintf(app.IO.ErrOut, "%s: no secrets found in %d sessions\n", filepath.Base(o.In), n)
	return nil
}

// outputFormat is --to, else OUT's extension.
func outputFormat(out, to string) (string, error) {
	format := strings.ToLower(to)
	if format == "" {
		switch strings.ToLower(filepath.Ext(out)) {
		case ".har", ".json":
			format = "har"
		case ".saz":
			format = "saz"
		default:
			return "", usageErr("cannot tell the output format of %q: use .har or .saz, or --to", out)
		}
	}
	if format != "har" && format != "saz" {
		return "", usageErr("--to %q: want har or saz", to)
	}
	return format, nil
}

// writeTrace streams IN to OUT in format, through red when it is not nil,
// reading, redacting and writing on separate goroutines (pipeFlows).
// The file is written beside its final name and renamed into place only
// when complete.
func writeTrace(app *App, in, outPath, format, password string, topts traceOptions, red *redact.Redactor) (int, error) {
	src, c, err := openTrace(app, in, topts)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var out io.Writer
	var tmp *os.File
	if outPath == "-" {
		out = app.IO.Out
	} else {
		tmp, err = os.CreateTemp(filepath.Dir(outPath), "."+filepath.Base(outPath)+".*.tmp")
		if err != nil {
			return 0, err
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
	meta := src.Meta()
	if red != nil {
		meta = red.Meta(meta)
	}
	var sink trace.Sink
	if format == "har" {
		sink = har.NewWriter(bw, meta)
	} else {
		sink = saz.NewWriter(bw, meta, saz.WriterOptions{Password: password})
	}
	n, err := pipeFlows(app.Ctx, src, red, func(f *trace.Flow) error {
		if err := sink.WriteFlow(f); err != nil {
			return fmt.Errorf("write %s: session %d: %w", outPath, f.ID, err)
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	meta = src.Meta()
	if red != nil {
		meta = red.Meta(meta)
	}
	if err := sink.Close(meta); err != nil {
		return n, fmt.Errorf("write %s: %w", outPath, err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("write %s: %w", outPath, err)
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return n, err
		}
		if err := os.Rename(tmp.Name(), outPath); err != nil {
			return n, err
		}
		tmp = nil
	}
	return n, nil
}
