package cli

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idtrace/idtrace/internal/actors"
	"github.com/idtrace/idtrace/internal/entralog"
	"github.com/idtrace/idtrace/internal/kb"
	"github.com/idtrace/idtrace/internal/trace"
	"github.com/spf13/cobra"
)

// LogsOptions are the flags and arguments of `idtrace logs`.
type LogsOptions struct {
	Files  []string
	Format string // text, md, json, csv
	Actor  string
	KQL    bool
	Window time.Duration
}

// Caps on what the text and Markdown summaries keep (JSON and CSV list everything).
const (
	logsTextStoriesPerKind = 500
	logsActorRecordsMax    = 100_000
	// logsMaxWindow bounds --window: stories join records at most this far apart.
	logsMaxWindow = 30 * 24 * time.Hour
)

// logsProgressMinBytes is the file size from which progress is shown (on a
// terminal only); a variable so tests can lower it.
var logsProgressMinBytes int64 = 32 << 20

func newLogsCmd(app *App) *cobra.Command {
	opts := &LogsOptions{}
	cmd := &cobra.Command{
		Use:   "logs [flags] FILE...",
		Short: "Label every actor in Entra audit and sign-in logs and tell their stories",
		Long: `Read Entra ID audit and sign-in exports (portal CSV and JSON, Microsoft Graph JSON,
Log Analytics / Sentinel CSV and JSON, diagnostic-settings NDJSON; the shape is
detected from the content) and print:

  - the actors that need a look first: suspicious look-alikes and unknowns;
  - every actor by class (microsoft-internal, microsoft-app, sync, tenant-user,
    tenant-app) with a count, the evidence that matched and what it means;
  - the stories the records tell: self-service password reset (the user's
    verification steps, fim_password_service setting the password, the writeback),
    security-info registration, admin password reset, PIM activation, consent,
    just-in-time provisioning, and one story per sign-in correlation.

--actor NAME lists everything one actor (UPN, app ID, object ID or name) did.
--kql prints the same rules as KQL for Log Analytics / Microsoft Sentinel.
The JSON output is documented in docs/logs.md: with --format json and csv the
stories stream out as they complete and the summary follows them.

FILE "-" reads one export from stdin.

Exit codes: 0 ok, 1 unreadable or malformed input (file, line and field on stderr), 2 usage.`,
		Example: `  idtrace logs AuditLogs.csv SignIns.json
  idtrace logs --actor fim_password_service@support.onmicrosoft.com AuditLogs.json
  idtrace logs --format json audit.ndjson > summary.json
  idtrace logs --kql`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			return runLogs(app, opts)
		},
	}
	f := cmd.Flags()
	addFormatFlag(cmd, &opts.Format, "text", "md", "json", "csv")
	f.StringVar(&opts.Actor, "actor", "", "list everything this actor (UPN, app ID, object ID or display name) did")
	f.BoolVar(&opts.KQL, "kql", false, "print the classification and story rules as KQL queries and exit")
	f.DurationVar(&opts.Window, "window", actors.DefaultWindow, "how far apart records may be and still join into one story")
	return cmd
}

func runLogs(app *App, opts *LogsOptions) error {
	switch opts.Format {
	case "text", "md", "json", "csv":
	case "markdown":
		opts.Format = "md"
	default:
		return usageErr("logs: unknown --format %q (want text, md, json or csv)", opts.Format)
	}
	if opts.Window <= 0 || opts.Window > logsMaxWindow {
		return usageErr("logs: --window %s out of range (want a duration above 0 and at most %s, e.g. 10m or 2h)", opts.Window, logsMaxWindow)
	}
	if len(opts.Actor) > 1024 {
		return usageErr("logs --actor: longer than 1024 bytes")
	}
	if opts.KQL {
		if len(opts.Files) > 0 {
			return usageErr("logs --kql takes no files: it prints queries to run where the logs are")
		}
		return writeKQL(app.IO.Out, opts.Format)
	}
	if len(opts.Files) == 0 {
		return usageErr("logs: expected at least one FILE")
	}
	stdin := 0
	for _, f := range opts.Files {
		if f == "-" {
			stdin++
			continue
		}
		// A mistyped name fails before the other files are read.
		fh, _, err := openInput(f, "a log export")
		if err != nil {
			return err
		}
		fh.Close()
	}
	if stdin > 1 {
		return usageErr("logs: - (stdin) given %d times: it can be read once", stdin)
	}
	if opts.Actor != "" && opts.Format == "csv" {
		return usageErr("logs --actor: --format csv is not supported; use text, md or json")
	}
	// The knowledge base is parsed while the first records are read.
	go kb.Preload()
	run := &logsRun{app: app, opts: opts, c: actors.NewClassifier(actors.Default())}
	defer run.cleanup()
	return run.do()
}

