// Package jwt decodes JSON Web Tokens (JWS compact serialisation, and the
// protected header of JWE tokens), finds tokens inside arbitrary text, checks
// their times against the time of the request that carried them, and verifies
// signatures against JSON Web Key Sets.
//
// The package is pure: it does no file or network I/O and imports nothing
// internal. It provides structure only; what each claim means is the
// knowledge base's business (internal/kb), joined by the analyzer.
//
// Values returned by this package are owned by the caller, who may read them
// freely; callers must not modify a Token's Header or Claims maps while other
// goroutines read them.
package jwt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxTokenSize caps the length of a token Parse accepts (after trimming).
// Real tokens are a few kilobytes; Entra tokens with many groups stay well
// under 64 KiB.
const MaxTokenSize = 1 << 20

// ErrNotJWT is wrapped by every *ParseError, so callers can test
// errors.Is(err, jwt.ErrNotJWT).
var ErrNotJWT = errors.New("not a JWT")

// ParseError says why a string is not a JWT and which part is at fault.
type ParseError struct {
	// Part is "token" (the whole string), "header", "payload", "signature",
	// or for JWE "encrypted_key", "iv", "ciphertext", "tag".
	Part string
	// Index is the 0-based index of the dot-separated part; -1 for "token".
	Index int
	// Offset is the byte offset of the problem in the normalised token, -1 if unknown.
	Offset int
	Err    error
}

