package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"hash"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// Verification is the result of checking a token's signature.
type Verification struct {
	// Verified is nil when the signature could not be checked (no matching
	// key, encrypted token, shared-secret algorithm, Graph nonce), true when
	// a key verified it, false when it is definitely not valid (no
	// signature, alg "none", or every candidate key rejected it).
	Verified *bool
	// KeyID is the kid (or x5t) of the key that verified the token, or the
	// one the header asked for.
	KeyID string
	// Alg is the header's algorithm.
	Alg string
	// KeySource and KeyIssuer describe the verifying key (see Key).
	KeySource, KeyIssuer string
	// IssuerMatch says whether the token's "iss" is the issuer of the
	// discovery document the verifying key came with (see IssuerMatches);
	// nil when that issuer is unknown.
	IssuerMatch *bool
	// Reason says in plain words why the result is what it is.
	Reason string
	// Unsigned is set (with Verified false) when the token carries no
	// signature at all: alg "none" or an empty signature part. Its verdict
	// is "unsigned" whatever keys were given.
	Unsigned bool
	// Signature is the 1-based number, in a JWS with several signatures,
	// of the one this verdict is about (the one that verified, or the
	// first invalid one); 0 when the token has one signature.
	Signature int
	// Each holds the verdict of every signature of a JWS with several, in
	// order; nil otherwise. The fields above are the overall verdict.
	Each []Verification
}

// IssuerMatches reports whether a token issuer equals the issuer of an
// OIDC discovery document. Entra's multi-tenant documents (/common,
// /organizations) publish "https://login.microsoftonline.com/{tenantid}/v2.0";
// the placeholder is replaced by the token's tenant ID before comparing.
func IssuerMatches(discoveryIssuer string, c *Claims) bool {
	iss := c.Issuer()
	if strings.Contains(discoveryIssuer, "{tenantid}") {
		tid := c.TenantID()
		if tid == "" {
			return false
		}
		discoveryIssuer = strings.ReplaceAll(discoveryIssuer, "{tenantid}", tid)
	}
	return iss != "" && iss == discoveryIssuer
}

// The three words of a verdict, the same as saml's and analyze's.
const (
	StatusVerified   = "verified"
	StatusInvalid    = "invalid"
	StatusNotChecked = "not checked"
	StatusUnsigned   = "unsigned"
)

// Verdict is the verification in idtrace's one vocabulary: Status, and Why
// in a few words.
type Verdict struct {
	Status string `json:"status"`
	Why    string `json:"why,omitempty"`
}

// String renders "verified (why)", "invalid (why)" or "not checked (why)".
func (v Verdict) String() string {
	if v.Why == "" {
		return v.Status
	}
	return v.Status + " (" + v.Why + ")"
}

// Verdict returns the verification in the common vocabulary.
func (v Verification) Verdict() Verdict {
	switch {
	case v.Unsigned:
		return Verdict{StatusUnsigned, v.Reason}
	case v.Verified == nil:
		return Verdict{StatusNotChecked, v.Reason}
	case *v.Verified:
		return Verdict{StatusVerified, v.Reason}
	}
	return Verdict{StatusInvalid, v.Reason}
}

// algorithms Verify checks; never none.
var jwsAlgs = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true, "HS256": true, "HS384": true, "HS512": true,
}

func ptr(b bool) *bool { return &b }

// NoKeysHint says which options give keys to check a JWT with.
const NoKeysHint = "give the issuer's keys with --jwks FILE, or a trace holding its discovery and keys responses"

