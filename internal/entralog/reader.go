// Package entralog reads Microsoft Entra ID audit and sign-in log exports
// and yields one *trace.Event per record, streaming, in bounded memory:
//
//   - portal-csv: the admin center's CSV downloads (audit: "Date (UTC)",
//     Activity, Actor*, Target1..N with ModifiedProperty1..M,
//     AdditionalDetail1..N; sign-in: "Request ID", "Application ID " with its
//     trailing space, a repeated "Incoming token type", ...);
//   - portal-json: a JSON array of Graph-style objects (also several arrays
//     one after another, as PowerShell exporters write them);
//   - graph-json: Microsoft Graph responses ({"@odata.context", "value": [...]}),
//     one or several pages in a row, or bare objects;
//   - la-csv, la-json: Log Analytics / Sentinel exports, PascalCase, with
//     InitiatedBy, TargetResources, AdditionalDetails, Status as JSON inside
//     strings, "[UTC]" column suffixes and US-style timestamps;
//   - diagnostic-ndjson: diagnostic-settings records, one JSON object per line
//     ({"time", "category", "operationName", "properties": {...}}).
//
// Keys and column names match case-insensitively. The shape is detected from
// the content (UTF-8 and UTF-16 byte order marks are handled); the kind
// (audit or one of the four sign-in logs) from the category, the Log
// Analytics table name, or the keys present. The interactive and
// non-interactive portal sign-in downloads have the same columns, so for
// those the portal's file name ("NonInteractiveSignIns_...") decides.
//
// Everything the mapping does not use goes to Event.Extra in input order:
// CSV columns by their header (repeated headers repeated), JSON keys by their
// path ("targetResources[0].groupType", "properties.deviceDetail"), object
// and array values as JSON text.
//
// Errors. Every record becomes an Event or an error, never nothing, and the
// first malformed record ends the stream with a *trace.InputError: File,
// Entry (the 1-based record number, EntryKind "record"), Line and Column
// where the format has them (CSV, NDJSON; byte Offset for JSON documents)
// and Field. Decisions:
//   - a Log Analytics JSON-in-string column that the mapping needs
//     (InitiatedBy, TargetResources, AdditionalDetails, Status,
//     AuthenticationDetails) holding something that is not JSON is an error,
//     not a raw value kept aside: an actor silently lost would be classified
//     "unknown" downstream;
//   - a diagnostic-settings NDJSON record of another category
//     (ProvisioningLogs, RiskyUsers, ...) is passed over and counted by
//     category (Reader.Skipped), since such exports often mix categories;
//     in any other shape it is an error naming the category;
//   - a CSV that is neither an audit nor a sign-in export fails in NewReader,
//     naming the columns it lacks for the closest known export;
//   - one record (JSON value, NDJSON line, CSV record) is capped at 64 MiB.
//
// Result for Graph-style sign-ins is derived from status.errorCode ("success"
// for 0, "failure" otherwise; interrupts such as 50140 are failures there);
// portal CSV sign-ins keep the Status column as written, lower-cased.
//
// This package belongs to the entralog readers; other packages use its
// exported API and must not modify Events they pass on to others.
package entralog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/idtrace/idtrace/internal/trace"
)

// Shapes reported by Reader.Shape.
const (
	ShapePortalCSV  = "portal-csv"
	ShapePortalJSON = "portal-json"
	ShapeGraphJSON  = "graph-json"
	ShapeLACSV      = "la-csv"
	ShapeLAJSON     = "la-json"
	ShapeDiagnostic = "diagnostic-ndjson"
)

// peekSize is how much of the input detection may look at.
const peekSize = 64 << 10

// Reader reads one export. It is not safe for concurrent use, and its Events
// may be ranged over once.
type Reader struct {
	name  string
	shape string
	// src is the input as given, for locating JSON errors by line when it
	// can be read at an offset (a file); skip is the byte order mark length.
	src   io.Reader
	skip  int64
	utf16 bool
	br    *bufio.Reader
	csv   *csvState
	done  bool
	// skipped counts diagnostic records of other categories, by category.
	skipped map[string]int
	// keep selects the unmapped fields kept in Event.Extra (nil: all).
	keep *extraFilter
	// workers is how many goroutines parse NDJSON lines and CSV records
	// (see SetWorkers).
	workers int
	// released counts the Events the consumer no longer refers to (see
	// Release).
	released atomic.Int64
}

// KeepExtra makes Events keep in Event.Extra only the unmapped fields whose
// name ends in one of names: the whole name, or its part after the last dot
// ("properties.location" is kept for "location"), compared without regard
// to ASCII case (a name with non-ASCII bytes is always kept). The mapped
// fields are unchanged. A consumer that reads a few known fields of Extra
// saves building the others; it sees the same values, in the same order, as
// without the filter. Call it before Events.
func (r *Reader) KeepExtra(names []string) { r.keep = newExtraFilter(names) }

