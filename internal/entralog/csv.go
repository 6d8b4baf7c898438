package entralog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unsafe"

	"github.com/idtrace/idtrace/internal/trace"
)

// csvState is the state of a CSV reader after its header was read.
type csvState struct {
	cr     *csv.Reader
	lim    *limitReader
	header []string
	ix     [nKeys]int32
	kind   string // fixed kind for portal downloads; "" to decide per row
	portal bool
	// portal audit columns grouped by target and additional detail
	targets []portalTarget
	details []portalDetail
	row     *rec // the one-goroutine reader's row (see csvRow)
	// extraCols are the columns (0-based) the Extra filter admits, set
	// when Events starts; nil when there is no filter.
	extraCols []int
	// rest holds the bytes after the header that the header's reader took
	// from the input but did not parse, and restLine the lines before
	// them, when they are known (see openCSV): the parallel reader starts
	// there. split is false when they are not.
	rest     []byte
	restLine int
	split    bool
}

type portalTarget struct {
	typ, name, id, upn int // column index + 1
	mods               []portalMod
}

type portalMod struct{ name, old, new int }

type portalDetail struct{ key, value int }

// limitReader fails a read once more than the allowed bytes were read since
// the last record, so an unterminated quote cannot read a whole file into
// one field.
type limitReader struct {
	r     io.Reader
	total int64
	limit int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.total >= l.limit {
		return 0, errTooLarge
	}
	if rem := l.limit - l.total; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := l.r.Read(p)
	l.total += int64(n)
	return n, err
}

// csvSchema is one export family: the columns it must have (each entry a
// list of alternatives, normalized).
type csvSchema struct {
	desc, shape string
	portal      bool
	kind        string
	need        [][]string
}

var csvSchemas = []csvSchema{
	{"an Entra portal audit log download", ShapePortalCSV, true, trace.KindAudit,
		[][]string{{"Date (UTC)", "Date"}, {"Activity"}, {"Category"}, {"CorrelationId"}}},
	{"an Entra portal sign-in log download", ShapePortalCSV, true, trace.KindSignIn,
		[][]string{{"Date (UTC)", "Date"}, {"Request ID"}, {"Correlation ID"}, {"Application ID"}}},
	{"a Log Analytics AuditLogs export", ShapeLACSV, false, trace.KindAudit,
		[][]string{{"OperationName"}, {"InitiatedBy"}, {"TargetResources"}}},
	{"a Log Analytics sign-in export", ShapeLACSV, false, trace.KindSignIn,
		[][]string{{"AppId"}, {"ResultType", "Status", "Status_dynamic"}, {"UserPrincipalName", "ServicePrincipalId"}}},
}

var (
	reTarget    = regexp.MustCompile(`^target(\d+)(type|displayname|objectid|userprincipalname)$`)
	reTargetMod = regexp.MustCompile(`^target(\d+)modifiedproperty(\d+)(name|oldvalue|newvalue)$`)
	reDetail    = regexp.MustCompile(`^additionaldetail(\d+)(key|value)$`)
)

