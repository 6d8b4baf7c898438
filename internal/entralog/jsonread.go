package entralog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/idtrace/idtrace/internal/trace"
)

// mapJSONRecord maps one JSON record: a diagnostic-settings envelope (with a
// "properties" object and a category or operationName) or a bare Graph-like
// record.
func mapJSONRecord(ev *trace.Event, n *node, keep *extraFilter) error {
	r := rec{n: n, keep: keep}
	r.index()
	if p := r.peek(kProperties); p != nil && (r.has(kCategory) || r.has(kOperationName)) {
		pn, err := parseInPlace(p, r.name(kProperties))
		if err != nil {
			return err
		}
		if pn != nil && pn.kind == 'o' {
			r.get(kProperties)
			props := rec{n: pn, keep: keep}
			props.index()
			return mapGraph(ev, &props, &r)
		}
	}
	return mapGraph(ev, &r, nil)
}

// jsonErr locates a JSON decoding error by byte offset.
func (r *Reader) jsonErr(record int, dec *jsontext.Decoder, err error) *trace.InputError {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	e := r.inputErr(record, 0, "", err)
	e.Offset = dec.InputOffset()
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		e.Offset = se.ByteOffset
		if e.Field == "" && se.JSONPointer != "" {
			e.Field = string(se.JSONPointer)
		}
		if se.Err != nil {
			e.Err = se.Err // the position is in e already
		}
	}
	r.locate(e)
	return e
}

