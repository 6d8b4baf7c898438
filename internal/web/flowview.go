package web

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"mime"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/index"
	"github.com/idtrace/idtrace/internal/trace"
)

// maxText is the most body text one flow answer carries; maxBinary the most
// raw bytes (for the hex view and image preview).
const (
	maxText   = 2 << 20
	maxBinary = 512 << 10
)

// FlowView is one flow as the inspectors show it.
type FlowView struct {
	Row      index.Row       `json:"row"`
	Started  string          `json:"started,omitempty"`
	Request  MessageView     `json:"request"`
	Response *MessageView    `json:"response,omitempty"`
	Error    string          `json:"error,omitempty"`
	Timings  trace.Timings   `json:"timings"`
	Tokens   []TokenView     `json:"tokens"`
	Findings []FindingView   `json:"findings"`
	SignIn   *analyze.SignIn `json:"signin,omitempty"`
	// Revealed is true when secrets were asked for (reveal=1) and are shown whole.
	Revealed bool `json:"revealed"`
	// Masked counts the values masked in this answer.
	Masked int          `json:"masked"`
	Flags  []trace.Flag `json:"flags,omitempty"`
}

// FindingView is a finding of the analysis that names this flow.
type FindingView struct {
	analyze.Finding
}

// MessageView is a request or a response.
type MessageView struct {
	Line    string   `json:"line"`
	Headers []KV     `json:"headers"`
	Query   []KV     `json:"query,omitempty"`
	Form    []KV     `json:"form,omitempty"`
	Cookies []KV     `json:"cookies,omitempty"`
	Body    BodyView `json:"body"`
}

// KV is a name and a value, Masked when the value was shortened for safety.
type KV struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Masked bool   `json:"masked,omitempty"`
}

// BodyView is a body: text when it is text, base64 bytes otherwise.
type BodyView struct {
	Size int `json:"size"`
	// Kind is "json", "xml", "html", "form", "text", "image", "binary" or "" (none).
	Kind string `json:"kind"`
	Mime string `json:"mime,omitempty"`
	// Encoding is the content coding the body had on the wire (gzip, br...).
	Encoding  string `json:"encoding,omitempty"`
	Text      string `json:"text,omitempty"`
	Base64    string `json:"base64,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	Omitted   bool   `json:"omitted,omitempty"`
}

// TokenView is a token found in the flow, decoded in place with the verdict.
type TokenView struct {
	// Where names the place: "request.header.Authorization", "request.form.SAMLResponse"...
	Where string `json:"where"`
	// Type is "jwt" or "saml".
	Type string `json:"type"`
	// Display is the token shortened (whole when revealed).
	Display     string              `json:"display"`
	Fingerprint string              `json:"fingerprint"`
	JWT         *analyze.JWTReport  `json:"jwt,omitempty"`
	SAML        *analyze.SAMLReport `json:"saml,omitempty"`
	// Verified and VerifyDetail come from the trace's analysis when it saw
	// the token (it knows the keys found in the trace), else from decoding alone.
	Verified     *bool  `json:"verified"`
	VerifyDetail string `json:"verify_detail,omitempty"`
	// Verdict is the word every report uses: verified, invalid, not checked
	// or unsigned (analyze's verdict vocabulary).
	Verdict string `json:"verdict"`
	SignIn  int    `json:"signin,omitempty"`
	Error   string `json:"error,omitempty"`
}

// secretParams are parameter and JSON field names whose values are secrets.
var secretParams = map[string]bool{
	"code": true, "access_token": true, "refresh_token": true, "id_token": true, "client_secret": true,
	"password": true, "passwd": true, "pwd": true, "client_assertion": true, "assertion": true,
	"samlresponse": true, "samlrequest": false, "wresult": true, "device_code": true, "flowtoken": true,
	"ppft": true, "canary": true, "apicanary": true, "code_verifier": true, "otc": true, "token": true,
	"sessionid": true, "session_state": false, "sfttag": true, "ctx": false,
}

// secretHeaders are headers whose whole value is a secret.
var secretHeaders = map[string]bool{
	"authorization": true, "proxy-authorization": true, "x-ms-refreshtokencredential": true,
	"x-ms-devicecredential": true, "x-ms-token-aad-id-token": true, "x-ms-token-aad-access-token": true,
	"x-ms-token-aad-refresh-token": true, "x-api-key": true,
}

// masker shortens secrets unless reveal is set, counting what it hid.
type masker struct {
	reveal bool
	n      int
}

// value masks a secret value: its first 6 characters, its length and a fingerprint.
func (m *masker) value(v string) (string, bool) {
	if m.reveal || v == "" {
		return v, false
	}
	m.n++
	return shorten(v), true
}

func shorten(v string) string {
	p := v
	if len(p) > 6 {
		p = p[:6]
	}
	for !utf8.ValidString(p) && len(p) > 0 {
		p = p[:len(p)-1]
	}
	return p + "…[" + itoa(len(v)) + " chars, sha256 " + fingerprint(v) + "]"
}

func fingerprint(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])[:12]
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

var jsonSecretRE = regexp.MustCompile(`(?i)"(access_token|refresh_token|id_token|client_secret|password|code|device_code|client_assertion|assertion|flowToken|sFT|canary|apiCanary|sessionId)"(\s*:\s*)"((?:[^"\\]|\\.)*)"`)
var htmlSecretRE = regexp.MustCompile(`(?i)(name="(?:SAMLResponse|wresult|code|id_token|access_token|flowToken|PPFT|canary|ctx)"[^>]*?value=")([^"]*)(")|(value=")([^"]*)("[^>]*?name="(?:SAMLResponse|wresult|code|id_token|access_token|flowToken|PPFT|canary)")`)

