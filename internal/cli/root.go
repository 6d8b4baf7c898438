// Package cli is idtrace's command line: one file per command, each with an
// Options struct and a run function that tests call directly.
//
// Only this package turns errors into words and exit codes:
//
//	0  success
//	1  error: bad input, I/O, a failed operation (one line on stderr)
//	2  usage: unknown command or flag, wrong number of arguments
//	3  findings at or above --fail-on (analyze), or secrets left (sanitize --check)
//
// Adding a command: write internal/cli/<command>.go with
//
//	func newXxxCmd(app *App) *cobra.Command
//
// whose RunE parses flags into an Options struct and calls a run function
// that writes data to app.IO.Out and diagnostics to app.IO.ErrOut (never
// os.Stdout). Return errors unwrapped by words: wrap them with context
// ("open case.har: ...") and let Main print them. Return ExitError{Code: 3}
// for findings, UsageError for misuse. Then add the constructor to
// commands() below — the only edit a command needs here.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/idtrace/idtrace/internal/kb"
	"github.com/idtrace/idtrace/internal/trace"
)

// Version is the idtrace version, set with -ldflags "-X ...cli.Version=...".
var Version = "dev"

// version is Version when set at link time, else the module version and
// the VCS revision, time and dirty flag the Go toolchain recorded in the
// build; "dev" when neither is known.
func version() string {
	if Version != "dev" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Version
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	var rev, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v += " (" + rev
	if dirty {
		v += ", modified"
	}
	if when != "" {
		v += ", " + when
	}
	return v + ")"
}

// commands is the registry of top-level commands, in help order.
func commands(app *App) []*cobra.Command {
	return []*cobra.Command{
		newDemoCmd(app),
		newLsCmd(app),
		newShowCmd(app),
		newConvertCmd(app),
		newSanitizeCmd(app),
		newAnalyzeCmd(app),
		newViewCmd(app),
		newDiffCmd(app),
		newJWTCmd(app),
		newSAMLCmd(app),
		newLogsCmd(app),
		newWhoisCmd(app),
		newKBCmd(app),
		newCaptureCmd(app),
		newRecoverCmd(app),
		newCACmd(app),
		newConventionsTopic(),
	}
}

// IOStreams are the standard streams of one run, and whether they are terminals.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// InTTY, OutTTY and ErrTTY report whether In, Out and ErrOut are terminals.
	InTTY, OutTTY, ErrTTY bool
	// Width is Out's width in columns when it is a terminal, else 0.
	Width int
}

// Env is the environment a run sees. Tests supply their own.
type Env struct {
	IO IOStreams
	// Getenv reads an environment variable.
	Getenv func(string) string
}

// System returns the Env of the real process.
func System() Env {
	streams := IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		InTTY:  term.IsTerminal(int(os.Stdin.Fd())),
		OutTTY: term.IsTerminal(int(os.Stdout.Fd())),
		ErrTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
	if streams.OutTTY {
		if w, _, err := term.GetSize(int(os.Stdout.Fd())); err == nil {
			streams.Width = w
		}
	}
	return Env{IO: streams, Getenv: os.Getenv}
}

// App is what every command gets: the streams, the environment and the context.
type App struct {
	IO     IOStreams
	Getenv func(string) string
	Ctx    context.Context
}

// Color reports whether output to a terminal may use colour: NO_COLOR
// unset and TERM not "dumb".
func (a *App) Color() bool {
	return a.IO.OutTTY && a.Getenv("NO_COLOR") == "" && a.Getenv("TERM") != "dumb"
}

