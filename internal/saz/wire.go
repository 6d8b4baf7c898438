package saz

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/idtrace/idtrace/internal/httpmsg"
	"github.com/idtrace/idtrace/internal/trace"
)

// Fiddler and the tools that read SAZ files parse raw/N_c.txt and
// raw/N_s.txt as HTTP/1.x messages. A flow read from a HAR may hold what
// HTTP/1.x cannot say: an "HTTP/2" or "h3" version, a data: or relative
// URL, pseudo-headers (":authority"), header values with leading spaces or
// control characters, a Content-Length that does not match the body kept,
// a status outside 0..999. The Writer writes every message in a form that
// a strict HTTP/1.1 parser (Go's net/http ReadRequest and ReadResponse)
// accepts, and keeps each original value that it had to change in a
// session flag, whose value is the original quoted as a Go string literal
// (strconv.Quote). The Reader puts the originals back and removes those
// flags, so HAR -> SAZ -> HAR gives the flow back unchanged. Fiddler shows
// them as ordinary session flags.
const (
	flagReqMethod  = "x-idtrace-request-method"   // when not a token: written as INVALID-METHOD
	flagReqURL     = "x-idtrace-request-url"      // when the request line cannot carry it as is
	flagReqProto   = "x-idtrace-request-protocol" // when not exactly HTTP/1.0 or HTTP/1.1
	flagReqHeaders = "x-idtrace-request-headers"  // the whole list, when the file's differs
	// flagRespStatus holds the status when it is outside 0..999, and marks
	// a recorded response with status 0 and nothing else (written as an
	// empty raw/N_s.txt, Fiddler's "no response").
	flagRespStatus  = "x-idtrace-response-status"
	flagRespReason  = "x-idtrace-response-reason" // when it holds control characters
	flagRespProto   = "x-idtrace-response-protocol"
	flagRespHeaders = "x-idtrace-response-headers"

	// Archives written before the flags above moved only pseudo-headers,
	// one "index name value" line each; the Reader still reads them.
	flagReqPseudo  = "x-idtrace-request-pseudo-headers"
	flagRespPseudo = "x-idtrace-response-pseudo-headers"
)

// invalidMethod replaces a method that is not an HTTP token.
const invalidMethod = "INVALID-METHOD"

// message is one HTTP/1.x message ready to write, and the flags that keep
// what it could not carry.
type message struct {
	start   string
	headers trace.Headers
	body    []byte
	flags   []trace.Flag
}

func (m *message) keep(name, orig, written string) {
	if orig != written {
		m.flags = append(m.flags, trace.Flag{Name: name, Value: strconv.Quote(orig)})
	}
}

// requestMessage is r in strict HTTP/1.1 form.
func requestMessage(r *trace.Request) message {
	var m message
	method := r.Method
	if !httpmsg.IsToken(method) {
		method = invalidMethod
	}
	m.keep(flagReqMethod, r.Method, method)
	proto := strictProto(r.Proto)
	m.keep(flagReqProto, r.Proto, proto)
	hs := strictHeaders(r.Headers)
	hs = strictLength(hs, len(r.Body), true, true)
	target := requestTarget(method, r.URL)
	m.keep(flagReqURL, r.URL, readBackURL(target, hs))
	m.keepHeaders(flagReqHeaders, r.Headers, hs)
	m.start = method + " " + target + " " + proto
	m.headers = hs
	m.body = r.Body
	return m
}

// responseMessage is r in strict HTTP/1.1 form; method is the request's
// (a HEAD answer has no body). A nil message means an empty raw/N_s.txt.
func responseMessage(r *trace.Response, method string) (message, bool) {
	var m message
	if r.Status == 0 && len(r.Headers) == 0 && len(r.Body) == 0 && len(r.Wire) == 0 {
		// HAR's status 0 with nothing received: Fiddler's empty file, with
		// a flag saying a response object was recorded.
		m.flags = append(m.flags, trace.Flag{Name: flagRespStatus, Value: strconv.Quote("0")})
		m.keep(flagRespProto, r.Proto, "")
		m.keep(flagRespReason, r.Reason, "")
		return m, false
	}
	status := r.Status
	if status < 0 || status > 999 {
		status = 0
	}
	m.keep(flagRespStatus, strconv.Itoa(r.Status), strconv.Itoa(status))
	proto := strictProto(r.Proto)
	m.keep(flagRespProto, r.Proto, proto)
	reason := strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return ' '
		}
		return c
	}, r.Reason)
	m.keep(flagRespReason, r.Reason, reason)
	c := *r
	c.Headers = strictHeaders(r.Headers)
	hs, body := httpmsg.ResponseBytes(&c)
	bodyless := method == "HEAD" || status/100 == 1 || status == 204 || status == 304
	hs = strictLength(hs, len(body), !bodyless, false)
	m.keepHeaders(flagRespHeaders, r.Headers, hs)
	m.start = httpmsg.StatusLine(proto, status, reason)
	m.headers = hs
	m.body = body
	return m, true
}

