package redact

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"strings"
	"unicode/utf8"
)

// maxBody is the largest body judged structurally; larger bodies (media,
// downloads) are searched for JWTs only.
const maxBody = 32 << 20

// body redacts a request or response body or a text WebSocket message by
// its type: forms, JSON, HTML (form inputs and the ESTS $Config), XML
// (SAML, WS-Fed) and any other text. Binary bodies are returned as they are.
func (r *Redactor) body(b []byte, mime, where string) []byte {
	if len(b) == 0 {
		return b
	}
	m := strings.ToLower(mime)
	trim := bytes.TrimLeft(b, " \t\r\n\xef\xbb\xbf")
	if len(trim) == 0 {
		return b
	}
	isText := strings.Contains(m, "json") || strings.Contains(m, "text") || strings.Contains(m, "html") ||
		strings.Contains(m, "xml") || strings.Contains(m, "javascript") || strings.Contains(m, "form-urlencoded")
	if !isText {
		if !utf8.Valid(b[:min(len(b), 4096)]) && !bytes.Contains(b, []byte("eyJ")) {
			return b
		}
	}
	if len(b) > maxBody {
		return []byte(r.jwts(string(b), where))
	}
	switch {
	case strings.Contains(m, "form-urlencoded") || m == "" && looksForm(trim):
		return []byte(r.pairs(string(b), where+" form"))
	case strings.Contains(m, "json") || trim[0] == '{' || trim[0] == '[':
		return r.jsonText(b, where+" json", false)
	case strings.Contains(m, "html") || trim[0] == '<' && bytes.Contains(bytes.ToLower(trim[:min(len(trim), 512)]), []byte("<html")):
		out := r.htmlInputs(b, where+" html")
		return r.jwtsBytes(r.jsonText(out, where+" html", true), where+" html")
	case strings.Contains(m, "xml") || trim[0] == '<':
		return []byte(r.xml(string(b), where+" xml"))
	case strings.Contains(m, "javascript"):
		return r.jwtsBytes(r.jsonText(b, where+" script", true), where+" script")
	}
	if isText || utf8.Valid(b) {
		return r.jwtsBytes(r.jsonText(b, where+" text", true), where+" text")
	}
	return []byte(r.jwts(string(b), where))
}

// jwtsBytes is jwts over a body, copying only when a token is replaced.
func (r *Redactor) jwtsBytes(b []byte, where string) []byte {
	if !bytes.Contains(b, []byte("eyJ")) {
		return b
	}
	s := string(b)
	if o := r.jwts(s, where); o != s {
		return []byte(o)
	}
	return b
}

// looksForm reports whether an untyped body is k=v&k=v.
func looksForm(b []byte) bool {
	if len(b) > 1<<20 || bytes.ContainsAny(b, " \r\n<{") {
		return false
	}
	i := bytes.IndexByte(b, '=')
	return i > 0
}

// jsonText walks JSON (or the JSON-like object literals of a script or
// HTML page, such as the ESTS $Config) string by string: a string followed
// by ':' is a member name, and the string after it is judged by that name.
// Strings that are not members' values are searched for URLs and JWTs, and
// in JSON (not in HTML, where attributes hold hashes) judged for entropy.
// Bytes that need no change are kept exactly.
func (r *Redactor) jsonText(b []byte, where string, lax bool) []byte {
	var out []byte
	last := 0
	key := ""
	var keyRaw []byte
	keyEsc := false
	afterColon := false
	// objName is the "name" member of the current object, so that
	// {"name":"Authorization","value":"..."} (HAR-like header lists in
	// bodies) judges the value by that name.
	objName := ""
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case '"':
		case ':':
			continue
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '}':
			objName = ""
			afterColon, key = false, ""
			continue
		default:
			afterColon = false
			key = ""
			continue
		}
		end, esc := stringEnd(b, i)
		if end < 0 {
			break
		}
		raw := b[i+1 : end]
		j := end + 1
		for j < len(b) && (b[j] == ' ' || b[j] == '\t' || b[j] == '\r' || b[j] == '\n') {
			j++
		}
		if !afterColon && j < len(b) && b[j] == ':' {
			keyRaw, keyEsc = raw, esc
			key = ""
			afterColon = true
			i = j
			continue
		}
		if afterColon && end-i-1 < 16 && !keyEsc && !r.interestingName(keyRaw) {
			// A short value under a name no rule knows: nothing to judge.
			afterColon = false
			i = end
			continue
		}
		if afterColon && !keyEsc && !esc && !r.interestingName(keyRaw) && plainValue(raw, keyRaw) && !(r.opts.PII && bytes.IndexByte(raw, '@') >= 0) {
			afterColon = false
			i = end
			continue
		}
		name := ""
		if afterColon {
			key = jsonString(keyRaw, keyEsc)
			name = key
			if strings.EqualFold(name, "name") {
				objName = jsonString(raw, esc)
			} else if strings.EqualFold(name, "value") && objName != "" {
				name = objName
			}
		}
		afterColon, key = false, ""
		if name == "" && (len(raw) < 16 || lax && !bytes.Contains(raw, []byte("eyJ"))) {
			i = end
			continue
		}
		val := jsonString(raw, esc)
		var nv string
		if name != "" {
			nv = r.param(name, val, where+" "+name)
		} else {
			nv = r.textValue(val, where)
			if !lax {
				nv = r.guess("", nv, where)
			}
		}
		if nv != val {
			out = append(out, b[last:i+1]...)
			out = appendJSONString(out, nv)
			out = append(out, '"')
			last = end + 1
		}
		i = end
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

