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
	bw := bufio.NewWriter(w)
	bw.WriteString(clean(r.Method))
	bw.WriteByte(' ')
	target := r.URL
	if target == "" {
		target = "/"
	}
	// Spaces stay as recorded (a HAR may hold "[state redacted]"): the reader
	// takes everything between the method and the version as the target.
	bw.WriteString(clean(target))
	bw.WriteByte(' ')
	bw.WriteString(wireProto(r.Proto))
	bw.WriteString("\r\n")
	writeFramed(bw, r.Headers, r.Body, false)
	return bw.Flush()
}

// WriteResponse writes r in HTTP/1.x wire form, as Fiddler stores
// raw/N_s.txt (see the rule above for bodies and coding headers).
func WriteResponse(w io.Writer, r *trace.Response) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(wireProto(r.Proto))
	bw.WriteByte(' ')
	fmt.Fprintf(bw, "%03d", r.Status)
	bw.WriteByte(' ')
	bw.WriteString(clean(r.Reason))
	bw.WriteString("\r\n")
	hs := r.Headers
	body := r.Body
	fix := false
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
			fix = true
		}
	}
	writeFramed(bw, hs, body, fix)
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

func writeFramed(bw *bufio.Writer, hs trace.Headers, body []byte, fixLength bool) {
	chunked := isChunked(hs)
	for _, h := range hs {
		v := h.Value
		if fixLength && !chunked && len(body) > 0 && strings.EqualFold(h.Name, "Content-Length") {
			v = strconv.Itoa(len(body))
		}
		bw.WriteString(cleanName(h.Name))
		bw.WriteString(": ")
		bw.WriteString(clean(v))
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
