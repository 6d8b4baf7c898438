package jwt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"
)

// rfc7520PayloadText is what rfc7520Payload decodes to.
const rfc7520PayloadText = "It\u2019s a dangerous business, Frodo, going out your door. You step onto the road, and if you don't keep your feet, there\u2019s no knowing where you might be swept off to."

func keySet(t *testing.T, jwks ...string) *KeySet {
	t.Helper()
	ks := &KeySet{}
	for _, j := range jwks {
		k, err := ParseJWKS([]byte(j))
		if err != nil || k.Len() != 1 {
			t.Fatalf("key %.40s: %v %v", j, err, k.Skipped)
		}
		ks.Merge(k)
	}
	return ks
}

// general builds a general JWS JSON serialization of rfc7520Payload from
// signature entries written as JSON objects.
func general(entries ...string) string {
	return `{"payload":"` + rfc7520Payload + `","signatures":[` + strings.Join(entries, ",") + `]}`
}

func flattened(entry string) string {
	return `{"payload":"` + rfc7520Payload + `",` + strings.TrimPrefix(entry, "{")
}

func entry(protected, header, sig string) string {
	var parts []string
	if protected != "" {
		parts = append(parts, `"protected":"`+protected+`"`)
	}
	if header != "" {
		parts = append(parts, `"header":`+header)
	}
	return "{" + strings.Join(append(parts, `"signature":"`+sig+`"`), ",") + "}"
}