// plainValue reports, without allocating, that a value under a name no
// rule knows holds nothing to judge: no JWT, no URL, not a credential.
func plainValue(raw, keyRaw []byte) bool {
	if bytes.Contains(raw, []byte("eyJ")) || bytes.HasPrefix(raw, []byte("http")) || len(raw) > 0 && raw[0] == '/' {
		return false
	}
	return !looksSecret(raw) || exemptName(string(keyRaw))
}

// interestingName is the package function of the same name, with its
// answers kept for names seen before (member names repeat in every body).
func (r *Redactor) interestingName(raw []byte) bool {
	if v, ok := r.names[string(raw)]; ok {
		return v
	}
	v := interestingName(raw, r.opts.PII)
	if len(raw) <= 64 && len(r.names) < 4096 {
		if r.names == nil {
			r.names = map[string]bool{}
		}
		r.names[string(raw)] = v
	}
	return v
}

// interestingName reports whether a member name (raw JSON bytes) is one
// the rules judge short values by. It does not allocate.
func interestingName(raw []byte, pii bool) bool {
	if len(raw) > 48 {
		return true
	}
	var buf [48]byte
	for i, c := range raw {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	k := buf[:len(raw)]
	if interesting[string(k)] || pii && piiParams[string(k)] {
		return true
	}
	if bytes.IndexByte(k, '-') < 0 && !bytes.HasSuffix(k, []byte("ticket")) {
		return false
	}
	return isSecretHeader(string(k))
}

// interesting holds every name a rule judges short values by.
var interesting = func() map[string]bool {
	m := set("cookie", "set-cookie", "name", "value")
	for _, t := range []map[string]bool{secretParams, samlParams, authHeaders, secretHeaders} {
		for k := range t {
			m[k] = true
		}
	}
	return m
}()

// stringEnd returns the index of the quote closing the string opened at
// b[i], and whether it holds escapes; -1 when it is not closed on its line.
func stringEnd(b []byte, i int) (int, bool) {
	esc := false
	j := i + 1
	for {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return -1, false
		}
		seg := b[j : j+q]
		if bytes.IndexByte(seg, '\n') >= 0 {
			return -1, false
		}
		if bytes.IndexByte(seg, '\\') < 0 {
			return j + q, esc
		}
		esc = true
		// Count the backslashes before the quote: an odd number escapes it.
		n := 0
		for k := j + q - 1; k >= i+1 && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return j + q, esc
		}
		j += q + 1
	}
}

func jsonString(raw []byte, esc bool) string {
	if !esc {
		return string(raw)
	}
	var s string
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	if json.Unmarshal(q, &s) != nil {
		return string(raw)
	}
	return s
}

// appendJSONString appends s escaped for a JSON string (without quotes).
func appendJSONString(out []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	q := bytes.TrimSpace(buf.Bytes())
	return append(out, q[1:len(q)-1]...)
}