func (e *ParseError) Error() string {
	s := "jwt: not a JWT: " + e.Part
	if e.Index >= 0 {
		s += fmt.Sprintf(" (part %d)", e.Index+1)
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at byte %d", e.Offset)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause; errors.Is(err, ErrNotJWT) is true for every ParseError.
func (e *ParseError) Unwrap() []error { return []error{ErrNotJWT, e.Err} }

// Object is a JSON object that keeps the order of its members and their raw
// JSON values. Header and claims are Objects.
type Object struct {
	// Keys lists member names in document order, each once.
	Keys []string
	// Values maps a member name to its raw JSON value. When a name occurs
	// more than once the last value wins (as in JavaScript) and the name is
	// listed in Duplicates.
	Values map[string]json.RawMessage
	// Duplicates lists names that occurred more than once: a red flag in a
	// security token.
	Duplicates []string
}

// Has reports whether the member exists.
func (o *Object) Has(name string) bool { _, ok := o.Values[name]; return ok }

// Raw returns the raw JSON value of a member, or nil.
func (o *Object) Raw(name string) json.RawMessage { return o.Values[name] }

// String returns a member's value when it is a JSON string.
func (o *Object) String(name string) (string, bool) {
	v, ok := o.Values[name]
	if !ok || len(v) == 0 || v[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// Str returns a member's string value, or "" when it is absent or not a string.
func (o *Object) Str(name string) string { s, _ := o.String(name); return s }

// Strings returns a member's value as a list: a JSON string gives one
// element, an array gives its string elements (non-strings are rendered as
// JSON text); anything else gives nil.
func (o *Object) Strings(name string) []string {
	v, ok := o.Values[name]
	if !ok || len(v) == 0 {
		return nil
	}
	switch v[0] {
	case '"':
		if s, ok := o.String(name); ok {
			return []string{s}
		}
	case '[':
		var arr []json.RawMessage
		if json.Unmarshal(v, &arr) != nil {
			return nil
		}
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			var s string
			if len(e) > 0 && e[0] == '"' && json.Unmarshal(e, &s) == nil {
				out = append(out, s)
			} else {
				out = append(out, string(e))
			}
		}
		return out
	}
	return nil
}

// Number returns a member's numeric value. Numeric strings ("1405968922")
// are accepted because some issuers emit them.
func (o *Object) Number(name string) (float64, bool) {
	v, ok := o.Values[name]
	if !ok || len(v) == 0 {
		return 0, false
	}
	s := string(v)
	if v[0] == '"' {
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// Time returns a NumericDate member (seconds since the Unix epoch) as a UTC time.
func (o *Object) Time(name string) *time.Time {
	f, ok := o.Number(name)
	if !ok || f < -1e11 || f > 1e11 {
		return nil
	}
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return &t
}

// Claims is the payload of a JWS: an ordered JSON object with typed
// accessors for the claims the analyzer needs most.
type Claims struct {
	Object
}

// Issuer is "iss".
func (c *Claims) Issuer() string { return c.Str("iss") }

// Audience is "aud" (a string or an array).
func (c *Claims) Audience() []string { return c.Strings("aud") }

// Subject is "sub".
func (c *Claims) Subject() string { return c.Str("sub") }

// TenantID is "tid", or the tenant GUID taken from an Entra issuer URL when
// "tid" is absent.
func (c *Claims) TenantID() string {
	if t := c.Str("tid"); t != "" {
		return t
	}
	return tenantFromIssuer(c.Issuer())
}

// ObjectID is "oid".
func (c *Claims) ObjectID() string { return c.Str("oid") }

// AppID is the client the token was issued to: "appid" (Entra v1), else
// "azp" (OIDC and Entra v2).
func (c *Claims) AppID() string {
	if a := c.Str("appid"); a != "" {
		return a
	}
	return c.Str("azp")
}

// Scopes splits "scp" (space separated; some issuers send an array) and
// falls back to the OAuth "scope" claim.
func (c *Claims) Scopes() []string {
	name := "scp"
	if !c.Has(name) {
		name = "scope"
	}
	var out []string
	for _, s := range c.Strings(name) {
		out = append(out, strings.Fields(s)...)
	}
	return out
}

// Roles is "roles".
func (c *Claims) Roles() []string { return c.Strings("roles") }

// Expiry is "exp".
func (c *Claims) Expiry() *time.Time { return c.Time("exp") }

// NotBefore is "nbf".
func (c *Claims) NotBefore() *time.Time { return c.Time("nbf") }

// IssuedAt is "iat".
func (c *Claims) IssuedAt() *time.Time { return c.Time("iat") }

// Version is the Entra token version, "1.0" or "2.0": the "ver" claim, or
// inferred from the issuer (sts.windows.net is v1, a /v2.0 issuer is v2).
// It is "" for tokens that are not Entra's and carry no "ver".
func (c *Claims) Version() string {
	if v := c.Str("ver"); v != "" {
		return v
	}
	iss := c.Issuer()
	switch {
	case strings.HasPrefix(iss, "https://sts.windows.net/"):
		return "1.0"
	case strings.HasSuffix(strings.TrimSuffix(iss, "/"), "/v2.0"):
		return "2.0"
	}
	return ""
}

// tenantFromIssuer extracts the GUID path segment of an Entra issuer URL.
func tenantFromIssuer(iss string) string {
	for _, p := range []string{"https://sts.windows.net/", "https://login.microsoftonline.com/", "https://login.windows.net/"} {
		if rest, ok := strings.CutPrefix(iss, p); ok {
			seg, _, _ := strings.Cut(rest, "/")
			if isGUID(seg) {
				return seg
			}
		}
	}
	return ""
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Token is a decoded JWT.
type Token struct {
	// Raw is the normalised compact token: prefix and whitespace removed,
	// padding kept as found.
	Raw string
	// Header is the (protected) JOSE header.
	Header Object
	// Claims is the payload of a JWS; empty for an encrypted token.
	Claims Claims
	// Encrypted is true for a JWE (five parts): only the header is readable.
	Encrypted bool
	// HasSignature is true when a JWS carries a non-empty signature part.
	HasSignature bool
	// Signature is the decoded signature bytes of a JWS.
	Signature []byte
	// Payload is the decoded payload of a JWS. When it is not a JSON
	// object (RFC 7515 allows any bytes), PayloadNotJSON is true and
	// Claims is empty.
	Payload        []byte
	PayloadNotJSON bool
	// Malformed names an encoding a strict JWS library rejects (padding,
	// the standard base64 alphabet) although the token could be read;
	// Verify calls such a token invalid (malformed).
	Malformed string
	// Serialization is "compact", or "json-flattened" / "json-general" for
	// the JWS JSON serializations (RFC 7515 §7.2); Signatures counts the
	// signatures. Header, Signature and Malformed describe the first one;
	// Sigs lists them all (Verify checks each).
	Serialization string
	Signatures    int
	Sigs          []Sig
	// Detached is true when the JWS does not carry its payload (RFC 7515
	// Appendix F): an empty payload part in the compact form, no "payload"
	// member in the JSON ones. Its signatures can be checked only once the
	// content is given (see WithPayload).
	Detached bool
	// Unencoded is true for a JWS whose header says "b64": false (RFC
	// 7797): its payload is written and signed as it is, not base64url.
	Unencoded bool
	// decryptedOnly marks the plaintext of a JWE that held no signed
	// token (see Decrypt).
	decryptedOnly bool
	// payloadB64 is the payload part as written (the second half of every
	// signature's signing input).
	payloadB64 string
	// Nested is true for the signed token found inside a decrypted JWE
	// (see Decrypt).
	Nested bool
	// Masked lists the claims whose values Parse replaced by Mask of them
	// because they are live credentials (a PRT cookie's refresh_token):
	// Claims never holds them whole.
	Masked []string
}

// Sig is one signature of a JWS.
type Sig struct {
	// Protected is the protected header as written (base64url), "" when
	// the signature has none (RFC 7520 §4.7).
	Protected string
	// Header holds the protected and unprotected members together.
	Header Object
	// Unprotected names the members outside the protected header: the
	// signature does not cover them.
	Unprotected []string
	// Signature is the decoded signature.
	Signature []byte
	// Malformed names an encoding a strict library rejects (see Token).
	Malformed string
	// sigB64 is the signature as written.
	sigB64 string
}

// Alg is the header's "alg".
func (t *Token) Alg() string { return t.Header.Str("alg") }

// KeyID is the header's "kid".
func (t *Token) KeyID() string { return t.Header.Str("kid") }

// X5t is the header's "x5t" (SHA-1 thumbprint of the signing certificate).
func (t *Token) X5t() string { return t.Header.Str("x5t") }

// Normalize strips what commonly surrounds a pasted token: leading and
// trailing whitespace, quotes, an "Authorization:" and "Bearer " prefix, and
// whitespace (line breaks) inside it.
func Normalize(s string) string {
	s = strings.TrimSpace(s)
	if rest, ok := cutPrefixFold(s, "authorization:"); ok {
		s = strings.TrimSpace(rest)
	}
	for _, p := range []string{"bearer ", "pop ", "bearer\t"} {
		if rest, ok := cutPrefixFold(s, p); ok {
			s = strings.TrimSpace(rest)
			break
		}
	}
	s = strings.Trim(s, "\"'")
	if strings.ContainsAny(s, " \t\r\n") {
		s = strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\r', '\n':
				return -1
			}
			return r
		}, s)
	}
	return s
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

var partNamesJWS = []string{"header", "payload", "signature"}
var partNamesJWE = []string{"header", "encrypted_key", "iv", "ciphertext", "tag"}

// Parse decodes a JWS compact token (three parts) or the protected header of
// a JWE (five parts, Encrypted=true). It tolerates surrounding whitespace,
// line breaks, a "Bearer " prefix, base64 padding and standard-alphabet
// base64. It does not verify anything: see Verify and CheckTimes.
// Every error is a *ParseError naming the part at fault.
func Parse(s string) (*Token, error) {
	s = Normalize(s)
	if s == "" {
		return nil, &ParseError{Part: "token", Index: -1, Offset: -1, Err: errors.New("empty")}
	}
	if len(s) > MaxTokenSize {
		return nil, &ParseError{Part: "token", Index: -1, Offset: -1, Err: fmt.Errorf("%d bytes exceeds the %d-byte cap", len(s), MaxTokenSize)}
	}
	if strings.HasPrefix(s, "{") {
		if isJWEJSON(s) {
			return parseJWEJSON(s)
		}
		return parseJSONSerialization(s)
	}
	return parseCompact(s)
}

func parseCompact(s string) (*Token, error) {
	n := strings.Count(s, ".")
	if n != 2 && n != 4 {
		return nil, &ParseError{Part: "token", Index: -1, Offset: -1,
			Err: fmt.Errorf("has %d dot-separated parts; a signed JWT has 3 and an encrypted one 5", n+1)}
	}
	parts := strings.Split(s, ".")
	offs := make([]int, len(parts))
	for i, o := 1, 0; i < len(parts); i++ {
		o += len(parts[i-1]) + 1
		offs[i] = o
	}
	tok := &Token{Raw: s, Encrypted: n == 4, Serialization: "compact", Signatures: 1}
	names := partNamesJWS
	if tok.Encrypted {
		names = partNamesJWE
	}
	for i, p := range parts {
		if j := badBase64Char(p); j >= 0 {
			return nil, &ParseError{Part: names[i], Index: i, Offset: offs[i] + j,
				Err: fmt.Errorf("character %q is not base64url", p[j])}
		}
		if tok.Malformed == "" {
			if j := strings.IndexAny(p, "=+/"); j >= 0 {
				what := "padding '='"
				if p[j] != '=' {
					what = fmt.Sprintf("standard base64 character %q", p[j])
				}
				tok.Malformed = fmt.Sprintf("%s (part %d) holds %s, which base64url forbids", names[i], i+1, what)
			}
		}
	}
	hb, err := decodeSegment(parts[0])
	if err != nil {
		return nil, &ParseError{Part: "header", Index: 0, Offset: 0, Err: err}
	}
	h, err := parseObject(hb)
	if err != nil {
		return nil, &ParseError{Part: "header", Index: 0, Offset: 0, Err: fmt.Errorf("not a JSON object: %w", err)}
	}
	tok.Header = *h
	if tok.Encrypted {
		if !h.Has("enc") {
			return nil, &ParseError{Part: "header", Index: 0, Offset: 0, Err: errors.New(`five parts but no "enc" in the header, so not a JWE`)}
		}
		tok.Claims.Values = map[string]json.RawMessage{}
		return tok, nil
	}
	if !h.Has("alg") {
		return nil, &ParseError{Part: "header", Index: 0, Offset: 0, Err: errors.New(`no "alg" member`)}
	}
	pb, err := decodeSegment(parts[1])
	if err != nil {
		return nil, &ParseError{Part: "payload", Index: 1, Offset: offs[1], Err: err}
	}
	tok.Payload, tok.payloadB64, tok.Detached = pb, parts[1], parts[1] == ""
	tok.Unencoded = string(h.Raw("b64")) == "false"
	if c, err := parseObject(pb); err == nil {
		tok.Claims.Object = *c
		tok.Masked = maskSecretClaims(&tok.Claims.Object)
	} else {
		// RFC 7515: the payload may be any bytes (RFC 7520 §4, RFC 8037 A.4).
		tok.PayloadNotJSON = true
		tok.Claims.Values = map[string]json.RawMessage{}
	}
	if parts[2] != "" {
		sig, err := decodeSegment(parts[2])
		if err != nil {
			return nil, &ParseError{Part: "signature", Index: 2, Offset: offs[2], Err: err}
		}
		tok.Signature = sig
		tok.HasSignature = len(sig) > 0
	}
	tok.Sigs = []Sig{{Protected: parts[0], Header: tok.Header, Signature: tok.Signature, Malformed: tok.Malformed, sigB64: parts[2]}}
	return tok, nil
}

// badBase64Char returns the index of the first byte that belongs to neither
// base64 alphabet (nor padding), or -1.
func badBase64Char(s string) int {
	for i := 0; i < len(s); i++ {
		if !isB64(s[i]) && s[i] != '=' && s[i] != '+' && s[i] != '/' {
			return i
		}
	}
	return -1
}

// decodeSegment decodes base64url without padding, tolerating padding and
// the standard alphabet.
func decodeSegment(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	}
	if strings.Contains(s, "=") {
		return nil, errors.New("padding '=' in the middle")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("bad base64url: %w", err)
	}
	return b, nil
}

// parseObject decodes a JSON object keeping member order and raw values.
func parseObject(b []byte) (*Object, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("starts with %v", t)
	}
	o := &Object{Values: map[string]json.RawMessage{}}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, ok := t.(string)
		if !ok {
			return nil, fmt.Errorf("member name is %v", t)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("member %q: %w", k, err)
		}
		if _, dup := o.Values[k]; dup {
			o.Duplicates = append(o.Duplicates, k)
		} else {
			o.Keys = append(o.Keys, k)
		}
		o.Values[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if rest := bytes.TrimSpace(b[dec.InputOffset():]); len(rest) > 0 {
		return nil, errors.New("trailing data after the object")
	}
	return o, nil
}
