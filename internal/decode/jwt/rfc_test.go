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
	{"RFC 7515 A.2 RS256",
		"eyJhbGciOiJSUzI1NiJ9." + rfc7515Payload + "." +
			"cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4" +
			"BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv" +
			"hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw",
		`{"kty":"RSA","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs` +
			`D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8` +
			`NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"}`, ""},
	{"RFC 7515 A.3 ES256",
		"eyJhbGciOiJFUzI1NiJ9." + rfc7515Payload + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
		`{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`, ""},
	{"RFC 7515 A.4 ES512",
		"eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA." +
			"AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8Kp" +
			"EHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn",
		`{"kty":"EC","crv":"P-521","x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",` +
			`"y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}`, "Payload"},
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
	ed := rfcVectors[len(rfcVectors)-1]
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

// RFC 7520 §4.4 (HMAC-SHA2 integrity protection): the same JWS in the
// compact, general JSON and flattened JSON serializations, and its key.
const (
	rfc7520Protected = "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9"
	rfc7520Payload   = "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
	rfc7520Sig       = "s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0"
	rfc7520Key       = `{"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037","use":"sig","alg":"HS256","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}`
)

func TestRFC7520Serializations(t *testing.T) {
	ks, err := ParseJWKS([]byte(rfc7520Key))
	if err != nil || ks.Len() != 1 {
		t.Fatalf("key: %v", err)
	}
	forms := map[string]string{
		"compact":        rfc7520Protected + "." + rfc7520Payload + "." + rfc7520Sig,
		"json-general":   `{"payload":"` + rfc7520Payload + `","signatures":[{"protected":"` + rfc7520Protected + `","signature":"` + rfc7520Sig + `"}]}`,
		"json-flattened": `{"payload":"` + rfc7520Payload + `","protected":"` + rfc7520Protected + `","signature":"` + rfc7520Sig + `"}`,
	}
	for want, in := range forms {
		tok, err := Parse(in)
		if err != nil {
			t.Fatalf("%s: %v", want, err)
		}
		if tok.Serialization != want || !tok.PayloadNotJSON || !strings.HasPrefix(string(tok.Payload), "It\u2019s a dangerous business, Frodo") {
			t.Errorf("%s: serialization %q, payload %q", want, tok.Serialization, tok.Payload)
		}
		if d := Verify(tok, ks).Verdict(); d.Status != StatusVerified {
			t.Errorf("%s: %s", want, d)
		}
	}
	// An unprotected kid selects the key; a member both protected and
	// unprotected, or no protected header, is refused.
	unprot := `{"payload":"` + rfc7520Payload + `","protected":"eyJhbGciOiJIUzI1NiJ9","header":{"kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037"},"signature":"AAAA"}`
	if tok, err := Parse(unprot); err != nil || tok.KeyID() != "018c0ae5-4d9b-471b-bfd6-eef314bc7037" {
		t.Errorf("unprotected kid: %v", err)
	} else if d := Verify(tok, ks).Verdict(); d.Status != StatusInvalid {
		t.Errorf("wrong MAC: %s", d)
	}
	for name, in := range map[string]string{
		"duplicate member": `{"payload":"e30","protected":"eyJhbGciOiJIUzI1NiJ9","header":{"alg":"none"},"signature":"AAAA"}`,
		"no alg anywhere":  `{"payload":"e30","header":{"kid":"k"},"signature":"AAAA"}`,
		"crit unprotected": `{"payload":"e30","protected":"eyJhbGciOiJIUzI1NiJ9","header":{"crit":["b64"]},"signature":"AAAA"}`,
		"both forms":       `{"payload":"e30","protected":"eyJhbGciOiJIUzI1NiJ9","signature":"AAAA","signatures":[{"protected":"eyJhbGciOiJIUzI1NiJ9","signature":"AAAA"}]}`,
		"no signature":     `{"payload":"e30","signatures":[{"protected":"eyJhbGciOiJIUzI1NiJ9"}]}`,
		"empty signatures": `{"payload":"e30","signatures":[]}`,
	} {
		if _, err := Parse(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