func (r *Reader) openCSV() error {
	// A copy of the first bytes, so that the parallel reader can start
	// right after the header (encoding/csv buffers beyond it).
	pre := append([]byte(nil), peekAll(r.br)...)
	lim := &limitReader{r: r.br, limit: int64(maxRecordBytes)}
	cr := csv.NewReader(lim)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	hdr, err := cr.Read()
	if err == nil && len(hdr) == 1 && strings.HasPrefix(hdr[0], "#TYPE ") {
		// Windows PowerShell's Export-Csv writes a type line before the header.
		hdr, err = cr.Read()
	}
	if err != nil {
		if err == io.EOF {
			err = errors.New("empty input")
		}
		return r.csvErr(0, err, 0)
	}
	st := &csvState{cr: cr, lim: lim, header: append([]string(nil), hdr...)}
	if off := cr.InputOffset(); lim.total <= int64(len(pre)) && off <= lim.total {
		st.rest, st.restLine, st.split = pre[off:lim.total], bytes.Count(pre[:off], []byte{'\n'}), true
	}
	cr.FieldsPerRecord = len(hdr)
	names := make(map[string]bool, len(hdr))
	for i, h := range st.header {
		n := string(normKey(nil, h))
		names[n] = true
		if id, ok := keyIDs[n]; ok && st.ix[id] == 0 {
			st.ix[id] = int32(i + 1)
		}
	}
	var best *csvSchema
	var bestMissing []string
	for i := range csvSchemas {
		s := &csvSchemas[i]
		var missing []string
		for _, alts := range s.need {
			ok := false
			for _, a := range alts {
				ok = ok || names[string(normKey(nil, a))]
			}
			if !ok {
				missing = append(missing, strings.Join(alts, " or "))
			}
		}
		if len(missing) == 0 {
			best, bestMissing = s, nil
			break
		}
		if best == nil || len(missing) < len(bestMissing) {
			best, bestMissing = s, missing
		}
	}
	if bestMissing != nil {
		seen := st.header
		more := ""
		if len(seen) > 8 {
			seen, more = seen[:8], ", ..."
		}
		return r.inputErr(0, 1, "", fmt.Errorf("%w: the CSV header lacks %s, needed in %s, the closest known export (header: %s%s)",
			ErrUnrecognised, strings.Join(bestMissing, ", "), best.desc, strings.Join(seen, ", "), more))
	}
	r.shape = best.shape
	st.portal = best.portal
	if st.portal {
		st.kind = best.kind
		if best.kind == trace.KindSignIn {
			st.kind = portalSignInKind(names, r.name)
		} else {
			st.groupAuditColumns()
		}
	}
	r.csv = st
	return nil
}

// portalSignInKind tells which sign-in log a portal download holds. The
// interactive and non-interactive downloads have the same columns, so the
// file name the portal gives ("NonInteractiveSignIns_...") decides those.
func portalSignInKind(names map[string]bool, file string) string {
	base := strings.ToLower(file)
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	if !names["username"] && !names["user"] && names["service principal id"] {
		if names["managed identity type"] || strings.Contains(base, "msi") || strings.Contains(base, "managedidentit") {
			return trace.KindSignInManagedIdentity
		}
		return trace.KindSignInServicePrincipal
	}
	if strings.Contains(base, "noninteractive") || strings.Contains(base, "non-interactive") {
		return trace.KindSignInNonInteractive
	}
	return trace.KindSignIn
}

func (st *csvState) groupAuditColumns() {
	tg := map[int]*portalTarget{}
	dt := map[int]*portalDetail{}
	target := func(n int) *portalTarget {
		if tg[n] == nil {
			tg[n] = &portalTarget{}
		}
		return tg[n]
	}
	for i, h := range st.header {
		n := string(normKey(nil, h))
		col := i + 1
		if m := reTarget.FindStringSubmatch(n); m != nil {
			t := target(atoi(m[1]))
			switch m[2] {
			case "type":
				t.typ = col
			case "displayname":
				t.name = col
			case "objectid":
				t.id = col
			case "userprincipalname":
				t.upn = col
			}
		} else if m := reTargetMod.FindStringSubmatch(n); m != nil {
			j := atoi(m[2])
			if j < 1 {
				continue // "ModifiedProperty0": not an export column; kept in Extra
			}
			t := target(atoi(m[1]))
			for len(t.mods) < j {
				t.mods = append(t.mods, portalMod{})
			}
			switch m[3] {
			case "name":
				t.mods[j-1].name = col
			case "oldvalue":
				t.mods[j-1].old = col
			case "newvalue":
				t.mods[j-1].new = col
			}
		} else if m := reDetail.FindStringSubmatch(n); m != nil {
			k := atoi(m[1])
			if dt[k] == nil {
				dt[k] = &portalDetail{}
			}
			if m[2] == "key" {
				dt[k].key = col
			} else {
				dt[k].value = col
			}
		}
	}
	for _, k := range sortedKeys(tg) {
		st.targets = append(st.targets, *tg[k])
	}
	for _, k := range sortedKeys(dt) {
		st.details = append(st.details, *dt[k])
	}
}

func sortedKeys[V any](m map[int]V) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	if n > 10000 {
		n = 10000
	}
	return n
}

