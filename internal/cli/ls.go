package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"path"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/trace"
)

// LsOptions are the flags of `idtrace ls`.
type LsOptions struct {
	File    string
	JSON    bool
	Count   bool
	Hosts   []string
	Status  []string
	Methods []string
	Grep    string
	traceOptions
}

func newLsCmd(app *App) *cobra.Command {
	var o LsOptions
	cmd := &cobra.Command{
		Use:   "ls [flags] FILE",
		Short: "List the sessions of a HAR or SAZ trace",
		Long: `List the sessions (flows) of a HAR or SAZ trace, one line each:
#, result, method, host, path, body size, content type and duration.

FILE is a .har or .saz file (the format is recognised from the content);
"-" reads a HAR from stdin.

Filters combine with AND; a repeated filter matches any of its values:
  --host    host name; "*" wildcards (*.microsoftonline.com), else a substring
  --status  200, 4xx, 400-499, or "-" for sessions without a response
  --method  GET, POST, ...
  --grep    regular expression (case-insensitive) over the URL, headers and text bodies

Exit codes: 0 ok, 1 error (unreadable or malformed input), 2 usage.`,
		Example: `  idtrace ls case.har
  idtrace ls --host login.microsoftonline.com --status 4xx case.saz
  idtrace ls --json case.har | jq -r 'select(.status >= 400) | .url'
  idtrace ls --count big.har`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := fileArg("FILE", args[0]); err != nil {
				return err
			}
			for _, name := range []string{"host", "status", "method"} {
				if fl := cmd.Flags().Lookup(name); fl.Changed && fl.Value.String() == "[]" {
					return usageErr("--%s: empty value", name)
				}
			}
			o.File = args[0]
			return runLs(app, &o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.JSON, "json", false, "print NDJSON, one object per flow")
	f.BoolVar(&o.Count, "count", false, "print only the number of flows")
	f.StringSliceVar(&o.Hosts, "host", nil, "show only flows to these hosts")
	f.StringSliceVar(&o.Status, "status", nil, "show only these statuses (200, 4xx, 400-499, -)")
	f.StringSliceVar(&o.Methods, "method", nil, "show only these methods")
	f.StringVar(&o.Grep, "grep", "", "show only flows matching this regular expression")
	addPasswordFlag(cmd, &o.traceOptions)
	return cmd
}

func addPasswordFlag(cmd *cobra.Command, o *traceOptions) {
	cmd.Flags().StringVar(&o.Password, "password", "", "password of an encrypted SAZ (default $IDTRACE_SAZ_PASSWORD)")
}

// flowFilter decides which flows `ls` shows.
type flowFilter struct {
	hosts   []string
	status  []func(int, bool) bool
	methods []string
	grep    *regexp.Regexp
}

func newFlowFilter(o *LsOptions) (*flowFilter, error) {
	ff := &flowFilter{methods: o.Methods}
	for _, h := range o.Hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			return nil, usageErr("--host: empty value")
		}
		if _, err := path.Match(h, ""); err != nil {
			return nil, usageErr("--host %q: not a valid pattern (%v); use * as a wildcard, [ ] for a character class", h, err)
		}
		ff.hosts = append(ff.hosts, h)
	}
	for _, m := range o.Methods {
		if !validMethod(m) {
			return nil, usageErr("--method %q: want a method name such as GET or POST", m)
		}
	}
	for _, s := range o.Status {
		m, err := statusMatcher(s)
		if err != nil {
			return nil, err
		}
		ff.status = append(ff.status, m)
	}
	if o.Grep != "" {
		re, err := regexp.Compile("(?i)" + o.Grep)
		if err != nil {
			return nil, usageErr("--grep: %v", err)
		}
		ff.grep = re
	}
	return ff, nil
}

// validMethod reports whether m is an HTTP method token.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range []byte(m) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

