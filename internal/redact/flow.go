package redact

import (
	"strconv"
	"strings"

	"github.com/idtrace/idtrace/internal/trace"
)

func (r *Redactor) request(q *trace.Request) {
	q.URL = r.url(q.URL, "request.url")
	q.Headers = r.headers(q.Headers, "request.header", false)
	for i := range q.Cookies {
		c := &q.Cookies[i]
		c.Value = r.cookie(c.Name, c.Value, r.place("request.cookies", " ", c.Name))
	}
	if len(q.Body) > 0 {
		mime := q.MimeType
		if mime == "" {
			mime = q.Headers.Get("Content-Type")
		}
		nb := r.requestBody(q, mime)
		if len(r.echoes.byKey) > 0 && len(nb) <= maxBody {
			if e := r.echo(string(nb), "request.body"); e != string(nb) {
				nb = []byte(e)
			}
		}
		if !sameBytes(nb, q.Body) {
			q.Body = nb
			if q.BodySize > 0 {
				q.BodySize = int64(len(nb))
			}
			fixLength(q.Headers, len(nb))
		}
	}
	for i := range q.Params {
		p := &q.Params[i]
		p.Value = r.param(p.Name, p.Value, r.place("request.params", " ", p.Name))
	}
	// Secrets removed earlier in the trace, copied here in another form.
	if len(r.echoes.byKey) > 0 {
		q.URL = r.echo(q.URL, "request.url")
		for i := range q.Headers {
			q.Headers[i].Value = r.echo(q.Headers[i].Value, r.place("request.header", " ", q.Headers[i].Name))
		}
		for i := range q.Params {
			q.Params[i].Value = r.echo(q.Params[i].Value, r.place("request.params", " ", q.Params[i].Name))
		}
	}
}

func (r *Redactor) response(s *trace.Response) {
	s.Headers = r.headers(s.Headers, "response.header", true)
	for i := range s.Cookies {
		c := &s.Cookies[i]
		c.Value = r.cookie(c.Name, c.Value, r.place("response.cookies", " ", c.Name))
	}
	s.RedirectURL = r.url(s.RedirectURL, "response.redirectURL")
	if len(s.Body) > 0 {
		mime := s.MimeType
		if mime == "" {
			mime = s.Headers.Get("Content-Type")
		}
		nb := r.body(s.Body, mime, "response.body")
		if !sameBytes(nb, s.Body) {
			s.Body = nb
			s.Wire = nil
			if s.Size >= 0 {
				s.Size = int64(len(nb))
			}
			if s.Encoding == "" {
				fixLength(s.Headers, len(nb))
			}
		}
	}
	if s.Wire != nil && len(s.Body) == 0 {
		// A body kept only in its wire form cannot be judged: drop it.
		s.Wire = nil
	}
}

func sameBytes(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0] || string(a) == string(b))
}

// fixLength rewrites a Content-Length header to n (after a body changed).
func fixLength(hs trace.Headers, n int) {
	for i := range hs {
		if strings.EqualFold(hs[i].Name, "Content-Length") {
			hs[i].Value = strconv.Itoa(n)
		}
	}
}

// place returns where+sep+name, the place of a removal, when OnRemove
// will read it, and "" otherwise: nothing else reads places, and building
// one for every header and cookie of a large trace costs an allocation each.
func (r *Redactor) place(where, sep, name string) string {
	if r.opts.OnRemove == nil {
		return ""
	}
	return where + sep + name
}

// headers redacts a header list in place (it is the flow's own copy).
func (r *Redactor) headers(hs trace.Headers, where string, response bool) trace.Headers {
	for i := range hs {
		h := &hs[i]
		ln := r.lower(h.Name)
		loc := r.place(where, " ", h.Name)
		switch {
		case h.Value == "":
		case authHeaders[ln]:
			h.Value = r.auth(h.Value, loc)
		case ln == "cookie":
			h.Value = r.cookieHeader(h.Value, loc)
		case ln == "set-cookie":
			h.Value = r.setCookie(h.Value, loc)
		case isSecretHeader(ln):
			if !isPlaceholder(h.Value) {
				h.Value = r.secretValue("header", h.Name, h.Value, loc)
			}
		case r.opts.PII && (ln == "x-forwarded-for" || ln == "x-real-ip" || ln == "x-client-ip" || ln == "true-client-ip" || ln == "x-ms-client-ip"):
			h.Value = r.pseudoIP(h.Value, loc)
		default:
			v := r.textValue(h.Value, loc)
			if !entropySafeHeaders[ln] && !strings.HasPrefix(ln, "sec-") && !strings.HasPrefix(ln, ":") && !urlHeaders[ln] {
				v = r.guess(h.Name, v, loc)
			}
			h.Value = v
		}
	}
	return hs
}