// csvErr turns an error of encoding/csv into an InputError; lastLen is the
// number of fields of the record it came with.
func (r *Reader) csvErr(record int, err error, lastLen int) *trace.InputError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		e := r.inputErr(record, pe.Line, "", pe.Err)
		e.Column = pe.Column
		if errors.Is(pe.Err, csv.ErrFieldCount) && r.csv != nil {
			e.Err = fmt.Errorf("%w: %d, the header has %d", pe.Err, lastLen, len(r.csv.header))
		}
		return e
	}
	return r.inputErr(record, 0, "", err)
}

// csvAdmits returns the Extra filter's verdict for each column.
func (r *Reader) csvAdmits() []int8 {
	adm := make([]int8, len(r.csv.header))
	for i, h := range r.csv.header {
		adm[i] = r.keep.decide(h)
	}
	return adm
}

// csvStart sets what mapping rows needs from the Extra filter, which may
// change between NewReader and Events: the columns it admits.
func (r *Reader) csvStart() {
	st := r.csv
	st.extraCols = nil
	if r.keep != nil {
		// Only the columns the filter admits can reach Extra.
		st.extraCols = []int{}
		for i, a := range r.csvAdmits() {
			if a > 0 {
				st.extraCols = append(st.extraCols, i)
			}
		}
	}
}

func (r *Reader) csvEvents(yield func(*trace.Event, error) bool) {
	st := r.csv
	r.csvStart()
	if r.workers > 1 && st.split {
		r.csvParallel(yield)
		return
	}
	st.row = r.csvRow(r.csvAdmits())
	for recNo := 1; ; recNo++ {
		st.lim.limit = st.lim.total + int64(maxRecordBytes) + 64<<10
		fields, err := st.cr.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			e := r.csvErr(recNo, err, len(fields))
			if e.Line == 0 {
				e.Line, _ = st.cr.FieldPos(0)
			}
			yield(nil, e)
			return
		}
		ev, err := r.csvRecord(st.cr, 0, st.row, recNo, fields)
		if err != nil {
			yield(nil, err)
			return
		}
		if !yield(ev, nil) {
			return
		}
	}
}

// csvRow returns the row csvRecord and csvFast fill, with the reader's
// column indexes and Extra filter: one string member per column, with the
// column's name and Extra verdict set once here, so that a record only sets
// the values.
func (r *Reader) csvRow(adm []int8) *rec {
	mem := make([]member, len(r.csv.header))
	for i, h := range r.csv.header {
		mem[i] = member{key: h, val: node{kind: 's'}, adm: adm[i]}
	}
	return &rec{n: &node{kind: 'o', mem: mem}, ix: r.csv.ix, keep: r.keep}
}

// setRow puts the fields of one record into row (made by csvRow for a header
// of len(fields) columns) and clears what the last record's mapping marked.
func setRow(row *node, fields []string) {
	mem := row.mem[:len(fields)]
	for i, f := range fields {
		setMember(&mem[i], f)
	}
}

// setRowFrom is setRow for the record sp read last, for the columns cols
// only (0-based; all when nil): the others keep the last record's values,
// which the mapping must never read (see csvReadColumns).
func setRowFrom(row *node, sp *csvSplitter, cols []int) {
	if cols == nil {
		for i := range sp.spans {
			setMember(&row.mem[i], sp.field(i))
		}
		return
	}
	for _, i := range cols {
		setMember(&row.mem[i], sp.field(i))
	}
}

func setMember(m *member, f string) {
	if m.val.kind != 's' || m.val.mem != nil {
		// a Log Analytics JSON column parsed in place (parseInPlace)
		m.val = node{kind: 's'}
	}
	m.val.s = f
	m.used = false
}

// csvReadColumns returns the columns (0-based) that mapping a portal CSV row
// reads, given the Extra filter's verdicts adm: the known columns, the
// audit target and detail columns, and every column Extra may keep; nil
// (all columns) for other exports and when no filter is set.
func (r *Reader) csvReadColumns(adm []int8) []int {
	st := r.csv
	if !st.portal || r.keep == nil {
		return nil
	}
	read := make([]bool, len(st.header))
	for _, c := range st.ix {
		if c > 0 {
			read[c-1] = true
		}
	}
	mark := func(c int) {
		if c > 0 && c <= len(read) {
			read[c-1] = true
		}
	}
	for _, t := range st.targets {
		mark(t.typ)
		mark(t.name)
		mark(t.id)
		mark(t.upn)
		for _, m := range t.mods {
			mark(m.name)
			mark(m.old)
			mark(m.new)
		}
	}
	for _, d := range st.details {
		mark(d.key)
		mark(d.value)
	}
	var cols []int
	for i := range read {
		if read[i] || adm[i] >= 0 {
			cols = append(cols, i)
		}
	}
	if cols == nil {
		cols = []int{}
	}
	return cols
}

