package cli

import (
	"bufio"
	"bytes"
	"io"
)

// bigBody is the length above which skipBodies drops a body string.
const bigBody = 1 << 20

// skipBodies wraps a HAR stream for commands that list sessions without
// reading their bodies (ls without --grep, ls --count): the value of every
// "text" member (postData.text, content.text) longer than bigBody is
// replaced by null, as if the file had not kept that body, so a 300 MB
// body costs no memory. The HAR reader then reports the body as omitted
// and ls shows content.size. Byte offsets in error messages after a
// dropped body are offsets in the rewritten stream.
type skipBodies struct {
	r     *bufio.Reader
	limit int    // bigBody, smaller in tests
	out   []byte // bytes ready to be read, from pos
	pos   int

	inStr, esc bool
	str        []byte // the current string's bytes (keys and short values only)
	long       bool   // the current string grew past 16 bytes (not a key we track)
	lastText   bool   // the last complete string was "text", while a ':' may follow it
	afterColon bool   // a ':' followed a "text" key
	// body is a "text" value being held until it ends or passes bigBody.
	body     []byte
	inBody   bool
	dropping bool
}

func newSkipBodies(r io.Reader) *skipBodies {
	return &skipBodies{r: bufio.NewReaderSize(r, 64<<10), limit: bigBody}
}

func (s *skipBodies) Read(p []byte) (int, error) {
	if s.pos == len(s.out) {
		s.out, s.pos = s.out[:0], 0
	}
	for len(s.out)-s.pos < len(p) {
		if s.r.Buffered() == 0 {
			if _, err := s.r.Peek(1); err != nil {
				if s.inBody && !s.dropping {
					// Truncated inside a body: pass on what there was.
					s.out, s.body, s.inBody = append(s.out, s.body...), nil, false
				}
				if len(s.out) > s.pos {
					break
				}
				return 0, err
			}
		}
		buf, _ := s.r.Peek(s.r.Buffered())
		i := 0
		for i < len(buf) && len(s.out)-s.pos < len(p) {
			if (s.inBody || s.inStr) && !s.esc {
				if n := plainRun(buf[i:]); n > 0 {
					s.take(buf[i : i+n])
					i += n
					continue
				}
			}
			s.step(buf[i])
			i++
		}
		s.r.Discard(i)
	}
	n := copy(p, s.out[s.pos:])
	s.pos += n
	return n, nil
}

// plainRun is the length of the run of string bytes at the head of b that
// are neither a quote nor a backslash. Two IndexByte scans are vectorised,
// where IndexAny with a set is not.
func plainRun(b []byte) int {
	if i := bytes.IndexByte(b, '"'); i >= 0 {
		b = b[:i]
	}
	if i := bytes.IndexByte(b, '\\'); i >= 0 {
		b = b[:i]
	}
	return len(b)
}

// take moves a run of plain string bytes (see plainRun) in one piece.
func (s *skipBodies) take(buf []byte) {
	switch {
	case s.inBody && s.dropping:
	case s.inBody:
		s.body = append(s.body, buf...)
		if len(s.body) > s.limit {
			s.body, s.dropping = nil, true
			s.out = append(s.out, "null"...)
		}
	default:
		s.out = append(s.out, buf...)
		if !s.long {
			if len(s.str)+len(buf) <= 16 {
				s.str = append(s.str, buf...)
			} else {
				s.long = true
			}
		}
	}
}

func (s *skipBodies) step(c byte) {
	if s.inBody {
		end := false
		switch {
		case s.esc:
			s.esc = false
		case c == '\\':
			s.esc = true
		case c == '"':
			end = true
		}
		if s.dropping {
			if end {
				s.inBody, s.dropping = false, false
			}
			return
		}
		s.body = append(s.body, c)
		if end {
			s.out, s.body, s.inBody = append(s.out, s.body...), s.body[:0], false
			return
		}
		if len(s.body) > s.limit {
			s.body, s.dropping = nil, true
			s.out = append(s.out, "null"...)
		}
		return
	}
	if s.inStr {
		s.out = append(s.out, c)
		switch {
		case s.esc:
			s.esc = false
		case c == '\\':
			s.esc = true
		case c == '"':
			s.inStr = false
			s.lastText = !s.long && string(s.str) == "text"
			return
		}
		if !s.long {
			if len(s.str) < 16 {
				s.str = append(s.str, c)
			} else {
				s.long = true
			}
		}
		return
	}
	switch c {
	case ' ', '\t', '\r', '\n':
	case ':':
		s.afterColon = s.lastText
		s.lastText = false
	case '"':
		if s.afterColon {
			s.afterColon = false
			s.inBody, s.body = true, append(s.body[:0], c)
			return
		}
		s.inStr, s.long, s.str = true, false, s.str[:0]
	default:
		s.afterColon, s.lastText = false, false
	}
	s.out = append(s.out, c)
}