// urlHeaders carry a URL: their query fields are judged one by one.
var urlHeaders = set("referer", "origin", "location", "content-location", "refresh")

// auth redacts an Authorization value "Scheme credentials".
func (r *Redactor) auth(v, loc string) string {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
	cred = strings.TrimSpace(cred)
	if !ok || cred == "" {
		if isPlaceholder(v) {
			return v
		}
		return r.pseudo("auth", "", v, loc)
	}
	if isPlaceholder(cred) {
		return v
	}
	switch strings.ToLower(scheme) {
	case "bearer", "pop":
		if looksJWT(cred) {
			return scheme + " " + r.jwtValue(cred, loc)
		}
		return scheme + " " + r.pseudo("auth", "bearer", cred, loc)
	case "ntlm", "negotiate":
		if nc, ok := r.ntlmCred(cred, loc); ok {
			return scheme + " " + nc
		}
		if nc, ok := r.negotiateCred(cred, loc); ok {
			return scheme + " " + nc
		}
		return scheme + " " + r.pseudo("auth", ntlmName(cred, r.opts.PII), cred, loc)
	default:
		return scheme + " " + r.pseudo("auth", strings.ToLower(scheme), cred, loc)
	}
}

// cookie judges one cookie value.
func (r *Redactor) cookie(name, value, loc string) string {
	if value == "" || isPlaceholder(value) {
		return value
	}
	ln := r.lower(name)
	if r.opts.Tokens == KeepClaims && looksJWT(value) && !strings.Contains(ln, "refreshtoken") && !strings.Contains(ln, "devicecredential") {
		return r.jwtValue(value, loc)
	}
	if secretCookies[ln] || len(value) >= cookieKeepBelow {
		return r.pseudo("cookie", name, value, loc)
	}
	return value
}

// cookieHeader redacts each pair of a Cookie header, copying the header
// only when a value changes.
func (r *Redactor) cookieHeader(v, loc string) string {
	var out []byte
	last := 0
	for start := 0; start <= len(v); {
		end := strings.IndexByte(v[start:], ';')
		if end < 0 {
			end = len(v)
		} else {
			end += start
		}
		p := v[start:end]
		lead := len(p) - len(strings.TrimLeft(p, " \t"))
		if name, val, ok := strings.Cut(p[lead:], "="); ok {
			tn := strings.TrimSpace(name)
			if nv := r.cookie(tn, val, r.place(loc, ": ", tn)); nv != val {
				at := start + lead + len(name) + 1 // where the value starts
				out = append(out, v[last:at]...)
				out = append(out, nv...)
				last = end
			}
		}
		start = end + 1
	}
	if out == nil {
		return v
	}
	return string(append(out, v[last:]...))
}

// setCookie redacts the value of a Set-Cookie header, keeping its
// attributes. Chrome's HAR joins several Set-Cookie lines with "\n".
func (r *Redactor) setCookie(v, loc string) string {
	if strings.Contains(v, "\n") {
		lines := strings.Split(v, "\n")
		for i, l := range lines {
			lines[i] = r.setCookieLine(l, loc)
		}
		return strings.Join(lines, "\n")
	}
	return r.setCookieLine(v, loc)
}

func (r *Redactor) setCookieLine(v, loc string) string {
	first, rest, _ := strings.Cut(v, ";")
	name, val, ok := strings.Cut(first, "=")
	if !ok {
		return v
	}
	nv := r.cookie(strings.TrimSpace(name), val, r.place(loc, ": ", strings.TrimSpace(name)))
	if nv == val {
		return v
	}
	out := name + "=" + nv
	if len(rest) > 0 || strings.Contains(v, ";") {
		out += ";" + rest
	}
	return out
}

// requestBody redacts a request body, which keeps any content coding it was
// sent with: gzip and deflate bodies are decoded, redacted and encoded
// again; bodies in other codings are searched as they are.
func (r *Redactor) requestBody(q *trace.Request, mime string) []byte {
	ce := strings.ToLower(strings.TrimSpace(q.Headers.Get("Content-Encoding")))
	if ce == "" || ce == "identity" {
		return r.body(q.Body, mime, "request.body")
	}
	plain, err := decodeCoding(q.Body, ce)
	if err != nil {
		return r.body(q.Body, "application/octet-stream", "request.body")
	}
	np := r.body(plain, mime, "request.body "+ce)
	if sameBytes(np, plain) {
		return q.Body
	}
	enc, err := encodeCoding(np, ce)
	if err != nil {
		return np
	}
	return enc
}
