package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
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
var jwsAlgs = map[string]jose.SignatureAlgorithm{
	"RS256": jose.RS256, "RS384": jose.RS384, "RS512": jose.RS512,
	"PS256": jose.PS256, "PS384": jose.PS384, "PS512": jose.PS512,
	"ES256": jose.ES256, "ES384": jose.ES384, "ES512": jose.ES512,
	"EdDSA": jose.EdDSA, "HS256": jose.HS256, "HS384": jose.HS384, "HS512": jose.HS512,
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
// forbids accepting it.
//
// Entra access tokens for Microsoft Graph carry a "nonce" in the header
// that Graph rewrites before checking; nobody else can verify them, and
// Verify says so instead of calling them invalid.
func Verify(tok *Token, ks *KeySet) Verification {
	if tok == nil {
		return Verification{Reason: "no token"}
	}
	v := Verification{Alg: tok.Alg(), KeyID: tok.KeyID()}
	if v.KeyID == "" {
		v.KeyID = tok.X5t()
	}
	if tok.Encrypted {
		v.Reason = "encrypted token (JWE): only its recipient can decrypt it, and the signed token inside"
		return v
	}
	if tok.Sanitized() {
		v.Reason = SanitizedReason
		return v
	}
	alg := v.Alg
	if strings.EqualFold(alg, "none") {
		v.Verified, v.Unsigned = ptr(false), true
		v.Reason = `alg "none": anyone could have written it`
		return v
	}
	if tok.Malformed != "" {
		v.Verified = ptr(false)
		v.Reason = "malformed: " + tok.Malformed
		return v
	}
	if !tok.HasSignature {
		v.Verified, v.Unsigned = ptr(false), true
		v.Reason = "the token has no signature"
		return v
	}
	if why, bad := critProblem(tok); why != "" {
		if bad {
			v.Verified = ptr(false)
		}
		v.Reason = why
		return v
	}
	ja, ok := jwsAlgs[alg]
	if !ok {
		v.Reason = fmt.Sprintf("unsupported signature algorithm %q", alg)
		return v
	}
	isHMAC := strings.HasPrefix(alg, "HS")
	graphNonce := tok.Header.Has("nonce")
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
		return v
	}
	jws, err := jose.ParseSignedCompact(tok.Raw, []jose.SignatureAlgorithm{ja})
	if err != nil {
		v.Verified = ptr(false)
		v.Reason = fmt.Sprintf("malformed: %v", err)
		return v
	}
	cands := candidates(tok, ks, ja)
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
		ok := false
		if isHMAC {
			// Checked here rather than by go-jose, which refuses secrets
			// shorter than the hash (common in practice, and still a
			// question of whether this secret made this MAC).
			ok = hmacValid(tok, alg, k.Secret)
		} else {
			_, err := jws.Verify(k.Public)
			ok = err == nil
		}
		if ok {
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
			return v
		}
	}
	if graphNonce {
		v.Reason = graphNonceReason
		return v
	}
	v.Verified = ptr(false)
	v.Reason = fmt.Sprintf("altered or wrong key: %d matching key(s) rejected the signature", len(cands))
	return v
}

// hmacValid reports whether tok's signature is the HMAC of its signing
// input under secret.
func hmacValid(tok *Token, alg string, secret []byte) bool {
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
	i := strings.LastIndexByte(tok.Raw, '.')
	if i < 0 {
		return false
	}
	m := hmac.New(h, secret)
	m.Write([]byte(tok.Raw[:i]))
	return hmac.Equal(m.Sum(nil), tok.Signature)
}

// critProblem checks the "crit" header (RFC 7515 §4.1.11): why is non-empty
// when the token cannot be accepted; bad says it is malformed rather than
// merely using an extension idtrace does not implement.
func critProblem(tok *Token) (why string, bad bool) {
	raw := tok.Header.Raw("crit")
	if raw == nil {
		return "", false
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil || len(names) == 0 {
		return `malformed: "crit" must be a non-empty array of header names`, true
	}
	for _, n := range names {
		if !tok.Header.Has(n) {
			return fmt.Sprintf(`malformed: "crit" names %q, which the header lacks`, n), true
		}
	}
	return fmt.Sprintf("unsupported critical header %q: RFC 7515 forbids accepting a token whose critical extensions are not understood", names[0]), false
}

const graphNonceReason = `signature not verifiable: the header carries a "nonce", which marks an Entra access token for Microsoft Graph; only Graph can check its signature (this is expected, not a sign of tampering)`

// candidates returns the keys to try: by kid, then x5t, else all keys of
// the algorithm's type; never a key meant only for encryption or another
// algorithm.
func candidates(tok *Token, ks *KeySet, alg jose.SignatureAlgorithm) []Key {
	kid, x5t := tok.KeyID(), tok.X5t()
	var usable []Key
	for _, k := range ks.Keys {
		if typeFits(k, alg) && usableFor(k, string(alg)) {
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

func typeFits(k Key, alg jose.SignatureAlgorithm) bool {
	if strings.HasPrefix(string(alg), "HS") {
		return len(k.Secret) > 0
	}
	switch k.Public.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(string(alg), "RS") || strings.HasPrefix(string(alg), "PS")
	case *ecdsa.PublicKey:
		return strings.HasPrefix(string(alg), "ES")
	case ed25519.PublicKey:
		return alg == jose.EdDSA
	}
	return false
}