// text masks the JWTs in free text, and secret JSON fields and hidden form
// fields of HTML pages.
func (m *masker) text(s string) string {
	if m.reveal || s == "" {
		return s
	}
	s = jsonSecretRE.ReplaceAllStringFunc(s, func(x string) string {
		sub := jsonSecretRE.FindStringSubmatch(x)
		v, _ := m.value(sub[3])
		return `"` + sub[1] + `"` + sub[2] + `"` + strings.ReplaceAll(v, `"`, `'`) + `"`
	})
	s = htmlSecretRE.ReplaceAllStringFunc(s, func(x string) string {
		sub := htmlSecretRE.FindStringSubmatch(x)
		if sub[1] != "" {
			v, _ := m.value(sub[2])
			return sub[1] + v + sub[3]
		}
		v, _ := m.value(sub[5])
		return sub[4] + v + sub[6]
	})
	var b strings.Builder
	last := 0
	for t := range jwt.All(s) {
		b.WriteString(s[last:t.Start])
		v, _ := m.value(t.Token)
		b.WriteString(v)
		last = t.End
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// query masks secret parameters of a query string or form body.
func (m *masker) params(raw string) []KV {
	var out []KV
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		kv := KV{Name: k, Value: v}
		if secretParams[strings.ToLower(k)] {
			kv.Value, kv.Masked = m.value(v)
		} else {
			kv.Value = m.text(v)
		}
		out = append(out, kv)
	}
	return out
}

// url masks the secret parameters inside a URL's query and fragment.
func (m *masker) url(u string) string {
	if m.reveal {
		return u
	}
	base, frag, hasFrag := strings.Cut(u, "#")
	path, q, hasQ := strings.Cut(base, "?")
	out := m.text(path)
	if hasQ {
		out += "?" + m.rawParams(q)
	}
	if hasFrag {
		out += "#" + m.rawParams(frag)
	}
	return out
}

func (m *masker) rawParams(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		dk, _ := url.QueryUnescape(k)
		if ok && secretParams[strings.ToLower(dk)] {
			mv, _ := m.value(v)
			parts[i] = k + "=" + mv
		} else {
			parts[i] = m.text(p)
		}
	}
	return strings.Join(parts, "&")
}

// header masks one header value.
func (m *masker) header(name, v string) (string, bool) {
	ln := strings.ToLower(name)
	switch {
	case secretHeaders[ln]:
		if scheme, rest, ok := strings.Cut(v, " "); ok && !m.reveal && len(scheme) < 16 {
			mv, _ := m.value(rest)
			return scheme + " " + mv, true
		}
		return m.value(v)
	case ln == "cookie":
		return m.cookieHeader(v), !m.reveal
	case ln == "set-cookie":
		name, rest, _ := strings.Cut(v, "=")
		val, attrs, _ := strings.Cut(rest, ";")
		mv, _ := m.value(val)
		if attrs != "" {
			attrs = ";" + attrs
		}
		return name + "=" + mv + attrs, !m.reveal
	case ln == "location" || ln == "referer" || ln == "content-location" || ln == ":path" || ln == "origin":
		return m.url(v), false
	}
	return m.text(v), false
}

func (m *masker) cookieHeader(v string) string {
	parts := strings.Split(v, ";")
	for i, p := range parts {
		k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok {
			mv, _ := m.value(val)
			parts[i] = k + "=" + mv
		}
	}
	return strings.Join(parts, "; ")
}