// TestRFC7520Sec4 checks every JWS example of RFC 7520 §4 in each
// serialization the RFC gives, with the key it names: each verifies (the
// PS384 and ES512 signatures are randomized, and still verifiable), and
// each with one signature byte changed does not.
func TestRFC7520Sec4(t *testing.T) {
	rsaKS := keySet(t, rfc7520BilboRSA)
	ecKS := keySet(t, rfc7520BilboEC)
	hmacKS := keySet(t, rfc7520Key)
	compact := func(p, s string) string { return p + "." + rfc7520Payload + "." + s }
	cases := []struct {
		name, in   string
		ks         *KeySet
		wantWhy    string
		wantAlg    string
		wantSerial string
	}{
		{"RFC 7520 §4.1 RS256 compact", compact(rfc7520Sec41Protected, rfc7520Sec41Sig), rsaKS, "bilbo.baggins@hobbiton.example", "RS256", "compact"},
		{"RFC 7520 §4.1 RS256 general JSON", general(entry(rfc7520Sec41Protected, "", rfc7520Sec41Sig)), rsaKS, "", "RS256", "json-general"},
		{"RFC 7520 §4.1 RS256 flattened JSON", flattened(entry(rfc7520Sec41Protected, "", rfc7520Sec41Sig)), rsaKS, "", "RS256", "json-flattened"},
		{"RFC 7520 §4.2 PS384 compact", compact(rfc7520Sec42Protected, rfc7520Sec42Sig), rsaKS, "", "PS384", "compact"},
		{"RFC 7520 §4.2 PS384 general JSON", general(entry(rfc7520Sec42Protected, "", rfc7520Sec42Sig)), rsaKS, "", "PS384", "json-general"},
		{"RFC 7520 §4.2 PS384 flattened JSON", flattened(entry(rfc7520Sec42Protected, "", rfc7520Sec42Sig)), rsaKS, "", "PS384", "json-flattened"},
		{"RFC 7520 §4.3 ES512 compact", compact(rfc7520Sec43Protected, rfc7520Sec43Sig), ecKS, "", "ES512", "compact"},
		{"RFC 7520 §4.3 ES512 general JSON", general(entry(rfc7520Sec43Protected, "", rfc7520Sec43Sig)), ecKS, "", "ES512", "json-general"},
		{"RFC 7520 §4.3 ES512 flattened JSON", flattened(entry(rfc7520Sec43Protected, "", rfc7520Sec43Sig)), ecKS, "", "ES512", "json-flattened"},
		{"RFC 7520 §4.6 protected alg, unprotected kid, general JSON",
			general(entry(rfc7520Sec46Protected, `{"kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037"}`, rfc7520Sec46Sig)), hmacKS, "kid are outside the signature", "HS256", "json-general"},
		{"RFC 7520 §4.6 protected alg, unprotected kid, flattened JSON",
			flattened(entry(rfc7520Sec46Protected, `{"kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037"}`, rfc7520Sec46Sig)), hmacKS, "kid are outside the signature", "HS256", "json-flattened"},
		{"RFC 7520 §4.7 no protected header, general JSON",
			general(entry("", `{"alg":"HS256","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037"}`, rfc7520Sec47Sig)), hmacKS, "alg, kid are outside the signature", "HS256", "json-general"},
		{"RFC 7520 §4.7 no protected header, flattened JSON",
			flattened(entry("", `{"alg":"HS256","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037"}`, rfc7520Sec47Sig)), hmacKS, "alg, kid are outside the signature", "HS256", "json-flattened"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Parse(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if tok.Serialization != c.wantSerial || tok.Alg() != c.wantAlg || string(tok.Payload) != rfc7520PayloadText || !tok.PayloadNotJSON {
				t.Errorf("read as %s, alg %q, payload %q", tok.Serialization, tok.Alg(), tok.Payload)
			}
			if is := CheckTimes(tok, time.Now(), time.Minute); len(is) != 0 {
				t.Errorf("time issues %v for a payload that is not claims", is)
			}
			v := Verify(tok, c.ks)
			if d := v.Verdict(); d.Status != StatusVerified || !strings.Contains(d.Why, c.wantWhy) {
				t.Errorf("verdict %s, the RFC's signature is valid (want %q in the reason)", d, c.wantWhy)
			}
			// The same object with one signature byte changed.
			sig := tok.Sigs[0].sigB64
			i := len(sig) / 2
			flip := "A"
			if sig[i] == 'A' {
				flip = "B"
			}
			bad := strings.Replace(c.in, sig, sig[:i]+flip+sig[i+1:], 1)
			btok, err := Parse(bad)
			if err != nil {
				t.Fatal(err)
			}
			if d := Verify(btok, c.ks).Verdict(); d.Status != StatusInvalid {
				t.Errorf("signature altered: %s, want invalid", d)
			}
			// And with no keys: not checked, never verified.
			if d := Verify(tok, nil).Verdict(); d.Status != StatusNotChecked {
				t.Errorf("no keys: %s", d)
			}
		})
	}
}

// TestRFC7520Sec45Detached: §4.5's JWS leaves its payload out; without the
// content it is not checked (never "altered"), with it it verifies, and
// with other content it is invalid.
func TestRFC7520Sec45Detached(t *testing.T) {
	ks := keySet(t, rfc7520Key)
	for name, in := range map[string]string{
		"RFC 7520 §4.5 detached compact":        rfc7520Protected + ".." + rfc7520Sig,
		"RFC 7520 §4.5 detached general JSON":   `{"signatures":[{"protected":"` + rfc7520Protected + `","signature":"` + rfc7520Sig + `"}]}`,
		"RFC 7520 §4.5 detached flattened JSON": `{"protected":"` + rfc7520Protected + `","signature":"` + rfc7520Sig + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			tok, err := Parse(in)
			if err != nil {
				t.Fatal(err)
			}
			if !tok.Detached {
				t.Error("not seen as detached")
			}
			if d := Verify(tok, ks).Verdict(); d.Status != StatusNotChecked || !strings.Contains(d.Why, "detached") {
				t.Errorf("without the content: %s, want not checked (detached)", d)
			}
			if d := Verify(tok.WithPayload([]byte(rfc7520PayloadText)), ks).Verdict(); d.Status != StatusVerified {
				t.Errorf("with the content: %s", d)
			}
			if d := Verify(tok.WithPayload([]byte(rfc7520PayloadText+".")), ks).Verdict(); d.Status != StatusInvalid {
				t.Errorf("with other content: %s", d)
			}
			if len(tok.Payload) != 0 || !tok.Detached {
				t.Error("WithPayload changed the token")
			}
		})
	}
}

