package jwt

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// MaxJWKSSize caps the size of a JWKS or discovery document.
const MaxJWKSSize = 4 << 20

// Key is one public signing key.
type Key struct {
	// KeyID is "kid" ("" if none).
	KeyID string
	// X5t is the base64url SHA-1 thumbprint of the key's first certificate:
	// the "x5t" member, or computed from "x5c".
	X5t string
	// Alg is the algorithm the JWKS names for the key, as written (Entra
	// writes "SHA256" or "RS256"); informational only.
	Alg string
	// Use is "use" ("sig", "enc", or "").
	Use string
	// KeyOps is "key_ops" as written.
	KeyOps []string
	// Secret is the key of an "oct" JWK (HS256/384/512). It is never
	// printed.
	Secret []byte
	// Public is an *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey;
	// nil for an oct key (see Secret).
	Public crypto.PublicKey
	// Certificate is the first x5c certificate, if any.
	Certificate *x509.Certificate
	// Source says where the key came from (a file name, a flow ID, a URL);
	// set by the caller through ParseJWKSFrom.
	Source string
	// Issuer is the issuer of the OIDC discovery document the keys came
	// with ("" if unknown). Entra multi-tenant issuers contain "{tenantid}".
	Issuer string
}

// KeySet is a set of public keys, from one or more JWKS documents.
// A KeySet is not safe for concurrent modification; once built it may be
// read (Verify) from many goroutines.
type KeySet struct {
	Keys []Key
	// Skipped says, for each JWKS member that could not be used, why (for
	// example "key 2 (kid x): unsupported kty oct").
	Skipped []string
}

// rawJWK is the lenient shape of a JWK: every member optional.
type rawJWK struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Use    string   `json:"use"`
	Alg    string   `json:"alg"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	X5c    []string `json:"x5c"`
	X5t    string   `json:"x5t"`
	Issuer string   `json:"issuer"`
	K      string   `json:"k"`
	KeyOps []string `json:"key_ops"`
}

// ParseJWKS reads a JSON Web Key Set ({"keys":[...]}) or a single JWK. It
// tolerates what Entra and older ADFS publish: "alg":"SHA256", key_ops
// ["signing"], standard base64 (with + / and padding) instead of base64url,
// keys given only as an x5c certificate, a UTF-8 BOM, and EC keys ("ES521"
// is taken for the P-521 curve). Keys it cannot use are listed in Skipped
// rather than failing the whole set; the error is for a document that is
// not a key set at all.
func ParseJWKS(b []byte) (*KeySet, error) { return ParseJWKSFrom(b, "") }

// ParseJWKSFrom is ParseJWKS recording source on every key.
func ParseJWKSFrom(b []byte, source string) (*KeySet, error) {
	if len(b) > MaxJWKSSize {
		return nil, fmt.Errorf("jwt: JWKS of %d bytes exceeds the %d-byte cap", len(b), MaxJWKSSize)
	}
	b = bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
		Kty  string            `json:"kty"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("jwt: JWKS: %w", err)
	}
	raws := doc.Keys
	if raws == nil {
		if doc.Kty == "" {
			return nil, errors.New(`jwt: JWKS: no "keys" array and not a single JWK`)
		}
		raws = []json.RawMessage{b}
	}
	ks := &KeySet{}
	for i, r := range raws {
		var rk rawJWK
		if err := json.Unmarshal(r, &rk); err != nil {
			ks.Skipped = append(ks.Skipped, fmt.Sprintf("key %d: %v", i, err))
			continue
		}
		k, err := rk.key()
		if err != nil {
			ks.Skipped = append(ks.Skipped, fmt.Sprintf("key %d (kid %q): %v", i, rk.Kid, err))
			continue
		}
		k.Source = source
		ks.Keys = append(ks.Keys, *k)
	}
	return ks, nil
}

// Merge adds the keys (and skip notes) of other sets to ks, dropping exact
// duplicates (same kid, thumbprint and public key). It returns ks.
func (ks *KeySet) Merge(others ...*KeySet) *KeySet {
	for _, o := range others {
		if o == nil {
			continue
		}
	next:
		for _, k := range o.Keys {
			for _, have := range ks.Keys {
				if have.KeyID == k.KeyID && have.X5t == k.X5t && publicEqual(have.Public, k.Public) {
					continue next
				}
			}
			ks.Keys = append(ks.Keys, k)
		}
		ks.Skipped = append(ks.Skipped, o.Skipped...)
	}
	return ks
}

// Len is the number of usable keys; 0 for a nil set.
func (ks *KeySet) Len() int {
	if ks == nil {
		return 0
	}
	return len(ks.Keys)
}

func publicEqual(a, b crypto.PublicKey) bool {
	type eq interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.(eq); ok {
		return e.Equal(b)
	}
	return false
}

// decodeB64Lenient decodes base64url or standard base64, padded or not.
func decodeB64Lenient(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("+", "-", "/", "_", "\n", "", "\r", "", " ", "").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}