func strictProto(p string) string {
	if p == "HTTP/1.1" || p == "HTTP/1.0" {
		return p
	}
	return "HTTP/1.1"
}

// strictHeaders drops the headers a strict parser refuses or that would
// not read back the same: names that are not tokens (pseudo-headers
// included), values with control characters or surrounding white space,
// and Transfer-Encoding unless it is one header saying only "chunked".
func strictHeaders(hs trace.Headers) trace.Headers {
	te := 0
	teOK := false
	for _, h := range hs {
		if strings.EqualFold(h.Name, "Transfer-Encoding") {
			te++
			teOK = strings.EqualFold(h.Value, "chunked")
		}
	}
	out := make(trace.Headers, 0, len(hs))
	for _, h := range hs {
		if !httpmsg.IsToken(h.Name) || !strictValue(h.Value) {
			continue
		}
		if strings.EqualFold(h.Name, "Transfer-Encoding") && (te != 1 || !teOK) {
			continue
		}
		out = append(out, h)
	}
	return out
}

func strictValue(v string) bool {
	if v != "" && (v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// strictLength makes the Content-Length headers agree with a body of n
// bytes. Chunked messages and bodyless answers only need agreeing
// values; otherwise every value must be n, or they are all replaced by one
// correct header (added for a non-empty request body without framing).
func strictLength(hs trace.Headers, n int, hasBody, isRequest bool) trace.Headers {
	var vals []string
	for _, h := range hs {
		if strings.EqualFold(h.Name, "Content-Length") {
			vals = append(vals, h.Value)
		}
	}
	agree := true
	for _, v := range vals {
		agree = agree && v == vals[0]
	}
	chunked := httpmsg.IsChunked(hs)
	if agree && (chunked || !hasBody) {
		return hs
	}
	if agree && len(vals) > 0 && vals[0] == strconv.Itoa(n) {
		return hs
	}
	if !agree && (chunked || !hasBody) {
		return without(hs, "Content-Length")
	}
	if len(vals) == 0 && (!isRequest || n == 0) {
		return hs // a response body ends with the file
	}
	out := without(hs, "Content-Length")
	if n > 0 || len(vals) > 0 {
		out = append(out, trace.Header{Name: "Content-Length", Value: strconv.Itoa(n)})
	}
	return out
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

// keepHeaders records the whole original list when the file's differs.
func (m *message) keepHeaders(name string, orig, written trace.Headers) {
	if sameHeaders(orig, written) {
		return
	}
	var b strings.Builder
	for i, h := range orig {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(strconv.Quote(h.Name))
		b.WriteByte(' ')
		b.WriteString(strconv.Quote(h.Value))
	}
	m.flags = append(m.flags, trace.Flag{Name: name, Value: b.String()})
}

func sameHeaders(a, b trace.Headers) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// parseHeaderList reads keepHeaders' encoding.
func parseHeaderList(s string) (trace.Headers, bool) {
	out := trace.Headers{}
	if s == "" {
		return out, true
	}
	for _, line := range strings.Split(s, "\n") {
		qn, err := strconv.QuotedPrefix(line)
		if err != nil || len(line) <= len(qn) || line[len(qn)] != ' ' {
			return nil, false
		}
		name, _ := strconv.Unquote(qn)
		value, err := strconv.Unquote(line[len(qn)+1:])
		if err != nil {
			return nil, false
		}
		out = append(out, trace.Header{Name: name, Value: value})
	}
	return out, true
}

// requestTarget is the request-target written for u: u itself when a
// strict parser accepts it, else u with white space, control and non-ASCII
// bytes and stray "%" percent-encoded, else that with "/" in front (a
// relative or empty URL), else "/" and u escaped as one path segment.
func requestTarget(method, u string) string {
	if validTarget(method, u) {
		return u
	}
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c <= ' ' || c >= 0x7f:
			b.WriteString("%" + strings.ToUpper(strconv.FormatUint(uint64(c)|0x100, 16)[1:]))
		case c == '%' && !(i+2 < len(u) && ishex(u[i+1]) && ishex(u[i+2])):
			b.WriteString("%25")
		default:
			b.WriteByte(c)
		}
	}
	e := b.String()
	if validTarget(method, e) {
		return e
	}
	if validTarget(method, "/"+e) {
		return "/" + e
	}
	return "/" + url.PathEscape(u)
}

func ishex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// validTarget reports whether net/http accepts t as the request-target of
// method, and t is printable ASCII (so every reader splits the line alike).
func validTarget(method, t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] <= ' ' || t[i] >= 0x7f {
			return false
		}
	}
	if method == "CONNECT" && !strings.HasPrefix(t, "/") {
		t = "http://" + t
	}
	_, err := url.ParseRequestURI(t)
	return err == nil
}