// rfc7520Sec48 is §4.8's JWS: RS256 (kid unprotected), ES512 (no
// protected header) and HS256.
var rfc7520Sec48 = general(
	entry(rfc7520Sec48RSProtected, `{"kid":"bilbo.baggins@hobbiton.example"}`, rfc7520Sec48RSSig),
	entry("", `{"alg":"ES512","kid":"bilbo.baggins@hobbiton.example"}`, rfc7520Sec48ESSig),
	entry(rfc7520Protected, "", rfc7520Sig),
)

// TestRFC7520Sec48MultipleSignatures checks the verdict rule for a JWS
// with several signatures: every one is reported; one invalid signature
// makes the token invalid however many others verify; otherwise one
// verified signature makes it verified, naming which.
func TestRFC7520Sec48MultipleSignatures(t *testing.T) {
	all := keySet(t, rfc7520BilboRSA, rfc7520BilboEC, rfc7520Key)
	tok, err := Parse(rfc7520Sec48)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Signatures != 3 || len(tok.Sigs) != 3 {
		t.Fatalf("%d signatures read", len(tok.Sigs))
	}
	v := Verify(tok, all)
	if d := v.Verdict(); d.Status != StatusVerified || !strings.Contains(d.Why, "signature 1 of 3 (RS256") {
		t.Errorf("RFC 7520 §4.8 with all three keys: %s", d)
	}
	if len(v.Each) != 3 {
		t.Fatalf("%d per-signature verdicts", len(v.Each))
	}
	for i, e := range v.Each {
		if e.Verdict().Status != StatusVerified || e.Signature != i+1 {
			t.Errorf("RFC 7520 §4.8 signature %d: %s (#%d)", i+1, e.Verdict(), e.Signature)
		}
	}

	alter := func(sig string) string {
		return strings.Replace(rfc7520Sec48, sig, sig[:10]+strings.Map(func(r rune) rune {
			if r == 'A' {
				return 'B'
			}
			return 'A'
		}, sig[10:11])+sig[11:], 1)
	}
	cases := []struct {
		name, in  string
		ks        *KeySet
		want, why string
	}{
		{"RFC 7520 §4.8, only the EC key", rfc7520Sec48, keySet(t, rfc7520BilboEC), StatusVerified, "signature 2 of 3 (ES512"},
		{"RFC 7520 §4.8, only the HMAC key", rfc7520Sec48, keySet(t, rfc7520Key), StatusVerified, "signature 3 of 3 (HS256"},
		{"RFC 7520 §4.8, no keys", rfc7520Sec48, nil, StatusNotChecked, "no signature could be checked"},
		{"HS256 signature altered, all keys", alter(rfc7520Sig), all, StatusInvalid, "signature 3 of 3 (HS256"},
		{"HS256 signature altered, all keys: the others are still named", alter(rfc7520Sig), all, StatusInvalid, "2 other signature(s) verified"},
		{"ES512 signature altered, EC key only", alter(rfc7520Sec48ESSig), keySet(t, rfc7520BilboEC), StatusInvalid, "signature 2 of 3"},
		{"RS256 signature altered, but its key not given", alter(rfc7520Sec48RSSig), keySet(t, rfc7520Key), StatusVerified, "signature 3 of 3"},
		{"payload altered", strings.Replace(rfc7520Sec48, rfc7520Payload, "e30", 1), all, StatusInvalid, "signature 1 of 3"},
		{"an alg none entry beside a verified one",
			general(entry("", `{"alg":"none"}`, ""), entry(rfc7520Protected, "", rfc7520Sig)), keySet(t, rfc7520Key), StatusVerified, "signature 1 of 2 (none) unsigned"},
		{"every entry alg none", general(entry("", `{"alg":"none"}`, ""), entry("", `{"alg":"none"}`, "")), all, StatusUnsigned, ""},
		{"a malformed entry beside a verified one",
			general(entry(rfc7520Protected, "", rfc7520Sig+"="), entry(rfc7520Protected, "", rfc7520Sig)), keySet(t, rfc7520Key), StatusInvalid, "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Parse(c.in)
			if err != nil {
				t.Fatal(err)
			}
			v := Verify(tok, c.ks)
			if d := v.Verdict(); d.Status != c.want || !strings.Contains(d.Why, c.why) {
				t.Errorf("%s, want %s with %q", d, c.want, c.why)
			}
			if len(v.Each) != len(tok.Sigs) {
				t.Errorf("%d per-signature verdicts for %d signatures", len(v.Each), len(tok.Sigs))
			}
		})
	}
}