// csvRecord maps one record that cr read (fields); off is added to cr's
// line numbers, row is the row (see csvRow).
func (r *Reader) csvRecord(cr *csv.Reader, off int, row *rec, recNo int, fields []string) (*trace.Event, error) {
	line, _ := cr.FieldPos(0)
	line += off
	setRow(row.n, fields)
	ev, err := r.mapRow(new(trace.Event), row, line)
	if err != nil {
		st := r.csv
		e := r.inputErr(recNo, line, "", err)
		if fe := (*fieldError)(nil); errors.As(err, &fe) {
			for i, h := range st.header {
				if h == fe.field || strings.HasPrefix(fe.field, h+"[") || strings.HasPrefix(fe.field, h+".") {
					e.Line, e.Column = cr.FieldPos(i)
					e.Line += off
					break
				}
			}
		}
		return nil, e
	}
	return ev, nil
}

// mapRow maps the record in row (see setRow), which starts on line, into ev
// (a zero Event); an error is the mapping's, without a position.
func (r *Reader) mapRow(ev *trace.Event, row *rec, line int) (*trace.Event, error) {
	st := r.csv
	ev.File, ev.Line, ev.LineKind, ev.Shape = r.name, line, "line", r.shape
	var err error
	if st.portal {
		err = st.mapPortal(ev, row)
	} else {
		err = mapGraph(ev, row, nil)
	}
	if err != nil {
		return nil, err
	}
	return ev, nil
}

// csvParallel reads the records after the header on r.workers goroutines,
// each splitting chunks of whole records (found by csvRecordsEnd) with
// csvSplitter, or with encoding/csv the chunks the splitter leaves to it,
// with the same Events and errors as csvEvents, which reads with
// encoding/csv alone.
func (r *Reader) csvParallel(yield func(*trace.Event, error) bool) {
	st := r.csv
	src := io.MultiReader(bytes.NewReader(st.rest), r.br)
	r.parallel(yield, src, st.restLine, csvRecordsEnd, maxRecordBytes+64<<10, r.csvMapper)
}

// csvMapper returns the function that maps the records of one chunk for one
// worker of csvParallel.
func (r *Reader) csvMapper() func(*ndChunk) {
	st := r.csv
	adm := r.csvAdmits()
	row := r.csvRow(adm)
	cols := r.csvReadColumns(adm)
	limit := maxRecordBytes + 64<<10
	var sp csvSplitter
	return func(c *ndChunk) {
		if r.csvFast(&sp, row, cols, c, limit) {
			return
		}
		// Something the splitter leaves to encoding/csv: map the whole
		// chunk again with it.
		c.out = c.out[:0]
		cr := csv.NewReader(bytes.NewReader(c.data))
		cr.ReuseRecord = true
		cr.FieldsPerRecord = len(st.header)
		var at int64
		for recNo := 1; ; recNo++ {
			fields, err := cr.Read()
			if err == io.EOF {
				return
			}
			if err != nil {
				e := r.csvErr(recNo, err, len(fields))
				if e.Line > 0 {
					e.Line += c.line
				} else {
					e.Line = c.line + 1
				}
				c.out = append(c.out, ndResult{err: e})
				return
			}
			next := cr.InputOffset()
			if next-at > int64(limit) {
				line, _ := cr.FieldPos(0)
				c.out = append(c.out, ndResult{err: r.inputErr(recNo, c.line+line, "", errTooLarge)})
				return
			}
			at = next
			ev, err := r.csvRecord(cr, c.line, row, recNo, fields)
			if err != nil {
				c.out = append(c.out, ndResult{err: err})
				return
			}
			c.out = append(c.out, ndResult{ev: ev})
		}
	}
}

