package entralog

import (
	"math/bits"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// A fast path for NDJSON lines: the line is converted to a string once and
// parsed in place, so names, unescaped strings, numbers and raw values are
// substrings of it rather than copies. It accepts only valid JSON (the
// same grammar as jsontext, invalid UTF-8 allowed); on anything it does not
// accept, it gives up and the jsontext path parses the line again and
// reports the error, so error messages have one source.

type fast struct {
	p *parser
	s string
	i int
	// nkey counts the object names read so far, in document order: the
	// index into p.pred.
	nkey int
}

// fastLine parses one line holding one JSON value; ok is false when the
// line is not simple valid JSON (the caller falls back to jsontext). The
// tree's slices live in the parser's slabs: it is valid until the next call.
func (p *parser) fastLine(s string, raw bool) (n node, ok bool) {
	f := fast{p: p, s: s}
	p.mslab = p.mslab[:0]
	ms := len(p.mstack)
	defer func() { p.mstack = p.mstack[:ms] }()
	p.budget = maxRecordBytes
	if len(s) > maxRecordBytes {
		return node{}, false
	}
	f.ws()
	n, ok = f.value(0, raw)
	if !ok {
		return node{}, false
	}
	f.ws()
	return n, f.i == len(f.s)
}

// maxPredicted bounds the object names remembered per line (see predicted).
const maxPredicted = 512

// predicted returns the interned name the previous line had at this
// position (the nkey-th name) when the input here is that name, quoted as
// written; nil otherwise. Exports repeat their records' shape line after
// line, so most names are recognised by one comparison instead of being
// scanned and looked up.
func (f *fast) predicted() *internedKey {
	if f.nkey >= len(f.p.pred) {
		return nil
	}
	pr := &f.p.pred[f.nkey]
	if pr.quoted == "" || !strings.HasPrefix(f.s[f.i:], pr.quoted) {
		return nil
	}
	return pr
}

// predict remembers e as the nkey-th name of the line, for the next line.
func (f *fast) predict(e *internedKey) {
	switch p := f.p; {
	case f.nkey < len(p.pred):
		p.pred[f.nkey] = *e
	case f.nkey == len(p.pred) && f.nkey < maxPredicted:
		p.pred = append(p.pred, *e)
	}
}

// quotedName is name as a JSON string token, when writing it needs no
// escape (the only tokens predicted can match); "" otherwise.
func quotedName(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == '"' || c == '\\' {
			return ""
		}
	}
	return `"` + name + `"`
}

func (f *fast) ws() {
	for f.i < len(f.s) {
		switch f.s[f.i] {
		case ' ', '\t', '\r', '\n':
			f.i++
		default:
			return
		}
	}
}

func (f *fast) value(depth int, raw bool) (node, bool) {
	if depth > maxDepth || f.i >= len(f.s) {
		return node{}, false
	}
	p := f.p
	switch c := f.s[f.i]; c {
	case '{':
		f.i++
		mark := len(p.mstack)
		f.ws()
		if f.i < len(f.s) && f.s[f.i] == '}' {
			f.i++
			return node{kind: 'o'}, true
		}
		for {
			f.ws()
			var e internedKey
			if pr := f.predicted(); pr != nil {
				// the name the previous line had here, as written
				e = *pr
				f.i += len(e.quoted)
			} else {
				key, ok := f.str()
				if !ok {
					return node{}, false
				}
				slot := &p.keyCache[keySlot(key)]
				if slot.s == key && slot.s != "" {
					e = *slot
				} else if found, ok := p.intern[key]; ok {
					e = found
					*slot = e
				} else {
					e = newInterned(key, p.keep)
					if len(p.intern) < maxIntern {
						e.s = strings.Clone(key)
						e.quoted = quotedName(e.s)
						p.intern[e.s] = e
					}
				}
				f.predict(&e)
			}
			f.nkey++
			key, kid, adm := e.s, e.kid, e.adm
			f.ws()
			if f.i >= len(f.s) || f.s[f.i] != ':' {
				return node{}, false
			}
			f.i++
			f.ws()
			switch {
			case raw && kid < 0 && adm < 0:
				// A member of the record or of its "properties" that the
				// mapping never reads (not a known key) and the Extra filter
				// leaves out: validated and passed over, never built.
				if !f.skip(depth + 1) {
					return node{}, false
				}
			case f.i < len(f.s) && raw && (f.s[f.i] == '{' || f.s[f.i] == '[') && !e.structured:
				start := f.i
				if !f.skip(depth + 1) {
					return node{}, false
				}
				p.mstack = append(p.mstack, member{key: key, val: node{kind: 'r', s: f.s[start:f.i]}, kid: kid, adm: adm})
			default:
				v, ok := f.value(depth+1, raw && e.properties)
				if !ok {
					return node{}, false
				}
				p.mstack = append(p.mstack, member{key: key, val: v, kid: kid, adm: adm})
			}
			f.ws()
			if f.i >= len(f.s) {
				return node{}, false
			}
			if f.s[f.i] == ',' {
				f.i++
				continue
			}
			if f.s[f.i] != '}' {
				return node{}, false
			}
			f.i++
			n := node{kind: 'o', mem: p.members(p.mstack[mark:])}
			p.mstack = p.mstack[:mark]
			return n, true
		}
	case '[':
		f.i++
		mark := len(p.mstack)
		f.ws()
		if f.i < len(f.s) && f.s[f.i] == ']' {
			f.i++
			return node{kind: 'a'}, true
		}
		for {
			f.ws()
			v, ok := f.value(depth+1, false)
			if !ok {
				return node{}, false
			}
			p.mstack = append(p.mstack, member{val: v})
			f.ws()
			if f.i >= len(f.s) {
				return node{}, false
			}
			if f.s[f.i] == ',' {
				f.i++
				continue
			}
			if f.s[f.i] != ']' {
				return node{}, false
			}
			f.i++
			n := node{kind: 'a', mem: p.members(p.mstack[mark:])}
			p.mstack = p.mstack[:mark]
			return n, true
		}
	case '"':
		s, ok := f.str()
		return node{kind: 's', s: s}, ok
	case 't':
		return node{kind: 't'}, f.lit("true")
	case 'f':
		return node{kind: 'f'}, f.lit("false")
	case 'n':
		return node{kind: 'z'}, f.lit("null")
	default:
		start := f.i
		if !f.num() {
			return node{}, false
		}
		return node{kind: 'n', s: f.s[start:f.i]}, true
	}
}