// rsaJWK reads an RSA private JWK (n, e, d, p, q) of the RFC.
func rsaJWK(t *testing.T, s string) *rsa.PrivateKey {
	t.Helper()
	var j map[string]string
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		t.Fatal(err)
	}
	n := func(name string) *big.Int {
		b, err := decodeSegment(j[name])
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %v", name, err)
		}
		return new(big.Int).SetBytes(b)
	}
	k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n("n"), E: int(n("e").Int64())}, D: n("d"), Primes: []*big.Int{n("p"), n("q")}}
	if err := k.Validate(); err != nil {
		t.Fatal(err)
	}
	k.Precompute()
	return k
}

// ecJWK reads an EC private JWK (crv, d) of the RFC.
func ecJWK(t *testing.T, s string) *ecdsa.PrivateKey {
	t.Helper()
	var j map[string]string
	if err := json.Unmarshal([]byte(s), &j); err != nil {
		t.Fatal(err)
	}
	curve := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384()}[j["crv"]]
	d, err := decodeSegment(j["d"])
	if err != nil || curve == nil {
		t.Fatalf("d: %v", err)
	}
	k, err := ecdsa.ParseRawPrivateKey(curve, d)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRFC7520Sec5 decrypts the JWE examples of RFC 7520 §5 in the compact
