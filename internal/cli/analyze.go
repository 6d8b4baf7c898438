package cli

import (
	"crypto/x509"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/decode/saml"
	"github.com/idtrace/idtrace/internal/trace"
)

// AnalyzeOptions are the options of `idtrace analyze`; the demo command
// fills them too (see RunAnalyze).
type AnalyzeOptions struct {
	// Name is the trace's name for the report header ("" for none).
	Name string
	// Format is "text" (default), "md" or "json".
	Format string
	// FailOn is "", "warning" or "error": exit 3 when a finding is at least that severe.
	FailOn string
	// ExplainClaims adds the meaning of every claim seen to the text report
	// (the Markdown report always has it, in its appendix).
	ExplainClaims bool
	// JWKSFile and MetadataFile name extra signing keys (JWKS JSON or an
	// OIDC discovery+keys document; SAML federation metadata XML).
	JWKSFile, MetadataFile string
	traceOptions
	sigOptions
}

func newAnalyzeCmd(app *App) *cobra.Command {
	opts := AnalyzeOptions{}
	cmd := &cobra.Command{
		Use:   "analyze [flags] FILE",
		Short: "Explain the sign-ins in a trace: flows, tokens, findings",
		Long: `analyze reads a HAR or Fiddler SAZ trace ("-": HAR on standard input), reconstructs each OAuth2 / OpenID Connect /
SAML / WS-Fed sign-in in it (with federation hops, MFA, Windows
authentication and B2C), decodes every token, verifies signatures against
keys found in the trace (or --jwks / --metadata) and lists findings with the
next step to take.

The report starts with the verdict: what failed, why, for whom, when (UTC)
and the identifiers Microsoft support asks for (correlation ID, request ID,
timestamp, ESTS server); then a timeline with pauses, the sign-ins (a
Mermaid sequence diagram each in --format md), findings and tokens.

Raw tokens, cookies, client secrets and passwords are never printed: tokens
are shown by their claims and a fingerprint (see 'idtrace jwt' for one token).

Exit codes: 0 ok, 1 error, 2 usage, 3 a finding at or above --fail-on.`,
		Example: `  idtrace analyze signin.har
  idtrace analyze --format json signin.har > report.json
  idtrace analyze --format md signin.har > case.md
  idtrace analyze --explain-claims signin.har
  idtrace analyze --fail-on error --jwks keys.json signin.har`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAnalyzeFile(app, args[0], opts)
		},
	}
	addFormatFlag(cmd, &opts.Format, "text", "md", "json")
	cmd.Flags().StringVar(&opts.FailOn, "fail-on", "", "exit 3 when a finding is at least this severe: info (any finding), warning or error")
	cmd.Flags().BoolVar(&opts.ExplainClaims, "explain-claims", false, "add what each claim means to the text report (md has it in an appendix)")
	cmd.Flags().StringVar(&opts.JWKSFile, "jwks", "", "JWKS `FILE` with extra signing keys")
	cmd.Flags().StringVar(&opts.MetadataFile, "metadata", "", "SAML federation metadata `FILE` with signing certificates")
	addPasswordFlag(cmd, &opts.traceOptions)
	addSigFlags(cmd, &opts.sigOptions)
	return cmd
}

func checkAnalyzeOptions(opts AnalyzeOptions) error {
	switch opts.Format {
	case "", "text", "md", "json":
	default:
		return usageErr("--format: want text, md or json, got %q", opts.Format)
	}
	switch opts.FailOn {
	case "", "warning", "error", "info":
	default:
		return usageErr("--fail-on: want info, warning or error, got %q", opts.FailOn)
	}
	if _, err := parseSkew(opts.Skew); err != nil {
		return err
	}
	return nil
}

func runAnalyzeFile(app *App, path string, opts AnalyzeOptions) error {
	if err := checkAnalyzeOptions(opts); err != nil {
		return err
	}
	src, c, err := openTrace(app, path, opts.traceOptions)
	if err != nil {
		return err
	}
	defer c.Close()
	if opts.Name == "" {
		opts.Name = filepath.Base(path)
	}
	return RunAnalyze(app, src, opts)
}