func (ff *flowFilter) active() bool {
	return len(ff.hosts)+len(ff.status)+len(ff.methods) > 0 || ff.grep != nil
}

// statusMatcher parses one --status value.
func statusMatcher(s string) (func(status int, has bool) bool, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch {
	case s == "-":
		return func(_ int, has bool) bool { return !has }, nil
	case len(s) == 3 && s[1:] == "xx" && s[0] >= '1' && s[0] <= '5':
		c := int(s[0]-'0') * 100
		return func(st int, has bool) bool { return has && st >= c && st < c+100 }, nil
	case strings.Contains(s, "-"):
		a, b, _ := strings.Cut(s, "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || lo > hi {
			return nil, usageErr("--status %q: want 200, 4xx, 400-499 or -", s)
		}
		return func(st int, has bool) bool { return has && st >= lo && st <= hi }, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, usageErr("--status %q: want 200, 4xx, 400-499 or -", s)
	}
	return func(st int, has bool) bool { return has && st == n }, nil
}

func (ff *flowFilter) match(f *trace.Flow) bool {
	if len(ff.hosts) > 0 {
		h := strings.ToLower(f.Request.Host())
		if hh, _, ok := strings.Cut(h, ":"); ok && !strings.Contains(hh, "[") {
			h = hh
		}
		ok := false
		for _, want := range ff.hosts {
			if strings.Contains(want, "*") {
				if m, _ := path.Match(want, h); m {
					ok = true
				}
			} else if strings.Contains(h, want) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if len(ff.methods) > 0 {
		ok := false
		for _, m := range ff.methods {
			if strings.EqualFold(m, f.Request.Method) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if len(ff.status) > 0 {
		st, has := 0, f.Response != nil
		if has {
			st = f.Response.Status
		}
		ok := false
		for _, m := range ff.status {
			if m(st, has) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if ff.grep != nil && !grepFlow(ff.grep, f) {
		return false
	}
	return true
}

func grepFlow(re *regexp.Regexp, f *trace.Flow) bool {
	if re.MatchString(f.Request.URL) {
		return true
	}
	for _, h := range f.Request.Headers {
		if re.MatchString(h.Name + ": " + h.Value) {
			return true
		}
	}
	if utf8.Valid(f.Request.Body) && re.Match(f.Request.Body) {
		return true
	}
	if r := f.Response; r != nil {
		for _, h := range r.Headers {
			if re.MatchString(h.Name + ": " + h.Value) {
				return true
			}
		}
		if utf8.Valid(r.Body) && re.Match(r.Body) {
			return true
		}
	}
	return false
}

// lsRecord is one line of `ls --json`. Its fields are a documented contract.
type lsRecord struct {
	ID            int     `json:"id"`
	Method        string  `json:"method"`
	URL           string  `json:"url"`
	Status        int     `json:"status"`
	Error         string  `json:"error,omitempty"`
	Started       string  `json:"started"`
	DurationMS    float64 `json:"duration_ms"`
	RequestBytes  int64   `json:"request_bytes"`
	ResponseBytes int64   `json:"response_bytes"`
	Mime          string  `json:"mime"`
	Host          string  `json:"host"`
	Protocol      string  `json:"protocol,omitempty"`
	Process       string  `json:"process,omitempty"`
	Comment       string  `json:"comment,omitempty"`
}

func runLs(app *App, o *LsOptions) error {
	ff, err := newFlowFilter(o)
	if err != nil {
		return err
	}
	if o.Count && !ff.active() {
		n, err := countTrace(app, o.File, o.traceOptions)
		if err != nil {
			return err
		}
		fmt.Fprintln(app.IO.Out, n)
		return nil
	}
	src, c, err := openTrace(app, o.File, o.traceOptions)
	if err != nil {
		return err
	}
	defer c.Close()

	enc := json.NewEncoder(app.IO.Out)
	enc.SetEscapeHTML(false)
	table := !o.JSON && !o.Count
	var tw *tabwriter.Writer // started at the first row, so a bad file prints no heading
	start := func() {
		if tw == nil {
			tw = newTable(app.IO.Out)
		}
	}
	n := 0
	for f, err := range src.Flows() {
		if err != nil {
			if tw != nil {
				tw.Flush()
			}
			return err
		}
		if app.Ctx.Err() != nil {
			return app.Ctx.Err()
		}
		if !ff.match(f) {
			continue
		}
		n++
		switch {
		case o.Count:
		case o.JSON:
			if err := enc.Encode(toLsRecord(f)); err != nil {
				return err
			}
		default:
			start()
			writeLsRow(tw, f, app.IO.OutTTY)
			// tabwriter holds rows until a flush to size the columns: flush
			// in blocks so a million-session trace needs no more memory
			// than a thousand (columns may widen from one block to the next).
			if n%lsBlock == 0 {
				if err := tw.Flush(); err != nil {
					return err
				}
			}
		}
	}
	if o.Count {
		fmt.Fprintln(app.IO.Out, n)
	}
	if table {
		start()
		return tw.Flush()
	}
	return nil
}

// lsBlock is how many table rows `ls` aligns together.
const lsBlock = 1000

// newTable starts the `ls` table with its heading.
func newTable(w io.Writer) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tRESULT\tMETHOD\tHOST\tPATH\tBODY\tCONTENT-TYPE\tTIME")
	return tw
}

func toLsRecord(f *trace.Flow) lsRecord {
	r := lsRecord{
		ID: f.ID, Method: f.Request.Method, URL: f.Request.URL, Error: f.Error,
		DurationMS: flowDuration(f), RequestBytes: int64(len(f.Request.Body)),
		Host: f.Request.Host(), Protocol: f.Request.Proto, Process: f.Process, Comment: f.Comment,
	}
	if !f.Started.IsZero() {
		r.Started = f.Started.Format(time.RFC3339Nano)
	}
	if f.Response != nil {
		r.Status = f.Response.Status
		r.ResponseBytes = responseSize(f.Response)
		r.Mime = flowMime(f.Response)
	}
	return r
}

// flowDuration is the flow's total time in ms (0 when unknown).
func flowDuration(f *trace.Flow) float64 {
	if f.Time >= 0 && f.Time != trace.NA {
		return round3(f.Time)
	}
	return round3(f.Timings.Total())
}

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }

func responseSize(r *trace.Response) int64 {
	if len(r.Body) == 0 && r.BodyOmitted && r.Size > 0 {
		return r.Size
	}
	return int64(len(r.Body))
}

func flowMime(r *trace.Response) string {
	ct := r.MimeType
	if ct == "" {
		ct = r.Headers.Get("Content-Type")
	}
	if ct == "" {
		return ""
	}
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.TrimSpace(strings.ToLower(ct))
}

// writeLsRow writes one table row; narrow shortens long paths and cleans
// control characters (for terminals).
func writeLsRow(w io.Writer, f *trace.Flow, narrow bool) {
	result, size, ct := "-", "-", ""
	if f.Response != nil {
		result = strconv.Itoa(f.Response.Status)
		size = strconv.FormatInt(responseSize(f.Response), 10)
		ct = flowMime(f.Response)
	} else if f.Error != "" {
		result = "ERR"
	}
	p := f.Request.Path()
	if f.Request.Method == "CONNECT" {
		p = ""
	}
	if narrow {
		p = ellipsis(p, 60)
	}
	dur := "-"
	if d := flowDuration(f); d > 0 {
		dur = fmt.Sprintf("%.0fms", d)
	}
	fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.ID, result, f.Request.Method,
		sanitizeCell(f.Request.Host()), sanitizeCell(p), size, sanitizeCell(ct), dur)
}

// sanitizeCell keeps control characters from a hostile file out of the terminal.
func sanitizeCell(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}

func ellipsis(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