func (f *fast) lit(l string) bool {
	if strings.HasPrefix(f.s[f.i:], l) {
		f.i += len(l)
		return true
	}
	return false
}

// strPlain marks the bytes that go as they are inside a JSON string.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// keySlot is the keyCache slot of an object name.
func keySlot(k string) int {
	if k == "" {
		return 0
	}
	return (len(k)*31 + int(k[0])*7 + int(k[len(k)-1])*3 + int(k[len(k)/2])) & (len(parser{}.keyCache) - 1)
}

// SWAR constants: a byte of x is '"', '\\' or below 0x20 when
// special(x) != 0 (the classic "has a zero byte" and "has a byte less
// than n" bit tricks; bytes from 0x80 up never match).
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

func special(x uint64) uint64 {
	q := x ^ ('"' * lsb)
	b := x ^ ('\\' * lsb)
	return ((q-lsb)&^q | (b-lsb)&^b | (x-0x20*lsb)&^x) & msb
}

// str reads a JSON string at f.i; unescaped strings are substrings.
func (f *fast) str() (string, bool) {
	s := f.s
	if f.i >= len(s) || s[f.i] != '"' {
		return "", false
	}
	start := f.i
	i := f.i + 1
	escaped := false
	for {
		// Eight bytes at a time up to the first quote, backslash or control
		// byte: the lowest byte special flags is always a true one (the
		// borrow of the subtraction tricks only reaches higher bytes).
		for ; i+8 <= len(s); i += 8 {
			x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			if m := special(x); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto found
			}
		}
		for ; i < len(s) && strPlain[s[i]]; i++ {
		}
	found:
		if i >= len(s) {
			f.i = i
			return "", false
		}
		switch c := s[i]; {
		case c == '"':
			f.i = i + 1
			if !escaped {
				return s[start+1 : i], true
			}
			b, err := jsontext.AppendUnquote(nil, s[start:f.i])
			if err != nil {
				return "", false
			}
			return string(b), true
		case c == '\\':
			escaped = true
			i += 2
		default: // a control byte
			f.i = i
			return "", false
		}
	}
}

// num reads a JSON number.
func (f *fast) num() bool {
	s, i := f.s, f.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	f.i = i
	return true
}

// skip validates and skips one value without building it.
func (f *fast) skip(depth int) bool {
	if depth > maxDepth || f.i >= len(f.s) {
		return false
	}
	switch c := f.s[f.i]; c {
	case '{', '[':
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		f.i++
		f.ws()
		if f.i < len(f.s) && f.s[f.i] == end {
			f.i++
			return true
		}
		for {
			f.ws()
			if c == '{' {
				if _, ok := f.str(); !ok {
					return false
				}
				f.ws()
				if f.i >= len(f.s) || f.s[f.i] != ':' {
					return false
				}
				f.i++
				f.ws()
			}
			if !f.skip(depth + 1) {
				return false
			}
			f.ws()
			if f.i >= len(f.s) {
				return false
			}
			if f.s[f.i] == ',' {
				f.i++
				continue
			}
			if f.s[f.i] != end {
				return false
			}
			f.i++
			return true
		}
	case '"':
		_, ok := f.str()
		return ok
	case 't':
		return f.lit("true")
	case 'f':
		return f.lit("false")
	case 'n':
		return f.lit("null")
	default:
		return f.num()
	}
}