// SetWorkers makes Events parse diagnostic-settings NDJSON and CSV exports
// on n goroutines (n <= 1: in the caller's goroutine). The Events, their
// order, the errors and Skipped are the same as with one; the Events are
// handed over in record order as each batch of records is parsed. CSV is
// cut into batches at record ends found by counting quotes (a quoted field
// may hold newlines), and each batch is parsed with encoding/csv as the
// one-goroutine reader does; a CSV whose header is not within its first
// 64 KiB is read in one goroutine, and so are the JSON document shapes.
// Call it before Events.
func (r *Reader) SetWorkers(n int) { r.workers = n }

// Skipped returns, after Events has been read, how many diagnostic-settings
// records of categories other than audit and sign-in logs (ProvisioningLogs,
// RiskyUsers, ...: an Event Hub or storage export may mix them in) were
// passed over, by category. They are counted, never silently dropped: callers
// report them. The map is the Reader's; do not modify it.
func (r *Reader) Skipped() map[string]int { return r.skipped }

// otherCategory is the error a diagnostic record of another category gives.
type otherCategory struct{ category string }

func (e *otherCategory) Error() string {
	return fmt.Sprintf("unsupported log category %q (not an audit or sign-in log)", e.category)
}

// ErrUnrecognised is wrapped by NewReader's error when the input is not an
// Entra log export it knows.
var ErrUnrecognised = errors.New("not a recognised Entra audit or sign-in export")

// NewReader detects the export shape of r from its first bytes (a UTF-8 or
// UTF-16 byte order mark, then '[' for a JSON array, '{' for Graph JSON or
// NDJSON, otherwise a CSV header) and returns a Reader over it. name is the
// file name used in Events and errors. For CSV the header is read and checked
// here: a CSV that is neither an audit nor a sign-in export is an error
// naming the columns it lacks.
func NewReader(r io.Reader, name string) (*Reader, error) {
	br := bufio.NewReaderSize(r, peekSize)
	rd := &Reader{name: name, src: r}
	b, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
		rd.skip = 3
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}), bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		u := &utf16Reader{r: br, big: b[0] == 0xFE}
		br.Discard(2)
		br = bufio.NewReaderSize(u, peekSize)
		rd.utf16 = true
	}
	rd.br = br
	first, err := firstNonSpace(br)
	if err != nil {
		return nil, rd.inputErr(0, 0, "", fmt.Errorf("%w: %v", ErrUnrecognised, err))
	}
	switch first {
	case '[':
		rd.shape = detectArray(br)
	case '{':
		rd.shape = detectObject(br)
	default:
		if err := rd.openCSV(); err != nil {
			return nil, err
		}
	}
	return rd, nil
}

// Open opens the file at path and returns a Reader over it and the file to
// close when done.
func Open(path string) (*Reader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	r, err := NewReader(f, path)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

// Shape names the detected export shape: "portal-csv", "portal-json",
// "graph-json", "la-csv", "la-json" or "diagnostic-ndjson".
func (r *Reader) Shape() string { return r.shape }

// Events yields the records one at a time. After an error it stops. The
// Events are fresh for each record; the consumer owns them.
func (r *Reader) Events() iter.Seq2[*trace.Event, error] {
	return func(yield func(*trace.Event, error) bool) {
		if r.done {
			yield(nil, errors.New("entralog: Events already read"))
			return
		}
		r.done = true
		switch r.shape {
		case ShapePortalCSV, ShapeLACSV:
			r.csvEvents(yield)
		case ShapeDiagnostic:
			r.ndjsonEvents(yield)
		default:
			r.jsonEvents(yield)
		}
	}
}

func (r *Reader) inputErr(record, line int, field string, err error) *trace.InputError {
	e := &trace.InputError{File: r.name, Entry: -1, Offset: -1, Line: line, Field: field, Err: err}
	if record > 0 {
		e.Entry, e.EntryKind = record, "record"
	}
	var fe *fieldError
	if errors.As(err, &fe) {
		if e.Field == "" {
			e.Field = fe.field
		}
		e.Err = fe.err
	}
	return e
}

// firstNonSpace returns the first byte after ASCII white space without
// consuming it.
func firstNonSpace(br *bufio.Reader) (byte, error) {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if len(b) < i {
			if err == nil || err == io.EOF {
				err = errors.New("empty input")
			}
			if err == bufio.ErrBufferFull {
				err = errors.New("only white space in the first 64 KiB")
			}
			return 0, err
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n':
			continue
		default:
			return c, nil
		}
	}
}

// peekAll returns up to peekSize bytes of the input without consuming them.
func peekAll(br *bufio.Reader) []byte {
	b, _ := br.Peek(br.Size())
	return b
}

