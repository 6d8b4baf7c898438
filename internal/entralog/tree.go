package entralog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// node is one JSON value kept in document order, so that the keys the
// mapping does not use can be written to Event.Extra in the order the export
// had them. CSV rows are represented as an object of string nodes.
type node struct {
	kind byte // 's' string, 'n' number, 't' true, 'f' false, 'z' null, 'o' object, 'a' array
	s    string
	mem  []member
	arr  []node
}

type member struct {
	key  string
	val  node
	used bool
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

// readNode reads one complete JSON value from dec. budget is decremented by
// the approximate size of what was read.
func readNode(dec *jsontext.Decoder, depth int, budget *int) (node, error) {
	if depth > maxDepth {
		return node{}, errTooDeep
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return node{}, err
	}
	*budget -= 16
	switch k := tok.Kind(); k {
	case '{':
		var n node
		n.kind = 'o'
		for dec.PeekKind() != '}' {
			kt, err := dec.ReadToken()
			if err != nil {
				return node{}, err
			}
			key := kt.String()
			*budget -= len(key) + 32
			v, err := readNode(dec, depth+1, budget)
			if err != nil {
				return node{}, err
			}
			n.mem = append(n.mem, member{key: key, val: v})
			if *budget < 0 {
				return node{}, errTooLarge
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return node{}, err
		}
		return n, nil
	case '[':
		var n node
		n.kind = 'a'
		for dec.PeekKind() != ']' {
			v, err := readNode(dec, depth+1, budget)
			if err != nil {
				return node{}, err
			}
			n.arr = append(n.arr, v)
			if *budget < 0 {
				return node{}, errTooLarge
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return node{}, err
		}
		return n, nil
	case '"':
		s := tok.String()
		*budget -= len(s)
		return node{kind: 's', s: s}, nil
	case '0':
		return node{kind: 'n', s: tok.String()}, nil
	case 't':
		return node{kind: 't'}, nil
	case 'f':
		return node{kind: 'f'}, nil
	case 'n':
		return node{kind: 'z'}, nil
	default:
		return node{}, fmt.Errorf("unexpected JSON token %v", k)
	}
}

// parseJSONString parses s, a JSON document held inside a string (Log
// Analytics dynamic columns), into a node.
func parseJSONString(s string) (node, error) {
	dec := jsontext.NewDecoder(strings.NewReader(s), jsonOpts...)
	budget := maxRecordBytes
	n, err := readNode(dec, 0, &budget)
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
	case 'o':
		return len(n.mem) == 0
	case 'a':
		return len(n.arr) == 0
	}
	return false
}

// text returns n as a string: strings unquoted, numbers and booleans as
// written, null as "", objects and arrays as compact JSON.
func (n *node) text() string {
	switch n.kind {
	case 's', 'n':
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
	case 'n':
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
		for i := range n.arr {
			if i > 0 {
				b = append(b, ',')
			}
			b = n.arr[i].appendJSON(b)
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