// RunAnalyze analyses src and writes the report to app.IO.Out in
// opts.Format. It returns an *ExitError with code 3 when a finding is at
// or above opts.FailOn, and the source's error (with the report already
// written) when the trace is malformed part way.
//
// The demo command calls it with the embedded sample:
//
//	RunAnalyze(app, har.NewReader(bytes.NewReader(sample), "sample.har"), AnalyzeOptions{Name: "sample.har"})
func RunAnalyze(app *App, src trace.Source, opts AnalyzeOptions) error {
	if err := checkAnalyzeOptions(opts); err != nil {
		return err
	}
	aopts := analyze.Options{}
	if opts.JWKSFile != "" {
		b, err := readCapped(opts.JWKSFile, jwt.MaxJWKSSize)
		if err != nil {
			return fmt.Errorf("--jwks: %w", err)
		}
		ks, err := jwt.ParseJWKSFrom(b, opts.JWKSFile)
		if err != nil {
			return fmt.Errorf("--jwks %s: %w", opts.JWKSFile, err)
		}
		aopts.Keys = ks
	}
	if opts.MetadataFile != "" {
		certs, err := metadataCerts(opts.MetadataFile)
		if err != nil {
			return err
		}
		aopts.SAMLCerts = certs
	}
	if err := opts.sigOptions.apply(&aopts); err != nil {
		return err
	}
	rep, srcErr := analyze.Run(src, aopts)
	rep.Source = opts.Name
	var err error
	switch opts.Format {
	case "json":
		err = analyze.WriteJSON(app.IO.Out, rep)
	case "md":
		err = analyze.WriteMarkdown(app.IO.Out, rep)
	default:
		err = analyze.WriteTextWith(app.IO.Out, rep, analyze.RenderOptions{ExplainClaims: opts.ExplainClaims})
	}
	if srcErr != nil {
		return srcErr
	}
	if err != nil {
		return err
	}
	if opts.FailOn != "" {
		limit := analyze.SeverityRank(opts.FailOn)
		n := 0
		for _, f := range rep.Findings {
			if analyze.SeverityRank(f.Severity) >= limit {
				n++
			}
		}
		if n > 0 {
			noun := "findings"
			if n == 1 {
				noun = "finding"
			}
			return &ExitError{Code: 3, Err: fmt.Errorf("%d %s at or above %s", n, noun, opts.FailOn)}
		}
	}
	return nil
}

// metadataCerts reads the signing certificates of a federation metadata file.
func metadataCerts(path string) ([]*x509.Certificate, error) {
	b, err := readCapped(path, 16<<20)
	if err != nil {
		return nil, fmt.Errorf("--metadata: %w", err)
	}
	md, err := saml.ParseMetadata(b)
	if err != nil {
		return nil, fmt.Errorf("--metadata %s: %w", path, err)
	}
	if len(md.SigningCerts) == 0 {
		return nil, fmt.Errorf("--metadata %s: no signing certificate in it", path)
	}
	return md.SigningCerts, nil
}

// readCapped reads a file of at most max bytes.
func readCapped(path string, max int64) ([]byte, error) {
	f, _, err := openInput(path, "")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fileErr(path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return b, nil
}

// readArg reads a command's TOKEN|FILE|- argument: "-" is standard input,
// an existing file is read, a directory is an error, anything else is the
// value itself. When the value is not an existing file but reads like a
// file name, missing is the error to report if it does not decode either
// (see argFileErr): a mistyped file name is a file error, never a token.
func readArg(app *App, arg string, max int64) (text string, missing error, err error) {
	if arg == "-" {
		b, err := io.ReadAll(io.LimitReader(app.IO.In, max+1))
		if err != nil {
			return "", nil, err
		}
		if int64(len(b)) > max {
			return "", nil, fmt.Errorf("standard input: larger than %d bytes", max)
		}
		return string(b), nil, nil
	}
	st, serr := os.Stat(arg)
	switch {
	case serr == nil && st.IsDir():
		return "", nil, &FileError{Path: arg, Why: "is a directory, not a file", Err: fs.ErrInvalid}
	case serr == nil:
		b, err := readCapped(arg, max)
		return string(b), nil, err
	case looksLikePath(arg):
		return arg, fileErr(arg, serr), nil
	}
	return arg, nil, nil
}

// extRE matches a file name's extension at the end of an argument.
var extRE = regexp.MustCompile(`\.[A-Za-z][A-Za-z0-9]{0,4}$`)

// looksLikePath reports whether an argument that is not an existing file
// reads like a file name rather than a token or a message: one short line
// with a path separator or a file extension.
func looksLikePath(arg string) bool {
	if len(arg) > 4096 || strings.ContainsAny(arg, "\n\r<=?") || strings.HasPrefix(arg, "eyJ") {
		return false
	}
	return strings.ContainsAny(arg, `/\`) || extRE.MatchString(arg)
}