// detectArray tells a Log Analytics JSON export (PascalCase columns) from a
// portal or Graph-style JSON download (camelCase keys) by the first
// element's keys.
func detectArray(br *bufio.Reader) string {
	dec := jsontext.NewDecoder(bytes.NewReader(peekAll(br)), jsonOpts...)
	if t, err := dec.ReadToken(); err != nil || t.Kind() != '[' {
		return ShapePortalJSON
	}
	if dec.PeekKind() != '{' {
		return ShapePortalJSON
	}
	dec.ReadToken()
	upper, lower := 0, 0
	for dec.PeekKind() == '"' {
		t, err := dec.ReadToken()
		if err != nil {
			break
		}
		k := t.String()
		if c, _ := utf8.DecodeRuneInString(k); 'A' <= c && c <= 'Z' {
			upper++
		} else if 'a' <= c && c <= 'z' {
			lower++
		}
		if dec.SkipValue() != nil {
			break
		}
	}
	if upper > lower {
		return ShapeLAJSON
	}
	return ShapePortalJSON
}

// detectObject tells one-record-per-line NDJSON (diagnostic settings) from a
// Graph response or a stream of pretty-printed objects.
func detectObject(br *bufio.Reader) string {
	buf := peekAll(br)
	dec := jsontext.NewDecoder(bytes.NewReader(buf), jsonOpts...)
	if _, err := dec.ReadToken(); err != nil {
		return ShapeGraphJSON
	}
	graph := false
	for dec.PeekKind() == '"' {
		t, err := dec.ReadToken()
		if err != nil {
			break
		}
		k := t.String()
		if strings.EqualFold(k, "value") && dec.PeekKind() == '[' || strings.HasPrefix(k, "@odata.") {
			graph = true
			break
		}
		if dec.SkipValue() != nil {
			break
		}
	}
	if graph {
		return ShapeGraphJSON
	}
	// One record per line? Then no newline occurs before the first object ends.
	start := bytes.IndexByte(buf, '{')
	end := int(dec.InputOffset())
	if dec.PeekKind() == '}' {
		end++
	}
	if end > len(buf) {
		end = len(buf)
	}
	if start >= 0 && start < end && bytes.IndexByte(buf[start:end], '\n') >= 0 {
		return ShapeGraphJSON
	}
	return ShapeDiagnostic
}

// utf16Reader converts UTF-16 (as Windows PowerShell 5 writes with Out-File)
// to UTF-8.
type utf16Reader struct {
	r    io.Reader
	big  bool
	in   [4096]byte
	n    int // pending bytes in in
	out  []byte
	pos  int
	hi   rune // pending high surrogate
	rerr error
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for u.pos == len(u.out) {
		u.out, u.pos = u.out[:0], 0
		if u.rerr != nil {
			return 0, u.rerr
		}
		m, err := u.r.Read(u.in[u.n:])
		u.n += m
		if err != nil {
			u.rerr = err
		}
		i := 0
		for ; i+1 < u.n; i += 2 {
			var c rune
			if u.big {
				c = rune(u.in[i])<<8 | rune(u.in[i+1])
			} else {
				c = rune(u.in[i+1])<<8 | rune(u.in[i])
			}
			switch {
			case c >= 0xD800 && c < 0xDC00:
				if u.hi != 0 {
					u.out = utf8.AppendRune(u.out, utf8.RuneError)
				}
				u.hi = c
				continue
			case c >= 0xDC00 && c < 0xE000 && u.hi != 0:
				c = (u.hi-0xD800)<<10 + (c - 0xDC00) + 0x10000
				u.hi = 0
			case u.hi != 0:
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
				u.hi = 0
			}
			u.out = utf8.AppendRune(u.out, c)
		}
		copy(u.in[:], u.in[i:u.n])
		u.n -= i
	}
	n := copy(p, u.out[u.pos:])
	u.pos += n
	return n, nil
}

// locate fills e.Line and e.Column from e.Offset by counting lines in the
// input, when the input can be read at an offset (a file opened by Open or
// any io.ReaderAt). Used on the error path of JSON documents only.
func (r *Reader) locate(e *trace.InputError) {
	ra, ok := r.src.(io.ReaderAt)
	if !ok || r.utf16 || e.Offset < 0 || e.Line > 0 {
		return
	}
	end := e.Offset + r.skip
	line, col := 1, 1
	buf := make([]byte, 64<<10)
	for pos := r.skip; pos < end; {
		n, err := ra.ReadAt(buf[:min(int64(len(buf)), end-pos)], pos)
		for _, c := range buf[:n] {
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		pos += int64(n)
		if err != nil || n == 0 {
			if pos < end {
				return
			}
			break
		}
	}
	e.Line, e.Column = line, col
}
