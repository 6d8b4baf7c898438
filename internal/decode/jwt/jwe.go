package jwt

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// ErrDecrypt is wrapped by every JWE decryption failure.
var ErrDecrypt = errors.New("cannot decrypt")

// ErrUnsupported is wrapped (beside ErrDecrypt) when the JWE uses an
// algorithm idtrace does not decrypt, such as the password-based PBES2.
var ErrUnsupported = errors.New("unsupported")

// ParsePrivateKey reads a recipient's private key for JWE: PEM or DER,
// PKCS #1, PKCS #8 or SEC 1 (RSA or EC).
func ParsePrivateKey(b []byte) (any, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if k, err := x509.ParsePKCS1PrivateKey(b); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(b); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		return nil, errors.New("jwt: not a private key (PEM or DER; PKCS #1, PKCS #8 or SEC 1)")
	}
	switch k.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("jwt: a %T cannot decrypt JWE", k)
}

var (
	jweKeyAlgs = []jose.KeyAlgorithm{jose.RSA_OAEP, jose.RSA_OAEP_256, jose.RSA1_5, jose.ECDH_ES, jose.ECDH_ES_A128KW,
		jose.ECDH_ES_A192KW, jose.ECDH_ES_A256KW, jose.DIRECT, jose.A128KW, jose.A192KW, jose.A256KW,
		jose.A128GCMKW, jose.A192GCMKW, jose.A256GCMKW}
	jweEncs = []jose.ContentEncryption{jose.A128CBC_HS256, jose.A192CBC_HS384, jose.A256CBC_HS512, jose.A128GCM, jose.A192GCM, jose.A256GCM}
)

// Decrypt decrypts a JWE (tok.Encrypted) with the recipient's private key
// (RSA-OAEP, RSA1_5, ECDH-ES) or, for "dir" and AES key wrap, the secret
// of an oct key in ks. A JWS inside (a nested JWT, "cty":"JWT") is
// returned parsed, with Nested set, for Verify to check like any other;
// other JSON plaintext comes back as an unsigned token carrying the outer
// header, since encryption alone proves nothing about who wrote it.
func Decrypt(tok *Token, key any, ks *KeySet) (*Token, error) {
	if tok == nil || !tok.Encrypted {
		return nil, fmt.Errorf("%w: not an encrypted token", ErrDecrypt)
	}
	jsonForm := strings.HasPrefix(tok.Raw, "{")
	if alg := tok.Alg(); !slices.Contains(jweKeyAlgs, jose.KeyAlgorithm(alg)) && (!jsonForm || tok.Signatures == 1) {
		return nil, fmt.Errorf("%w: key management algorithm %q is %w (idtrace decrypts RSA-OAEP, RSA1_5, ECDH-ES, dir and AES key wrap; not password-based PBES2)", ErrDecrypt, alg, ErrUnsupported)
	}
	var jwe *jose.JSONWebEncryption
	var err error
	if jsonForm {
		jwe, err = jose.ParseEncryptedJSON(tok.Raw, jweKeyAlgs, jweEncs)
	} else {
		jwe, err = jose.ParseEncryptedCompact(tok.Raw, jweKeyAlgs, jweEncs)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	var keys []any
	if key != nil {
		keys = append(keys, key)
	}
	if ks != nil {
		for _, k := range ks.Keys {
			if len(k.Secret) > 0 {
				keys = append(keys, k.Secret)
			}
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key (give the recipient's private key with --key, or an oct key in --jwks for dir / AES key wrap)", ErrDecrypt)
	}
	var pt []byte
	for _, k := range keys {
		// DecryptMulti tries every recipient of a JSON serialization.
		if _, _, pt, err = jwe.DecryptMulti(k); err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	if s := strings.TrimSpace(string(pt)); strings.Count(s, ".") == 2 && !strings.HasPrefix(s, "{") {
		inner, err := Parse(s)
		if err != nil {
			return nil, fmt.Errorf("%w: the nested token: %v", ErrDecrypt, err)
		}
		inner.Nested = true
		return inner, nil
	}
	out := &Token{Raw: tok.Raw, Header: tok.Header, Payload: pt, Serialization: tok.Serialization, Signatures: 0, decryptedOnly: true}
	if c, err := parseObject(pt); err == nil {
		out.Claims.Object = *c
		out.Masked = maskSecretClaims(&out.Claims.Object)
	} else {
		out.PayloadNotJSON = true
		out.Claims.Values = map[string]json.RawMessage{}
	}
	return out, nil
}