// jsonEvents streams JSON arrays of records, Graph response objects with a
// "value" array (one or several pages, one after another), and bare record
// objects, in any sequence.
func (r *Reader) jsonEvents(yield func(*trace.Event, error) bool) {
	dec := jsontext.NewDecoder(r.br, jsonOpts...)
	ps := newParser(dec)
	ps.keep = r.keep
	recNo := 0
	// one maps and yields one record node; false stops.
	one := func(n *node) bool {
		ev := &trace.Event{File: r.name, Line: recNo, LineKind: "record", Shape: r.shape}
		var err error
		if n.kind != 'o' {
			err = fmt.Errorf("record is a JSON %s, not an object", kindName(n.kind))
		} else {
			err = mapJSONRecord(ev, n, r.keep)
		}
		if err != nil {
			yield(nil, r.jsonErr(recNo, dec, err))
			return false
		}
		return yield(ev, nil)
	}
	array := func() bool {
		if _, err := dec.ReadToken(); err != nil {
			yield(nil, r.jsonErr(recNo, dec, err))
			return false
		}
		for dec.PeekKind() != ']' {
			recNo++
			n, err := ps.record(true)
			if err != nil {
				yield(nil, r.jsonErr(recNo, dec, err))
				return false
			}
			if !one(&n) {
				return false
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			yield(nil, r.jsonErr(recNo, dec, err))
			return false
		}
		return true
	}
	for {
		switch dec.PeekKind() {
		case 0:
			_, err := dec.ReadToken()
			if err == io.EOF {
				return
			}
			yield(nil, r.jsonErr(recNo+1, dec, err))
			return
		case '[':
			if !array() {
				return
			}
		case '{':
			dec.ReadToken()
			page := node{kind: 'o'}
			paged := false
			ps.budget = maxRecordBytes
			for dec.PeekKind() != '}' {
				kt, err := dec.ReadToken()
				if err != nil {
					yield(nil, r.jsonErr(recNo+1, dec, err))
					return
				}
				key := kt.String()
				if strings.EqualFold(key, "value") && dec.PeekKind() == '[' {
					paged = true
					if !array() {
						return
					}
					continue
				}
				v, err := ps.node(1, false)
				if err == nil && ps.budget < 0 {
					err = errTooLarge
				}
				if err != nil {
					yield(nil, r.jsonErr(recNo+1, dec, err))
					return
				}
				page.mem = append(page.mem, member{key: key, val: v})
			}
			if _, err := dec.ReadToken(); err != nil {
				yield(nil, r.jsonErr(recNo+1, dec, err))
				return
			}
			if !paged {
				recNo++
				if !one(&page) {
					return
				}
			}
		default:
			recNo++
			n, err := ps.record(false)
			if err != nil {
				yield(nil, r.jsonErr(recNo, dec, err))
				return
			}
			if !one(&n) {
				return
			}
		}
	}
}

func kindName(k byte) string {
	switch k {
	case 's':
		return "string"
	case 'n':
		return "number"
	case 't', 'f':
		return "boolean"
	case 'z':
		return "null"
	case 'a':
		return "array"
	}
	return "value"
}

// ndjsonEvents reads one JSON record per line (diagnostic settings, Event
// Hub captures). Blank lines are skipped.
func (r *Reader) ndjsonEvents(yield func(*trace.Event, error) bool) {
	if r.workers > 1 {
		r.ndjsonParallel(yield)
		return
	}
	dec := jsontext.NewDecoder(bytes.NewReader(nil), jsonOpts...)
	ps := newParser(dec)
	ps.keep = r.keep
	var buf []byte
	lineNo, recNo := 0, 0
	for {
		line, rerr := readLine(r.br, &buf)
		lineNo++
		if rerr != nil && rerr != io.EOF {
			yield(nil, r.inputErr(recNo+1, lineNo, "", rerr))
			return
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			recNo++
			ev, err := r.ndjsonLine(ps, new(trace.Event), line, string(line), lineNo, recNo)
			var oc *otherCategory
			switch {
			case errors.As(err, &oc):
				r.countSkipped(oc.category)
			case err != nil:
				yield(nil, err)
				return
			default:
				if !yield(ev, nil) {
					return
				}
			}
		}
		if rerr == io.EOF {
			return
		}
	}
}

// countSkipped counts a passed-over record of another category.
func (r *Reader) countSkipped(category string) {
	if r.skipped == nil {
		r.skipped = map[string]int{}
	}
	if len(r.skipped) < 1000 || r.skipped[category] > 0 {
		r.skipped[category]++
	} else {
		r.skipped["(other categories)"]++
	}
}

// ndjsonLine maps one line into ev (a zero Event); s is the line as a
// string (the Event's strings may be substrings of it).
func (r *Reader) ndjsonLine(ps *parser, ev *trace.Event, line []byte, s string, lineNo, recNo int) (*trace.Event, error) {
	if n, ok := ps.fastLine(s, true); ok && n.kind == 'o' {
		ev.File, ev.Line, ev.LineKind, ev.Shape = r.name, lineNo, "line", r.shape
		if err := mapJSONRecord(ev, &n, r.keep); err != nil {
			return nil, r.inputErr(recNo, lineNo, "", err)
		}
		return ev, nil
	}
	dec := ps.dec
	dec.Reset(bytes.NewReader(line), jsonOpts...)
	lineErr := func(err error) error {
		e := r.inputErr(recNo, lineNo, "", err)
		var se *jsontext.SyntacticError
		if errors.As(err, &se) {
			e.Column = int(se.ByteOffset) + 1
			if se.JSONPointer != "" {
				e.Field = string(se.JSONPointer)
			}
			if se.Err != nil {
				e.Err = se.Err
			}
		} else if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			e.Err = io.ErrUnexpectedEOF
			e.Column = len(line) + 1
		}
		return e
	}
	n, err := ps.record(true)
	if err != nil {
		return nil, lineErr(err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		if err == nil {
			err = errors.New("more than one JSON value on the line")
		}
		return nil, lineErr(err)
	}
	if n.kind != 'o' {
		return nil, lineErr(fmt.Errorf("record is a JSON %s, not an object", kindName(n.kind)))
	}
	ev.File, ev.Line, ev.LineKind, ev.Shape = r.name, lineNo, "line", r.shape
	if err := mapJSONRecord(ev, &n, r.keep); err != nil {
		return nil, r.inputErr(recNo, lineNo, "", err)
	}
	return ev, nil
}

// readLine returns the next line without its line ending, reusing *buf. It
// fails on lines longer than maxRecordBytes.
func readLine(br *bufio.Reader, buf *[]byte) ([]byte, error) {
	*buf = (*buf)[:0]
	for {
		b, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			*buf = append(*buf, b...)
			if len(*buf) > maxRecordBytes {
				return nil, errTooLarge
			}
			continue
		}
		var line []byte
		if len(*buf) > 0 {
			*buf = append(*buf, b...)
			line = *buf
		} else {
			line = b
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) > maxRecordBytes {
			return nil, errTooLarge
		}
		return line, err
	}
}
