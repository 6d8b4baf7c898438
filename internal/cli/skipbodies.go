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
	lastKey    string // the last complete string, while a ':' may follow it
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
		if (s.inBody || s.inStr) && !s.esc && s.bulk() {
			continue
		}
		c, err := s.r.ReadByte()
		if err != nil {
			if s.inBody && !s.dropping {
				// Truncated inside a body: pass on what there was.
				s.out, s.body, s.inBody = append(s.out, s.body...), nil, false
			}
			if len(s.out) > s.pos {
				break
			}
			return 0, err
		}
		s.step(c)
	}
	n := copy(p, s.out[s.pos:])
	s.pos += n
	return n, nil
}

// bulk moves the run of plain string bytes at the head of the input (up to
// the next quote or backslash) in one piece. It reports whether it moved any.
func (s *skipBodies) bulk() bool {
	n := s.r.Buffered()
	if n == 0 {
		if _, err := s.r.Peek(1); err != nil {
			return false
		}
		n = s.r.Buffered()
	}
	buf, _ := s.r.Peek(n)
	if i := bytes.IndexAny(buf, "\"\\"); i >= 0 {
		buf = buf[:i]
	}
	if len(buf) == 0 {
		return false
	}
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
	s.r.Discard(len(buf))
	return true
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
			if !s.long {
				s.lastKey = string(s.str)
			}
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
		s.afterColon = s.lastKey == "text"
		s.lastKey = ""
	case '"':
		if s.afterColon {
			s.afterColon = false
			s.inBody, s.body = true, append(s.body[:0], c)
			return
		}
		s.inStr, s.long, s.str = true, false, s.str[:0]
	default:
		s.afterColon, s.lastKey = false, ""
	}
	s.out = append(s.out, c)
}
