package httpmsg

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/idtrace/idtrace/internal/trace"
)

// The wire form written by WriteRequest and WriteResponse follows one rule
// so that trace -> wire -> trace keeps the decoded body and the header list:
//
//  1. Response body bytes: Wire when present and it still decodes to Body
//     (the headers then still match it; a Wire that no longer matches, say
//     after a redactor changed Body, is ignored so the original bytes are
//     not written out). Otherwise, when Content-Encoding names codings and the body is
//     not empty, the decoded Body is encoded again with those codings
//     (gzip, deflate as zlib, br, zstd), so every header stays as recorded
//     (the bytes differ from the original wire bytes, the decoded body does
//     not). If a coding cannot be produced (e.g. "compress"), the
//     Content-Encoding headers are dropped, as Fiddler does when it decodes
//     a session, and Body is written as is. Request bodies are written as
//     they are (a request keeps its content coding in Body).
//  2. Framing: with Transfer-Encoding: chunked the bytes are written as one
//     chunk plus the last chunk. Content-Length is rewritten only when the
//     body bytes were produced here (encoded again, or a coding dropped) and
//     are not empty; bodies written as recorded keep their headers as
//     recorded (Fiddler stores "Content-Length: 0" on CONNECT requests that
//     carry its ClientHello description, and a HEAD or 304 answer keeps its
//     length). No length header is ever added: a SAZ file ends where the
//     message ends.
//  3. Header names and values are written as recorded except that CR and
//     LF are replaced by spaces, so a header cannot inject lines.

// WriteRequest writes r in HTTP/1.x wire form with an absolute-URI request
// line (the authority for CONNECT), as Fiddler stores raw/N_c.txt.
func WriteRequest(w io.Writer, r *trace.Request) error {
	target := r.URL
	if target == "" {
		target = "/"
	}
	// Spaces stay as recorded (a HAR may hold "[state redacted]"): the reader
	// takes everything between the method and the version as the target.
	return WriteMessage(w, clean(r.Method)+" "+clean(target)+" "+wireProto(r.Proto), r.Headers, r.Body)
}

// WriteResponse writes r in HTTP/1.x wire form, as Fiddler stores
// raw/N_s.txt (see the rule above for bodies and coding headers).
func WriteResponse(w io.Writer, r *trace.Response) error {
	hs, body := ResponseBytes(r)
	return WriteMessage(w, StatusLine(wireProto(r.Proto), r.Status, r.Reason), hs, body)
}

// StatusLine is "PROTO SSS REASON" with the status written in three digits
// (when it is in 0..999) and CR and LF in the reason replaced by spaces.
func StatusLine(proto string, status int, reason string) string {
	return fmt.Sprintf("%s %03d %s", proto, status, clean(reason))
}

// ResponseBytes returns the headers and the body bytes (before any chunked
// framing) that WriteResponse writes for r, following rule 1 and the
// Content-Length part of rule 2 above.
func ResponseBytes(r *trace.Response) (trace.Headers, []byte) {
	hs := r.Headers
	body := r.Body
	switch {
	case r.Wire != nil && wireMatches(r):
		body = r.Wire
	case len(r.Body) > 0:
		if cs := contentCodings(hs); len(cs) > 0 {
			if enc, err := encodeBody(r.Body, cs); err == nil {
				body = enc
			} else {
				hs = without(hs, "Content-Encoding")
			}
			hs = withLength(hs, len(body))
		}
	}
	return hs, body
}

// withLength returns hs with every Content-Length value set to n, unless
// the body is chunked or empty (a copy; hs is not modified).
func withLength(hs trace.Headers, n int) trace.Headers {
	if isChunked(hs) || n == 0 {
		return hs
	}
	out := append(trace.Headers(nil), hs...)
	for i := range out {
		if strings.EqualFold(out[i].Name, "Content-Length") {
			out[i].Value = strconv.Itoa(n)
		}
	}
	return out
}

// WriteMessage writes an HTTP/1.x message: the start line, the headers
// (rule 3 above), a blank line and body, framed as one chunk plus the last
// chunk when the headers say Transfer-Encoding: chunked.
func WriteMessage(w io.Writer, start string, hs trace.Headers, body []byte) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(clean(start))
	bw.WriteString("\r\n")
	writeFramed(bw, hs, body)
	return bw.Flush()
}

// wireMatches reports whether Wire still decodes to Body. A consumer that
// rewrote Body (a redactor) but left Wire would otherwise have the
// original bytes written out.
func wireMatches(r *trace.Response) bool {
	if bytes.Equal(r.Wire, r.Body) {
		return true // kept undecoded, or no coding
	}
	cs := contentCodings(r.Headers)
	if len(cs) == 0 {
		return false
	}
	dec, err := decodeBody(r.Wire, cs, DefaultLimits)
	return err == nil && bytes.Equal(dec, r.Body)
}

func writeFramed(bw *bufio.Writer, hs trace.Headers, body []byte) {
	chunked := isChunked(hs)
	for _, h := range hs {
		bw.WriteString(cleanName(h.Name))
		bw.WriteString(": ")
		bw.WriteString(clean(h.Value))
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
	if chunked {
		if len(body) > 0 {
			bw.WriteString(strconv.FormatInt(int64(len(body)), 16))
			bw.WriteString("\r\n")
			bw.Write(body)
			bw.WriteString("\r\n")
		}
		bw.WriteString("0\r\n\r\n")
		return
	}
	bw.Write(body)
}

func without(hs trace.Headers, name string) trace.Headers {
	out := make(trace.Headers, 0, len(hs))
	for _, h := range hs {
		if !strings.EqualFold(h.Name, name) {
			out = append(out, h)
		}
	}
	return out
}

func clean(s string) string {
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	}
	return s
}

// cleanName makes a header name that parses back as one header line.
func cleanName(s string) string {
	s = strings.TrimLeft(clean(s), " \t")
	if s == "" {
		return "X-Empty-Name"
	}
	return s
}

// wireProto maps a recorded protocol to an HTTP/1.x-style version token.
func wireProto(p string) string {
	switch strings.ToLower(p) {
	case "":
		return "HTTP/1.1"
	case "h2", "http/2", "http/2.0":
		return "HTTP/2"
	case "h3", "http/3", "http/3.0":
		return "HTTP/3"
	}
	if strings.HasPrefix(strings.ToUpper(p), "HTTP/") {
		// One token: drop spaces and control characters.
		return strings.Map(func(r rune) rune {
			if r <= ' ' || r == 0x7f {
				return -1
			}
			return r
		}, p)
	}
	return "HTTP/1.1"
}

// IsToken reports whether s is an HTTP token (RFC 9110 tchar+), the syntax
// of methods and header names.
func IsToken(s string) bool { return isToken(s) }

// IsChunked reports whether the last transfer coding hs names is chunked.
func IsChunked(hs trace.Headers) bool { return isChunked(hs) }