// flowView builds what the inspectors show of f.
func flowView(t *Trace, f *trace.Flow, reveal bool) *FlowView {
	m := &masker{reveal: reveal}
	v := &FlowView{Row: index.RowOf(f), Error: f.Error, Timings: f.Timings, Tokens: []TokenView{}, Findings: []FindingView{},
		Revealed: reveal, Flags: f.Flags}
	v.Row.URL = m.url(v.Row.URL)
	if !f.Started.IsZero() {
		v.Started = f.Started.Format(time.RFC3339Nano)
	}
	q := f.Request
	v.Request.Line = q.Method + " " + m.url(q.URL) + " " + q.Proto
	v.Request.Headers = m.headers(q.Headers)
	if _, rawq, ok := strings.Cut(strings.SplitN(q.URL, "#", 2)[0], "?"); ok {
		v.Request.Query = m.params(rawq)
	}
	for _, c := range q.Headers.Values("Cookie") {
		for p := range strings.SplitSeq(c, ";") {
			if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok {
				kv := KV{Name: k}
				kv.Value, kv.Masked = m.value(val)
				v.Request.Cookies = append(v.Request.Cookies, kv)
			}
		}
	}
	ct := q.MimeType
	if ct == "" {
		ct = q.Headers.Get("Content-Type")
	}
	if strings.Contains(strings.ToLower(ct), "application/x-www-form-urlencoded") && utf8.Valid(q.Body) {
		v.Request.Form = m.params(string(q.Body))
	}
	v.Request.Body = m.body(q.Body, ct, "", false)
	if v.Request.Form != nil && !reveal {
		// The raw form text would show what Form masks.
		var parts []string
		for _, kv := range v.Request.Form {
			parts = append(parts, url.QueryEscape(kv.Name)+"="+kv.Value)
		}
		v.Request.Body.Text = strings.Join(parts, "&")
	}
	if r := f.Response; r != nil {
		mv := &MessageView{Line: strings.TrimSpace(r.Proto + " " + itoa(r.Status) + " " + r.Reason), Headers: m.headers(r.Headers)}
		if r.Status == 0 {
			mv.Line = strings.TrimSpace(r.Proto + " 0 " + r.Reason)
		}
		for _, c := range r.Headers.Values("Set-Cookie") {
			name, rest, _ := strings.Cut(c, "=")
			val, _, _ := strings.Cut(rest, ";")
			kv := KV{Name: name}
			kv.Value, kv.Masked = m.value(val)
			mv.Cookies = append(mv.Cookies, kv)
		}
		rct := r.MimeType
		if rct == "" {
			rct = r.Headers.Get("Content-Type")
		}
		mv.Body = m.body(r.Body, rct, r.Encoding, r.BodyOmitted)
		if r.BodyOmitted && r.Size > 0 {
			mv.Body.Size = int(r.Size)
		}
		v.Response = mv
	}
	v.Tokens = tokensOf(t, f, m)
	if t.Report != nil {
		for _, fd := range t.Report.Findings {
			for _, id := range fd.FlowIDs {
				if id == f.ID {
					fd.Detail = m.text(fd.Detail)
					v.Findings = append(v.Findings, FindingView{fd})
					break
				}
			}
		}
		for i := range t.Report.Flows {
			s := &t.Report.Flows[i]
			for _, st := range s.Steps {
				if st.FlowID == f.ID {
					v.SignIn = s
				}
			}
		}
	}
	v.Masked = m.n
	return v
}

func (m *masker) headers(hs trace.Headers) []KV {
	out := make([]KV, 0, len(hs))
	for _, h := range hs {
		kv := KV{Name: h.Name}
		kv.Value, kv.Masked = m.header(h.Name, h.Value)
		out = append(out, kv)
	}
	return out
}

// body describes a body; text bodies are masked, binary ones are sent as
// base64 only when they are not text (so the hex view never shows a secret
// that the text view hides).
func (m *masker) body(b []byte, ct, enc string, omitted bool) BodyView {
	bv := BodyView{Size: len(b), Encoding: enc, Omitted: omitted}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(ct), ";")
		mt = strings.TrimSpace(mt)
	}
	bv.Mime = mt
	if len(b) == 0 {
		return bv
	}
	isText := utf8.Valid(b[:min(len(b), 64<<10)]) && !strings.HasPrefix(mt, "image/")
	switch {
	case strings.HasPrefix(mt, "image/"):
		bv.Kind = "image"
	case strings.Contains(mt, "json"):
		bv.Kind = "json"
	case strings.Contains(mt, "html"):
		bv.Kind = "html"
	case strings.Contains(mt, "xml"):
		bv.Kind = "xml"
	case strings.Contains(mt, "x-www-form-urlencoded"):
		bv.Kind = "form"
	case isText:
		bv.Kind = "text"
		if t := strings.TrimSpace(string(b[:min(len(b), 256)])); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			bv.Kind = "json"
		} else if strings.HasPrefix(t, "<?xml") {
			bv.Kind = "xml"
		}
	default:
		bv.Kind = "binary"
	}
	if isText {
		s := b
		if len(s) > maxText {
			s, bv.Truncated = s[:maxText], true
			for len(s) > 0 && !utf8.Valid(s) {
				s = s[:len(s)-1]
			}
		}
		bv.Text = m.text(string(s))
		return bv
	}
	s := b
	if len(s) > maxBinary {
		s, bv.Truncated = s[:maxBinary], true
	}
	bv.Base64 = base64.StdEncoding.EncodeToString(s)
	return bv
}