type fileStat struct {
	File   string `json:"file"`
	Shape  string `json:"shape"`
	Events int    `json:"events"`
	// Skipped counts diagnostic records of other categories passed over.
	Skipped map[string]int `json:"skipped,omitempty"`
}

// actorRecord is one record an actor appears in (logs --actor).
type actorRecord struct {
	Time          time.Time `json:"time,omitzero"`
	Kind          string    `json:"kind"`
	Activity      string    `json:"activity"`
	Result        string    `json:"result,omitempty"`
	ErrorCode     int       `json:"error_code,omitempty"`
	As            string    `json:"as"`
	Target        string    `json:"target,omitempty"`
	App           string    `json:"app,omitempty"`
	CorrelationID string    `json:"correlation_id,omitempty"`
	Source        string    `json:"source"`
}

type logsRun struct {
	app   *App
	opts  *LogsOptions
	c     *actors.Classifier
	b     *actors.StoryBuilder
	files []fileStat

	// out is stdout, buffered. JSON and CSV stories are written to it as
	// they complete, before the summary (text and md keep a few: kept).
	out      *bufio.Writer
	csvw     *csv.Writer
	nStories int
	kept     []*actors.Story
	dropped  map[string]int
	keptKind map[string]int

	// The JSON stories are encoded as they come (into pending) and handed,
	// a batch of about storyBatch bytes at a time, on enc to the goroutine
	// that writes them (writeStories), which gives the buffers back on
	// free; encDone receives its result. wrote is true once a story was
	// encoded (the next one is preceded by a comma).
	enc     chan []byte
	free    chan []byte
	encDone chan error
	pending []byte
	wrote   bool

	records     []actorRecord
	moreRecords int
	actorSeen   bool
	actorP      trace.Principal
}

// storyBatch is about how many bytes of JSON stories go to the writing
// goroutine at once.
const storyBatch = 128 << 10

// writeStories writes the batches of JSON stories it receives on r.enc to
// r.out, in order, until r.enc is closed; it sends its result to r.encDone
// (after a write error it drains r.enc). Once more than r.out holds has
// come, it writes each batch as it is, without copying it into r.out.
func (r *logsRun) writeStories() {
	var err error
	direct := false
	for buf := range r.enc {
		if err == nil {
			if r.out.Buffered()+len(buf) > r.out.Size() {
				direct = true
			}
			if !direct {
				_, err = r.out.Write(buf)
			} else if err = r.out.Flush(); err == nil {
				_, err = r.app.IO.Out.Write(buf)
			}
		}
		select {
		case r.free <- buf[:0]:
		default:
		}
	}
	r.encDone <- err
}

// flushStories hands the pending JSON stories to the writing goroutine.
func (r *logsRun) flushStories() {
	if len(r.pending) > 0 {
		r.enc <- r.pending
		select {
		case r.pending = <-r.free:
		default:
			r.pending = make([]byte, 0, storyBatch+16<<10)
		}
	}
}

func (r *logsRun) cleanup() {
	if r.enc != nil {
		close(r.enc)
		<-r.encDone
	}
}

func (r *logsRun) sink(s *actors.Story) error {
	if r.opts.Actor != "" && !storyInvolves(s, r.opts.Actor) {
		return nil
	}
	r.nStories++
	switch {
	case r.opts.Format == "json":
		// s is the builder's reused story (Reuse): encode it now. A write
		// error is reported when the run ends.
		if r.wrote {
			r.pending = append(r.pending, ',')
		}
		r.wrote = true
		if r.pending = s.AppendJSON(r.pending); len(r.pending) >= storyBatch {
			r.flushStories()
		}
		return nil
	case r.opts.Format == "csv":
		r.csvw.Write(storyRow(s))
		return nil // a write error is reported when the run ends
	default:
		if r.keptKind[s.Kind] >= logsTextStoriesPerKind {
			r.dropped[s.Kind]++
			return nil
		}
		r.keptKind[s.Kind]++
		r.kept = append(r.kept, s)
	}
	return nil
}

