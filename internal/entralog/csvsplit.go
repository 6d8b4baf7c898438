package entralog

import (
	"math/bits"
	"strings"
)

// csvSplitter cuts the records of one chunk of CSV text into fields without
// encoding/csv, for the parallel reader. It accepts only input that
// encoding/csv, as the CSV reader configures it (comma separator, no
// comments, LazyQuotes and TrimLeadingSpace off, a fixed number of fields),
// reads without error, and gives the same fields and the same line numbers:
// blank lines are skipped, "\r\n" ends a line as "\n" does (and becomes "\n"
// inside a quoted field), a doubled quote in a quoted field is one quote.
// Anything else — a quote in an unquoted field, text after a closing quote,
// an unterminated quote, a carriage return not before a newline, a record
// with another number of fields, a record over the size limit — makes next
// report bad, and the caller hands the whole chunk to encoding/csv instead,
// so that every error (its line, column and message) has one source.
//
// A record's fields are kept as spans of s (no pointers, so no GC write
// barriers per field); field returns them as substrings of s, which is the
// chunk's bytes as a string, valid until the consumer releases the chunk's
// Events (see csvFast and Reader.Release).
type csvSplitter struct {
	s     string
	pos   int
	line  int // newlines before pos
	n     int // fields per record
	limit int // most bytes of one record
	spans []csvSpan
	// esc holds the values of the record's quoted fields that differ
	// from their text (a doubled quote, a "\r\n").
	esc []string
}

// csvSpan is one field: s[a:b], or esc[b] when a is -1.
type csvSpan struct{ a, b int }

// field returns field i of the record next read.
func (sp *csvSplitter) field(i int) string {
	if f := sp.spans[i]; f.a >= 0 {
		return sp.s[f.a:f.b]
	}
	return sp.esc[sp.spans[i].b]
}

// fields returns the fields of the record next read, in a new slice.
func (sp *csvSplitter) fields() []string {
	out := make([]string, len(sp.spans))
	for i := range out {
		out[i] = sp.field(i)
	}
	return out
}

// csvSpecial marks the bytes that end an unquoted field or need a look.
var csvSpecial = [256]bool{',': true, '\n': true, '\r': true, '"': true}

// reset makes sp split s, whose records have n fields of at most limit
// bytes in all.
func (sp *csvSplitter) reset(s string, n, limit int) {
	sp.s, sp.pos, sp.line, sp.n, sp.limit = s, 0, 0, n, limit
	if cap(sp.spans) < n {
		sp.spans = make([]csvSpan, 0, n)
	}
}

// next reads the next record (see field) and returns the 1-based line, within s, where it starts. The record's size, for
// the limit, counts the blank lines before it, as the encoding/csv path
// does. ok is false at the end of
// s; bad is true when the record is not one the splitter handles (see
// csvSplitter).
func (sp *csvSplitter) next() (line int, ok, bad bool) {
	s, pos, from := sp.s, sp.pos, sp.pos
	// Blank lines before a record are skipped, as encoding/csv does.
	for pos < len(s) {
		if s[pos] == '\n' {
			sp.line++
			pos++
		} else if s[pos] == '\r' && pos+1 < len(s) && s[pos+1] == '\n' {
			sp.line++
			pos += 2
		} else {
			break
		}
	}
	if pos >= len(s) {
		sp.pos = pos
		return 0, false, false
	}
	line = sp.line + 1
	sp.esc = sp.esc[:0]
	if next, ok := sp.oneLine(pos); ok {
		if next-from > sp.limit {
			return 0, false, true
		}
		if next > 0 && s[next-1] == '\n' {
			sp.line++
		}
		sp.pos = next
		return line, true, false
	}
	spans := sp.spans[:0]
	sp.esc = sp.esc[:0]
	for {
		var f csvSpan
		if pos < len(s) && s[pos] == '"' {
			var simple bool
			f.a = pos + 1
			f.b, pos, simple = sp.quoted(pos)
			if pos < 0 {
				return 0, false, true
			}
			if !simple {
				sp.esc = append(sp.esc, unescapeQuoted(s[f.a:f.b]))
				f = csvSpan{-1, len(sp.esc) - 1}
			}
		} else {
			i := specialAt(s, pos)
			f, pos = csvSpan{pos, i}, i
		}
		if len(spans) == sp.n {
			return 0, false, true // too many fields
		}
		spans = append(spans, f)
		switch {
		case pos == len(s):
		case s[pos] == ',':
			pos++
			continue // at the very end, one more (empty) field
		case s[pos] == '\n':
			sp.line++
			pos++
		case s[pos] == '\r' && pos+1 < len(s) && s[pos+1] == '\n':
			sp.line++
			pos += 2
		default:
			// a quote in an unquoted field, text after a closing quote
			// or a lone carriage return
			return 0, false, true
		}
		break
	}
	sp.spans = spans
	if len(spans) != sp.n || pos-from > sp.limit {
		return 0, false, true
	}
	sp.pos = pos
	return line, true, false
}