// tokensOf finds the JWTs and SAML messages of a flow and decodes them.
func tokensOf(t *Trace, f *trace.Flow, m *masker) []TokenView {
	out := []TokenView{}
	seen := map[string]bool{}
	addJWT := func(where, raw string) {
		if seen[raw] {
			return
		}
		seen[raw] = true
		tv := TokenView{Where: where, Type: "jwt", Fingerprint: fingerprint(raw)}
		tv.Display, _ = m.value(raw)
		rep, err := analyze.ExplainJWT(raw, nil, f.Started, 0)
		if err != nil {
			tv.Error = err.Error()
		} else {
			tv.JWT = rep
			tv.Verified, tv.VerifyDetail, tv.Verdict = rep.Verified, rep.VerifyDetail, rep.Verdict
		}
		if rt := reportToken(t, tv.Fingerprint); rt != nil {
			tv.Verified, tv.VerifyDetail, tv.Verdict, tv.SignIn = rt.Verified, rt.VerifyDetail, rt.Verdict, rt.SignIn
		}
		out = append(out, tv)
	}
	scan := func(where, s string) {
		for mt := range jwt.All(s) {
			addJWT(where, mt.Token)
		}
	}
	q := f.Request
	scan("request.url", q.URL)
	for _, h := range q.Headers {
		scan("request.header."+h.Name, h.Value)
	}
	if utf8.Valid(q.Body) && len(q.Body) < 8<<20 {
		scan("request.body", string(q.Body))
	}
	if r := f.Response; r != nil {
		for _, h := range r.Headers {
			scan("response.header."+h.Name, h.Value)
		}
		if utf8.Valid(r.Body) && len(r.Body) < 8<<20 {
			scan("response.body", string(r.Body))
		}
	}
	// SAML messages: in the query (redirect binding) or a form post.
	addSAML := func(where, input string) {
		if input == "" || seen[input] {
			return
		}
		seen[input] = true
		tv := TokenView{Where: where, Type: "saml", Fingerprint: fingerprint(input)}
		tv.Display, _ = m.value(input)
		rep, err := analyze.ExplainSAML(input, f.Started, nil)
		if err != nil {
			tv.Error = err.Error()
		} else {
			tv.SAML = rep
			tv.Verified, tv.VerifyDetail, tv.Verdict = rep.Verified, rep.VerifyDetail, rep.Verdict
		}
		if rt := reportToken(t, tv.Fingerprint); rt != nil {
			tv.Verified, tv.VerifyDetail, tv.Verdict, tv.SignIn = rt.Verified, rt.VerifyDetail, rt.Verdict, rt.SignIn
		}
		out = append(out, tv)
	}
	if u, err := url.Parse(q.URL); err == nil {
		for _, k := range []string{"SAMLRequest", "SAMLResponse"} {
			if v := u.Query().Get(k); v != "" {
				addSAML("request.query."+k, q.URL)
			}
		}
	}
	if strings.Contains(strings.ToLower(q.Headers.Get("Content-Type")), "x-www-form-urlencoded") {
		if vals, err := url.ParseQuery(string(q.Body)); err == nil {
			for _, k := range []string{"SAMLRequest", "SAMLResponse"} {
				if v := vals.Get(k); v != "" {
					addSAML("request.form."+k, v)
				}
			}
		}
	}
	return out
}

// reportToken finds the analysis' record of a token by fingerprint (the
// report keeps a prefix of the same SHA-256).
func reportToken(t *Trace, fp string) *analyze.Token {
	if t.Report == nil {
		return nil
	}
	for i := range t.Report.Tokens {
		rt := &t.Report.Tokens[i]
		if rt.Fingerprint != "" && strings.HasPrefix(fp, rt.Fingerprint) {
			return rt
		}
	}
	return nil
}