func storyInvolves(s *actors.Story, name string) bool {
	if strings.EqualFold(s.Actor, name) || strings.EqualFold(s.Target, name) {
		return true
	}
	for _, st := range s.Steps {
		if strings.EqualFold(st.Actor, name) {
			return true
		}
	}
	// A client app is named in the summary ("Sign-in: alice to Azure Portal ...").
	return len(name) >= 3 && strings.Contains(strings.ToLower(s.Summary), strings.ToLower(name))
}

func (r *logsRun) do() error {
	r.dropped = map[string]int{}
	r.keptKind = map[string]int{}
	// The stories stream out as they complete and the summary follows them
	// (it is known only at the end); nothing is spooled to disk. On an input
	// error the run stops where it is and nothing more is written.
	r.out = bufio.NewWriterSize(r.app.IO.Out, 256<<10)
	switch r.opts.Format {
	case "csv":
		r.csvw = csv.NewWriter(r.out)
		r.csvw.Write(logsCSVHeader)
	case "json":
		r.out.WriteString(`{"stories":[`)
		r.enc, r.free, r.encDone = make(chan []byte, 4), make(chan []byte, 6), make(chan error, 1)
		r.pending = make([]byte, 0, storyBatch+16<<10)
		go r.writeStories()
	}
	r.b = actors.NewStoryBuilder(r.c, r.sink)
	// JSON and CSV stories are written out as they come, so the builder
	// can refill one Story for all (text and Markdown keep a few).
	r.b.Reuse = r.opts.Format == "json" || r.opts.Format == "csv"
	r.b.Window = r.opts.Window
	if runtime.GOMAXPROCS(0) > 1 {
		r.b.Concurrent() // stories are told while records are added
	}
	for _, path := range r.opts.Files {
		if err := r.readFile(path); err != nil {
			return err
		}
	}
	if err := r.b.Flush(); err != nil {
		return err
	}
	if r.enc != nil {
		r.flushStories()
		close(r.enc)
		err := <-r.encDone
		r.enc = nil
		if err != nil {
			return err
		}
	}
	out := r.out
	var err error
	switch {
	case r.opts.Actor != "":
		err = r.writeActor(out)
	case r.opts.Format == "json":
		err = r.writeJSON(out)
	case r.opts.Format == "csv":
		err = r.writeCSV()
	default:
		err = r.writeText(out, r.opts.Format == "md")
	}
	if err != nil {
		return err
	}
	return out.Flush()
}

// countingReader counts the bytes read through it, for progress.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// prepBatch is a batch of records the reading goroutine hands on: the
// workers fill preps (StoryBuilder.PrepareTo), then done is closed.
type prepBatch struct {
	evs   []*trace.Event
	preps []actors.Prep
	err   error
	done  chan struct{}
}

// prepared reads seq in its own goroutine (so that parsing and analysis
// overlap) and runs b.Prepare on each record on workers goroutines. It
// yields the batches in record order once their Preps are ready; a read
// error comes as a last batch with err set. At most a few batches are in
// flight, and a batch is reused once the yield it went to has returned.
func prepared(seq iter.Seq2[*trace.Event, error], b *actors.StoryBuilder, workers int) iter.Seq[*prepBatch] {
	return func(yield func(*prepBatch) bool) {
		order := make(chan *prepBatch, workers+1)
		work := make(chan *prepBatch, workers)
		free := make(chan *prepBatch, workers+3)
		quit := make(chan struct{})
		var wg sync.WaitGroup
		defer func() {
			close(quit)
			for range order {
			}
			wg.Wait()
		}()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for bt := range work {
					for i, e := range bt.evs {
						b.PrepareTo(&bt.preps[i], e)
					}
					close(bt.done)
				}
			}()
		}
		go func() {
			defer close(order)
			defer close(work)
			send := func(bt *prepBatch) bool {
				select {
				case order <- bt:
				case <-quit:
					return false
				}
				if bt.err != nil {
					close(bt.done)
					return true
				}
				select {
				case work <- bt:
					return true
				case <-quit:
					return false
				}
			}
			newBatch := func() *prepBatch {
				select {
				case bt := <-free:
					bt.done = make(chan struct{})
					return bt
				default:
					return &prepBatch{evs: make([]*trace.Event, 0, 128), preps: make([]actors.Prep, 128), done: make(chan struct{})}
				}
			}
			bt := newBatch()
			for e, err := range seq {
				if err != nil {
					if len(bt.evs) > 0 {
						bt.preps = bt.preps[:len(bt.evs)]
						if !send(bt) {
							return
						}
					}
					send(&prepBatch{err: err, done: make(chan struct{})})
					return
				}
				bt.evs = append(bt.evs, e)
				if len(bt.evs) == cap(bt.evs) {
					bt.preps = bt.preps[:len(bt.evs)]
					if !send(bt) {
						return
					}
					bt = newBatch()
				}
			}
			if len(bt.evs) > 0 {
				bt.preps = bt.preps[:len(bt.evs)]
				send(bt)
			}
		}()
		for bt := range order {
			<-bt.done
			if !yield(bt) || bt.err != nil {
				return
			}
			clear(bt.evs)
			clear(bt.preps)
			bt.evs, bt.preps = bt.evs[:0], bt.preps[:cap(bt.preps)]
			select {
			case free <- bt:
			default:
			}
		}
	}
}

