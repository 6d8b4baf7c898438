// Package httpmsg converts raw HTTP/1.x messages (as Fiddler stores them in
// a SAZ, or as `idtrace show --raw` prints them) to and from trace.Request
// and trace.Response. It is pure: no file or network I/O.
//
// Ownership: the SAZ owner maintains this package; other packages call it
// and must not change it.
//
// Reading keeps header order, duplicates and the case of names; accepts
// absolute-URI request lines (Fiddler's form), CONNECT authority targets,
// bare-LF line ends and obsolete line folding; removes chunked framing and
// decodes the content codings gzip, deflate (zlib or raw), br and zstd,
// also stacked; skips informational (1xx) answers that precede the final
// one (listed in Extra under InterimField); and fills the HAR cookie lists
// from Cookie and Set-Cookie. Every size is capped (see Limits).
//
// A body that cannot be decoded never fails the message: the response is
// returned with Body = the received bytes, Wire = the same bytes, and the
// problem both recorded in Response.Extra under DecodeErrorField and
// returned as a *BodyError next to the non-nil response.
package httpmsg

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/idtrace/idtrace/internal/trace"
)

// DecodeErrorField is the Extra field (on trace.Response, or on
// trace.Request.Extra for a request whose chunked framing is broken) that
// records why a body was kept as received. Its value is a JSON string.
const DecodeErrorField = "_decodeError"

// InterimField is the Extra field of a trace.Response listing, as a JSON
// array of strings, the status lines of informational (1xx) answers that
// preceded it in the same message file. WriteResponse does not write them.
const InterimField = "_interim"

// isInterim reports whether a status line is a 1xx other than 101.
func isInterim(start string) bool {
	_, rest, _ := strings.Cut(start, " ")
	code := strings.TrimLeft(rest, " ")
	return len(code) >= 3 && code[0] == '1' && code[:3] != "101"
}

// Limits bounds what parsing may allocate. Zero fields take the defaults.
type Limits struct {
	// MaxLineBytes caps one start or header line (default 64 KiB).
	MaxLineBytes int
	// MaxHeaders caps the number of header lines (default 1000).
	MaxHeaders int
	// MaxBodyBytes caps a decoded body (default 256 MiB).
	MaxBodyBytes int64
	// MaxRatio caps decoded/encoded size once the decoded body exceeds
	// RatioFloor (default 1000).
	MaxRatio int64
	// RatioFloor is the decoded size under which MaxRatio is not applied
	// (default 1 MiB), so tiny, very compressible bodies still decode.
	RatioFloor int64
}

// DefaultLimits are the limits used when a field of Limits is zero.
var DefaultLimits = Limits{MaxLineBytes: 64 << 10, MaxHeaders: 1000, MaxBodyBytes: 256 << 20, MaxRatio: 1000, RatioFloor: 1 << 20}

func (l Limits) norm() Limits {
	d := DefaultLimits
	if l.MaxLineBytes > 0 {
		d.MaxLineBytes = l.MaxLineBytes
	}
	if l.MaxHeaders > 0 {
		d.MaxHeaders = l.MaxHeaders
	}
	if l.MaxBodyBytes > 0 {
		d.MaxBodyBytes = l.MaxBodyBytes
	}
	if l.MaxRatio > 0 {
		d.MaxRatio = l.MaxRatio
	}
	if l.RatioFloor > 0 {
		d.RatioFloor = l.RatioFloor
	}
	return d
}

// SyntaxError is a malformed start line or header. Offset is the byte
// offset in the message; Field names the part ("status line", "header").
type SyntaxError struct {
	Offset int64
	Field  string
	Msg    string
}

func (e *SyntaxError) Error() string { return e.Field + ": " + e.Msg }

// ErrBomb is wrapped by a BodyError when a decoded body would exceed the
// absolute or ratio cap of Limits.
var ErrBomb = errors.New("decoded body exceeds the size cap (possible decompression bomb)")