// Verify checks tok's signature against the keys in ks. Keys are chosen by
// "kid", then by "x5t" (Entra v1 tokens name their key only by x5t; Entra
// publishes kid == x5t), and when the header names neither, every key of
// the right type is tried. Keys marked for encryption only ("use":"enc",
// "key_ops" without "verify") or for another "alg" are never used. Public
// keys are never used as HMAC secrets, so an HS256 token "signed" with a
// published public key does not verify; HS* tokens verify only with an
// "oct" key (a shared secret the user gives).
//
// A token a strict library refuses to read (padded or standard-alphabet
// base64) is invalid (malformed), whatever its signature; an unknown
// critical header ("crit") leaves it not checked, as RFC 7515 §4.1.11
// forbids accepting it. A JWS with detached content (RFC 7515 Appendix F)
// is not checked until the content is given (WithPayload), unless its
// signature verifies over an empty payload.
//
// A JWS with several signatures (the general JSON serialization) gets the
// verdict of each in Each, and one overall verdict by this rule: invalid
// when any signature is invalid (checked with a key and rejected, or
// malformed), however many others verified; otherwise verified when at
// least one verified (Signature says which; the others are named in
// Reason); otherwise not checked, or unsigned when every one is unsigned.
//
// Entra access tokens for Microsoft Graph carry a "nonce" in the header
// that Graph rewrites before checking; nobody else can verify them, and
// Verify says so instead of calling them invalid.
func Verify(tok *Token, ks *KeySet) Verification {
	if tok == nil {
		return Verification{Reason: "no token"}
	}
	if tok.Encrypted {
		v := Verification{Alg: tok.Alg(), KeyID: tok.KeyID()}
		v.Reason = "encrypted token (JWE): only its recipient can decrypt it, and the signed token inside"
		if strings.HasPrefix(v.Alg, "PBES2") {
			v.Reason = "encrypted with a password (" + v.Alg + "), which idtrace does not support: unsupported"
		}
		return v
	}
	if tok.Sanitized() {
		v := Verification{Alg: tok.Alg(), KeyID: tok.KeyID()}
		if v.KeyID == "" {
			v.KeyID = tok.X5t()
		}
		v.Reason = SanitizedReason
		return v
	}
	if tok.decryptedOnly {
		return Verification{Alg: tok.Alg(), Verified: ptr(false), Unsigned: true,
			Reason: "decrypted, and no signed token inside: encryption says who can read it, not who wrote it"}
	}
	if len(tok.Sigs) <= 1 {
		sg := Sig{Header: tok.Header, Signature: tok.Signature, Malformed: tok.Malformed}
		input := tok.Raw
		if i := strings.LastIndexByte(input, '.'); i >= 0 {
			input = input[:i]
		}
		if len(tok.Sigs) == 1 {
			sg = tok.Sigs[0]
			input = sg.Protected + "." + tok.payloadB64
		}
		return verifySig(tok, &sg, input, ks)
	}
	each := make([]Verification, len(tok.Sigs))
	for i := range tok.Sigs {
		each[i] = verifySig(tok, &tok.Sigs[i], tok.Sigs[i].Protected+"."+tok.payloadB64, ks)
		each[i].Signature = i + 1
	}
	return combine(each)
}

// combine applies Verify's rule for a JWS with several signatures.
func combine(each []Verification) Verification {
	n := len(each)
	label := func(v Verification) string {
		s := fmt.Sprintf("signature %d of %d (%s", v.Signature, n, v.Alg)
		if v.KeyID != "" {
			s += ", kid " + v.KeyID
		}
		return s + ")"
	}
	var verified, invalid []int
	unsigned := 0
	for i, v := range each {
		switch {
		case v.Unsigned:
			unsigned++
		case v.Verified == nil:
		case *v.Verified:
			verified = append(verified, i)
		default:
			invalid = append(invalid, i)
		}
	}
	var out Verification
	switch {
	case len(invalid) > 0:
		out = each[invalid[0]]
		out.Reason = label(out) + " is invalid: " + out.Reason
		if len(verified) > 0 {
			out.Reason += fmt.Sprintf("; %d other signature(s) verified, but one bad signature makes the whole token invalid", len(verified))
		}
	case len(verified) > 0:
		out = each[verified[0]]
		out.Reason = label(out) + " verified " + out.Reason
	case unsigned == n:
		out = each[0]
		out.Reason = "no signature of the " + strconv.Itoa(n) + " has a signature value or algorithm"
	default:
		out = Verification{Alg: each[0].Alg, KeyID: each[0].KeyID}
		out.Reason = "no signature could be checked"
	}
	var rest []string
	for i, v := range each {
		if len(verified) > 0 && len(invalid) == 0 && i == verified[0] {
			continue
		}
		if len(invalid) > 0 && i == invalid[0] {
			continue
		}
		rest = append(rest, label(v)+" "+v.Verdict().String())
	}
	if len(rest) > 0 {
		out.Reason += "; " + strings.Join(rest, "; ")
	}
	out.Each = each
	return out
}