// csvFast maps the records of c with csvSplitter into c.out (setting only
// the columns cols of row, see setRowFrom) and reports
// whether it could; false means a record the splitter does not handle or
// one whose mapping failed, and c.out is to be redone with encoding/csv,
// which gives the errors their positions.
func (r *Reader) csvFast(sp *csvSplitter, row *rec, cols []int, c *ndChunk, limit int) bool {
	if len(c.data) == 0 {
		return true
	}
	// The Events' strings point into the chunk: its bytes are not written
	// again until the consumer has released its Events (Reader.Release).
	sp.reset(unsafe.String(&c.data[0], len(c.data)), len(r.csv.header), limit)
	// Room for a result per line (at most one record starts on each).
	c.out = slices.Grow(c.out, bytes.Count(c.data, []byte{'\n'})+1)
	for {
		line, ok, bad := sp.next()
		if bad {
			return false
		}
		if !ok {
			return true
		}
		setRowFrom(row.n, sp, cols)
		ev, err := r.mapRow(c.event(), row, c.line+line)
		if err != nil {
			return false
		}
		c.settle(ev)
		c.out = append(c.out, ndResult{ev: ev})
	}
}

// csvRecordsEnd returns the length of the whole CSV records at the start of
// b: the end of its last line that does not end inside quotes. Quotes
// toggle the state; a doubled quote inside a quoted field toggles it twice,
// so a newline is outside quotes when an even number of quotes comes before
// it. Input that breaks this rule (a bare quote, text after a closing quote)
// is an error encoding/csv reports on that line, before any later cut
// matters. The quotes are counted once over b (bytes.Count is vectorised),
// then the newlines are tried from the end, so a chunk without quotes near
// its end costs little more than the count.
func csvRecordsEnd(b []byte) int {
	quotes := bytes.Count(b, []byte{'"'})
	end := len(b)
	for {
		k := bytes.LastIndexByte(b[:end], '\n')
		if k < 0 {
			return 0
		}
		quotes -= bytes.Count(b[k:end], []byte{'"'}) // now the quotes before k
		if quotes%2 == 0 {
			return k + 1
		}
		end = k
	}
}

// col returns the value of 1-based column c of the row and marks it used.
func colStr(r *rec, c int) string {
	if c <= 0 || c > len(r.n.mem) {
		return ""
	}
	r.n.mem[c-1].used = true
	return r.n.mem[c-1].val.s
}

