package cli

import (
	"bufio"
	"encoding/json"
	"io"
	"maps"
	"slices"

	"github.com/idtrace/idtrace/internal/redact"
)

// removalJSON is one removal (sanitize --report) or one secret left
// (sanitize --check) in --format json and ndjson: where, never the value.
type removalJSON struct {
	Session int    `json:"session"`
	Rule    string `json:"rule"`
	Where   string `json:"where"`
}

// removalList writes the removals of sanitize --report, or the secrets
// sanitize --check finds, as JSON or NDJSON while they are found, so a
// trace with millions of them needs no memory for the list.
//
// json is one object: {"file", <list>: [...], "sessions", "total",
// "by_rule"}. ndjson is one removalJSON per line, nothing else.
type removalList struct {
	w      *bufio.Writer
	ndjson bool
	n      int
	err    error
}

// newRemovalList starts a list named list ("removed" or "secrets") of the
// trace file on w in format ("json" or "ndjson").
func newRemovalList(w io.Writer, format, file, list string) *removalList {
	l := &removalList{w: bufio.NewWriter(w), ndjson: format == "ndjson"}
	if !l.ndjson {
		l.raw(`{"file":`)
		l.value(file)
		l.raw(`,"` + list + `":[`)
	}
	return l
}

func (l *removalList) raw(s string) {
	if l.err == nil {
		_, l.err = l.w.WriteString(s)
	}
}

func (l *removalList) value(v any) {
	b, err := json.Marshal(v)
	if err != nil && l.err == nil {
		l.err = err
	}
	l.raw(string(b))
}

// add writes one removal; it suits redact.Options.OnRemove.
func (l *removalList) add(m redact.Removal) {
	switch {
	case l.ndjson:
		l.value(removalJSON{m.FlowID, m.Rule, m.Where})
		l.raw("\n")
	default:
		if l.n > 0 {
			l.raw(",")
		}
		l.raw("\n  ")
		l.value(removalJSON{m.FlowID, m.Rule, m.Where})
	}
	l.n++
}

// close ends the list with the number of sessions read and the counts by
// rule, and flushes it.
func (l *removalList) close(sessions int, byRule map[string]int) error {
	if !l.ndjson {
		if l.n > 0 {
			l.raw("\n")
		}
		total := 0
		for _, v := range byRule {
			total += v
		}
		l.raw(`],"sessions":`)
		l.value(sessions)
		l.raw(`,"total":`)
		l.value(total)
		l.raw(`,"by_rule":{`)
		for i, k := range slices.Sorted(maps.Keys(byRule)) {
			if i > 0 {
				l.raw(",")
			}
			l.value(k)
			l.raw(":")
			l.value(byRule[k])
		}
		l.raw("}}\n")
	}
	if l.err != nil {
		return l.err
	}
	return l.w.Flush()
}