// readFile reads one log file, or stdin for "-" (named "stdin" in messages).
func (r *logsRun) readFile(path string) error {
	var in io.Reader
	var size int64
	if path == "-" {
		in, path = r.app.IO.In, "stdin"
	} else {
		f, st, err := openInput(path, "a log export")
		if err != nil {
			return err
		}
		defer f.Close()
		size = st.Size()
		in = f
	}
	cr := &countingReader{r: in}
	rd, err := entralog.NewReader(cr, path)
	if err != nil {
		return err
	}
	// Only the unmapped fields the classifier and stories read are kept.
	rd.KeepExtra(actors.ExtraKeys())
	rd.SetWorkers(runtime.GOMAXPROCS(0))
	progress := r.app.IO.ErrTTY && size >= logsProgressMinBytes
	stat := fileStat{File: path, Shape: rd.Shape()}
	workers := max(runtime.GOMAXPROCS(0), 1)
	for bt := range prepared(rd.Events(), r.b, workers) {
		if bt.err != nil {
			if progress {
				fmt.Fprint(r.app.IO.ErrOut, "\r\033[K")
			}
			return bt.err
		}
		for i, e := range bt.evs {
			if r.app.Ctx != nil && stat.Events&0xfff == 0 {
				if err := r.app.Ctx.Err(); err != nil {
					return err
				}
			}
			stat.Events++
			r.c.Add(e)
			if err := r.b.AddPrepared(e, &bt.preps[i]); err != nil {
				return err
			}
			if r.opts.Actor != "" {
				r.matchActor(e)
			}
			if progress && stat.Events%100_000 == 0 {
				fmt.Fprintf(r.app.IO.ErrOut, "\r%s: %d records, %d%%", path, stat.Events, cr.n.Load()*100/max(size, 1))
			}
		}
		// The classifier, the story builder and matchActor keep copies
		// only: the reader may reuse these records' memory.
		rd.Release(stat.Events)
	}
	if progress {
		fmt.Fprintf(r.app.IO.ErrOut, "\r\033[K%s: %d records\n", path, stat.Events)
	}
	stat.Skipped = rd.Skipped()
	for _, cat := range slices.Sorted(maps.Keys(stat.Skipped)) {
		fmt.Fprintf(r.app.IO.ErrOut, "idtrace: note: %s: passed over %d record(s) of category %s (not audit or sign-in logs)\n", path, stat.Skipped[cat], cat)
	}
	r.files = append(r.files, stat)
	return nil
}

func (r *logsRun) matchActor(e *trace.Event) {
	name := r.opts.Actor
	as := ""
	switch {
	case actors.Matches(e.Actor, name):
		as = "actor"
		if !r.actorSeen {
			r.actorP, r.actorSeen = clonePrincipal(e.Actor), true
		}
	case actors.Matches(e.App, name):
		as = "client-app"
		if !r.actorSeen {
			r.actorP, r.actorSeen = clonePrincipal(e.App), true
		}
	default:
		for _, t := range e.Targets {
			if strings.EqualFold(t.UPN, name) || strings.EqualFold(t.ID, name) || strings.EqualFold(t.DisplayName, name) {
				as = "target"
				break
			}
		}
	}
	if as == "" {
		return
	}
	if len(r.records) >= logsActorRecordsMax {
		r.moreRecords++
		return
	}
	// copies: the reader reuses the memory of records once released
	rec := actorRecord{Time: e.Time, Kind: e.Kind, Activity: strings.Clone(e.Activity), Result: strings.Clone(e.Result),
		ErrorCode: e.ErrorCode, As: as, CorrelationID: strings.Clone(e.CorrelationID), Source: eventSource(e)}
	if len(e.Targets) > 0 {
		t := e.Targets[0]
		rec.Target = strings.Clone(firstOf(t.UPN, t.DisplayName, t.ID))
	}
	if as != "client-app" {
		rec.App = strings.Clone(firstOf(e.App.DisplayName, e.App.AppID))
	}
	r.records = append(r.records, rec)
}