func (st *csvState) mapPortal(ev *trace.Event, r *rec) error {
	ev.Kind = st.kind
	s, field := timeField(r, kDateUTC, kDate)
	t, err := parseTime(s)
	if err != nil {
		return &fieldError{field, err}
	}
	ev.Time = t
	if st.kind == trace.KindAudit {
		ev.CorrelationID = r.str(kCorrelationID)
		ev.Service = r.str(kService)
		ev.Category = r.str(kCategory)
		ev.Activity = r.str(kActivity)
		ev.Result = lowerResult(r.str(kResult))
		ev.ResultReason = r.str(kResultReason)
		ev.UserAgent = firstStr(r, kUserAgent, kUserAgentSpaced)
		ev.IPAddress = r.str(kIPAddress)
		at := strings.ToLower(r.str(kActorType))
		p := trace.Principal{ID: r.str(kActorObjectID), DisplayName: r.str(kActorDisplayName), UPN: r.str(kActorUPN),
			ServicePrincipalID: r.str(kActorSPID), ServicePrincipalName: r.str(kActorSPName), IPAddress: ev.IPAddress}
		switch {
		case strings.Contains(at, "user"):
			p.Type = "user"
		case strings.Contains(at, "app") || strings.Contains(at, "service"):
			p.Type = "app"
		case p.UPN != "":
			p.Type = "user"
		case p.ServicePrincipalID != "" || p.ServicePrincipalName != "":
			p.Type = "app"
		}
		ev.Actor = p
		if p.Type == "app" {
			ev.App = p
		}
		for _, pt := range st.targets {
			tg := trace.Target{Type: colStr(r, pt.typ), DisplayName: colStr(r, pt.name), ID: colStr(r, pt.id), UPN: colStr(r, pt.upn)}
			for _, pm := range pt.mods {
				m := trace.ModifiedProperty{Name: colStr(r, pm.name), Old: colStr(r, pm.old), New: colStr(r, pm.new)}
				if m != (trace.ModifiedProperty{}) {
					tg.Modified = append(tg.Modified, m)
				}
			}
			if tg.Type != "" || tg.DisplayName != "" || tg.ID != "" || tg.UPN != "" || len(tg.Modified) > 0 {
				ev.Targets = append(ev.Targets, tg)
			}
		}
		for _, pd := range st.details {
			kv := trace.KV{Key: colStr(r, pd.key), Value: colStr(r, pd.value)}
			if kv != (trace.KV{}) {
				ev.Details = append(ev.Details, kv)
			}
		}
	} else {
		ev.Category = defaultCategory(st.kind)
		ev.Activity = "Sign-in activity"
		ev.ID = r.str(kRequestID)
		ev.CorrelationID = r.str(kCorrelationIDSpaced)
		ev.UserAgent = r.str(kUserAgentSpaced)
		ev.IPAddress = r.str(kIPAddressSpaced)
		ev.App = trace.Principal{Type: "app", DisplayName: r.str(kApplication), AppID: r.str(kApplicationID), OwnerTenantID: r.str(kAppOwnerTenantIDSpaced)}
		spID, spName := r.str(kSPIDSpaced), r.str(kSPNameSpaced)
		if st.kind == trace.KindSignInServicePrincipal || st.kind == trace.KindSignInManagedIdentity {
			ev.App.ServicePrincipalID, ev.App.ServicePrincipalName = spID, spName
			ev.Actor = ev.App
			if spName != "" {
				ev.Actor.DisplayName = spName
			}
		} else {
			ev.Actor = trace.Principal{Type: "user", ID: r.str(kUserIDSpaced), DisplayName: r.str(kUser), UPN: r.str(kUsername)}
		}
		ev.Actor.IPAddress = ev.IPAddress
		res := trace.Principal{DisplayName: r.str(kResource), AppID: r.str(kResourceIDSpaced), OwnerTenantID: r.str(kResourceOwnerTenantIDSpaced)}
		if res != (trace.Principal{}) {
			res.Type = "app"
		}
		ev.Resource = res
		ev.Result = lowerResult(r.str(kStatus))
		ev.FailureReason = r.str(kFailureReason)
		ev.ClientApp = r.str(kClientApp)
		ev.Interactive = st.kind == trace.KindSignIn
		if c := strings.TrimSpace(r.str(kSignInErrorCode)); c != "" {
			n, err := strconv.Atoi(c)
			if err != nil {
				return &fieldError{r.name(kSignInErrorCode), fmt.Errorf("not an integer: %q", trunc(c, 20))}
			}
			ev.ErrorCode = n
		}
	}
	ev.Extra = rowExtra(ev.Extra, r.n.mem, st.extraCols)
	return nil
}

// lowerResult is strings.ToLower without an allocation for the result
// values portal downloads write in every row.
func lowerResult(s string) string {
	switch s {
	case "Success":
		return "success"
	case "Failure":
		return "failure"
	case "Interrupted":
		return "interrupted"
	}
	return strings.ToLower(s)
}

// rowExtra is keptExtra for a row of string columns: the columns among cols
// (0-based; all when nil, which is when no Extra filter is set) that the
// mapping did not use, appended to dst[:0] when it has room (a reused
// Event's memory, see ndChunk.event), else in a slice of their exact size
// (nil for none with a filter; empty, not nil, without one).
func rowExtra(dst []trace.KV, mem []member, cols []int) []trace.KV {
	n := 0
	if cols == nil {
		for i := range mem {
			if !mem[i].used {
				n++
			}
		}
		out := dst[:0]
		if out == nil || cap(out) < n {
			out = make([]trace.KV, 0, n)
		}
		for i := range mem {
			if m := &mem[i]; !m.used {
				out = append(out, trace.KV{Key: m.key, Value: m.val.text()})
			}
		}
		return out
	}
	for _, i := range cols {
		if !mem[i].used {
			n++
		}
	}
	if n == 0 {
		return dst[:0] // nil unless dst is a reused Event's memory
	}
	out := dst[:0]
	if cap(out) < n {
		out = make([]trace.KV, 0, n)
	}
	for _, i := range cols {
		if m := &mem[i]; !m.used {
			out = append(out, trace.KV{Key: m.key, Value: m.val.text()})
		}
	}
	return out
}
