package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"slices"
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
	File string
	// Format is "text" (a table) or "json"/"ndjson" (one object per flow).
	Format string
	Count  bool
	// Wide prints every column whole, whatever the width.
	Wide bool
	// Sort is a column to sort by, "-" in front for descending.
	Sort string
	Selection
	traceOptions
}

// lsSortKeys are the values --sort accepts.
var lsSortKeys = []string{"id", "time", "duration", "size", "status", "host", "method"}

func newLsCmd(app *App) *cobra.Command {
	var o LsOptions
	cmd := &cobra.Command{
		Use:   "ls [flags] FILE",
		Short: "List the sessions of a HAR or SAZ trace",
		Long: `List the sessions (flows) of a HAR or SAZ trace, one line each: #, start time,
time since the first session, result, method, host, path, body size, content
type, duration and (for Fiddler traces) the client process. A session that got
no response shows "failed". Secret query values (codes, tokens) are masked.

FILE is a .har or .saz file (the format is recognised from the content);
"-" reads a HAR from stdin.

The table fits the terminal's width (else $COLUMNS, else 200 columns): long
hosts and paths are cut with "…"; --wide prints them whole. Results are
coloured on a terminal unless NO_COLOR is set or TERM=dumb.

` + selectionHelp + `

--sort id|time|duration|size|status|host|method (prefix - for descending).

Exit codes: 0 ok, 1 error (unreadable or malformed input), 2 usage.`,
		Example: `  idtrace ls case.har
  idtrace ls --host login.microsoftonline.com --status 4xx case.saz
  idtrace ls --range 10-40 --sort -duration case.har
  idtrace ls --json case.har | jq -r 'select(.status >= 400) | .url'
  idtrace ls --count big.har`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := fileArg("FILE", args[0]); err != nil {
				return err
			}
			if err := checkSelectionFlags(cmd); err != nil {
				return err
			}
			if o.Sort != "" && !slices.Contains(lsSortKeys, strings.TrimPrefix(o.Sort, "-")) {
				return usageErr("ls: --sort %q: want one of %s (- in front for descending)", o.Sort, strings.Join(lsSortKeys, ", "))
			}
			o.File = args[0]
			return runLs(app, &o)
		},
	}
	f := cmd.Flags()
	addFormatFlag(cmd, &o.Format, "text", "json", "ndjson")
	f.BoolVar(&o.Count, "count", false, "print only the number of flows")
	f.BoolVar(&o.Wide, "wide", false, "print every column whole, whatever the width")
	f.StringVar(&o.Sort, "sort", "", "sort by id, time, duration, size, status, host or method (-KEY descending)")
	addSelectionFlags(cmd, &o.Selection)
	addPasswordFlag(cmd, &o.traceOptions)
	return cmd
}

func addPasswordFlag(cmd *cobra.Command, o *traceOptions) {
	cmd.Flags().StringVar(&o.Password, "password", "", "password of an encrypted SAZ (default $IDTRACE_SAZ_PASSWORD)")
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
	// Failed is true when the flow got no response.
	Failed  bool   `json:"failed,omitempty"`
	Comment string `json:"comment,omitempty"`
}