// oneLine reads the record at pos when it is all on one line, with
// strings.IndexByte (vectorised) rather than byte by byte: it finds the
// line's end, the line's first quote and any carriage return, then cuts the
// fields at commas. It returns the position after the line's newline and
// true when it read the record into sp.spans; false leaves the record to
// the general loop of next (a quoted field that goes on past the line, a
// carriage return before the line's end, a field in error), which reads it
// again from pos.
func (sp *csvSplitter) oneLine(pos int) (int, bool) {
	s := sp.s
	end, next := len(s), len(s)
	if k := strings.IndexByte(s[pos:], '\n'); k >= 0 {
		end, next = pos+k, pos+k+1
		if end > pos && s[end-1] == '\r' {
			end--
		}
	}
	line := s[:end]
	if strings.IndexByte(line[pos:], '\r') >= 0 {
		return 0, false
	}
	q := len(line) // the next quote at or after a field's start
	if k := strings.IndexByte(line[pos:], '"'); k >= 0 {
		q = pos + k
	}
	spans := sp.spans[:0]
	for a := pos; ; {
		if len(spans) == sp.n {
			return 0, false // too many fields
		}
		var b int // the field's end: a comma or the line's end
		switch {
		case a == len(line) || line[a] == ',':
			b = a
			spans = append(spans, csvSpan{a, a})
		case a == q:
			// A quoted field: it must close on this line, and only a
			// comma or the line's end may follow.
			f := csvSpan{a + 1, 0}
			simple := true
			i := a + 1
			for {
				j := strings.IndexByte(line[i:], '"')
				if j < 0 {
					return 0, false
				}
				j += i
				if j+1 < len(line) && line[j+1] == '"' {
					simple, i = false, j+2
					continue
				}
				f.b, b = j, j+1
				break
			}
			if b < len(line) && line[b] != ',' {
				return 0, false
			}
			if !simple {
				sp.esc = append(sp.esc, strings.ReplaceAll(line[f.a:f.b], `""`, `"`))
				f = csvSpan{-1, len(sp.esc) - 1}
			}
			spans = append(spans, f)
			q = len(line)
			if k := strings.IndexByte(line[b:], '"'); k >= 0 {
				q = b + k
			}
		default:
			b = len(line)
			if k := strings.IndexByte(line[a:], ','); k >= 0 {
				b = a + k
			}
			if q < b {
				return 0, false // a quote in an unquoted field
			}
			spans = append(spans, csvSpan{a, b})
		}
		if b == len(line) {
			break
		}
		a = b + 1
	}
	sp.spans = spans
	if len(spans) != sp.n {
		return 0, false
	}
	return next, true
}

// quoted reads the quoted field whose opening quote is at s[pos]: it returns
// the end of the text between the quotes, the position after the closing
// quote (-1 when the field is not one the splitter handles), and whether the
// text is the field's value as is (no doubled quote, no "\r\n"). Newlines in
// it are counted in sp.line.
func (sp *csvSplitter) quoted(pos int) (int, int, bool) {
	s := sp.s
	simple := true
	i := pos + 1
	for {
		j := strings.IndexByte(s[i:], '"')
		if j < 0 {
			return 0, -1, false // unterminated
		}
		j += i
		seg := s[i:j]
		sp.line += strings.Count(seg, "\n")
		for k := strings.IndexByte(seg, '\r'); k >= 0; {
			if k+1 >= len(seg) || seg[k+1] != '\n' {
				return 0, -1, false // a carriage return not before a newline
			}
			simple = false
			next := strings.IndexByte(seg[k+1:], '\r')
			if next < 0 {
				break
			}
			k += 1 + next
		}
		if j+1 < len(s) && s[j+1] == '"' {
			simple = false
			i = j + 2
			continue
		}
		return j, j + 1, simple
	}
}

// unescapeQuoted turns the text of a quoted field, as written, into its
// value: a doubled quote is one, "\r\n" is "\n".
func unescapeQuoted(f string) string {
	return strings.ReplaceAll(strings.ReplaceAll(f, `""`, `"`), "\r\n", "\n")
}

const (
	swarLow  = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// specialAt returns the index of the first byte at or after i in s that
// csvSpecial marks, or len(s). It tests eight bytes at a time: for each
// special byte c, w^(c*swarLow) has a zero byte where w holds c, and
// (x-swarLow)&^x&swarHigh sets the high bit of a word's first zero byte
// (bits above it may be set too, never below), so the lowest bit set in
// the union is the first special byte.
func specialAt(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		x1, x2, x3, x4 := w^(','*swarLow), w^('\n'*swarLow), w^('\r'*swarLow), w^('"'*swarLow)
		m := ((x1 - swarLow) &^ x1) | ((x2 - swarLow) &^ x2) | ((x3 - swarLow) &^ x3) | ((x4 - swarLow) &^ x4)
		if m &= swarHigh; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(s) && !csvSpecial[s[i]] {
		i++
	}
	return i
}