// readBackURL is the URL httpmsg.ParseRequest gives for target.
func readBackURL(target string, hs trace.Headers) string {
	if !strings.Contains(target, "://") && strings.HasPrefix(target, "/") {
		if host := hs.Get("Host"); host != "" {
			return "http://" + host + target
		}
	}
	return target
}

// restoreWire puts back what the flags above kept and removes them; a
// flag whose value does not decode is left in Flags.
func restoreWire(f *trace.Flow) {
	if f.Response == nil && f.Flag(flagRespStatus) != "" {
		f.Response = &trace.Response{HeadersSize: trace.Unknown, BodySize: trace.Unknown}
	}
	kept := f.Flags[:0]
	for _, fl := range f.Flags {
		if !applyFlag(f, strings.ToLower(fl.Name), fl.Value) {
			kept = append(kept, fl)
		}
	}
	if len(kept) == 0 {
		kept = nil
	}
	f.Flags = kept
}

func applyFlag(f *trace.Flow, name, value string) bool {
	q, r := f.Request, f.Response
	switch {
	case name == flagReqPseudo && q != nil:
		q.Headers = joinPseudo(q.Headers, value)
		return true
	case name == flagRespPseudo && r != nil:
		r.Headers = joinPseudo(r.Headers, value)
		return true
	case name == flagReqHeaders && q != nil, name == flagRespHeaders && r != nil:
		hs, ok := parseHeaderList(value)
		if !ok {
			return false
		}
		if name == flagReqHeaders {
			q.Headers = hs
		} else {
			r.Headers = hs
		}
		return true
	}
	var target *string
	switch {
	case name == flagReqMethod && q != nil:
		target = &q.Method
	case name == flagReqURL && q != nil:
		target = &q.URL
	case name == flagReqProto && q != nil:
		target = &q.Proto
	case name == flagRespProto && r != nil:
		target = &r.Proto
	case name == flagRespReason && r != nil:
		target = &r.Reason
	case name == flagRespStatus && r != nil:
		v, err := strconv.Unquote(value)
		if err != nil {
			return false
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return false
		}
		r.Status = n
		return true
	default:
		return false
	}
	v, err := strconv.Unquote(value)
	if err != nil {
		return false
	}
	*target = v
	return true
}

// joinPseudo puts legacy encoded pseudo-headers back into hs at their
// positions. Malformed lines are ignored (they came from a flag, not from
// the wire).
func joinPseudo(hs trace.Headers, enc string) trace.Headers {
	if enc == "" {
		return hs
	}
	out := make(trace.Headers, 0, len(hs)+4)
	rest := hs
	for _, line := range strings.Split(enc, "\n") {
		is, nv, ok := strings.Cut(line, " ")
		i, err := strconv.Atoi(is)
		if !ok || err != nil || i < 0 {
			continue
		}
		name, value, _ := strings.Cut(nv, " ")
		if len(name) < 2 || name[0] != ':' {
			continue
		}
		for len(out) < i && len(rest) > 0 {
			out = append(out, rest[0])
			rest = rest[1:]
		}
		out = append(out, trace.Header{Name: name, Value: value})
	}
	return append(out, rest...)
}
