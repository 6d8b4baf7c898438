package entralog

import (
	"bytes"
	"errors"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// node is one JSON value kept in document order, so that the keys the
// mapping does not use can be written to Event.Extra in the order the export
// had them. CSV rows are represented as an object of string nodes.
type node struct {
	// kind is 's' string, 'n' number, 't' true, 'f' false, 'z' null,
	// 'o' object, 'a' array, or 'r' an object or array kept as raw JSON text
	// in s (an unmapped value: not worth building a tree for).
	kind byte
	s    string
	// mem holds an object's members, or an array's elements (with empty
	// names): one slice for both keeps a node, and so a member, small.
	mem []member
}

type member struct {
	key string
	val node
	// kid is the known-key number + 1 of key, or -1 for an unknown key; 0
	// when not yet looked up.
	kid  int16
	used bool
	// adm caches the Extra filter's verdict on key: 1 kept, -1 left out,
	// 0 not decided (see extraFilter.decide).
	adm int8
}

// Limits on one record. A record beyond them is an input error, not an
// out-of-memory crash.
const maxDepth = 64

// maxRecordBytes caps one JSON record, CSV record or NDJSON line (a variable
// so that tests can lower it).
var maxRecordBytes = 64 << 20

var (
	errTooDeep  = errors.New("record nested too deeply")
	errTooLarge = errors.New("record larger than the 64 MiB limit")
)

// jsonOpts are the decoder options for every JSON input: exports do not
// promise unique names or valid UTF-8, and neither is worth rejecting a file.
var jsonOpts = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// structuredKeys are the record keys whose object or array values the
// mapping looks into; other object and array values of a record (and of its
// diagnostic "properties") are kept as raw text.
var structuredKeys = map[string]bool{
	"properties": true, "initiatedby": true, "targetresources": true, "additionaldetails": true,
	"status": true, "status_dynamic": true, "status_string": true, "authenticationdetails": true,
	"signineventtypes": true, "managedserviceidentity": true, "value": true,
}

func structured(key string) bool {
	var buf [32]byte
	if len(key) > len(buf) {
		return false
	}
	return structuredKeys[string(normKey(buf[:0], key))]
}

// parser reads record trees from a decoder. It interns object names and
// short string values, which repeat in every record of an export.
type parser struct {
	dec    *jsontext.Decoder
	budget int
	intern map[string]internedKey
	buf    []byte
	// mstack collects the members and elements of the objects and arrays
	// being read, so each gets one exact-size slice.
	mstack []member
	// mslab holds the member slices of the tree the fast path builds for
	// one line; it is reused for the next line (see fastLine), so a
	// record's tree costs no allocation once it is big enough.
	mslab []member
	// keyCache remembers recent object names by a cheap hash of their
	// bytes (see keySlot), in front of intern.
	keyCache [512]internedKey
	// keep is the reader's Extra filter (nil: all), decided once per name.
	keep *extraFilter
	// pred holds the object names of the last line the fast path read, in
	// document order (see fast.predicted).
	pred []internedKey
}

// members copies src into the slab and returns the copy (capacity capped,
// so an append to it cannot reach a neighbour).
func (p *parser) members(src []member) []member {
	n := len(src)
	if len(p.mslab)+n > cap(p.mslab) {
		p.mslab = make([]member, 0, max(2*cap(p.mslab), n, 512))
	}
	i := len(p.mslab)
	p.mslab = append(p.mslab, src...)
	return p.mslab[i : i+n : i+n]
}

const maxIntern = 8192

type internedKey struct {
	s   string
	kid int16
	adm int8
	// structured and properties cache structured(s) and whether s is
	// "properties" (any case).
	structured, properties bool
	// quoted is s as a JSON string token when s is interned and needs no
	// escape, else "" (see fast.predicted).
	quoted string
}

// newInterned works out what the parsers need to know about an object name.
func newInterned(key string, keep *extraFilter) internedKey {
	e := internedKey{s: key, kid: -1, adm: keep.decide(key), structured: structured(key), properties: strings.EqualFold(key, "properties")}
	if id := keyID(key); id >= 0 {
		e.kid = int16(id + 1)
	}
	return e
}

func newParser(dec *jsontext.Decoder) *parser {
	return &parser{dec: dec, intern: make(map[string]internedKey, 256)}
}

// name turns a raw JSON object name (with its quotes) into an interned Go
// string and its known-key number (see member.kid).
func (p *parser) name(raw []byte) (string, int16, error) {
	in := raw[1 : len(raw)-1]
	if bytes.IndexByte(in, '\\') >= 0 {
		var err error
		p.buf, err = jsontext.AppendUnquote(p.buf[:0], raw)
		if err != nil {
			return "", 0, err
		}
		in = p.buf
	}
	if e, ok := p.intern[string(in)]; ok {
		return e.s, e.kid, nil
	}
	e := newInterned(string(in), p.keep)
	if len(p.intern) < maxIntern {
		e.quoted = quotedName(e.s)
		p.intern[e.s] = e
	}
	return e.s, e.kid, nil
}

// str turns a raw JSON string token (with its quotes) into a Go string.
func (p *parser) str(raw []byte) (string, error) {
	in := raw[1 : len(raw)-1]
	if bytes.IndexByte(in, '\\') >= 0 {
		var err error
		p.buf, err = jsontext.AppendUnquote(p.buf[:0], raw)
		if err != nil {
			return "", err
		}
		in = p.buf
	}
	return string(in), nil
}

// record reads one record with a fresh size budget.
func (p *parser) record(raw bool) (node, error) {
	p.budget = maxRecordBytes
	return p.node(0, raw)
}

// node reads one complete JSON value. The budget is decremented by the
// approximate size of what was read. With raw, object and array members of
// an object that the mapping never looks into are kept as raw text (kind
// 'r'), which saves building their trees.
func (p *parser) node(depth int, raw bool) (node, error) {
	if depth > maxDepth {
		return node{}, errTooDeep
	}
	dec := p.dec
	switch k := dec.PeekKind(); k {
	case '{':
		if _, err := dec.ReadToken(); err != nil {
			return node{}, err
		}
		mark := len(p.mstack)
		defer func() { p.mstack = p.mstack[:mark] }()
		for dec.PeekKind() != '}' {
			kv, err := dec.ReadValue()
			if err != nil {
				return node{}, err
			}
			if len(kv) < 2 || kv[0] != '"' {
				return node{}, errors.New("object name is not a string")
			}
			key, kid, err := p.name(kv)
			if err != nil {
				return node{}, err
			}
			p.budget -= len(key) + 48
			var v node
			if pk := dec.PeekKind(); raw && (pk == '{' || pk == '[') && !structured(key) {
				rv, err := dec.ReadValue()
				if err != nil {
					return node{}, err
				}
				p.budget -= len(rv)
				v = node{kind: 'r', s: string(rv)}
			} else {
				v, err = p.node(depth+1, raw && strings.EqualFold(key, "properties"))
				if err != nil {
					return node{}, err
				}
			}
			p.mstack = append(p.mstack, member{key: key, val: v, kid: kid})
			if p.budget < 0 {
				return node{}, errTooLarge
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return node{}, err
		}
		n := node{kind: 'o'}
		if len(p.mstack) > mark {
			n.mem = append([]member(nil), p.mstack[mark:]...)
		}
		return n, nil
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return node{}, err
		}
		mark := len(p.mstack)
		defer func() { p.mstack = p.mstack[:mark] }()
		for dec.PeekKind() != ']' {
			v, err := p.node(depth+1, false)
			if err != nil {
				return node{}, err
			}
			p.mstack = append(p.mstack, member{val: v})
			p.budget -= 16
			if p.budget < 0 {
				return node{}, errTooLarge
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return node{}, err
		}
		n := node{kind: 'a'}
		if len(p.mstack) > mark {
			n.mem = append([]member(nil), p.mstack[mark:]...)
		}
		return n, nil
	}
	v, err := dec.ReadValue()
	if err != nil {
		return node{}, err
	}
	p.budget -= len(v) + 16
	switch v[0] {
	case '"':
		s, err := p.str(v)
		return node{kind: 's', s: s}, err
	case 't':
		return node{kind: 't'}, nil
	case 'f':
		return node{kind: 'f'}, nil
	case 'n':
		return node{kind: 'z'}, nil
	default:
		return node{kind: 'n', s: string(v)}, nil
	}
}

// parseJSONString parses s, a JSON document held inside a string (Log
// Analytics dynamic columns), into a node.
func parseJSONString(s string) (node, error) {
	dec := jsontext.NewDecoder(strings.NewReader(s), jsonOpts...)
	n, err := newParser(dec).record(false)
	if err != nil {
		return node{}, err
	}
	if _, err := dec.ReadToken(); err == nil {
		return node{}, errors.New("more than one JSON value")
	}
	return n, nil
}

// isEmpty reports whether n carries no information (null, "", {} or []).
func (n *node) isEmpty() bool {
	switch n.kind {
	case 0, 'z':
		return true
	case 's':
		return n.s == ""
	case 'o', 'a':
		return len(n.mem) == 0
	case 'r':
		return n.s == "{}" || n.s == "[]"
	}
	return false
}

// text returns n as a string: strings unquoted, numbers and booleans as
// written, null as "", objects and arrays as compact JSON.
func (n *node) text() string {
	switch n.kind {
	case 's', 'n', 'r':
		return n.s
	case 't':
		return "true"
	case 'f':
		return "false"
	case 0, 'z':
		return ""
	}
	return string(n.appendJSON(nil))
}

func (n *node) appendJSON(b []byte) []byte {
	switch n.kind {
	case 's':
		b, _ = jsontext.AppendQuote(b, n.s)
	case 'n', 'r':
		b = append(b, n.s...)
	case 't':
		b = append(b, "true"...)
	case 'f':
		b = append(b, "false"...)
	case 'o':
		b = append(b, '{')
		for i := range n.mem {
			if i > 0 {
				b = append(b, ',')
			}
			b, _ = jsontext.AppendQuote(b, n.mem[i].key)
			b = append(b, ':')
			b = n.mem[i].val.appendJSON(b)
		}
		b = append(b, '}')
	case 'a':
		b = append(b, '[')
		for i := range n.mem {
			if i > 0 {
				b = append(b, ',')
			}
			b = n.mem[i].val.appendJSON(b)
		}
		b = append(b, ']')
	default:
		b = append(b, "null"...)
	}
	return b
}

// child returns the member of object n named key (case-insensitively) and
// marks it used; nil if n is not an object or has no such member.
func (n *node) child(key string) *node {
	if n == nil || n.kind != 'o' {
		return nil
	}
	for i := range n.mem {
		if strings.EqualFold(n.mem[i].key, key) {
			n.mem[i].used = true
			return &n.mem[i].val
		}
	}
	return nil
}

// str returns the text of member key of n, marking it used.
func (n *node) str(key string) string {
	c := n.child(key)
	if c == nil {
		return ""
	}
	return c.text()
}
