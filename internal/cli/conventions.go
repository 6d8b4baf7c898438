package cli

import "github.com/spf13/cobra"

// newConventionsTopic is the help topic `idtrace help conventions`: a
// command without a run function, which cobra lists as a help topic.
func newConventionsTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "conventions",
		Short: "How every idtrace command takes files, flags and output formats",
		Long: `How idtrace commands behave, so that one you have not used yet works as you guess.

Files
  FILE is a HAR or Fiddler SAZ trace; the format is read from the content, not
  the name. "-" reads from stdin (HAR only: a SAZ is a zip and needs its file;
  logs, jwt and saml read "-" too). A file that cannot be opened is named as
  you typed it ("case.har: no such file"), whatever the command; for jwt and
  saml, an argument that looks like a file name and does not exist is a file
  error, never taken for a token.
  Errors name the file as you typed it and say what it is not, in one line:
    idtrace: case.bin: not a HAR or SAZ file: starts with bytes 80 3f 12 00 …
  Sessions are numbered from 1 in file order, as 'idtrace ls' shows them;
  'show N', '--range' and error messages ("session 14") use the same numbers.

Output
  Data goes to stdout, messages and progress to stderr.
  --format (-f) text|md|json|ndjson where a command's output is structured
  (each command's help lists the ones it has; another value is a usage error
  naming them); --json is an alias of --format json. That is ls, show,
  analyze, diff, jwt, saml, logs, whois, kb, sanitize --check and --report,
  recover, ca path and demo. capture and convert write a trace file: what they
  print on stderr is a summary for people, not data.
  Tables fit the terminal's width (else $COLUMNS); --wide prints them whole.
  Colours only on a terminal, never with NO_COLOR set or TERM=dumb.

Secrets
  Tokens, cookies, passwords, client secrets and authorization codes are masked
  everywhere ("***(914 chars)"): in tables, 'show', 'show --as curl' and JSON.
  'show --reveal' prints them in clear, with a warning on stderr;
  'show --body FILE' writes a body whole, as recorded.

Selecting sessions
  --host    host name; "*" wildcards (*.microsoftonline.com), else a substring
  --status  200, 4xx, 400-499, or "-" for sessions without a response
  --method  GET, POST, ...
  --grep    regular expression (case-insensitive) over URL, headers, text bodies
  --range   session numbers: 10-40, 7, 10- or -40
  Different flags combine with AND; a repeated flag (or a comma list) with OR.

Exit codes
  0 ok, 1 error (bad input, I/O), 2 usage (unknown command or flag, wrong
  arguments, bad flag value), 3 findings (analyze --fail-on) or secrets left
  (sanitize --check), 130 interrupted.
  A usage error prints the command's usage line; 'idtrace CMD --help' has its
  flags, examples and exit codes.

Version
  'idtrace --version' prints the version and, for a build from a git checkout,
  the commit it was built from.`,
	}
}
