// Package kql is a small parser for the subset of the Kusto Query Language
// (KQL) that idtrace emits for Log Analytics and Microsoft Sentinel: let
// statements, tabular pipelines (where, extend, project, summarize, join,
// union, sort, take, top, distinct, count, mv-expand, ...), and scalar
// expressions with the string, comparison, membership and logical
// operators, function calls, dynamic() and datetime()/timespan literals.
//
// It exists to test that the generated queries are at least well-formed and
// only use known operators, functions and tables; it is not a full KQL
// implementation and does not evaluate anything. It never panics on any
// input and caps nesting depth. Owned by the actors package's maintainers.
package kql

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TokKind is the kind of a token.
type TokKind int

// Token kinds.
const (
	EOF TokKind = iota
	Ident
	Number   // 42, 1.5, 1e3
	Timespan // 10m, 1d, 500ms
	String
	Punct // operators and punctuation
)

func (k TokKind) String() string {
	return [...]string{"end of query", "identifier", "number", "timespan", "string", "punctuation"}[k]
}

// Token is one lexical token.
type Token struct {
	Kind TokKind
	Text string // identifiers and punctuation as written; strings unquoted
	Line int
	Col  int
}

// Error is a syntax error with its 1-based position.
type Error struct {
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	return fmt.Sprintf("kql: line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// hyphenated tabular operator names, tokenized as one identifier.
var hyphenated = []string{"project-away", "project-rename", "project-keep", "project-reorder", "mv-expand", "mv-apply", "make-series"}

var timespanUnits = []string{"microseconds", "milliseconds", "seconds", "minutes", "hours", "days", "ms", "tick", "d", "h", "m", "s"}

// puncts, longest first.
var puncts = []string{"!contains_cs", "!startswith", "!contains", "!between", "!has_cs", "!in~", "!has", "!in", "..", "==", "!=", "<>", "<=", ">=", "=~", "!~", "=>",
	"|", "(", ")", "[", "]", "{", "}", ",", ";", ".", "=", "<", ">", "+", "-", "*", "/", "%", ":", "!", "~"}

// Lex splits src into tokens.
func Lex(src string) ([]Token, error) {
	var toks []Token
	line, col := 1, 1
	i := 0
	adv := func(n int) {
		for _, r := range src[i : i+n] {
			if r == '\n' {
				line++
				col = 1
			} else {
				col++
			}
		}
		i += n
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			adv(1)
			continue
		case strings.HasPrefix(src[i:], "//"):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				j = len(src) - i
			}
			adv(j)
			continue
		}
		startLine, startCol := line, col
		switch {
		case c == '"' || c == '\'' || ((c == '@' || c == 'h' || c == 'H') && i+1 < len(src) && (src[i+1] == '"' || src[i+1] == '\'')):
			s, n, err := lexString(src[i:])
			if err != nil {
				return nil, &Error{startLine, startCol, err.Error()}
			}
			toks = append(toks, Token{String, s, startLine, startCol})
			adv(n)
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && (isDigit(src[j]) || src[j] == '.' && j+1 < len(src) && isDigit(src[j+1])) {
				j++
			}
			if j < len(src) && (src[j] == 'e' || src[j] == 'E') && j+1 < len(src) && (isDigit(src[j+1]) || (src[j+1] == '-' || src[j+1] == '+') && j+2 < len(src) && isDigit(src[j+2])) {
				j += 2
				for j < len(src) && isDigit(src[j]) {
					j++
				}
			}
			kind := Number
			for _, u := range timespanUnits {
				if strings.HasPrefix(src[j:], u) && (j+len(u) == len(src) || !isIdentChar(rune(src[j+len(u)]))) {
					j += len(u)
					kind = Timespan
					break
				}
			}
			if j < len(src) && isIdentChar(rune(src[j])) {
				return nil, &Error{startLine, startCol, fmt.Sprintf("bad number %q", src[i:j+1])}
			}
			toks = append(toks, Token{kind, src[i:j], startLine, startCol})
			adv(j - i)
		case isIdentStart(rune(c)) || c >= utf8.RuneSelf:
			r, _ := utf8.DecodeRuneInString(src[i:])
			if !isIdentStart(r) {
				return nil, &Error{startLine, startCol, fmt.Sprintf("unexpected character %q", r)}
			}
			j := i
			for j < len(src) {
				r, n := utf8.DecodeRuneInString(src[j:])
				if !isIdentChar(r) {
					break
				}
				j += n
			}
			word := src[i:j]
			for _, h := range hyphenated {
				if strings.HasPrefix(src[i:], h) && (i+len(h) == len(src) || !isIdentChar(rune(src[i+len(h)]))) {
					word = h
					j = i + len(h)
				}
			}
			toks = append(toks, Token{Ident, word, startLine, startCol})
			adv(j - i)
			if lw := strings.ToLower(word); lw == "datetime" || lw == "timespan" {
				// The literal's body is raw text (2026-01-02T03:04:05Z, 1.02:03:04).
				k := i
				for k < len(src) && (src[k] == ' ' || src[k] == '\t') {
					k++
				}
				if k < len(src) && src[k] == '(' {
					end := strings.IndexByte(src[k:], ')')
					nl := strings.IndexByte(src[k:], '\n')
					if end < 0 || (nl >= 0 && nl < end) {
						return nil, &Error{line, col + (k - i), word + "(: missing \")\""}
					}
					adv(k - i)
					toks = append(toks, Token{Punct, "(", line, col})
					adv(1)
					toks = append(toks, Token{String, strings.TrimSpace(src[i : k+end]), line, col})
					adv(k + end - i)
					toks = append(toks, Token{Punct, ")", line, col})
					adv(1)
				}
			}
		default:
			p := ""
			for _, cand := range puncts {
				if strings.HasPrefix(src[i:], cand) {
					// "!in" and friends must not swallow the start of a longer word ("!inner").
					if isIdentChar(rune(cand[len(cand)-1])) && i+len(cand) < len(src) && isIdentChar(rune(src[i+len(cand)])) {
						continue
					}
					p = cand
					break
				}
			}
			if p == "" {
				r, _ := utf8.DecodeRuneInString(src[i:])
				return nil, &Error{startLine, startCol, fmt.Sprintf("unexpected character %q", r)}
			}
			toks = append(toks, Token{Punct, p, startLine, startCol})
			adv(len(p))
		}
	}
	toks = append(toks, Token{EOF, "", line, col})
	return toks, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(r rune) bool { return r == '_' || r == '$' || unicode.IsLetter(r) }

func isIdentChar(r rune) bool { return isIdentStart(r) || unicode.IsDigit(r) }

// lexString reads a string literal at the start of s: "..." or '...' with
// backslash escapes, @"..." verbatim (doubled quote escapes), h"..." obfuscated.
func lexString(s string) (string, int, error) {
	i := 0
	verbatim := false
	if s[0] == '@' {
		verbatim = true
		i++
	} else if s[0] == 'h' || s[0] == 'H' {
		i++
		if s[i] == '@' {
			verbatim = true
			i++
		}
	}
	q := s[i]
	i++
	var b strings.Builder
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\n':
			return "", 0, fmt.Errorf("unterminated string")
		case c == q && verbatim && i+1 < len(s) && s[i+1] == q:
			b.WriteByte(q)
			i += 2
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && !verbatim:
			if i+1 >= len(s) {
				return "", 0, fmt.Errorf("unterminated string")
			}
			switch e := s[i+1]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '"', '\'':
				b.WriteByte(e)
			default:
				return "", 0, fmt.Errorf("unknown escape \\%c", e)
			}
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return "", 0, fmt.Errorf("unterminated string")
}
