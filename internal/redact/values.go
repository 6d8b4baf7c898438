package redact

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/url"
	"strings"
	"unicode/utf16"

	"github.com/idtrace/idtrace/internal/decode/jwt"
)

// url redacts credentials in a URL (user:pass@), its query and its fragment.
// It also serves header values that carry a URL or a path (Location,
// Referer, :path).
func (r *Redactor) url(u, where string) string {
	if u == "" {
		return u
	}
	out := u
	if i := strings.Index(out, "://"); i >= 0 {
		rest := out[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
			user, pass, hasPass := strings.Cut(rest[:at], ":")
			if hasPass && !isPlaceholder(pass) {
				pass = r.pseudo("url-userinfo", "password", pass, where+" userinfo")
				out = out[:i+3] + user + ":" + pass + rest[at:]
			}
		}
	}
	q := strings.IndexByte(out, '?')
	h := strings.IndexByte(out, '#')
	if q >= 0 && (h < 0 || q < h) {
		end := len(out)
		if h > q {
			end = h
		}
		out = out[:q+1] + r.pairs(out[q+1:end], where+" query") + out[end:]
		h = strings.IndexByte(out, '#')
		if h >= 0 && h < q {
			h = -1
		}
	}
	if h >= 0 && strings.Contains(out[h+1:], "=") {
		out = out[:h+1] + r.pairs(out[h+1:], where+" fragment")
	}
	if out != u {
		return out
	}
	return r.jwts(u, where)
}

// pairs redacts a query string, fragment or form body (k=v&k=v). Unchanged
// pairs keep their exact bytes.
func (r *Redactor) pairs(s, where string) string {
	if !strings.Contains(s, "=") {
		return r.jwts(s, where)
	}
	parts := strings.Split(s, "&")
	changed := false
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok || v == "" {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			val = v
		}
		nv := r.param(name, val, where+" "+name)
		if nv != val {
			parts[i] = k + "=" + escapeValue(nv)
			changed = true
		}
	}
	if !changed {
		return s
	}
	return strings.Join(parts, "&")
}

// escapeValue percent-encodes a value for a query or form, keeping the
// characters of pseudonyms and JWTs readable.
func escapeValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:@/", c) >= 0 {
			b.WriteByte(c)
		} else {
			b.WriteString("%")
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		}
	}
	return b.String()
}

// param judges one named value (query, form, JSON member, HTML input),
// given and returned decoded.
func (r *Redactor) param(name, value, where string) string {
	if value == "" || isPlaceholder(value) {
		return value
	}
	ln := r.lower(name)
	switch {
	case authHeaders[ln]:
		// A header echoed in a body (httpbin's /headers, a proxy's debug page).
		return r.auth(value, where)
	case ln == "cookie":
		return r.cookieHeader(value, where)
	case ln == "set-cookie":
		return r.setCookie(value, where)
	case isSecretHeader(ln) && !secretParams[ln]:
		return r.secretValue("header", name, value, where)
	case samlParams[ln]:
		return r.samlValue(ln, value, where)
	case ln == "code" && !looksLikeCode(value):
		// An error code ("Authorization_RequestDenied"), not an authorization code.
	case secretParams[ln]:
		return r.secretValue("param", name, value, where)
	case r.opts.PII && piiParams[ln]:
		return r.pseudo("pii", name, value, where)
	}
	if r.opts.PII && looksEmail(value) {
		return r.pseudo("pii", "email", value, where)
	}
	return r.guess(name, r.textValue(value, where), where)
}

// looksEmail reports whether v is one e-mail address or UPN (--pii).
func looksEmail(v string) bool {
	at := strings.IndexByte(v, '@')
	if at <= 0 || at == len(v)-1 || len(v) > 254 || strings.ContainsAny(v, " \t<>()[],;:\"/?#&=") {
		return false
	}
	dom := v[at+1:]
	return strings.IndexByte(dom, '.') > 0 && !strings.HasSuffix(dom, ".") && strings.IndexByte(dom, '@') < 0
}

// guess applies the high-entropy detector to a value that no name rule
// covers. Names that are identifiers by convention (ending in "id", "ref",
// "hash", "version"...) are exempt: correlation and request IDs must stay.
func (r *Redactor) guess(name, v, where string) string {
	if len(v) < 24 || !looksSecret(v) || exemptName(name) {
		return v
	}
	return r.pseudo("entropy", name, v, where)
}

func exemptName(name string) bool {
	ln := strings.ToLower(name)
	if ln == "sessionid" || ln == "sid" {
		return false
	}
	for _, suf := range []string{"id", "ids", "ref", "hash", "version", "build", "buildnumber", "rev", "etag", "cv", "nonce", "thumbprint", "x5t", "kid", "integrity", "challenge"} {
		if strings.HasSuffix(ln, suf) {
			return true
		}
	}
	return false
}

// textValue redacts the URLs and JWTs in a free value.
func (r *Redactor) textValue(v, where string) string {
	if len(v) < 16 || isPlaceholder(v) {
		return v
	}
	if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "/") && strings.Contains(v, "?") {
		return r.url(v, where)
	}
	if looksJWT(v) && strings.Count(v, ".") == 2 && !strings.ContainsAny(v, " \t\r\n") {
		return r.jwtValue(v, where)
	}
	return r.jwts(v, where)
}

