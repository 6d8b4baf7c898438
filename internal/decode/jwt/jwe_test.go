package jwt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestDecryptJWE: go-jose (a peer) makes the JWEs; idtrace decrypts them
// and verifies the JWS nested inside.
func TestDecryptJWE(t *testing.T) {
	sigKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: sigKey, KeyID: "s1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := signer.Sign([]byte(`{"sub":"alice","refresh_token":"inner-secret-value-0123456789"}`))
	inner, _ := js.CompactSerialize()
	pt, err := sigKey.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	pubJWK := `{"kty":"EC","crv":"P-256","kid":"s1","x":"` + base64.RawURLEncoding.EncodeToString(pt[1:33]) +
		`","y":"` + base64.RawURLEncoding.EncodeToString(pt[33:]) + `"}`
	sigKS, err := ParseJWKS([]byte(pubJWK))
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	secretKS, _ := ParseJWKS([]byte(`{"kty":"oct","k":"` + base64.RawURLEncoding.EncodeToString(secret) + `"}`))

	encrypt := func(alg jose.KeyAlgorithm, enc jose.ContentEncryption, key any, pt string, nested bool) string {
		t.Helper()
		opts := &jose.EncrypterOptions{}
		if nested {
			opts = opts.WithContentType("JWT")
		}
		e, err := jose.NewEncrypter(enc, jose.Recipient{Algorithm: alg, Key: key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := e.Encrypt([]byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := obj.CompactSerialize()
		return s
	}
	cases := []struct {
		name   string
		jwe    string
		key    any
		ks     *KeySet
		want   string
		nested bool
	}{
		{"RSA-OAEP-256 + A256GCM, nested JWS", encrypt(jose.RSA_OAEP_256, jose.A256GCM, &rsaKey.PublicKey, inner, true), rsaKey, nil, StatusVerified, true},
		{"RSA-OAEP + A128CBC-HS256, nested JWS", encrypt(jose.RSA_OAEP, jose.A128CBC_HS256, &rsaKey.PublicKey, inner, true), rsaKey, nil, StatusVerified, true},
		{"ECDH-ES + A128GCM, nested JWS", encrypt(jose.ECDH_ES, jose.A128GCM, &ecKey.PublicKey, inner, true), ecKey, nil, StatusVerified, true},
		{"dir with an oct key, nested JWS", encrypt(jose.DIRECT, jose.A256GCM, secret, inner, true), nil, secretKS, StatusVerified, true},
		{"claims encrypted, not signed", encrypt(jose.RSA_OAEP, jose.A256GCM, &rsaKey.PublicKey, `{"sub":"mallory"}`, false), rsaKey, nil, StatusUnsigned, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Parse(c.jwe)
			if err != nil || !tok.Encrypted {
				t.Fatalf("parse: %v", err)
			}
			if d := Verify(tok, sigKS).Verdict(); d.Status != StatusNotChecked {
				t.Errorf("before decryption: %s", d)
			}
			dec, err := Decrypt(tok, c.key, c.ks)
			if err != nil {
				t.Fatal(err)
			}
			if dec.Nested != c.nested {
				t.Errorf("nested %v", dec.Nested)
			}
			if c.nested && (dec.Claims.Str("sub") != "alice" || dec.Claims.Str("refresh_token") == "inner-secret-value-0123456789") {
				t.Errorf("inner claims %v (refresh_token must be masked)", dec.Claims.Keys)
			}
			if d := Verify(dec, sigKS).Verdict(); d.Status != c.want {
				t.Errorf("decrypted: %s, want %s", d, c.want)
			}
		})
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	tok, _ := Parse(cases[0].jwe)
	if _, err := Decrypt(tok, other, nil); !errors.Is(err, ErrDecrypt) {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := Decrypt(tok, nil, nil); !errors.Is(err, ErrDecrypt) {
		t.Errorf("no key: %v", err)
	}
}