// htmlInputs judges the value of each <input name=... value=...> (the
// auto-submitted forms of OAuth form_post, SAML POST and WS-Fed).
func (r *Redactor) htmlInputs(b []byte, where string) []byte {
	lower := bytes.ToLower(b)
	var out []byte
	last := 0
	for i := 0; ; {
		k := bytes.Index(lower[i:], []byte("<input"))
		if k < 0 {
			break
		}
		start := i + k
		end := bytes.IndexByte(b[start:], '>')
		if end < 0 {
			break
		}
		end += start
		tag := b[start:end]
		name, _, _ := attr(tag, "name")
		val, vs, ve := attr(tag, "value")
		i = end
		if vs < 0 || val == "" {
			continue
		}
		dv := html.UnescapeString(val)
		nv := r.param(name, dv, where+" input "+name)
		if nv == dv {
			continue
		}
		out = append(out, b[last:start+vs]...)
		out = append(out, html.EscapeString(nv)...)
		last = start + ve
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

// attr finds a quoted attribute in a tag; it returns its raw value and the
// value's offsets in tag (-1 if absent).
func attr(tag []byte, name string) (string, int, int) {
	lt := bytes.ToLower(tag)
	for from := 0; ; {
		k := bytes.Index(lt[from:], []byte(name))
		if k < 0 {
			return "", -1, -1
		}
		k += from
		from = k + len(name)
		if k == 0 || !(lt[k-1] == ' ' || lt[k-1] == '\t' || lt[k-1] == '\n' || lt[k-1] == '\r') {
			continue
		}
		j := k + len(name)
		for j < len(lt) && lt[j] == ' ' {
			j++
		}
		if j >= len(lt) || lt[j] != '=' {
			continue
		}
		j++
		for j < len(lt) && lt[j] == ' ' {
			j++
		}
		if j >= len(lt) || lt[j] != '"' && lt[j] != '\'' {
			continue
		}
		q := lt[j]
		e := bytes.IndexByte(tag[j+1:], q)
		if e < 0 {
			return "", -1, -1
		}
		return string(tag[j+1 : j+1+e]), j + 1, j + 1 + e
	}
}

// samlValue redacts a SAMLResponse, SAMLRequest or wresult value: the XML
// is kept and its signature, digest and cipher values dropped; it is
// encoded back the way it came (raw XML, base64, or deflate+base64).
func (r *Redactor) samlValue(name, v, where string) string {
	s := strings.TrimSpace(v)
	if strings.HasPrefix(s, "<") {
		return r.xml(v, where)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return r.pseudo("saml", name, v, where)
	}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("<")) {
		nx := r.xml(string(raw), where)
		if nx == string(raw) {
			return v
		}
		return base64.StdEncoding.EncodeToString([]byte(nx))
	}
	fr := flate.NewReader(bytes.NewReader(raw))
	dec, err := io.ReadAll(io.LimitReader(fr, 4<<20))
	if err != nil || !bytes.HasPrefix(bytes.TrimSpace(dec), []byte("<")) {
		return r.pseudo("saml", name, v, where)
	}
	nx := r.xml(string(dec), where)
	if nx == string(dec) {
		return v
	}
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	fw.Write([]byte(nx))
	fw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// xmlSecrets are the elements whose text is replaced in XML: signature
// and digest values, encrypted data, WS-Trust proof keys; and with --pii
// the subject's name and attribute values.
var xmlSecrets = []string{"SignatureValue", "DigestValue", "CipherValue", "BinarySecret", "Password", "Nonce"}
var xmlPII = []string{"NameID", "NameIdentifier", "AttributeValue", "Username"}

// xml replaces the text of the secret elements of an XML document (any
// namespace prefix), keeping its structure, conditions and attributes.
func (r *Redactor) xml(s, where string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	out := s
	for _, el := range xmlSecrets {
		out = r.elementText(out, el, "saml", where, true)
	}
	if r.opts.PII {
		for _, el := range xmlPII {
			out = r.elementText(out, el, "pii", where, false)
		}
	}
	return r.jwts(out, where)
}

// elementText replaces the text content of every <p:name ...>text</p:name>.
func (r *Redactor) elementText(s, name, rule, where string, fixed bool) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		k := strings.IndexByte(s[i:], '<')
		if k < 0 {
			break
		}
		st := i + k
		i = st + 1
		j := st + 1
		for j < len(s) && s[j] != '>' && s[j] != ' ' && s[j] != '/' && s[j] != '\t' && s[j] != '\n' && s[j] != '\r' {
			j++
		}
		tag := s[st+1 : j]
		local := tag
		if c := strings.LastIndexByte(tag, ':'); c >= 0 {
			local = tag[c+1:]
		}
		if local != name {
			continue
		}
		gt := strings.IndexByte(s[j:], '>')
		if gt < 0 {
			break
		}
		open := j + gt + 1
		if s[open-2] == '/' {
			continue // empty element
		}
		cl := strings.Index(s[open:], "</"+tag+">")
		if cl < 0 {
			continue
		}
		text := s[open : open+cl]
		i = open + cl
		if strings.TrimSpace(text) == "" || strings.Contains(text, "<") || isPlaceholder(strings.TrimSpace(text)) {
			continue
		}
		var nv string
		if fixed {
			r.hit(rule, where+" "+name)
			nv = SignaturePlaceholder
		} else {
			nv = r.pseudo(rule, name, text, where+" "+name)
		}
		b.WriteString(s[last:open])
		b.WriteString(nv)
		last = open + cl
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
