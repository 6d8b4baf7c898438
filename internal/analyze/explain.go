package analyze

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/decode/saml"
	"github.com/idtrace/idtrace/internal/kb"
)

// JWTReport is one token decoded and explained: the `idtrace jwt --format
// json` contract {"header":{},"claims":{},"explained":[...],"verified":...}.
type JWTReport struct {
	Header    json.RawMessage `json:"header"`
	Claims    json.RawMessage `json:"claims"`
	Explained []Explained     `json:"explained"`
	// Facts are the claims that decide most cases (tenant, app, user, how
	// they authenticated, roles, groups, scopes, times), rendered as in
	// analyze's token summaries (apps and roles named) and explained.
	Facts []Explained `json:"facts,omitempty"`
	// Verified is true or false when checked against the given keys, null
	// otherwise; Verdict says it in words (see VerdictText), VerifyDetail why.
	Verified     *bool  `json:"verified"`
	Verdict      string `json:"verdict"`
	VerifyDetail string `json:"verify_detail,omitempty"`
	// Unsigned is set when the token has no signature (Verdict "unsigned").
	Unsigned  bool   `json:"-"`
	Kind      string `json:"kind"`
	Encrypted bool   `json:"encrypted,omitempty"`
	// Payload is a payload that is not a JSON object (RFC 7515 allows any
	// bytes): as text when it is UTF-8, else as base64url.
	Payload string `json:"payload,omitempty"`
	// Masked lists the claims shown masked because they are live
	// credentials (a PRT cookie's refresh_token).
	Masked []string `json:"masked,omitempty"`
	// Decrypted is true when an encrypted token (JWE) was decrypted with
	// the given key; Nested when a signed token was inside it, which is
	// then what Header, Claims and the verdict are about.
	Decrypted bool     `json:"decrypted,omitempty"`
	Nested    bool     `json:"nested,omitempty"`
	Issues    []string `json:"issues,omitempty"`

	// Signatures has one verdict per signature of a JWS with several (the
	// general JSON serialization); the verdict above is the overall one.
	Signatures []SignatureVerdict `json:"signatures,omitempty"`
}

// Explained is one claim with its value rendered and its meaning from the kb.
type Explained struct {
	Claim   string `json:"claim"`
	Value   string `json:"value"`
	Meaning string `json:"meaning,omitempty"`
}

// ExplainJWT decodes raw (a compact JWT, with or without "Bearer "),
// explains each claim, checks its times against at (skipped when at is
// zero) and verifies it against keys (nil: not verified).
func ExplainJWT(raw string, keys *jwt.KeySet, at time.Time, skew time.Duration) (*JWTReport, error) {
	return ExplainJWTWith(raw, keys, at, skew, nil)
}

// ExplainJWTWith is ExplainJWT that first decrypts a JWE with
// decryptKey (the recipient's private key) or an oct key of keys, then
// explains and verifies what is inside (a nested JWS is verified like any
// other token). A decryption failure is reported among the issues.
func ExplainJWTWith(raw string, keys *jwt.KeySet, at time.Time, skew time.Duration, decryptKey any) (*JWTReport, error) {
	return ExplainJWTDetached(raw, keys, at, skew, decryptKey, nil)
}

