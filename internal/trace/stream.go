package trace

import (
	"fmt"
	"iter"
)

// Source is a stream of flows with the trace's metadata. The HAR and SAZ
// readers implement it.
type Source interface {
	// Meta returns the trace metadata. Fields a file stores after its
	// entries are complete only once Flows has been fully consumed.
	Meta() *Meta
	// Flows yields each flow once, in order. After an error it stops.
	Flows() iter.Seq2[*Flow, error]
}

// Sink receives flows one at a time: the HAR and SAZ writers implement it.
type Sink interface {
	// WriteFlow records f. The sink must not modify f nor keep it after returning.
	WriteFlow(f *Flow) error
	// Close finishes the output with the final metadata (which may have grown
	// since the sink was created). It does not close the underlying writer.
	Close(meta *Meta) error
}

// InputError is a problem in an input file, located as precisely as the
// reader can: every reader returns one for malformed input so that the CLI
// prints one line with the file, the entry or line, and the field.
type InputError struct {
	File string
	// Entry is the 0-based HAR entry index or the SAZ session number; -1 if none.
	Entry int
	// EntryKind names what Entry counts ("entry", "session", "record"); default "entry".
	EntryKind string
	// Line and Column are 1-based positions in text formats; 0 if unknown.
	Line, Column int
	// Offset is the byte offset in the file; -1 if unknown.
	Offset int64
	// Field is the path of the offending field ("response.status"); "" if none.
	Field string
	Err   error
}

func (e *InputError) Error() string {
	s := e.File
	if s == "" {
		s = "input"
	}
	if e.Entry >= 0 {
		k := e.EntryKind
		if k == "" {
			k = "entry"
		}
		s += fmt.Sprintf(": %s %d", k, e.Entry)
	}
	if e.Line > 0 {
		s += fmt.Sprintf(": line %d", e.Line)
		if e.Column > 0 {
			s += fmt.Sprintf(", column %d", e.Column)
		}
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" (byte %d)", e.Offset)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *InputError) Unwrap() error { return e.Err }
