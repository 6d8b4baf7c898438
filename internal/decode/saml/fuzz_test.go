package saml

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"testing"
	"time"
)

func FuzzSAMLParse(f *testing.F) {
	f.Add(readShared(f, "jwt", "identitymodel_Saml2TokenFromAAD.xml"))
	f.Add(readShared(f, "other", "identitymodel_aad_federationmetadata.xml"))
	f.Add([]byte(authnRequest))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`))
	f.Add([]byte("\xef\xbb\xbf<saml:Assertion ID=\"a\"><ds:Signature><ds:SignedInfo><ds:Reference URI=\"\"/></ds:SignedInfo></ds:Signature></saml:Assertion>"))
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="r"><saml:EncryptedAssertion/><saml:Assertion ID="r"/></samlp:Response>`))
	// ECDSA: the DER SignatureValue goxmldsig writes, and the r || s one
	// of XML Signature, pretty-printed.
	ec := newECIdP(f, f.TempDir(), "fuzz")
	der := goxmldsigSignedEC(f, ec)
	f.Add(der)
	f.Add(reshape{digestWS: true, sigWS: true, signer: ec.key}.apply(f, der))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err == nil {
			_ = CheckConditions(m, time.Unix(1500000000, 0), time.Minute)
			_ = CheckAudience(m, "x")
		} else if m != nil {
			t.Fatal("message and error")
		}
		_, _ = ParseMetadata(b)
		v := Verify(b, nil)
		if v.Verified != nil && *v.Verified && len(v.Covered) == 0 {
			t.Fatal("verified without covering anything")
		}
		if d := v.Verdict(); d.Status != StatusVerified && d.Status != StatusInvalid && d.Status != StatusNotChecked {
			t.Fatalf("verdict %q outside the vocabulary", d.Status)
		}
	})
}

func FuzzDecodeRedirect(f *testing.F) {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write([]byte(authnRequest))
	w.Close()
	f.Add(base64.StdEncoding.EncodeToString(buf.Bytes()))
	f.Add(base64.StdEncoding.EncodeToString([]byte(authnRequest)))
	f.Add("fZBBa8MwDIX%2FivE9dpIuW2viQGEMCt2l2XbYpbiO0hocO7PkLPv3c1o2tsuuEt%2FTe68mNdhR7iJd%2FAE%2BIiCxZbAOZdo0PAYnvUKD0qkBUJKW3e55L8tVLsfgyWtvOdtvG34qqhshf4BC9Hk%2FyLv%2B6PtRZ%2FrKfT%2FrP9a7nOdt0XU%2BI3u0DY1%2BV%2FFQ%3D%3D")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := DecodeRedirect(s)
		if err == nil && len(b) > MaxInflated {
			t.Fatalf("%d bytes past the cap", len(b))
		}
		if p, err := DecodePost(s); err == nil && len(p) > 2*MaxXMLSize {
			t.Fatalf("post %d bytes", len(p))
		}
		if v := VerifyRedirect(s, nil); v.Verified != nil && *v.Verified {
			t.Fatal("redirect verified without certificates")
		}
	})
}

func FuzzDecryptAssertions(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion></samlp:Response>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		pts, err := DecryptAssertions(b, key)
		if err != nil && pts != nil {
			t.Fatal("plaintexts and error")
		}
		_, _, _ = VerifyDecrypting(b, nil, key)
	})
}