// serialization with the RFC's keys: each gives the RFC's plaintext, which
// carries no signature (unsigned: encryption says nothing about who wrote
// it); an altered authentication tag or another key fails to decrypt; the
// password-based §5.3 is not checked (unsupported).
func TestRFC7520Sec5(t *testing.T) {
	other := ecJWK(t, rfc7520MeriadocEC)
	cases := []struct {
		name, jwe string
		key       any
		ks        *KeySet
		wrong     any
	}{
		{"RFC 7520 §5.1 RSA1_5 + A128CBC-HS256", rfc7520Sec51, rsaJWK(t, rfc7520FrodoRSA), nil, rsaJWK(t, rfc7520SamwiseRSA)},
		{"RFC 7520 §5.2 RSA-OAEP + A256GCM", rfc7520Sec52, rsaJWK(t, rfc7520SamwiseRSA), nil, rsaJWK(t, rfc7520FrodoRSA)},
		{"RFC 7520 §5.4 ECDH-ES+A128KW + A128GCM", rfc7520Sec54, ecJWK(t, rfc7520PeregrinEC), nil, other},
		{"RFC 7520 §5.5 ECDH-ES + A128CBC-HS256", rfc7520Sec55, ecJWK(t, rfc7520MeriadocEC), nil, ecJWK(t, rfc7520PeregrinEC)},
		{"RFC 7520 §5.6 dir + A128GCM", rfc7520Sec56, nil, keySet(t, rfc7520DirA128GCM), nil},
		{"RFC 7520 §5.7 A256GCMKW + A128CBC-HS256", rfc7520Sec57, nil, keySet(t, rfc7520A256GCMKW), nil},
		{"RFC 7520 §5.8 A128KW + A128GCM", rfc7520Sec58, nil, keySet(t, rfc7520A128KW), nil},
		{"RFC 7520 §5.9 compressed content", rfc7520Sec59, nil, keySet(t, rfc7520A128KW), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Parse(c.jwe)
			if err != nil || !tok.Encrypted {
				t.Fatalf("parse: %v", err)
			}
			if d := Verify(tok, c.ks).Verdict(); d.Status != StatusNotChecked {
				t.Errorf("before decryption: %s", d)
			}
			dec, err := Decrypt(tok, c.key, c.ks)
			if err != nil {
				t.Fatal(err)
			}
			if string(dec.Payload) != rfc7520Plaintext || !dec.PayloadNotJSON || dec.Nested {
				t.Errorf("plaintext %q", dec.Payload)
			}
			if d := Verify(dec, c.ks).Verdict(); d.Status != StatusUnsigned || !strings.Contains(d.Why, "no signed token inside") {
				t.Errorf("decrypted: %s, want unsigned", d)
			}
			tag := c.jwe[strings.LastIndexByte(c.jwe, '.')+1:]
			flip := "A"
			if tag[0] == 'A' {
				flip = "B"
			}
			if bad, err := Parse(c.jwe[:len(c.jwe)-len(tag)] + flip + tag[1:]); err != nil {
				t.Fatal(err)
			} else if _, err := Decrypt(bad, c.key, c.ks); !errors.Is(err, ErrDecrypt) {
				t.Errorf("altered tag: %v", err)
			}
			wrongKS := keySet(t, `{"kty":"oct","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`)
			if _, err := Decrypt(tok, c.wrong, wrongKS); !errors.Is(err, ErrDecrypt) {
				t.Errorf("wrong key: %v", err)
			}
		})
	}
	t.Run("RFC 7520 §5.3 PBES2-HS512+A256KW", func(t *testing.T) {
		tok, err := Parse(rfc7520Sec53)
		if err != nil || !tok.Encrypted {
			t.Fatalf("parse: %v", err)
		}
		if d := Verify(tok, nil).Verdict(); d.Status != StatusNotChecked || !strings.Contains(d.Why, "unsupported") {
			t.Errorf("verdict %s, want not checked (unsupported)", d)
		}
		if _, err := Decrypt(tok, nil, keySet(t, rfc7520A128KW)); !errors.Is(err, ErrUnsupported) || !errors.Is(err, ErrDecrypt) {
			t.Errorf("decrypt: %v, want unsupported", err)
		}
	})
}

