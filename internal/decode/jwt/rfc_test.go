package jwt

// JOSE vectors typed in from the RFCs, and the strictness rules of issue 11.

import (
	"encoding/base64"
	"strings"
	"testing"
)

// rfc7515Payload is the JWT claims set of RFC 7515 Appendix A.1–A.3.
const rfc7515Payload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

var rfcVectors = []struct {
	name, token, jwk string
	payload          string // the payload bytes when it is not JSON
}{
	{"RFC 7515 A.1 HS256",
		"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." + rfc7515Payload + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
		`{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}`, ""},
	{"RFC 7515 A.3 ES256",
		"eyJhbGciOiJFUzI1NiJ9." + rfc7515Payload + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
		`{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`, ""},
	{"RFC 8037 A.4 Ed25519",
		"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
		`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, "Example of Ed25519 signing"},
}

func TestRFCVectors(t *testing.T) {
	for _, c := range rfcVectors {
		t.Run(c.name, func(t *testing.T) {
			ks, err := ParseJWKS([]byte(c.jwk))
			if err != nil || ks.Len() != 1 {
				t.Fatalf("key: %v %v", err, ks.Skipped)
			}
			tok, err := Parse(c.token)
			if err != nil {
				t.Fatal(err)
			}
			if c.payload != "" && (!tok.PayloadNotJSON || string(tok.Payload) != c.payload) {
				t.Errorf("payload %q (not JSON %v), want %q", tok.Payload, tok.PayloadNotJSON, c.payload)
			}
			if d := Verify(tok, ks).Verdict(); d.Status != StatusVerified {
				t.Errorf("verdict %s, the RFC's signature is valid", d)
			}
			// One bit of the signing input changed: invalid.
			bad := strings.Replace(c.token, ".", ".e", 1)
			if tok2, err := Parse(bad); err == nil {
				if d := Verify(tok2, ks).Verdict(); d.Status == StatusVerified {
					t.Errorf("altered token: %s", d)
				}
			}
		})
	}
}

func TestStrictness(t *testing.T) {
	ed := rfcVectors[2]
	ks, err := ParseJWKS([]byte(ed.jwk))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := ParseJWKS([]byte(strings.Replace(ed.jwk, `"kty"`, `"use":"enc","kty"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	otherAlg, err := ParseJWKS([]byte(strings.Replace(ed.jwk, `"kty"`, `"alg":"ES256","kty"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(ed.token, ".")
	critUnknown := b64url(`{"alg":"EdDSA","crit":["exp"],"exp":1}`) + "." + parts[1] + "." + parts[2]
	critMissing := b64url(`{"alg":"EdDSA","crit":["exp"]}`) + "." + parts[1] + "." + parts[2]
	cases := []struct {
		name, tok string
		ks        *KeySet
		want, why string
	}{
		{"padded signature", ed.token + "==", ks, StatusInvalid, "malformed"},
		{"padded payload", parts[0] + "." + parts[1] + "=." + parts[2], ks, StatusInvalid, "padding"},
		{"standard alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(ed.token), ks, StatusInvalid, "standard base64"},
		{"unknown crit", critUnknown, ks, StatusNotChecked, "unsupported critical header"},
		{"crit names a missing header", critMissing, ks, StatusInvalid, "malformed"},
		{"key marked use enc", ed.token, enc, StatusNotChecked, "no key"},
		{"key for another alg", ed.token, otherAlg, StatusNotChecked, "no key"},
		{"HS256 without a secret", rfcVectors[0].token, ks, StatusNotChecked, "shared secret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Parse(c.tok)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			d := Verify(tok, c.ks).Verdict()
			if d.Status != c.want || !strings.Contains(d.Why, c.why) {
				t.Errorf("verdict %s, want %s with %q", d, c.want, c.why)
			}
		})
	}
}

func b64url(s string) string {
	return strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(encodeStd(s)), "=")
}

func encodeStd(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