// width is the width text output is folded or fitted to: the terminal's,
// else $COLUMNS, else 80 on a terminal and 200 elsewhere.
func (a *App) width() int {
	if a.IO.Width > 0 {
		return a.IO.Width
	}
	if n, err := strconv.Atoi(a.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if a.IO.OutTTY {
		return 80
	}
	return 200
}

// ExitError carries an exit code other than 1. A nil Err prints nothing.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// UsageError marks a misuse of the command line (exit 2). Only flag and
// argument checks create it: cobra's flag errors (through the root's
// FlagErrorFunc), positional-argument checks (typeArgChecks), unknown
// commands (execute) and each command's validation of its flag values.
// Main decides exit codes by type alone, never by an error's words.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usageErr(format string, a ...any) error { return &UsageError{Msg: fmt.Sprintf(format, a...)} }

// Main runs idtrace with args and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	app := &App{IO: env.IO, Getenv: env.Getenv, Ctx: ctx}
	// A first-party app list saved by 'idtrace kb update' replaces the built-in one.
	if err := kb.LoadUserApps(); err != nil {
		fmt.Fprintf(env.IO.ErrOut, "idtrace: warning: %v (using the built-in app list)\n", err)
	}
	root := NewRoot(app)
	root.SetArgs(args)
	root.SetIn(env.IO.In)
	root.SetOut(env.IO.Out)
	root.SetErr(env.IO.ErrOut)
	err := execute(ctx, root, args)
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(env.IO.ErrOut, "idtrace: %v\n", ee.Err)
		}
		return ee.Code
	}
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(env.IO.ErrOut, "idtrace: %v\n", err)
		// Point at the subcommand's usage line and help, not the root's.
		if c, _, ferr := root.Find(args); ferr == nil && c != root {
			fmt.Fprintf(env.IO.ErrOut, "Usage: %s\nRun '%s --help' for flags and examples.\n", c.UseLine(), c.CommandPath())
		} else {
			fmt.Fprintln(env.IO.ErrOut, "Run 'idtrace --help' for usage.")
		}
		return 2
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(env.IO.ErrOut, "idtrace: interrupted")
		return 130
	}
	fmt.Fprintf(env.IO.ErrOut, "idtrace: %s\n", errorWords(err))
	return 1
}

// errorWords is the one line Main prints for an error. A HAR entry is
// numbered from 1, as ls and show number sessions (readers count from 0).
func errorWords(err error) string {
	msg := err.Error()
	var ie *trace.InputError
	if errors.As(err, &ie) && ie.Entry >= 0 && (ie.EntryKind == "" || ie.EntryKind == "entry") {
		c := *ie
		c.Entry, c.EntryKind = ie.Entry+1, "session"
		msg = strings.Replace(msg, ie.Error(), c.Error(), 1)
	}
	return msg
}

// execute runs the command tree. An unknown command is found before
// cobra runs anything (cobra reports it as a plain error), so it becomes a
// UsageError here by where it comes from, not by its words.
func execute(ctx context.Context, root *cobra.Command, args []string) error {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	// Shell completion requests go to commands cobra adds while executing.
	completing := len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd)
	if !completing {
		if _, _, err := root.Find(args); err != nil {
			return &UsageError{Msg: err.Error()}
		}
	}
	return root.ExecuteContext(ctx)
}

// NewRoot builds the command tree for app.
func NewRoot(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "idtrace",
		Short: "Open, explain and share sign-in traces and Entra logs",
		Long: `idtrace captures sign-in traffic (a local proxy or a recorded browser), opens HAR
and Fiddler SAZ traces in the terminal or a local web page, explains the OAuth2 /
OpenID Connect / SAML sign-ins in them, removes their secrets before they are
shared, and reads Entra ID audit and sign-in logs.

Start with 'idtrace demo'. 'idtrace help conventions' says how files, flags,
output formats and exit codes work in every command.

Data goes to stdout, diagnostics to stderr.
Exit codes: 0 ok, 1 error, 2 usage, 3 findings (analyze --fail-on) or secrets
left (sanitize --check).`,
		Example: `  idtrace demo
  idtrace ls case.har
  idtrace show 12 case.har
  idtrace analyze case.saz
  idtrace jwt eyJ0eXAiOi...
  idtrace sanitize case.har -o clean.har
  idtrace logs AuditLogs.csv`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &UsageError{Msg: err.Error()} })
	root.AddCommand(commands(app)...)
	typeArgChecks(root)
	return root
}

// typeArgChecks makes the positional-argument check of every command in
// the tree return a *UsageError, whatever validator the command uses
// (exactArgs, or cobra's own such as cobra.NoArgs).
func typeArgChecks(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			err := check(cmd, args)
			var ue *UsageError
			if err == nil || errors.As(err, &ue) {
				return err
			}
			return &UsageError{Msg: err.Error()}
		}
	}
	for _, sub := range c.Commands() {
		typeArgChecks(sub)
	}
}

// exactArgs is cobra.ExactArgs returning a UsageError.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			what := "arguments"
			if n == 1 {
				what = "argument"
			}
			return usageErr("%s: expected %d %s, got %d", cmd.Name(), n, what, len(args))
		}
		return nil
	}
}