// ExplainJWTDetached is ExplainJWTWith for a JWS whose content is detached
// (RFC 7515 Appendix F): payload is that content, checked and explained as
// if the token carried it (nil: none given). A token that carries its own
// payload ignores it, and says so among the issues.
func ExplainJWTDetached(raw string, keys *jwt.KeySet, at time.Time, skew time.Duration, decryptKey any, payload []byte) (*JWTReport, error) {
	tok, err := jwt.Parse(raw)
	if err != nil {
		return nil, err
	}
	var payloadIssue string
	if payload != nil {
		if tok.Detached {
			tok = tok.WithPayload(payload)
		} else {
			payloadIssue = "payload_ignored: the token carries its own payload; a separate payload is only for a detached signature"
		}
	}
	var decryptErr error
	outer := tok
	if tok.Encrypted && (decryptKey != nil || keys.Len() > 0) {
		if dec, err := jwt.Decrypt(tok, decryptKey, keys); err == nil {
			tok = dec
		} else if decryptKey != nil {
			decryptErr = err
		}
	}
	r := &JWTReport{Header: objectJSON(&tok.Header), Claims: objectJSON(&tok.Claims.Object), Encrypted: outer.Encrypted,
		Kind: guessKind(tok), Explained: []Explained{}, Decrypted: tok != outer, Nested: tok.Nested}
	if decryptErr != nil {
		r.Issues = append(r.Issues, "decrypt_failed: "+decryptErr.Error())
	}
	if payloadIssue != "" {
		r.Issues = append(r.Issues, payloadIssue)
	}
	if tok.Encrypted {
		r.Claims = json.RawMessage(`{}`)
	}
	for _, k := range tok.Claims.Keys {
		e := Explained{Claim: k, Value: claimValue(&tok.Claims, k)}
		if c, ok := lookupClaim(k); ok {
			e.Meaning = c.Meaning
		}
		r.Explained = append(r.Explained, e)
	}
	if tok.PayloadNotJSON {
		if utf8.Valid(tok.Payload) {
			r.Payload = string(tok.Payload)
		} else {
			r.Payload = base64.RawURLEncoding.EncodeToString(tok.Payload)
		}
	}
	r.Masked = tok.Masked
	r.Facts = decisiveClaims(tok)
	if !at.IsZero() {
		if skew == 0 {
			skew = DefaultSkew
		}
		for _, is := range jwt.CheckTimes(tok, at, skew) {
			r.Issues = append(r.Issues, is.Code+": "+is.Detail)
		}
	}
	v := jwt.Verify(tok, keys)
	r.Verified, r.VerifyDetail, r.Unsigned = v.Verified, v.Reason, v.Unsigned
	r.Verdict = SignatureWord(r.Verified, r.Unsigned)
	r.Signatures = signatureVerdicts(v.Each)
	return r, nil
}

func lookupClaim(name string) (kb.Claim, bool) {
	if c, ok := kb.LookupClaim(name); ok {
		return c, true
	}
	if i := strings.LastIndexByte(name, '_'); i > 0 && strings.HasPrefix(name, "xms_") {
		return kb.LookupClaim(name[:i])
	}
	return kb.Claim{}, false
}