func runLs(app *App, o *LsOptions) error {
	ff, err := newFlowFilter(&o.Selection)
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
	// ls looks into bodies only for --grep: without it, huge bodies are
	// dropped while reading, so memory stays bounded whatever their size.
	opts := o.traceOptions
	opts.skipBodies = o.Grep == ""
	src, c, err := openTrace(app, o.File, opts)
	if err != nil {
		return err
	}
	defer c.Close()

	enc := json.NewEncoder(app.IO.Out)
	enc.SetEscapeHTML(false)
	table := o.Format == "text" && !o.Count
	var lt *lsTable // started at the first row, so a bad file prints no heading
	var held []lsRow
	n := 0
	for f, err := range src.Flows() {
		if err != nil {
			if lt != nil {
				lt.flush()
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
		case o.Sort != "":
			// Sorting holds one small row per flow (no bodies).
			held = append(held, lsRow{rec: toLsRecord(f), started: f.Started})
		case !table:
			if err := enc.Encode(toLsRecord(f)); err != nil {
				return err
			}
		default:
			if lt == nil {
				lt = newLsTable(app, o, f)
			}
			if err := lt.add(lsRow{rec: toLsRecord(f), started: f.Started}); err != nil {
				return err
			}
		}
	}
	if o.Count {
		fmt.Fprintln(app.IO.Out, n)
		return nil
	}
	if o.Sort != "" {
		sortRows(held, o.Sort)
		for _, r := range held {
			if !table {
				if err := enc.Encode(r.rec); err != nil {
					return err
				}
				continue
			}
			if lt == nil {
				lt = newLsTable(app, o, nil)
				lt.process = slices.ContainsFunc(held, func(r lsRow) bool { return r.rec.Process != "" })
				// +REL counts from the earliest session, whatever the order.
				for _, h := range held {
					if !h.started.IsZero() && (lt.first.IsZero() || h.started.Before(lt.first)) {
						lt.first = h.started
					}
				}
			}
			if err := lt.add(r); err != nil {
				return err
			}
		}
	}
	if table {
		if lt == nil {
			lt = newLsTable(app, o, nil)
		}
		return lt.flush()
	}
	return nil
}

// lsRow is one listed flow: its record and its start time.
type lsRow struct {
	rec     lsRecord
	started time.Time
}

// sortRows sorts by key ("-key" descending); ties keep session order.
func sortRows(rows []lsRow, key string) {
	desc := strings.HasPrefix(key, "-")
	key = strings.TrimPrefix(key, "-")
	cmp := func(a, b lsRow) int {
		switch key {
		case "time":
			return a.started.Compare(b.started)
		case "duration":
			return cmpFloat(a.rec.DurationMS, b.rec.DurationMS)
		case "size":
			return cmpInt(a.rec.ResponseBytes, b.rec.ResponseBytes)
		case "status":
			return cmpInt(int64(a.rec.Status), int64(b.rec.Status))
		case "host":
			return strings.Compare(strings.ToLower(a.rec.Host), strings.ToLower(b.rec.Host))
		case "method":
			return strings.Compare(a.rec.Method, b.rec.Method)
		}
		return cmpInt(int64(a.rec.ID), int64(b.rec.ID))
	}
	slices.SortStableFunc(rows, func(a, b lsRow) int {
		if desc {
			return cmp(b, a)
		}
		return cmp(a, b)
	})
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// lsBlock is how many table rows `ls` aligns together.
const lsBlock = 1000

// lsTable writes the `ls` table in blocks of lsBlock rows: tabwriter holds
// rows until a flush to size the columns, so a million-session trace needs
// no more memory than a thousand (columns may widen from one block to the
// next).
type lsTable struct {
	tw      *tabwriter.Writer
	color   bool
	wide    bool
	width   int
	process bool
	// narrow drops START and TYPE to fit a terminal under 120 columns.
	narrow bool
	first  time.Time
	n      int
}

func newLsTable(app *App, o *LsOptions, first *trace.Flow) *lsTable {
	lt := &lsTable{
		tw:    tabwriter.NewWriter(app.IO.Out, 0, 0, 2, ' ', 0),
		color: app.Color(), wide: o.Wide, width: app.width(),
	}
	if first != nil {
		lt.process = first.Process != ""
	}
	lt.narrow = !lt.wide && lt.width < 120
	// START is shown in the offset the trace recorded (as Fiddler shows the
	// capturing machine's clock); the header names it unless it is UTC.
	start := "START"
	if first != nil && !first.Started.IsZero() {
		if _, off := first.Started.Zone(); off != 0 {
			start += " (UTC" + first.Started.Format("-07:00") + ")"
		}
	}
	head := []string{"#", start, "+REL", lt.paint("RESULT", 0, false), "METHOD", "HOST", "PATH", "BODY", "TYPE", "TIME"}
	if lt.narrow {
		head = []string{"#", "+REL", lt.paint("RESULT", 0, false), "METHOD", "HOST", "PATH", "BODY", "TIME"}
	}
	if lt.process {
		head = append(head, "PROCESS")
	}
	fmt.Fprintln(lt.tw, strings.Join(head, "\t"))
	return lt
}

// paint colours a result cell: 4xx yellow, 5xx and failed red, 3xx cyan.
// Every painted cell has the same number of escape bytes, so tabwriter
// aligns the columns as it would plain text.
func (lt *lsTable) paint(s string, status int, failed bool) string {
	if !lt.color {
		return s
	}
	code := "39" // default colour
	switch {
	case failed || status >= 500:
		code = "31"
	case status >= 400:
		code = "33"
	case status >= 300:
		code = "36"
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (lt *lsTable) add(r lsRow) error {
	rec := r.rec
	if lt.first.IsZero() {
		lt.first = r.started
	}
	failed := rec.Status == 0
	result := strconv.Itoa(rec.Status)
	size, ct := strconv.FormatInt(rec.ResponseBytes, 10), rec.Mime
	if failed {
		result, size, ct = "failed", "-", ellipsis(rec.Error, 40)
	}
	if ct == "x-unknown" {
		ct = ""
	}
	start, rel := "-", "-"
	if !r.started.IsZero() {
		start = r.started.Format("15:04:05.000")
		if !lt.first.IsZero() {
			rel = fmt.Sprintf("+%.3fs", r.started.Sub(lt.first).Seconds())
		}
	}
	dur := "-"
	if rec.DurationMS > 0 {
		dur = fmt.Sprintf("%.0fms", rec.DurationMS)
	}
	p := ""
	if rec.Method != "CONNECT" {
		p = masker{}.url(urlPath(rec.URL))
	}
	host := rec.Host
	if !lt.wide {
		// The other columns take about 100 characters (more with PROCESS);
		// host and path share the rest.
		room := lt.width - 100
		if lt.narrow {
			room = lt.width - 62
		}
		if lt.process {
			room -= 18
		}
		room = max(room, 24)
		hostRoom := min(32, room/3)
		host = ellipsis(host, hostRoom)
		p = ellipsis(p, max(room-hostRoom-2, 12))
		ct = ellipsis(ct, 24)
	}
	cells := []string{strconv.Itoa(rec.ID), start, rel, lt.paint(result, rec.Status, failed), rec.Method,
		sanitizeCell(host), sanitizeCell(p), size, sanitizeCell(ct), dur}
	if lt.narrow {
		cells = []string{strconv.Itoa(rec.ID), rel, lt.paint(result, rec.Status, failed), rec.Method,
			sanitizeCell(host), sanitizeCell(p), size, dur}
	}
	if lt.process {
		proc := rec.Process
		if !lt.wide {
			proc = ellipsis(proc, 16)
		}
		cells = append(cells, sanitizeCell(proc))
	}
	fmt.Fprintln(lt.tw, strings.Join(cells, "\t"))
	lt.n++
	if lt.n%lsBlock == 0 {
		return lt.tw.Flush()
	}
	return nil
}

func (lt *lsTable) flush() error { return lt.tw.Flush() }

// urlPath is the path and query of a URL as recorded (the URL itself when
// it has no scheme and host).
func urlPath(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			return rest[j:]
		}
		return "/"
	}
	return u
}

func toLsRecord(f *trace.Flow) lsRecord {
	r := lsRecord{
		ID: f.ID, Method: f.Request.Method, URL: masker{}.url(f.Request.URL), Error: f.Error,
		DurationMS: flowDuration(f), RequestBytes: int64(len(f.Request.Body)),
		Host: f.Request.Host(), Protocol: f.Request.Proto, Process: f.Process, Comment: f.Comment,
	}
	if !f.Started.IsZero() {
		r.Started = f.Started.Format(time.RFC3339Nano)
	}
	r.Failed = f.Response == nil || f.Response.Status == 0
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
	if len(r.Body) == 0 && r.BodyOmitted && r.BodySize > 0 {
		return r.BodySize // a body left in a SAZ, of unknown decoded size: its size as recorded
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

// newTable starts an `ls` table on w, 200 columns wide, without colour
// (the demo lists its sample with it).
func newTable(w io.Writer) *lsTable {
	app := &App{IO: IOStreams{Out: w}, Getenv: func(string) string { return "" }}
	return newLsTable(app, &LsOptions{}, nil)
}

// writeLsRow adds one flow to a table made by newTable.
func writeLsRow(lt *lsTable, f *trace.Flow, _ bool) {
	lt.add(lsRow{rec: toLsRecord(f), started: f.Started})
}

// Flush writes the rows held so far.
func (lt *lsTable) Flush() error { return lt.tw.Flush() }
