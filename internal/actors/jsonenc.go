package actors

import (
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the story as one JSON object, the same as
// encoding/json would produce for it (field names and omissions per the
// struct tags), without reflection: `idtrace logs --format json` writes
// millions of them.
func (s *Story) AppendJSON(b []byte) []byte {
	b = append(b, `{"kind":`...)
	b = appendJSONString(b, s.Kind)
	b = append(b, `,"correlation_id":`...)
	b = appendJSONString(b, s.CorrelationID)
	b = append(b, `,"actor":`...)
	b = appendJSONString(b, s.Actor)
	b = append(b, `,"target":`...)
	b = appendJSONString(b, s.Target)
	var tc timeCache
	b = tc.appendField(b, `,"start":`, s.Start)
	b = tc.appendField(b, `,"end":`, s.End)
	b = append(b, `,"steps":`...)
	if s.Steps == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range s.Steps {
			if i > 0 {
				b = append(b, ',')
			}
			b = s.Steps[i].appendJSON(b, &tc)
		}
		b = append(b, ']')
	}
	if s.MoreSteps != 0 {
		b = append(b, `,"more_steps":`...)
		b = strconv.AppendInt(b, int64(s.MoreSteps), 10)
	}
	b = append(b, `,"summary":`...)
	b = appendJSONString(b, s.Summary)
	if len(s.Related) > 0 {
		b = append(b, `,"related_correlation_ids":`...)
		b = appendStrings(b, s.Related)
	}
	if len(s.Flags) > 0 {
		b = append(b, `,"flags":`...)
		b = appendStrings(b, s.Flags)
	}
	return append(b, '}')
}

// AppendJSON appends the actor as one JSON object, the same as
// encoding/json would produce for it, without reflection: the summary of
// `idtrace logs --format json` lists tens of thousands of actors.
func (a *Actor) AppendJSON(b []byte) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, a.Name)
	b = append(b, `,"upn":`...)
	b = appendJSONString(b, a.UPN)
	b = append(b, `,"app_id":`...)
	b = appendJSONString(b, a.AppID)
	b = append(b, `,"class":`...)
	b = appendJSONString(b, a.Class)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(a.Count), 10)
	b = append(b, `,"evidence":`...)
	if a.Evidence == nil {
		b = append(b, "null"...)
	} else {
		b = appendStrings(b, a.Evidence)
	}
	b = append(b, `,"explanation":`...)
	b = appendJSONString(b, a.Explanation)
	if len(a.Roles) > 0 {
		b = append(b, `,"roles":`...)
		b = appendStrings(b, a.Roles)
	}
	var tc timeCache
	b = tc.appendField(b, `,"first":`, a.First)
	b = tc.appendField(b, `,"last":`, a.Last)
	if len(a.Activities) > 0 {
		b = append(b, `,"activities":[`...)
		for i, ac := range a.Activities {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"activity":`...)
			b = appendJSONString(b, ac.Activity)
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, int64(ac.Count), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (st *Step) appendJSON(b []byte, tc *timeCache) []byte {
	b = append(b, '{')
	if !st.Time.IsZero() {
		b = tc.appendField(b, `"time":`, st.Time)
		b = append(b, ',')
	}
	b = append(b, `"actor":`...)
	b = appendJSONString(b, st.Actor)
	b = append(b, `,"activity":`...)
	b = appendJSONString(b, st.Activity)
	for _, f := range []struct{ k, v string }{{`,"result":`, st.Result}, {`,"detail":`, st.Detail}, {`,"correlation_id":`, st.CorrelationID}} {
		if f.v != "" {
			b = append(b, f.k...)
			b = appendJSONString(b, f.v)
		}
	}
	b = append(b, `,"source":`...)
	b = appendJSONString(b, st.Source)
	if st.Role != "" {
		b = append(b, `,"role":`...)
		b = appendJSONString(b, st.Role)
	}
	return append(b, '}')
}

// timeCache remembers the last time written: a story's start, end and step
// times are mostly one instant.
type timeCache struct {
	t    time.Time
	n    int
	text [40]byte
}

// appendField appends key and t as a JSON string, or nothing for a zero t.
func (c *timeCache) appendField(b []byte, key string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, key...)
	b = append(b, '"')
	if c.n == 0 || t != c.t {
		text := appendRFC3339Nano(c.text[:0], t)
		if len(text) > len(c.text) { // not kept: a year beyond 9999 or a long zone
			c.n = 0
			return append(append(b, text...), '"')
		}
		c.t, c.n = t, len(text)
	}
	b = append(b, c.text[:c.n]...)
	return append(b, '"')
}

// appendRFC3339Nano is t.AppendFormat(b, time.RFC3339Nano), written out by
// hand for UTC times of years 0 to 9999 (every log timestamp): the general
// formatter was a tenth of the time spent encoding stories.
func appendRFC3339Nano(b []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	if t.Location() != time.UTC || y < 0 || y > 9999 {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	h, mi, s := t.Clock()
	two := func(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(two(b, int(mo)), '-')
	b = append(two(b, d), 'T')
	b = append(two(b, h), ':')
	b = append(two(b, mi), ':')
	b = two(b, s)
	if ns := t.Nanosecond(); ns != 0 {
		var digits [9]byte
		for i := 8; i >= 0; i-- {
			digits[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 9
		for digits[n-1] == '0' {
			n--
		}
		b = append(append(b, '.'), digits[:n]...)
	}
	return append(b, 'Z')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping as encoding/json
// does (including <, > and &, U+2028 and U+2029; invalid UTF-8 becomes U+FFFD).
// jsonPlain marks the bytes appendJSONString copies as they are: ASCII but
// control characters, quote, backslash and the HTML-sensitive <, > and &.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// jsonSpecial flags (in the top bit of each byte) the bytes of x that need
// more than a copy in a JSON string: below 0x20, '"', '\\', '<', '>', '&',
// or not ASCII. The lowest flagged byte is always a true one (a borrow of the
// subtractions only reaches higher bytes), so it is the first to handle.
// '"' and '&' (0x22, 0x26) are tested at once, as are '<' and '>' (0x3c,
// 0x3e): each pair differs in one bit. Small enough to be inlined.
func jsonSpecial(x uint64) uint64 {
	const lsb, msb = 0x0101010101010101, 0x8080808080808080
	qa, lg, bs := (x^('"'*lsb))&^(4*lsb), (x^('<'*lsb))&^(2*lsb), x^('\\'*lsb)
	return ((x-0x20*lsb)&^x | (qa-lsb)&^qa | (lg-lsb)&^lg | (bs-lsb)&^bs | x) & msb
}

// load8 reads w[:8] as a little-endian word (one load).
func load8(w string) uint64 {
	w = w[:8]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		for i+16 <= len(s) {
			mx, my := jsonSpecial(load8(s[i:])), jsonSpecial(load8(s[i+8:]))
			if mx|my != 0 {
				if mx != 0 {
					i += bits.TrailingZeros64(mx) >> 3
				} else {
					i += 8 + bits.TrailingZeros64(my)>>3
				}
				goto special
			}
			i += 16
		}
		for i+8 <= len(s) {
			if m := jsonSpecial(load8(s[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
	special:
		if i >= len(s) {
			break
		}
		c := s[i]
		if jsonPlain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