// clonePrincipal copies p's strings.
func clonePrincipal(p trace.Principal) trace.Principal {
	for _, f := range []*string{&p.Type, &p.ID, &p.DisplayName, &p.UPN, &p.AppID, &p.ServicePrincipalID,
		&p.ServicePrincipalName, &p.OwnerTenantID, &p.IPAddress} {
		*f = strings.Clone(*f)
	}
	return p
}

func eventSource(e *trace.Event) string {
	if e.LineKind == "record" {
		return fmt.Sprintf("%s:record %d", e.File, e.Line)
	}
	return fmt.Sprintf("%s:%d", e.File, e.Line)
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// ---- JSON ----

func (r *logsRun) writeJSON(w *bufio.Writer) error {
	head := struct {
		Events int            `json:"events"`
		Files  []fileStat     `json:"files"`
		Counts map[string]int `json:"story_counts"`
	}{r.c.Events(), r.files, r.b.Counts()}
	b, err := json.Marshal(head)
	if err != nil {
		return err
	}
	w.WriteString("],")
	w.Write(b[1 : len(b)-1])
	// The actors one at a time: tens of thousands of them would otherwise
	// be one buffer of megabytes at the very end of the run.
	w.WriteString(`,"actors":[`)
	var buf []byte
	for i, a := range r.c.Actors() {
		if i > 0 {
			w.WriteByte(',')
		}
		buf = a.AppendJSON(buf[:0])
		w.Write(buf)
	}
	w.WriteByte(']')
	// Overflow counts records whose actor was beyond actors.MaxActors.
	if n := r.c.Overflow; n > 0 {
		fmt.Fprintf(w, `,"unlisted_actor_records":%d`, n)
	}
	_, err = w.WriteString("}\n")
	return err
}

// closeStories ends the "stories" array written so far and the JSON object
// with the members of head (a marshalled object) after it.
func closeStories(w *bufio.Writer, head []byte) error {
	w.WriteString("],")
	w.Write(head[1:])
	_, err := w.WriteString("\n")
	return err
}

// ---- CSV ----

var logsCSVHeader = []string{"record", "class_or_kind", "name", "upn", "app_id", "count", "evidence", "explanation", "correlation_id", "actor", "target", "start", "summary", "flags"}

func storyRow(s *actors.Story) []string {
	start := ""
	if !s.Start.IsZero() {
		start = s.Start.UTC().Format(time.RFC3339)
	}
	return []string{"story", s.Kind, "", "", "", fmt.Sprint(len(s.Steps) + s.MoreSteps), "", "", s.CorrelationID, s.Actor, s.Target, start, s.Summary, strings.Join(s.Flags, "; ")}
}

// writeCSV adds the actor rows after the story rows written so far.
func (r *logsRun) writeCSV() error {
	cw := r.csvw
	for _, a := range r.c.Actors() {
		cw.Write([]string{"actor", a.Class, a.Name, a.UPN, a.AppID, fmt.Sprint(a.Count), strings.Join(a.Evidence, "; "), a.Explanation, "", "", "", "", "", ""})
	}
	cw.Flush()
	return cw.Error()
}

// ---- text and Markdown ----

func (r *logsRun) writeText(w *bufio.Writer, md bool) error {
	all := r.c.Actors()
	nf := len(r.files)
	var shapes []string
	for _, f := range r.files {
		shapes = append(shapes, fmt.Sprintf("%s: %s, %d records", f.File, f.Shape, f.Events))
	}
	if md {
		fmt.Fprintf(w, "# Entra log summary\n\n%d records from %d file(s):\n\n", r.c.Events(), nf)
		for _, s := range shapes {
			fmt.Fprintf(w, "- %s\n", mdEsc(s))
		}
		w.WriteString("\n")
	} else {
		fmt.Fprintf(w, "%d records from %d file(s): %s\n\n", r.c.Events(), nf, strings.Join(shapes, "; "))
	}
	if r.c.Overflow > 0 {
		fmt.Fprintf(w, "%sNote: more than %d distinct actors; %d records belong to actors not listed below.\n\n", indent(md), actors.MaxActors, r.c.Overflow)
	}
	var flagged, rest []actors.Actor
	for _, a := range all {
		if a.Class == actors.ClassSuspicious || a.Class == actors.ClassUnknown {
			flagged = append(flagged, a)
		} else {
			rest = append(rest, a)
		}
	}
	if md {
		w.WriteString("## Needs a look: suspicious and unknown actors\n\n")
	} else {
		w.WriteString("NEEDS A LOOK: suspicious and unknown actors\n")
	}
	if len(flagged) == 0 {
		w.WriteString(indent(md) + "none: every actor matched a known class\n")
	}
	for _, a := range flagged {
		writeActorText(w, a, md)
	}
	if md {
		w.WriteString("\n## Actors by class\n\n")
	} else {
		w.WriteString("\nACTORS BY CLASS\n")
	}
	class := ""
	for _, a := range rest {
		if a.Class != class {
			class = a.Class
			n := 0
			for _, x := range rest {
				if x.Class == class {
					n++
				}
			}
			if md {
				fmt.Fprintf(w, "\n### %s (%d)\n\n", class, n)
			} else {
				fmt.Fprintf(w, "%s (%d)\n", class, n)
			}
		}
		writeActorText(w, a, md)
	}
	actors.SortStories(r.kept)
	if md {
		fmt.Fprintf(w, "\n## Stories (%d)\n\n", r.nStories)
	} else {
		fmt.Fprintf(w, "\nSTORIES (%d)\n", r.nStories)
	}
	if r.nStories == 0 {
		w.WriteString(indent(md) + "none\n")
	}
	for _, s := range r.kept {
		writeStoryText(w, s, md)
	}
	for _, k := range slices.Sorted(mapsKeys(r.dropped)) {
		fmt.Fprintf(w, "%s... and %d more %s stories (--format json lists them all)\n", indent(md), r.dropped[k], k)
	}
	return nil
}

func mapsKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func indent(md bool) string {
	if md {
		return ""
	}
	return "  "
}

func mdEsc(s string) string {
	r := strings.NewReplacer("|", "\\|", "*", "\\*", "_", "\\_", "`", "\\`", "<", "&lt;", "\n", " ")
	return r.Replace(s)
}

func actorTitle(a actors.Actor) string {
	t := a.Name
	if a.UPN != "" && !strings.EqualFold(a.UPN, a.Name) {
		t += " <" + a.UPN + ">"
	}
	if a.AppID != "" {
		t += " (app " + a.AppID + ")"
	}
	return t
}

func writeActorText(w *bufio.Writer, a actors.Actor, md bool) {
	if md {
		fmt.Fprintf(w, "- **%s** — %s, %d record(s)\n  - evidence: %s\n  - %s\n", mdEsc(actorTitle(a)), a.Class, a.Count, mdEsc(strings.Join(a.Evidence, "; ")), mdEsc(a.Explanation))
		return
	}
	fmt.Fprintf(w, "  %-18s %s — %d record(s)\n", strings.ToUpper(a.Class), actorTitle(a), a.Count)
	fmt.Fprintf(w, "      evidence: %s\n      %s\n", strings.Join(a.Evidence, "; "), a.Explanation)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func writeStoryText(w *bufio.Writer, s *actors.Story, md bool) {
	if md {
		fmt.Fprintf(w, "### %s — %s (%s)\n\n%s\n\n", s.Kind, mdEsc(firstOf(s.Target, s.Actor)), fmtTime(s.Start), mdEsc(s.Summary))
		fmt.Fprintf(w, "Correlation ID: `%s`", s.CorrelationID)
		if len(s.Related) > 0 {
			fmt.Fprintf(w, " (also `%s`)", strings.Join(s.Related, "`, `"))
		}
		w.WriteString("\n\n| time | actor | activity | result | detail | role |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, st := range s.Steps {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", fmtTime(st.Time), mdEsc(st.Actor), mdEsc(st.Activity), mdEsc(st.Result), mdEsc(st.Detail), st.Role)
		}
		for _, f := range s.Flags {
			fmt.Fprintf(w, "\n> **Flag:** %s\n", mdEsc(f))
		}
		w.WriteString("\n")
		return
	}
	fmt.Fprintf(w, "  [%s] %s  correlation %s", s.Kind, fmtTime(s.Start), firstOf(s.CorrelationID, "-"))
	if len(s.Related) > 0 {
		fmt.Fprintf(w, " (+ %s)", strings.Join(s.Related, ", "))
	}
	fmt.Fprintf(w, "\n    %s\n", s.Summary)
	for _, st := range s.Steps {
		fmt.Fprintf(w, "      %s  %-14s %s — %s", fmtTime(st.Time), "("+firstOf(st.Role, "step")+")", st.Actor, st.Activity)
		if st.Result != "" {
			fmt.Fprintf(w, " [%s]", st.Result)
		}
		if st.Detail != "" {
			fmt.Fprintf(w, ": %s", st.Detail)
		}
		w.WriteString("\n")
	}
	if s.MoreSteps > 0 {
		fmt.Fprintf(w, "      ... %d more steps\n", s.MoreSteps)
	}
	for _, f := range s.Flags {
		fmt.Fprintf(w, "    FLAG: %s\n", f)
	}
}

// ---- --actor ----

func (r *logsRun) writeActor(w *bufio.Writer) error {
	var a actors.Actor
	found := false
	for _, x := range r.c.Actors() {
		if strings.EqualFold(x.Name, r.opts.Actor) || strings.EqualFold(x.UPN, r.opts.Actor) || strings.EqualFold(x.AppID, r.opts.Actor) {
			a, found = x, true
			break
		}
	}
	if !found && r.actorSeen {
		l := r.c.LabelOf(r.actorP)
		a = actors.Actor{Name: firstOf(r.actorP.DisplayName, r.actorP.UPN, r.actorP.AppID, r.opts.Actor), UPN: r.actorP.UPN, AppID: r.actorP.AppID, Class: l.Class, Evidence: l.Evidence, Explanation: l.Explanation}
		found = true
	}
	if !found {
		a = describeName(r.opts.Actor)
		fmt.Fprintf(r.app.IO.ErrOut, "idtrace: no record in these logs names %q as actor or client app\n", r.opts.Actor)
	}
	// The JSON stories were written already; the text ones were kept.
	if r.opts.Format == "json" {
		b, err := json.Marshal(struct {
			Events      int           `json:"events"`
			Actor       actors.Actor  `json:"actor"`
			Records     []actorRecord `json:"records"`
			MoreRecords int           `json:"more_records,omitempty"`
		}{r.c.Events(), a, orEmpty(r.records), r.moreRecords})
		if err != nil {
			return err
		}
		return closeStories(w, b)
	}
	md := r.opts.Format == "md"
	if md {
		fmt.Fprintf(w, "# %s\n\n", mdEsc(actorTitle(a)))
	}
	writeActorText(w, a, md)
	if md {
		fmt.Fprintf(w, "\n## Records (%d)\n\n", len(r.records)+r.moreRecords)
	} else {
		fmt.Fprintf(w, "\nRECORDS (%d)\n", len(r.records)+r.moreRecords)
	}
	bullet := "  "
	if md {
		bullet = "- "
	}
	for _, rec := range r.records {
		fmt.Fprintf(w, "%s%s  as %-10s %s", bullet, fmtTime(rec.Time), rec.As, firstOf(rec.Activity, rec.Kind))
		if rec.Result != "" {
			fmt.Fprintf(w, " [%s]", rec.Result)
		}
		if rec.ErrorCode != 0 {
			fmt.Fprintf(w, " AADSTS%d", rec.ErrorCode)
		}
		if rec.Target != "" {
			fmt.Fprintf(w, " → %s", rec.Target)
		}
		if rec.App != "" {
			fmt.Fprintf(w, " via %s", rec.App)
		}
		fmt.Fprintf(w, "  (%s)\n", rec.Source)
	}
	if r.moreRecords > 0 {
		fmt.Fprintf(w, "%s... and %d more records\n", indent(md), r.moreRecords)
	}
	actors.SortStories(r.kept)
	if md {
		fmt.Fprintf(w, "\n## Stories (%d)\n\n", r.nStories)
	} else {
		fmt.Fprintf(w, "\nSTORIES (%d)\n", r.nStories)
	}
	for _, s := range r.kept {
		writeStoryText(w, s, md)
	}
	return nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