// verifySig checks one signature sg of tok over the signing input.
func verifySig(tok *Token, sg *Sig, input string, ks *KeySet) Verification {
	h := &sg.Header
	v := Verification{Alg: h.Str("alg"), KeyID: h.Str("kid")}
	if v.KeyID == "" {
		v.KeyID = h.Str("x5t")
	}
	alg := v.Alg
	if strings.EqualFold(alg, "none") {
		v.Verified, v.Unsigned = ptr(false), true
		v.Reason = `alg "none": anyone could have written it`
		return v
	}
	if sg.Malformed != "" {
		v.Verified = ptr(false)
		v.Reason = "malformed: " + sg.Malformed
		return v
	}
	if len(sg.Signature) == 0 {
		v.Verified, v.Unsigned = ptr(false), true
		v.Reason = "the token has no signature"
		return v
	}
	if why := b64Problem(h); why != "" {
		v.Verified = ptr(false)
		v.Reason = why
		return v
	}
	if why, bad := critProblem(h); why != "" {
		if bad {
			v.Verified = ptr(false)
		}
		v.Reason = why
		return v
	}
	if _, ok := jwsAlgs[alg]; !ok {
		v.Reason = fmt.Sprintf("unsupported signature algorithm %q", alg)
		return v
	}
	isHMAC := strings.HasPrefix(alg, "HS")
	graphNonce := h.Has("nonce")
	if ks.Len() == 0 {
		v.Reason = "no keys: " + NoKeysHint
		if isHMAC {
			v.Reason = alg + " uses a shared secret: give it with --secret or as an oct key in --jwks"
			if tok.IsPRT() {
				v.Reason = "a " + PRTLabel + " is signed with the device's session key, which never leaves the device"
			}
		}
		if graphNonce {
			v.Reason = graphNonceReason
		}
		if tok.Detached && len(tok.Payload) == 0 {
			v.Reason += "; " + detachedReason
		}
		return v
	}
	cands := candidates(h, ks, alg)
	if len(cands) == 0 {
		switch {
		case graphNonce:
			v.Reason = graphNonceReason
		case isHMAC:
			v.Reason = alg + " uses a shared secret and no oct key was given: give it with --secret or as an oct key in --jwks"
		case v.KeyID != "":
			v.Reason = fmt.Sprintf("no key: none with kid/x5t %q usable for %s among %d keys", v.KeyID, alg, ks.Len())
		default:
			v.Reason = fmt.Sprintf("no key: no %s key among %d keys", alg, ks.Len())
		}
		return v
	}
	for _, k := range cands {
		if !signatureValid(alg, k, []byte(input), sg.Signature) {
			continue
		}
		v.Verified = ptr(true)
		if k.KeyID != "" {
			v.KeyID = k.KeyID
		} else if k.X5t != "" {
			v.KeyID = k.X5t
		}
		v.KeySource, v.KeyIssuer = k.Source, k.Issuer
		if k.Issuer != "" {
			v.IssuerMatch = ptr(IssuerMatches(k.Issuer, &tok.Claims))
		}
		v.Reason = "with key " + v.KeyID
		if v.KeyID == "" {
			v.Reason = "with the given key"
		}
		if k.Source != "" {
			v.Reason += " from " + k.Source
		}
		if len(sg.Unprotected) > 0 {
			v.Reason += "; the header members " + strings.Join(sg.Unprotected, ", ") + " are outside the signature"
		}
		return v
	}
	if graphNonce {
		v.Reason = graphNonceReason
		return v
	}
	if tok.Detached && len(tok.Payload) == 0 {
		// The content is elsewhere (RFC 7515 Appendix F): without it,
		// the signature cannot be checked.
		v.Reason = detachedReason
		return v
	}
	v.Verified = ptr(false)
	v.Reason = fmt.Sprintf("altered or wrong key: %d matching key(s) rejected the signature", len(cands))
	return v
}

// detachedReason is why a JWS with detached content is not checked.
const detachedReason = "the payload is detached (RFC 7515 Appendix F): the signature covers content that is not in the token; give that content to check it"

// signatureValid reports whether sig is alg's signature of input under k.
// RSASSA-PSS salts are the hash's length (RFC 7518 §3.5); ECDSA signatures
// are R || S of the curve's size, on the curve alg names (RFC 7518 §3.4).
func signatureValid(alg string, k Key, input, sig []byte) bool {
	if strings.HasPrefix(alg, "HS") {
		// Checked here rather than by a library that refuses secrets
		// shorter than the hash (common in practice, and still a
		// question of whether this secret made this MAC).
		return hmacValid(alg, k.Secret, input, sig)
	}
	if alg == "EdDSA" {
		pub, ok := k.Public.(ed25519.PublicKey)
		return ok && ed25519.Verify(pub, input, sig)
	}
	var hf crypto.Hash
	switch alg[2:] {
	case "256":
		hf = crypto.SHA256
	case "384":
		hf = crypto.SHA384
	case "512":
		hf = crypto.SHA512
	default:
		return false
	}
	hh := hf.New()
	hh.Write(input)
	digest := hh.Sum(nil)
	switch alg[:2] {
	case "RS", "PS":
		pub, ok := k.Public.(*rsa.PublicKey)
		if !ok {
			return false
		}
		if alg[0] == 'R' {
			return rsa.VerifyPKCS1v15(pub, hf, digest, sig) == nil
		}
		return rsa.VerifyPSS(pub, hf, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	case "ES":
		pub, ok := k.Public.(*ecdsa.PublicKey)
		if !ok || pub.Curve != esCurve[alg] {
			return false
		}
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(pub, digest, r, s)
	}
	return false
}

// esCurve is the curve each ECDSA algorithm requires.
var esCurve = map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}