func (rk *rawJWK) key() (*Key, error) {
	k := &Key{KeyID: rk.Kid, Alg: rk.Alg, Use: rk.Use, X5t: rk.X5t, Issuer: rk.Issuer, KeyOps: rk.KeyOps}
	if strings.EqualFold(rk.Kty, "oct") {
		s, err := decodeB64Lenient(rk.K)
		if err != nil || len(s) == 0 {
			return nil, errors.New("oct key without a usable \"k\"")
		}
		k.Secret = s
		return k, nil
	}
	if len(rk.X5c) > 0 {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(rk.X5c[0]), ""))
		if err != nil {
			der, err = decodeB64Lenient(rk.X5c[0])
		}
		if err == nil {
			if cert, cerr := x509.ParseCertificate(der); cerr == nil {
				k.Certificate = cert
				sum := sha1.Sum(cert.Raw)
				if k.X5t == "" {
					k.X5t = base64.RawURLEncoding.EncodeToString(sum[:])
				}
			}
		}
	}
	var err error
	switch strings.ToUpper(rk.Kty) {
	case "RSA":
		if rk.N == "" || rk.E == "" {
			break
		}
		var n, e []byte
		if n, err = decodeB64Lenient(rk.N); err != nil {
			return nil, fmt.Errorf("modulus n: %w", err)
		}
		if e, err = decodeB64Lenient(rk.E); err != nil {
			return nil, fmt.Errorf("exponent e: %w", err)
		}
		if len(e) > 4 || len(e) == 0 {
			return nil, fmt.Errorf("exponent e of %d bytes", len(e))
		}
		ei := new(big.Int).SetBytes(e).Int64()
		if len(n) < 64 || ei < 3 {
			return nil, errors.New("RSA key too small or exponent invalid")
		}
		k.Public = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ei)}
	case "EC":
		var curve elliptic.Curve
		switch strings.ToUpper(rk.Crv) {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("unsupported EC curve %q", rk.Crv)
		}
		x, err1 := decodeB64Lenient(rk.X)
		y, err2 := decodeB64Lenient(rk.Y)
		if err1 != nil || err2 != nil {
			return nil, errors.New("bad base64 in x or y")
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(x) > size || len(y) > size {
			return nil, errors.New("EC coordinate too long for the curve")
		}
		// Build the uncompressed point and let crypto/ecdh-backed parsing
		// check it is on the curve.
		pt := make([]byte, 1+2*size)
		pt[0] = 4
		copy(pt[1+size-len(x):1+size], x)
		copy(pt[1+2*size-len(y):], y)
		pub, perr := ecdsa.ParseUncompressedPublicKey(curve, pt)
		if perr != nil {
			return nil, fmt.Errorf("EC point: %w", perr)
		}
		k.Public = pub
	case "OKP":
		if rk.Crv != "Ed25519" {
			return nil, fmt.Errorf("unsupported OKP curve %q", rk.Crv)
		}
		x, err := decodeB64Lenient(rk.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 key")
		}
		k.Public = ed25519.PublicKey(x)
	case "":
		// x5c-only key: handled below.
	default:
		return nil, fmt.Errorf("unsupported kty %q (only public signature keys are used)", rk.Kty)
	}
	if k.Public == nil && k.Certificate != nil {
		switch k.Certificate.PublicKey.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			k.Public = k.Certificate.PublicKey
		}
	}
	if k.Public == nil {
		return nil, errors.New("no usable public key (no n/e, x/y or x5c certificate)")
	}
	if k.Certificate != nil && !publicEqual(k.Public, k.Certificate.PublicKey) {
		return nil, errors.New("x5c certificate does not hold the same public key as the JWK members")
	}
	return k, nil
}

// X5tS256 returns the base64url SHA-256 thumbprint of the key's certificate, or "".
func (k *Key) X5tS256() string {
	if k.Certificate == nil {
		return ""
	}
	s := sha256.Sum256(k.Certificate.Raw)
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// Discovery is the part of an OpenID Connect discovery document
// (.well-known/openid-configuration) the analyzer uses.
type Discovery struct {
	Issuer                      string   `json:"issuer"`
	JWKSURI                     string   `json:"jwks_uri"`
	AuthorizationEndpoint       string   `json:"authorization_endpoint"`
	TokenEndpoint               string   `json:"token_endpoint"`
	EndSessionEndpoint          string   `json:"end_session_endpoint"`
	DeviceAuthorizationEndpoint string   `json:"device_authorization_endpoint"`
	UserinfoEndpoint            string   `json:"userinfo_endpoint"`
	IDTokenSigningAlgs          []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported      []string `json:"response_types_supported"`
	TenantRegionScope           string   `json:"tenant_region_scope"`
}

// ParseDiscovery reads an OpenID Connect discovery document.
func ParseDiscovery(b []byte) (*Discovery, error) {
	if len(b) > MaxJWKSSize {
		return nil, fmt.Errorf("jwt: discovery document of %d bytes exceeds the cap", len(b))
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var d Discovery
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("jwt: discovery document: %w", err)
	}
	if d.Issuer == "" || d.JWKSURI == "" {
		return nil, errors.New(`jwt: discovery document: no "issuer" or "jwks_uri"`)
	}
	return &d, nil
}

// KeySetFromDiscovery parses the JWKS served at d.JWKSURI and records the
// discovery issuer and JWKS URI on each key, so Verify can report whether
// the token's issuer is the one the keys were published for.
func KeySetFromDiscovery(d *Discovery, jwks []byte) (*KeySet, error) {
	ks, err := ParseJWKSFrom(jwks, d.JWKSURI)
	if err != nil {
		return nil, err
	}
	for i := range ks.Keys {
		if ks.Keys[i].Issuer == "" {
			ks.Keys[i].Issuer = d.Issuer
		}
	}
	return ks, nil
}

// SecretKeySet is a key set holding one shared secret (an "oct" key) for
// HS256/384/512, named by source ("--secret").
func SecretKeySet(secret []byte, source string) *KeySet {
	return &KeySet{Keys: []Key{{Secret: append([]byte(nil), secret...), Source: source}}}
}
