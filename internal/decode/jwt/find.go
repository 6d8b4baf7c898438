package jwt

import (
	"encoding/base64"
	"iter"
	"strings"
	"unsafe"
)

// Match is a JWT-looking string found in text: Token is text[Start:End]
// (a substring, so finding allocates nothing per match).
type Match struct {
	Start, End int
	Token      string
	// Encrypted is true for a five-part JWE whose header names an "enc".
	Encrypted bool
}

// minSegment is the shortest header or payload Find accepts: `{"alg":"x"}`
// is 11 bytes, 15 in base64url.
const minSegment = 15

// Find returns every JWT-looking string in text with its offsets: signed
// tokens ("eyJ…" header, "eyJ…" payload, optional signature) and JWEs (an
// "eyJ…" header with "enc", then four more parts). It works on headers,
// URLs, fragments, form bodies, JSON and HTML alike, because base64url
// never needs escaping there. A match must start at a non-base64url
// boundary, so the inside of a larger base64 blob is not reported.
// Find does not decode payloads; pass a match to Parse for that.
func Find(text string) []Match {
	var out []Match
	for m := range All(text) {
		out = append(out, m)
	}
	return out
}

// All is Find as an iterator: it allocates nothing per match, so the
// analyzer can scan whole bodies of a large trace.
func All(text string) iter.Seq[Match] {
	return func(yield func(Match) bool) {
		i := 0
		for i < len(text) {
			j := strings.Index(text[i:], "eyJ")
			if j < 0 {
				return
			}
			start := i + j
			if start > 0 && isB64(text[start-1]) {
				// Inside something longer; skip past this base64url run.
				i = skipB64(text, start)
				continue
			}
			m, end, ok := matchAt(text, start)
			if ok {
				if !yield(m) {
					return
				}
				i = end
				continue
			}
			i = skipB64(text, start)
		}
	}
}

// matchAt tries to match a token starting at text[start] ("eyJ").
func matchAt(text string, start int) (Match, int, bool) {
	e0 := skipB64(text, start)
	if e0-start < minSegment || e0 >= len(text) || text[e0] != '.' {
		return Match{}, 0, false
	}
	// Second part.
	s1 := e0 + 1
	e1 := skipB64(text, s1)
	if e1 >= len(text) || text[e1] != '.' {
		return Match{}, 0, false
	}
	if e1-s1 >= minSegment && strings.HasPrefix(text[s1:], "eyJ") {
		// JWS: third part is the (possibly empty) signature.
		e2 := skipB64(text, e1+1)
		if e2 < len(text) && text[e2] == '.' {
			// Could be a JWE whose encrypted key happens to start with eyJ;
			// fall through to the JWE check below.
			if m, end, ok := matchJWE(text, start, e0); ok {
				return m, end, true
			}
		}
		e2 = trimPadding(text, e2)
		return Match{Start: start, End: e2, Token: text[start:e2]}, e2, true
	}
	return matchJWE(text, start, e0)
}

// matchJWE checks for header.key.iv.ciphertext.tag with an "enc" header.
func matchJWE(text string, start, e0 int) (Match, int, bool) {
	p := e0
	for k := 0; k < 4; k++ {
		if p >= len(text) || text[p] != '.' {
			return Match{}, 0, false
		}
		p = skipB64(text, p+1)
	}
	if !headerHasEnc(text[start:e0]) {
		return Match{}, 0, false
	}
	return Match{Start: start, End: p, Token: text[start:p], Encrypted: true}, p, true
}

// headerHasEnc decodes a small header and looks for "enc".
func headerHasEnc(seg string) bool {
	if len(seg) > 4096 {
		return false
	}
	var buf [3072]byte
	n, err := base64.RawURLEncoding.Decode(buf[:], []byte(seg))
	if err != nil {
		return false
	}
	return strings.Contains(string(buf[:n]), `"enc"`)
}

// trimPadding extends a signature over up to two '=' padding bytes.
func trimPadding(text string, to int) int {
	for k := 0; k < 2 && to < len(text) && text[to] == '='; k++ {
		to++
	}
	return to
}

func skipB64(text string, i int) int {
	for i < len(text) && isB64(text[i]) {
		i++
	}
	return i
}

func isB64(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// AllBytes is All over a byte slice (a response body) without copying it:
// only the tokens found are copied into Match.Token.
func AllBytes(b []byte) iter.Seq[Match] {
	return func(yield func(Match) bool) {
		if len(b) == 0 {
			return
		}
		// The scan reads b through a string header without copying; no
		// string derived from it escapes: Token is copied below.
		s := unsafe.String(&b[0], len(b))
		for m := range All(s) {
			m.Token = strings.Clone(m.Token)
			if !yield(m) {
				return
			}
		}
	}
}