// claimValue renders a claim for people: strings as they are, times with
// their UTC date, everything else as compact JSON.
func claimValue(c *jwt.Claims, k string) string {
	raw := c.Raw(k)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	switch k {
	case "exp", "nbf", "iat", "auth_time", "pwd_exp", "xms_tcdt":
		if t := c.Time(k); t != nil {
			return fmt.Sprintf("%s (%s)", bytes.TrimSpace(raw), t.UTC().Format(time.RFC3339))
		}
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// SAMLReport is one SAML (or WS-Fed) message decoded: the `idtrace saml
// --format json` output.
type SAMLReport struct {
	// Binding is how the input was encoded: "xml", "post" (base64) or "redirect" (base64 + DEFLATE).
	Binding string          `json:"binding"`
	Message json.RawMessage `json:"message"`
	// Verified is true/false when checked against trusted certificates
	// (--metadata, --cert), null otherwise; Verdict says it in words (see
	// VerdictText), VerifyDetail why.
	Verified     *bool  `json:"verified"`
	Verdict      string `json:"verdict"`
	VerifyDetail string `json:"verify_detail,omitempty"`
	// Unsigned is set when the message has no signature (Verdict "unsigned").
	Unsigned bool `json:"-"`
	// Facts are what decides a SAML case, in reading order: the message
	// (kind, issuer, destination, status), then each assertion's subject,
	// audience, validity, authentication context and attributes, each
	// explained (see samlFacts).
	Facts    []Explained `json:"facts,omitempty"`
	Problems []string    `json:"problems,omitempty"`
	Issues   []string    `json:"issues,omitempty"`
}

// ExplainSAML decodes a SAML message given as XML, as a POST-binding base64
// value, as a redirect-binding value, or as a URL or form body carrying
// SAMLRequest / SAMLResponse. Conditions are checked against at (skipped when zero).
func ExplainSAML(input string, at time.Time, certs []*x509.Certificate) (*SAMLReport, error) {
	return ExplainSAMLWith(input, SAMLExplainOptions{At: at, Certs: certs})
}

// SAMLExplainOptions are the settings of ExplainSAMLWith.
type SAMLExplainOptions struct {
	// At is the time to check conditions against (skipped when zero).
	At time.Time
	// Certs are the trusted signing certificates (--metadata, --cert).
	Certs []*x509.Certificate
	// Skew is the clock skew allowed; DefaultSkew when zero.
	Skew time.Duration
	// Audience is the SP's entity ID the assertion must be for ("" to skip).
	Audience string
	// Key is the SP's private key, to decrypt encrypted assertions (nil: not).
	Key *rsa.PrivateKey
}

// ExplainSAMLWith is ExplainSAML with every option.
func ExplainSAMLWith(input string, o SAMLExplainOptions) (*SAMLReport, error) {
	at, certs := o.At, o.Certs
	in := strings.TrimSpace(input)
	binding := "xml"
	var xmlb []byte
	// An auto-post page (what a browser gets at the end of a SAML sign-in):
	// take the form's SAMLResponse or SAMLRequest field.
	if m := htmlSAMLRE.FindStringSubmatch(in); m != nil && strings.HasPrefix(in, "<") {
		in = html.UnescapeString(m[2])
	}
	if strings.HasPrefix(in, "<") {
		xmlb = []byte(in)
	} else {
		val := in
		redirect := false
		if strings.Contains(in, "SAMLRequest=") || strings.Contains(in, "SAMLResponse=") {
			q := in
			if i := strings.IndexByte(q, '?'); i >= 0 && strings.Contains(q[:i], "://") {
				q = q[i+1:]
				redirect = true
			}
			v, err := url.ParseQuery(q)
			if err != nil {
				return nil, fmt.Errorf("saml: cannot read the parameters: %w", err)
			}
			val = v.Get("SAMLResponse")
			if val == "" {
				val = v.Get("SAMLRequest")
			}
		}
		var err error
		if !redirect {
			xmlb, err = saml.DecodePost(val)
			binding = "post"
			if err != nil || !bytes.HasPrefix(bytes.TrimSpace(xmlb), []byte("<")) {
				redirect = true
			}
		}
		if redirect {
			binding = "redirect"
			xmlb, err = saml.DecodeRedirect(val)
			if err != nil {
				return nil, err
			}
		}
	}
	// With the SP's key, encrypted NameIDs (EncryptedID) are decrypted too.
	m, err := saml.ParseWithKey(xmlb, o.Key)
	if err != nil {
		return nil, err
	}
	// Show the decrypted assertions in place of the encrypted ones.
	_ = saml.ShowDecrypted(m, xmlb, o.Key)
	a := New(Options{SAMLCerts: certs, Skew: o.Skew, SAMLAudience: o.Audience, SAMLKey: o.Key})
	s := a.newSignIn("saml", "")
	a.samlToken(fakeFlow(at), s, m, "saml_"+strings.ToLower(m.Kind), "", fp(input), xmlb)
	for i := range m.Assertions {
		a.samlAssertion(fakeFlow(at), s, &m.Assertions[i], m)
	}
	a.finishSAML()
	r := &SAMLReport{Binding: binding, Message: a.rep.Tokens[0].Claims, Problems: m.Problems, Facts: samlFacts(m),
		Verified: a.rep.Tokens[0].Verified, Verdict: SignatureWord(a.rep.Tokens[0].Verified, a.rep.Tokens[0].Unsigned), VerifyDetail: a.rep.Tokens[0].VerifyDetail,
		Unsigned: a.rep.Tokens[0].Unsigned}
	// A request or other message posted as XML with no signature anywhere
	// is unsigned, not "not checked": no certificate would check it.
	// (Redirect-binding signatures travel in the query, not the XML.)
	if binding != "redirect" && r.Verified == nil && !r.Unsigned && !m.Signed &&
		!slices.ContainsFunc(m.Assertions, func(x saml.Assertion) bool { return x.Signed || x.Encrypted }) {
		r.Unsigned, r.Verdict = true, VerdictUnsigned
		r.VerifyDetail = "no XML signature on the " + m.Kind + "; service providers often send requests unsigned"
	}
	for _, f := range a.rep.Findings {
		r.Issues = append(r.Issues, f.Code+": "+f.Detail)
	}
	return r, nil
}
