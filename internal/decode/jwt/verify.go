package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
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

// asymmetric algorithms Verify accepts; never HS*, never none.
var asymAlgs = map[string]jose.SignatureAlgorithm{
	"RS256": jose.RS256, "RS384": jose.RS384, "RS512": jose.RS512,
	"PS256": jose.PS256, "PS384": jose.PS384, "PS512": jose.PS512,
	"ES256": jose.ES256, "ES384": jose.ES384, "ES512": jose.ES512,
	"EdDSA": jose.EdDSA,
}

func ptr(b bool) *bool { return &b }

// Verify checks tok's signature against the keys in ks. Keys are chosen by
// "kid", then by "x5t" (Entra v1 tokens name their key only by x5t; Entra
// publishes kid == x5t), and when the header names neither, every key of
// the right type is tried. Public keys are never used as HMAC secrets, so
// an HS256 token "signed" with a published public key does not verify.
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
		v.Reason = "encrypted token (JWE): only its intended recipient can decrypt and check it"
		return v
	}
	if tok.Sanitized() {
		v.Reason = SanitizedReason
		return v
	}
	alg := v.Alg
	if strings.EqualFold(alg, "none") {
		v.Verified = ptr(false)
		v.Reason = `unsigned token (alg "none"): anyone could have written it`
		return v
	}
	if !tok.HasSignature {
		v.Verified = ptr(false)
		v.Reason = "the token has no signature"
		return v
	}
	if strings.HasPrefix(strings.ToUpper(alg), "HS") {
		v.Reason = fmt.Sprintf("%s uses a shared secret, which a trace does not contain; public keys are never used as HMAC secrets", alg)
		return v
	}
	ja, ok := asymAlgs[alg]
	if !ok {
		v.Verified = ptr(false)
		v.Reason = fmt.Sprintf("unsupported signature algorithm %q", alg)
		return v
	}
	graphNonce := tok.Header.Has("nonce")
	if ks.Len() == 0 {
		v.Reason = "signature not verified: no keys (give the issuer's JWKS or a trace holding its discovery and keys responses)"
		if graphNonce {
			v.Reason = graphNonceReason
		}
		return v
	}
	jws, err := jose.ParseSignedCompact(canonical(tok.Raw), []jose.SignatureAlgorithm{ja})
	if err != nil {
		v.Verified = ptr(false)
		v.Reason = fmt.Sprintf("malformed signed token: %v", err)
		return v
	}
	cands := candidates(tok, ks, ja)
	if len(cands) == 0 {
		v.Reason = fmt.Sprintf("signature not verified: no key with kid/x5t %q among %d keys", v.KeyID, ks.Len())
		if v.KeyID == "" {
			v.Reason = fmt.Sprintf("signature not verified: no %s key among %d keys", alg, ks.Len())
		}
		if graphNonce {
			v.Reason = graphNonceReason
		}
		return v
	}
	for _, k := range cands {
		if _, err := jws.Verify(k.Public); err == nil {
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
			v.Reason = "signature verified"
			if k.Source != "" {
				v.Reason += " with a key from " + k.Source
			}
			return v
		}
	}
	if graphNonce {
		v.Reason = graphNonceReason
		return v
	}
	v.Verified = ptr(false)
	v.Reason = fmt.Sprintf("signature INVALID: %d matching key(s) rejected it (token altered, or signed by someone else)", len(cands))
	return v
}

const graphNonceReason = `signature not verifiable: the header carries a "nonce", which marks an Entra access token for Microsoft Graph; only Graph can check its signature (this is expected, not a sign of tampering)`

// candidates returns the keys to try: by kid, then x5t, else all keys of
// the algorithm's type.
func candidates(tok *Token, ks *KeySet, alg jose.SignatureAlgorithm) []Key {
	kid, x5t := tok.KeyID(), tok.X5t()
	var out []Key
	if kid != "" {
		for _, k := range ks.Keys {
			if k.KeyID == kid && typeFits(k, alg) {
				out = append(out, k)
			}
		}
	}
	if len(out) == 0 && x5t != "" {
		for _, k := range ks.Keys {
			if (k.X5t == x5t || k.KeyID == x5t) && typeFits(k, alg) {
				out = append(out, k)
			}
		}
	}
	if len(out) == 0 && kid == "" && x5t == "" {
		for _, k := range ks.Keys {
			if typeFits(k, alg) {
				out = append(out, k)
			}
		}
	}
	return out
}

func typeFits(k Key, alg jose.SignatureAlgorithm) bool {
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

// canonical removes base64 padding and maps the standard alphabet to
// base64url, which go-jose requires.
func canonical(raw string) string {
	if !strings.ContainsAny(raw, "=+/") {
		return raw
	}
	return strings.NewReplacer("=", "", "+", "-", "/", "_").Replace(raw)
}