// BodyError says why a body was kept as received instead of decoded. The
// message it accompanies is still returned and usable.
type BodyError struct {
	// Stage is "chunked" or the content coding that failed ("gzip", ...).
	Stage string
	Err   error
}

func (e *BodyError) Error() string { return "body kept undecoded: " + e.Stage + ": " + e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

// head is the parsed start line and headers of a message.
type head struct {
	start   string
	headers trace.Headers
	body    []byte // everything after the blank line
	size    int64  // bytes of start line + headers + blank line
}

// splitHead parses the start line and headers. A message without a blank
// line is accepted: its body is then empty.
func splitHead(raw []byte, lim Limits, what string) (*head, error) {
	h := &head{}
	pos := 0
	first := true
	for {
		if pos >= len(raw) {
			h.size = int64(pos)
			break
		}
		end := bytes.IndexByte(raw[pos:], '\n')
		var line []byte
		next := 0
		if end < 0 {
			line = raw[pos:]
			next = len(raw)
		} else {
			line = raw[pos : pos+end]
			next = pos + end + 1
		}
		if len(line) > lim.MaxLineBytes {
			return nil, &SyntaxError{Offset: int64(pos), Field: what, Msg: fmt.Sprintf("line longer than %d bytes", lim.MaxLineBytes)}
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if first {
			if len(line) == 0 {
				return nil, &SyntaxError{Offset: int64(pos), Field: what, Msg: "empty start line"}
			}
			h.start = string(line)
			first = false
			pos = next
			continue
		}
		if len(line) == 0 {
			h.size = int64(next)
			h.body = raw[next:]
			return h, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			// obs-fold: continue the previous header's value.
			if len(h.headers) == 0 {
				return nil, &SyntaxError{Offset: int64(pos), Field: "header", Msg: "continuation line before any header"}
			}
			last := &h.headers[len(h.headers)-1]
			if len(last.Value)+len(line) > lim.MaxLineBytes {
				return nil, &SyntaxError{Offset: int64(pos), Field: "header", Msg: fmt.Sprintf("folded header longer than %d bytes", lim.MaxLineBytes)}
			}
			v := strings.TrimSpace(string(line))
			if last.Value == "" {
				last.Value = v
			} else if v != "" {
				last.Value += " " + v
			}
			pos = next
			continue
		}
		// The name ends at the first colon after position 0, so HTTP/2
		// pseudo-headers (":authority: x") survive a round trip.
		c := bytes.IndexByte(line[1:], ':')
		if c < 0 {
			return nil, &SyntaxError{Offset: int64(pos), Field: "header", Msg: fmt.Sprintf("line without a colon: %q", truncate(line, 40))}
		}
		c++
		if len(h.headers) >= lim.MaxHeaders {
			return nil, &SyntaxError{Offset: int64(pos), Field: "header", Msg: fmt.Sprintf("more than %d headers", lim.MaxHeaders)}
		}
		h.headers = append(h.headers, trace.Header{
			Name:  strings.Trim(string(line[:c]), " \t\r"),
			Value: strings.Trim(string(line[c+1:]), " \t"),
		})
		pos = next
	}
	if first {
		return nil, &SyntaxError{Offset: 0, Field: what, Msg: "empty message"}
	}
	return h, nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// ParseRequest parses a raw HTTP/1.x request as Fiddler stores it in
// raw/N_c.txt. The URL is the absolute URI of the request line (for an
// origin-form target it is rebuilt from the Host header as http://host/path;
// for CONNECT it is the authority). The body is everything after the
// headers, with chunked framing removed; content codings are kept (a
// request has no Wire field). If the chunked framing is broken the body is
// kept as received, DecodeErrorField is set in Extra and a *BodyError is
// returned with the request.
func ParseRequest(raw []byte) (*trace.Request, error) {
	lim := DefaultLimits
	h, err := splitHead(raw, lim, "request line")
	if err != nil {
		return nil, err
	}
	parts := strings.Fields(h.start)
	if n := len(parts); n > 3 && strings.HasPrefix(strings.ToUpper(parts[n-1]), "HTTP/") {
		// A target with unescaped spaces: keep it whole.
		line := strings.TrimSpace(h.start)
		target := strings.TrimSpace(line[len(parts[0]) : len(line)-len(parts[n-1])])
		parts = []string{parts[0], target, parts[n-1]}
	}
	if len(parts) < 2 || len(parts) > 3 {
		return nil, &SyntaxError{Offset: 0, Field: "request line", Msg: fmt.Sprintf("want METHOD TARGET VERSION, got %q", truncate([]byte(h.start), 60))}
	}
	if !isToken(parts[0]) {
		return nil, &SyntaxError{Offset: 0, Field: "request line", Msg: fmt.Sprintf("invalid method %q", truncate([]byte(parts[0]), 20))}
	}
	r := &trace.Request{Method: parts[0], URL: parts[1], Headers: h.headers, HeadersSize: h.size, BodySize: int64(len(h.body))}
	if len(parts) == 3 {
		r.Proto = parts[2]
	}
	if !strings.Contains(r.URL, "://") && strings.HasPrefix(r.URL, "/") {
		if host := h.headers.Get("Host"); host != "" {
			r.URL = "http://" + host + r.URL
		}
	}
	r.MimeType = h.headers.Get("Content-Type")
	r.Cookies = h.headers.RequestCookies()
	body, berr := dechunkIf(h.headers, h.body, lim)
	r.Body = body
	r.HasBody = len(body) > 0
	if berr != nil {
		r.Extra = append(r.Extra, decodeErrExt(berr))
		return r, berr
	}
	return r, nil
}

// ParseResponse parses a raw HTTP/1.x response as Fiddler stores it in
// raw/N_s.txt: status line, headers, then the body as received. The body
// is de-chunked and decoded (see the package comment); Encoding names the
// Content-Encoding; Wire keeps the de-chunked, still encoded bytes when
// they differ from Body. A decoding problem returns the response together
// with a *BodyError.
func ParseResponse(raw []byte, lim Limits) (*trace.Response, error) {
	lim = lim.norm()
	var interim []string
	var skipped int64
	h, err := splitHead(raw, lim, "status line")
	// An informational answer (100 Continue, 103 Early Hints) may precede
	// the final one in the same file: keep the final answer and list the
	// interim status lines in Extra["_interim"].
	for err == nil && isInterim(h.start) && bytes.HasPrefix(h.body, []byte("HTTP/")) && len(interim) < 16 {
		interim = append(interim, h.start)
		skipped += h.size
		h, err = splitHead(h.body, lim, "status line")
	}
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			se.Offset += skipped
		}
		return nil, err
	}
	proto, rest, _ := strings.Cut(h.start, " ")
	if !strings.HasPrefix(strings.ToUpper(proto), "HTTP/") {
		return nil, &SyntaxError{Offset: 0, Field: "status line", Msg: fmt.Sprintf("want HTTP/x.y STATUS REASON, got %q", truncate([]byte(h.start), 60))}
	}
	rest = strings.TrimLeft(rest, " ")
	code, reason, _ := strings.Cut(rest, " ")
	st, err := strconv.Atoi(code)
	if err != nil || st < 0 || st > 999 || len(code) != 3 {
		return nil, &SyntaxError{Offset: int64(len(proto) + 1), Field: "status line", Msg: fmt.Sprintf("invalid status code %q", truncate([]byte(code), 20))}
	}
	r := &trace.Response{
		Status: st, Reason: reason, Proto: proto, Headers: h.headers,
		HeadersSize: h.size, BodySize: int64(len(h.body)),
		MimeType:    h.headers.Get("Content-Type"),
		RedirectURL: h.headers.Get("Location"),
		Cookies:     h.headers.ResponseCookies(),
	}
	if len(interim) > 0 {
		var j []string
		for _, l := range interim {
			q, _ := jsonString(l)
			j = append(j, string(q))
		}
		r.Extra = append(r.Extra, trace.Extension{Name: InterimField, JSON: []byte("[" + strings.Join(j, ",") + "]")})
	}
	wire, berr := dechunkIf(h.headers, h.body, lim)
	if berr == nil {
		codings := contentCodings(h.headers)
		if len(codings) > 0 {
			r.Encoding = strings.Join(codings, ", ")
			var body []byte
			body, berr = decodeBody(wire, codings, lim)
			if berr == nil {
				r.Body = body
				if !bytes.Equal(body, wire) {
					r.Wire = wire
				}
			}
		} else {
			r.Body = wire
		}
	}
	if berr != nil {
		r.Body = wire
		r.Wire = wire
		r.Extra = append(r.Extra, decodeErrExt(berr))
		r.Size = int64(len(r.Body))
		return r, berr
	}
	r.Size = int64(len(r.Body))
	if r.Wire != nil && len(r.Body) > len(r.Wire) {
		r.Compression = int64(len(r.Body) - len(r.Wire)) // HAR: bytes saved
	}
	return r, nil
}

func decodeErrExt(err error) trace.Extension {
	b, _ := jsonString(err.Error())
	return trace.Extension{Name: DecodeErrorField, JSON: b}
}

// jsonString quotes s as a JSON string.
func jsonString(s string) ([]byte, error) {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return []byte(b.String()), nil
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// isChunked reports whether the last transfer coding is chunked.
func isChunked(hs trace.Headers) bool {
	var last string
	for _, v := range hs.Values("Transfer-Encoding") {
		for _, c := range strings.Split(v, ",") {
			if c = strings.TrimSpace(c); c != "" {
				last = c
			}
		}
	}
	return strings.EqualFold(last, "chunked")
}

// contentCodings lists the content codings in the order they were applied,
// without "identity".
func contentCodings(hs trace.Headers) []string {
	var out []string
	for _, v := range hs.Values("Content-Encoding") {
		for _, c := range strings.Split(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			if c != "" && c != "identity" {
				out = append(out, c)
			}
		}
	}
	return out
}

func dechunkIf(hs trace.Headers, body []byte, lim Limits) ([]byte, error) {
	if !isChunked(hs) {
		return body, nil
	}
	out, err := dechunk(body, lim.MaxBodyBytes)
	if err != nil {
		return body, &BodyError{Stage: "chunked", Err: err}
	}
	return out, nil
}

// dechunk removes chunked framing. Chunk extensions are ignored; trailers
// after the last chunk are ignored too (Fiddler folds them into headers
// when it unchunks; we keep the headers as recorded).
func dechunk(b []byte, max int64) ([]byte, error) {
	var out []byte
	pos := 0
	for {
		nl := bytes.IndexByte(b[pos:], '\n')
		if nl < 0 {
			return nil, fmt.Errorf("byte %d: missing chunk size line", pos)
		}
		line := bytes.TrimRight(b[pos:pos+nl], "\r")
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		line = bytes.TrimSpace(line)
		n, err := strconv.ParseUint(string(line), 16, 63)
		if err != nil || len(line) == 0 {
			return nil, fmt.Errorf("byte %d: invalid chunk size %q", pos, truncate(line, 20))
		}
		pos += nl + 1
		if n == 0 {
			return out, nil
		}
		if n > uint64(len(b)-pos) {
			return nil, fmt.Errorf("byte %d: chunk of %d bytes truncated", pos, n)
		}
		if int64(len(out))+int64(n) > max {
			return nil, ErrBomb
		}
		out = append(out, b[pos:pos+int(n)]...)
		pos += int(n)
		// CRLF after the data (tolerate bare LF).
		if pos < len(b) && b[pos] == '\r' {
			pos++
		}
		if pos < len(b) && b[pos] == '\n' {
			pos++
		} else {
			return nil, fmt.Errorf("byte %d: missing CRLF after chunk data", pos)
		}
	}
}