// hmacValid reports whether sig is the HMAC of input under secret.
func hmacValid(alg string, secret, input, sig []byte) bool {
	var h func() hash.Hash
	switch alg {
	case "HS256":
		h = sha256.New
	case "HS384":
		h = sha512.New384
	case "HS512":
		h = sha512.New
	default:
		return false
	}
	m := hmac.New(h, secret)
	m.Write(input)
	return hmac.Equal(m.Sum(nil), sig)
}

// critProblem checks the "crit" header (RFC 7515 §4.1.11): why is non-empty
// when the token cannot be accepted; bad says it is malformed rather than
// merely using an extension idtrace does not implement.
func critProblem(h *Object) (why string, bad bool) {
	raw := h.Raw("crit")
	if raw == nil {
		return "", false
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil || len(names) == 0 {
		return `malformed: "crit" must be a non-empty array of header names`, true
	}
	for _, n := range names {
		if !h.Has(n) {
			return fmt.Sprintf(`malformed: "crit" names %q, which the header lacks`, n), true
		}
	}
	for _, n := range names {
		if !understoodCrit[n] {
			return fmt.Sprintf("unsupported critical header %q: RFC 7515 forbids accepting a token whose critical extensions are not understood", n), false
		}
	}
	return "", false
}

// understoodCrit lists the critical header extensions Verify implements:
// "b64" (RFC 7797, unencoded payload).
var understoodCrit = map[string]bool{"b64": true}

// b64Problem checks the "b64" header of RFC 7797: a boolean, and listed in
// "crit" (§6), or the token is malformed.
func b64Problem(h *Object) string {
	raw := h.Raw("b64")
	if raw == nil {
		return ""
	}
	if s := string(raw); s != "true" && s != "false" {
		return `malformed: "b64" must be true or false`
	}
	var names []string
	if json.Unmarshal(h.Raw("crit"), &names) != nil || !slices.Contains(names, "b64") {
		return `malformed: "b64" is used without naming it in "crit" (RFC 7797 §6)`
	}
	return ""
}

const graphNonceReason = `signature not verifiable: the header carries a "nonce", which marks an Entra access token for Microsoft Graph; only Graph can check its signature (this is expected, not a sign of tampering)`

// candidates returns the keys to try: by kid, then x5t, else all keys of
// the algorithm's type; never a key meant only for encryption or another
// algorithm.
func candidates(h *Object, ks *KeySet, alg string) []Key {
	kid, x5t := h.Str("kid"), h.Str("x5t")
	var usable []Key
	for _, k := range ks.Keys {
		if typeFits(k, alg) && usableFor(k, alg) {
			usable = append(usable, k)
		}
	}
	var out []Key
	if kid != "" {
		for _, k := range usable {
			if k.KeyID == kid {
				out = append(out, k)
			}
		}
	}
	if len(out) == 0 && x5t != "" {
		for _, k := range usable {
			if k.X5t == x5t || k.KeyID == x5t {
				out = append(out, k)
			}
		}
	}
	if len(out) == 0 && kid == "" && x5t == "" {
		out = usable
	}
	return out
}

// usableFor applies a JWK's "use", "key_ops" and "alg" (RFC 7517 §4).
// Entra writes "alg":"SHA256" and ADFS "key_ops":["signing"]: only JWS
// algorithm names are compared.
func usableFor(k Key, alg string) bool {
	if strings.EqualFold(k.Use, "enc") {
		return false
	}
	if len(k.KeyOps) > 0 && !slices.ContainsFunc(k.KeyOps, func(op string) bool {
		return strings.EqualFold(op, "verify") || strings.EqualFold(op, "signing") || strings.EqualFold(op, "sign")
	}) {
		return false
	}
	if _, isJWS := jwsAlgs[k.Alg]; isJWS && k.Alg != alg {
		return false
	}
	return true
}

func typeFits(k Key, alg string) bool {
	if strings.HasPrefix(alg, "HS") {
		return len(k.Secret) > 0
	}
	switch pub := k.Public.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return esCurve[alg] != nil && pub.Curve == esCurve[alg]
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
