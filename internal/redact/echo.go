package redact

import (
	"encoding/base64"
	"strings"
)

// The echo rule: a secret removed from one place can come back later in a
// request in another form — a session cookie copied into a state
// parameter that the next site base64-encodes into its own form field.
// The Redactor remembers each value it removed (16 bytes or longer) and,
// in every later request's URL, headers and body, replaces the value and
// its base64 encodings (at each of the three byte alignments, standard
// and URL alphabets) wherever they appear. A plain copy becomes the value's
// pseudonym; a base64 copy becomes as many 'A's, so that the blob around
// it still decodes. Responses are not searched this way (their bodies can
// be large and servers rarely echo client secrets); the memory is capped.

const (
	echoMin      = 16
	echoKeyLen   = 12
	echoMaxBytes = 4 << 20
)

type echoEntry struct {
	needle, repl string
}

type echoIndex struct {
	byKey map[string][]echoEntry
	seen  map[string]bool
	bytes int
	// bloom has a bit set for each key's first 8 bytes, so the scan
	// looks up the map only where a key may start.
	bloom []uint64
	// in and enc are scratch buffers of add.
	in, enc []byte
}

const bloomBits = 1 << 20

// bloomHash hashes the first 8 bytes of s into the bloom filter's bits;
// echo computes the same, rolling it along its input.
func bloomHash(s string) uint64 {
	return (load8(s) * 0x9E3779B97F4A7C15) >> (64 - 20)
}

// load8 reads the first 8 bytes of s, little-endian.
func load8(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func (e *echoIndex) add(value, pseudonym string) {
	if len(value) < echoMin || len(value) > 4096 || e.bytes > echoMaxBytes {
		return
	}
	if e.byKey == nil {
		e.byKey, e.seen = map[string][]echoEntry{}, map[string]bool{}
		e.bloom = make([]uint64, bloomBits/64)
	}
	if e.seen[value] {
		return
	}
	e.seen[value] = true
	e.put(value, pseudonym)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		for k := 0; k < 3; k++ {
			e.in = append(append(e.in[:0], "\x00\x00"[:k]...), value...)
			e.enc = enc.AppendEncode(e.enc[:0], e.in)
			start, end := (k*8+5)/6, (k+len(value))*8/6
			if end-start >= echoMin {
				e.put(string(e.enc[start:end]), as(end-start))
			}
		}
	}
}

// manyA backs the replacements of base64 copies: every value is at most
// 4096 bytes, so its base64 at most 5464 characters.
var manyA = strings.Repeat("A", 5500)

// as returns n 'A's.
func as(n int) string {
	if n <= len(manyA) {
		return manyA[:n]
	}
	return strings.Repeat("A", n)
}

func (e *echoIndex) put(needle, repl string) {
	k := needle[:echoKeyLen]
	for _, x := range e.byKey[k] {
		if x.needle == needle {
			return
		}
	}
	e.byKey[k] = append(e.byKey[k], echoEntry{needle, repl})
	h := bloomHash(needle)
	e.bloom[h/64] |= 1 << (h % 64)
	e.bytes += len(needle) + len(repl) + 96
}

// echo replaces the remembered values in s.
func (r *Redactor) echo(s, where string) string {
	e := &r.echoes
	if len(e.byKey) == 0 || len(s) < echoMin {
		return s
	}
	var b strings.Builder
	last := 0
	// x holds s[i:i+8] as bloomHash reads it, rolled one byte at a time.
	x, xAt := uint64(0), -2
	for i := 0; i+echoKeyLen <= len(s); i++ {
		if xAt == i-1 {
			x = x>>8 | uint64(s[i+7])<<56
		} else {
			x = load8(s[i:])
		}
		xAt = i
		if h := (x * 0x9E3779B97F4A7C15) >> (64 - 20); e.bloom[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		cands, ok := e.byKey[s[i:i+echoKeyLen]]
		if !ok {
			continue
		}
		for _, c := range cands {
			if strings.HasPrefix(s[i:], c.needle) {
				b.WriteString(s[last:i])
				b.WriteString(c.repl)
				r.hit("echo", where)
				last = i + len(c.needle)
				i = last - 1
				break
			}
		}
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