// TestRFC7520Sec6Nested: §6's JWE carries a PS256-signed JWT; decrypted
// with Samwise's key it is read as a nested token and verified with the
// signer's key, which the RFC says made it; with another signing key it is
// invalid, never verified.
func TestRFC7520Sec6Nested(t *testing.T) {
	tok, err := Parse(rfc7520Sec6)
	if err != nil || !tok.Encrypted {
		t.Fatalf("parse: %v", err)
	}
	dec, err := Decrypt(tok, rsaJWK(t, rfc7520SamwiseRSA), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !dec.Nested || dec.Raw != rfc7520Sec6JWS || dec.Claims.Issuer() != "hobbiton.example" || dec.Alg() != "PS256" {
		t.Errorf("inner token: nested %v, iss %q, alg %q", dec.Nested, dec.Claims.Issuer(), dec.Alg())
	}
	if d := Verify(dec, keySet(t, rfc7520HobbitonRSA)).Verdict(); d.Status != StatusVerified {
		t.Errorf("RFC 7520 §6 inner JWS with hobbiton.example's key: %s", d)
	}
	if d := Verify(dec, keySet(t, strings.Replace(rfc7520BilboRSA, "bilbo.baggins@hobbiton.example", "hobbiton.example", 1))).Verdict(); d.Status != StatusInvalid {
		t.Errorf("inner JWS with another key under the same kid: %s", d)
	}
	if _, err := Decrypt(tok, rsaJWK(t, rfc7520FrodoRSA), nil); !errors.Is(err, ErrDecrypt) {
		t.Errorf("another recipient's key: %v", err)
	}
}

// TestRFC7520Sec5JSON decrypts §5.10–§5.13, which exist only in the JWE
// JSON serialization: additional authenticated data, header members
// outside the protection, and three recipients (each of whose keys
// decrypts it); altering the AAD or the ciphertext fails.
func TestRFC7520Sec5JSON(t *testing.T) {
	a128kw := keySet(t, rfc7520A128KW)
	cases := []struct {
		name, jwe string
		key       any
		ks        *KeySet
		alg       string
	}{
		{"RFC 7520 §5.10 additional authenticated data", rfc7520Sec510, nil, a128kw, "A128KW"},
		{"RFC 7520 §5.11 alg and kid unprotected", rfc7520Sec511, nil, a128kw, "A128KW"},
		{"RFC 7520 §5.12 no protected header", rfc7520Sec512, nil, a128kw, "A128KW"},
		{"RFC 7520 §5.13 recipient 1, RSA1_5", rfc7520Sec513, rsaJWK(t, rfc7520FrodoRSA), nil, "RSA1_5"},
		{"RFC 7520 §5.13 recipient 2, ECDH-ES+A256KW", rfc7520Sec513, ecJWK(t, rfc7520PeregrinEC), nil, "RSA1_5"},
		{"RFC 7520 §5.13 recipient 3, A256GCMKW", rfc7520Sec513, nil, keySet(t, rfc7520A256GCMKW), "RSA1_5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Parse(c.jwe)
			if err != nil || !tok.Encrypted || !strings.HasPrefix(tok.Serialization, "json") || tok.Alg() != c.alg {
				t.Fatalf("parse: %v (%+v)", err, tok)
			}
			if d := Verify(tok, c.ks).Verdict(); d.Status != StatusNotChecked {
				t.Errorf("before decryption: %s", d)
			}
			dec, err := Decrypt(tok, c.key, c.ks)
			if err != nil {
				t.Fatal(err)
			}
			if string(dec.Payload) != rfc7520Plaintext {
				t.Errorf("plaintext %q", dec.Payload)
			}
			if d := Verify(dec, c.ks).Verdict(); d.Status != StatusUnsigned {
				t.Errorf("decrypted: %s, want unsigned", d)
			}
			var obj map[string]any
			if err := json.Unmarshal([]byte(c.jwe), &obj); err != nil {
				t.Fatal(err)
			}
			for _, member := range []string{"aad", "ciphertext"} {
				v, ok := obj[member].(string)
				if !ok {
					continue
				}
				flip := "A"
				if v[0] == 'A' {
					flip = "B"
				}
				bad, err := Parse(strings.Replace(c.jwe, `"`+v+`"`, `"`+flip+v[1:]+`"`, 1))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := Decrypt(bad, c.key, c.ks); !errors.Is(err, ErrDecrypt) {
					t.Errorf("%s altered: %v", member, err)
				}
			}
		})
	}
	for name, in := range map[string]string{
		"no enc":           `{"protected":"eyJhbGciOiJBMTI4S1cifQ","encrypted_key":"AA","iv":"AA","ciphertext":"AA","tag":"AA"}`,
		"member twice":     `{"protected":"eyJlbmMiOiJBMTI4R0NNIn0","unprotected":{"enc":"A128GCM","alg":"dir"},"iv":"AA","ciphertext":"AA","tag":"AA"}`,
		"both forms":       `{"protected":"eyJlbmMiOiJBMTI4R0NNIn0","encrypted_key":"AA","recipients":[{"encrypted_key":"AA"}],"iv":"AA","ciphertext":"AA","tag":"AA"}`,
		"null ciphertext":  `{"protected":"eyJlbmMiOiJBMTI4R0NNIn0","iv":"AA","ciphertext":null,"tag":"AA"}`,
		"bad base64 in iv": `{"protected":"eyJlbmMiOiJBMTI4R0NNIn0","unprotected":{"alg":"dir"},"iv":"A!","ciphertext":"AA","tag":"AA"}`,
	} {
		if _, err := Parse(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// RFC 7797 §4.2: an HS256 JWS with an unencoded payload ("b64": false,
// named in "crit"), signed with RFC 7515 A.1's key.
const (
	rfc7797Protected = "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19"
	rfc7797Sig       = "A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY"
	rfc7797Payload   = "$.02"
)

// TestRFC7797UnencodedPayload: the "b64" extension is understood: the RFC's
// example verifies detached (once the content is given) and in the JSON
// serializations, where the payload is written as it is; "b64" outside
// "crit" is malformed, and other content is invalid.
func TestRFC7797UnencodedPayload(t *testing.T) {
	ks := keySet(t, rfcVectors[0].jwk)
	detached, err := Parse(rfc7797Protected + ".." + rfc7797Sig)
	if err != nil {
		t.Fatal(err)
	}
	if !detached.Unencoded || !detached.Detached {
		t.Errorf("unencoded %v, detached %v", detached.Unencoded, detached.Detached)
	}
	if d := Verify(detached, ks).Verdict(); d.Status != StatusNotChecked || !strings.Contains(d.Why, "detached") {
		t.Errorf("RFC 7797 §4.2 without the content: %s", d)
	}
	if d := Verify(detached.WithPayload([]byte(rfc7797Payload)), ks).Verdict(); d.Status != StatusVerified {
		t.Errorf("RFC 7797 §4.2 with the content: %s", d)
	}
	if d := Verify(detached.WithPayload([]byte("$.03")), ks).Verdict(); d.Status != StatusInvalid {
		t.Errorf("RFC 7797 §4.2 with other content: %s", d)
	}
	for name, in := range map[string]string{
		"general JSON":   `{"payload":"` + rfc7797Payload + `","signatures":[{"protected":"` + rfc7797Protected + `","signature":"` + rfc7797Sig + `"}]}`,
		"flattened JSON": `{"payload":"` + rfc7797Payload + `","protected":"` + rfc7797Protected + `","signature":"` + rfc7797Sig + `"}`,
	} {
		tok, err := Parse(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(tok.Payload) != rfc7797Payload {
			t.Errorf("%s: payload %q", name, tok.Payload)
		}
		if d := Verify(tok, ks).Verdict(); d.Status != StatusVerified {
			t.Errorf("RFC 7797 §4.2 %s: %s", name, d)
		}
		if d := Verify(mustParse(t, strings.Replace(in, rfc7797Payload, "$.03", 1)), ks).Verdict(); d.Status != StatusInvalid {
			t.Errorf("%s, payload altered: %s", name, d)
		}
	}
	noCrit := b64url(`{"alg":"HS256","b64":false}`) + ".." + rfc7797Sig
	if d := Verify(mustParse(t, noCrit), ks).Verdict(); d.Status != StatusInvalid || !strings.Contains(d.Why, "crit") {
		t.Errorf(`"b64" without "crit": %s`, d)
	}
	mixed := `{"payload":"e30","signatures":[{"protected":"` + rfc7797Protected + `","signature":"AA"},{"protected":"eyJhbGciOiJIUzI1NiJ9","signature":"AA"}]}`
	if _, err := Parse(mixed); err == nil {
		t.Error(`signatures disagreeing on "b64" accepted`)
	}
}

func mustParse(t *testing.T, s string) *Token {
	t.Helper()
	tok, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
