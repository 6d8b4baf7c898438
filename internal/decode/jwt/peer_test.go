package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestVerifyAgreesWithGoJose: go-jose (a peer) signs a token with every
// algorithm Verify implements, in the compact and general JSON forms; Verify
// must call each verified with the public key go-jose publishes, and
// invalid once a payload or signature byte changes — where go-jose's own
// verification agrees.
func TestVerifyAgreesWithGoJose(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec := map[string]*ecdsa.PrivateKey{}
	for alg, c := range map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()} {
		if ec[alg], err = ecdsa.GenerateKey(c, rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 64)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	keyFor := func(alg string) any {
		switch {
		case strings.HasPrefix(alg, "RS"), strings.HasPrefix(alg, "PS"):
			return rsaKey
		case strings.HasPrefix(alg, "ES"):
			return ec[alg]
		case alg == "EdDSA":
			return edKey
		}
		return secret
	}
	payload := []byte(`{"iss":"https://peer.example","sub":"alice"}`)
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"} {
		t.Run(alg, func(t *testing.T) {
			priv := keyFor(alg)
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: jose.JSONWebKey{Key: priv, KeyID: "k1"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := signer.Sign(payload)
			if err != nil {
				t.Fatal(err)
			}
			var pub jose.JSONWebKey
			if alg[0] == 'H' {
				pub = jose.JSONWebKey{Key: secret, KeyID: "k1"}
			} else {
				full := jose.JSONWebKey{Key: priv, KeyID: "k1"}
				pub = full.Public()
			}
			jwk, err := json.Marshal(pub)
			if err != nil {
				t.Fatal(err)
			}
			ks, err := ParseJWKS(jwk)
			if err != nil || ks.Len() != 1 {
				t.Fatalf("peer's JWK: %v %v", err, ks.Skipped)
			}
			compact, err := obj.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			for form, in := range map[string]string{"compact": compact, "general JSON": obj.FullSerialize()} {
				tok, err := Parse(in)
				if err != nil {
					t.Fatalf("%s: %v", form, err)
				}
				if d := Verify(tok, ks).Verdict(); d.Status != StatusVerified {
					t.Errorf("%s: %s, go-jose made it with this key", form, d)
				}
			}
			parts := strings.Split(compact, ".")
			flip := func(s string) string {
				i := len(s) / 3
				c := byte('A')
				if s[i] == 'A' {
					c = 'B'
				}
				return s[:i] + string(c) + s[i+1:]
			}
			for what, bad := range map[string]string{
				"payload altered":   parts[0] + "." + flip(parts[1]) + "." + parts[2],
				"signature altered": parts[0] + "." + parts[1] + "." + flip(parts[2]),
			} {
				peerOK := false
				if js, err := jose.ParseSignedCompact(bad, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)}); err == nil {
					_, err = js.Verify(pub.Key)
					peerOK = err == nil
				}
				tok, err := Parse(bad)
				if err != nil {
					if peerOK {
						t.Errorf("%s: idtrace cannot read what go-jose verifies: %v", what, err)
					}
					continue
				}
				got := Verify(tok, ks).Verdict()
				if peerOK || got.Status != StatusInvalid {
					t.Errorf("%s: idtrace %s, go-jose verified=%v", what, got, peerOK)
				}
			}
		})
	}
}