// jwts replaces every JWT in s according to the token policy.
func (r *Redactor) jwts(s, where string) string {
	if !strings.Contains(s, "eyJ") {
		return s
	}
	var b strings.Builder
	last := 0
	for m := range jwt.All(s) {
		nv := r.jwtValue(m.Token, where)
		if nv == m.Token {
			continue
		}
		b.WriteString(s[last:m.Start])
		b.WriteString(nv)
		last = m.End
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// secretValue removes a named secret: a JWT keeps its claims under the
// KeepClaims policy (except the Windows PRT and refresh tokens, whose
// claims carry the secret), anything else becomes a pseudonym.
func (r *Redactor) secretValue(rule, name, value, where string) string {
	ln := r.lower(name)
	if r.opts.Tokens == KeepClaims && looksJWT(value) && !strings.Contains(ln, "refreshtoken") && !strings.Contains(ln, "devicecredential") && ln != "refresh_token" {
		return r.jwtValue(strings.TrimSpace(value), where)
	}
	return r.pseudo(rule, name, value, where)
}

// looksLikeCode tells an authorization or one-time code (it has digits, or
// is long) from the word-like "code" member of error objects.
func looksLikeCode(v string) bool {
	if len(v) >= 40 {
		return true
	}
	return strings.ContainsAny(v, "0123456789") && !strings.Contains(v, " ")
}

func looksJWT(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") >= 2
}

// jwtValue applies the token policy to one JWT.
func (r *Redactor) jwtValue(tok, where string) string {
	if strings.HasSuffix(tok, "."+SignaturePlaceholder) || isPlaceholder(tok) {
		return tok
	}
	t, err := jwt.Parse(tok)
	if err != nil || t.Encrypted || r.opts.Tokens == DropTokens {
		return r.pseudo("jwt", "token", tok, where+" jwt")
	}
	parts := strings.SplitN(strings.TrimSpace(tok), ".", 3)
	if len(parts) != 3 {
		return r.pseudo("jwt", "token", tok, where+" jwt")
	}
	payload := parts[1]
	changed := false
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range t.Claims.Keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		v := t.Claims.Values[k]
		lk := strings.ToLower(k)
		if secretClaims[lk] || r.opts.PII && piiClaims[lk] {
			rule := "jwt"
			if !secretClaims[lk] {
				rule = "pii"
			}
			var sv string
			if json.Unmarshal(v, &sv) != nil {
				sv = string(v)
			}
			nb, _ := json.Marshal(r.pseudo(rule, k, sv, where+" jwt claim "+k))
			b.Write(nb)
			changed = true
			continue
		}
		b.Write(v)
	}
	b.WriteByte('}')
	if changed {
		payload = base64.RawURLEncoding.EncodeToString([]byte(b.String()))
	}
	if t.HasSignature || parts[2] != "" {
		r.hit("jwt", where+" jwt signature")
	}
	return parts[0] + "." + payload + "." + SignaturePlaceholder
}

// looksSecret is the high-entropy detector (docs/sanitize.md, false-positive
// policy): 24 to 4096 characters of the base64, base64url or token alphabet
// only, with upper case, lower case and digits all present, a Shannon
// entropy of at least 3.8 bits per character, and not a GUID, a plain hex
// string, a pseudonym or a file-like name.
func looksSecret[T string | []byte](v T) bool {
	n := len(v)
	if n < 24 || n > 4096 || isPlaceholder(string(v)) {
		return false
	}
	var up, lo, dig int
	var freq [256]int
	for i := 0; i < n; i++ {
		c := v[i]
		switch {
		case 'A' <= c && c <= 'Z':
			up++
		case 'a' <= c && c <= 'z':
			lo++
		case '0' <= c && c <= '9':
			dig++
		case c == '+' || c == '/' || c == '=' || c == '-' || c == '_' || c == '.' || c == '~' || c == '!' || c == '*':
		default:
			return false
		}
		freq[c]++
	}
	if up == 0 || lo == 0 || dig == 0 {
		return false
	}
	if freq['/'] > n/8 || freq['.'] > 3 || strings.Contains(string(v), "//") {
		return false // a path, a domain or a version string
	}
	h := 0.0
	for _, f := range freq {
		if f > 0 {
			p := float64(f) / float64(n)
			h -= p * math.Log2(p)
		}
	}
	return h >= 3.8
}

// ntlmName names an NTLM blob by its message type, and for an
// authenticate message (type 3) by its user, domain and workstation unless
// pii asks to hide them. Kerberos (Negotiate) blobs are named "negotiate".
func ntlmName(cred string, pii bool) string {
	b, err := base64.StdEncoding.DecodeString(cred)
	if err != nil || len(b) < 12 || string(b[:8]) != "NTLMSSP\x00" {
		return "negotiate"
	}
	typ := binary.LittleEndian.Uint32(b[8:12])
	if typ != 3 || len(b) < 64 || pii {
		return "ntlm-type" + string(rune('0'+typ%10))
	}
	unicode := binary.LittleEndian.Uint32(b[60:64])&1 == 1
	field := func(off int) string {
		l := int(binary.LittleEndian.Uint16(b[off:]))
		o := int(binary.LittleEndian.Uint32(b[off+4:]))
		if l == 0 || o+l > len(b) || l > 256 {
			return ""
		}
		s := b[o : o+l]
		if unicode {
			u := make([]uint16, len(s)/2)
			for i := range u {
				u[i] = binary.LittleEndian.Uint16(s[2*i:])
			}
			return string(utf16.Decode(u))
		}
		return string(s)
	}
	return "ntlm-type3/" + field(28) + "/" + field(36) + "@" + field(44)
}
