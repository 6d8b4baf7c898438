package saml

// Crafted messages, one per attack class and compatibility case of issue
// 11, each with the verdict a careful service provider gives. They start
// from the synthetic IdP's genuine signed responses (saml_test.go).

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
)

func TestCraftedVerdicts(t *testing.T) {
	p := newIdP(t)
	issued := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	base := respOpts{issued: issued, audience: "https://sp.example", requestID: "id-req-1", destination: "https://sp.example/acs", signAssert: true}
	assertSigned := p.response(t, base)
	respOnly := base
	respOnly.signAssert, respOnly.signResp = false, true
	respSigned := p.response(t, respOnly)
	trusted := []*x509.Certificate{p.cert}

	evilAssertion := `<saml:Assertion ID="_evil" Version="2.0" IssueInstant="2026-01-02T10:00:00Z"><saml:Issuer>https://idp.example</saml:Issuer><saml:Subject><saml:NameID>admin@example.com</saml:NameID></saml:Subject></saml:Assertion>`
	encrypted := `<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion>`
	ins := func(b []byte, before, what string) []byte {
		t.Helper()
		if !bytes.Contains(b, []byte(before)) {
			t.Fatalf("no %q to insert before", before)
		}
		return bytes.Replace(b, []byte(before), []byte(what+before), 1)
	}
	sigValueRE := regexp.MustCompile(`(<ds:SignatureValue>)([^<]+)(</ds:SignatureValue>)`)
	wrapB64 := func(b []byte) []byte {
		return sigValueRE.ReplaceAllFunc(b, func(m []byte) []byte {
			s := sigValueRE.FindSubmatch(m)
			v := string(s[2])
			var w strings.Builder
			for i := 0; i < len(v); i += 64 {
				w.WriteString("\n      " + v[i:min(i+64, len(v))])
			}
			return []byte(string(s[1]) + w.String() + "\n    " + string(s[3]))
		})
	}
	pss := bytes.ReplaceAll(assertSigned, []byte("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"), []byte("http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"))
	if bytes.Equal(pss, assertSigned) {
		// goxmldsig's default is rsa-sha256; fail loudly if that changes.
		t.Fatal("no rsa-sha256 SignatureMethod to replace")
	}
	twoRefs := bytes.Replace(assertSigned, []byte("</ds:Reference>"), []byte(`</ds:Reference><ds:Reference URI="#_resp1"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>`), 1)
	// The signed assertion cut out of its Response: the saml: prefix is
	// declared on the Response only.
	cut := []byte(strings.Replace(string(assertionOf(t, assertSigned)), ` xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"`, "", 1))

	cases := []struct {
		name string
		xml  []byte
		want string
		why  string // a word the reason must hold
	}{
		{"genuine, assertion signed", assertSigned, StatusVerified, "covers /Response/Assertion[1]"},
		{"genuine, response signed", respSigned, StatusVerified, "covers /Response"},
		{"EncryptedAssertion injected beside the signed assertion", ins(assertSigned, "</samlp:Response>", encrypted), StatusInvalid, "more than one assertion"},
		{"EncryptedAssertion injected in a signed response", ins(respSigned, "</samlp:Response>", encrypted), StatusInvalid, "more than one assertion"},
		{"unsigned assertion before the signed one (XSW)", ins(assertSigned, "<saml:Assertion", evilAssertion), StatusInvalid, "more than one assertion"},
		{"unsigned assertion after the signed one (XSW)", ins(assertSigned, "</samlp:Response>", evilAssertion), StatusInvalid, "more than one assertion"},
		{"signed assertion moved into Extensions, evil one in its place (XSW)",
			ins(bytes.Replace(assertSigned, assertionOf(t, assertSigned), []byte(evilAssertion), 1), "<samlp:Status>", "<samlp:Extensions>"+string(assertionOf(t, assertSigned))+"</samlp:Extensions>"), StatusInvalid, "wrapped"},
		{"signed response moved inside an unsigned one (XSW)", []byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_outer" Version="2.0" IssueInstant="2026-01-02T10:00:00Z"><samlp:Extensions>` +
			strings.TrimPrefix(string(respSigned), `<?xml version="1.0" encoding="UTF-8"?>`) + `</samlp:Extensions>` + evilAssertion + `</samlp:Response>`), StatusInvalid, "wrapped"},
		{"assertion without ID carrying a signature that names another element", bytes.Replace(assertSigned, []byte(`Reference URI="#_assert1"`), []byte(`Reference URI="#_resp1"`), 1), StatusInvalid, "wrapped"},
		{"two references", twoRefs, StatusInvalid, "references"},
		{"response signature over the assertion only", bytes.Replace(respSigned, []byte(`URI="#_resp1"`), []byte(`URI="#_assert1"`), 1), StatusInvalid, "wrapped"},
		// XSW1 and XSW2 of "On Breaking SAML" (Somorovsky et al., 2012): a
		// new unsigned Response whose Signature is the genuine one, the
		// genuine Response kept inside that Signature's Object (XSW1) or
		// beside it (XSW2).
		{"XSW1: genuine response inside the signature's Object", xsw(t, respSigned, evilAssertion, true), StatusInvalid, "wrapped"},
		{"XSW2: genuine response beside the signature", xsw(t, respSigned, evilAssertion, false), StatusInvalid, "wrapped"},
		{"RSA-PSS signature method", pss, StatusNotChecked, "unsupported signature algorithm"},
		{"line breaks and spaces inside SignatureValue", wrapB64(assertSigned), StatusVerified, "covers"},
		{"UTF-8 BOM before the XML", append([]byte("\xef\xbb\xbf"), respSigned...), StatusVerified, "covers"},
		{"assertion whose prefix is declared on the Response it was cut from", cut, StatusVerified, "covers /Assertion"},
		{"unsigned", p.response(t, respOpts{issued: issued, audience: "a", requestID: "r", destination: "d"}), StatusInvalid, "unsigned"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Verify(c.xml, trusted)
			d := v.Verdict()
			if d.Status != c.want || !strings.Contains(d.String(), c.why) {
				t.Errorf("verdict %q, want %s with %q", d.String(), c.want, c.why)
			}
		})
	}
}

// assertionOf returns the first saml:Assertion element of b, as bytes.
func assertionOf(t *testing.T, b []byte) []byte {
	t.Helper()
	i, j := bytes.Index(b, []byte("<saml:Assertion")), bytes.Index(b, []byte("</saml:Assertion>"))
	if i < 0 || j < 0 {
		t.Fatal("no assertion")
	}
	return b[i : j+len("</saml:Assertion>")]
}

func TestVerdictStrings(t *testing.T) {
	for _, c := range []struct {
		v    Verdict
		want string
	}{
		{Verdict{Status: StatusVerified, Covers: []string{"/Response"}}, "verified (covers /Response)"},
		{Verdict{Status: StatusInvalid, Why: "more than one assertion (2)"}, "invalid (more than one assertion (2))"},
		{Verdict{Status: StatusNotChecked, Why: "no certificate"}, "not checked (no certificate)"},
	} {
		if got := c.v.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.v, got, c.want)
		}
	}
}

// TestLenientInput: inputs real tools produce that must decode.
func TestLenientInput(t *testing.T) {
	x := `<saml:Assertion ID="a" Version="2.0" IssueInstant="2026-01-02T10:00:00Z"><saml:Issuer>https://idp.example</saml:Issuer></saml:Assertion>`
	bom := "\xef\xbb\xbf" + x
	for name, in := range map[string]string{
		"undeclared saml prefix":       x,
		"BOM, base64 (POST binding)":   base64.StdEncoding.EncodeToString([]byte(bom)),
		"default namespace, no prefix": `<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="a" Version="2.0" IssueInstant="2026-01-02T10:00:00Z"><Issuer>https://idp.example</Issuer></Assertion>`,
	} {
		b := []byte(in)
		if !strings.HasPrefix(in, "<") {
			var err error
			if b, err = DecodePost(in); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		m, err := Parse(b)
		if err != nil || m.Kind != "Assertion" || m.Issuer != "https://idp.example" {
			t.Errorf("%s: %+v, %v", name, m, err)
		}
	}
	// Redirect binding: base64 of BOM-prefixed XML that was never deflated.
	b, err := DecodeRedirect(base64.StdEncoding.EncodeToString([]byte(bom)))
	if err != nil {
		t.Fatalf("redirect, BOM, not deflated: %v", err)
	}
	if m, err := Parse(b); err != nil || m.Issuer != "https://idp.example" {
		t.Errorf("redirect, BOM: %+v, %v", m, err)
	}
}

// TestTrustedBareKey: --cert may hold a bare public key; it verifies what
// its certificate would, and another key is a wrong key.
func TestTrustedBareKey(t *testing.T) {
	p, other := newIdP(t), newIdP(t)
	msg := p.response(t, respOpts{issued: time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), audience: "a", requestID: "r", destination: "d", signAssert: true})
	for _, c := range []struct {
		name string
		pub  any
		want string
	}{{"own key", &p.key.PublicKey, StatusVerified}, {"other key", &other.key.PublicKey, StatusInvalid}} {
		der, err := x509.MarshalPKIXPublicKey(c.pub)
		if err != nil {
			t.Fatal(err)
		}
		pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		for form, in := range map[string][]byte{"PEM": pemKey, "DER": der} {
			certs, err := ParseTrustedCerts(in)
			if err != nil {
				t.Fatalf("%s %s: %v", c.name, form, err)
			}
			if d := Verify(msg, certs).Verdict(); d.Status != c.want {
				t.Errorf("%s as %s: %s, want %s", c.name, form, d, c.want)
			}
		}
	}
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.cert.Raw})
	for form, in := range map[string][]byte{"PEM": pemCert, "DER": p.cert.Raw, "base64": []byte(base64.StdEncoding.EncodeToString(p.cert.Raw))} {
		certs, err := ParseTrustedCerts(in)
		if err != nil || len(certs) != 1 || !certs[0].Equal(p.cert) {
			t.Errorf("certificate as %s: %v", form, err)
		}
	}
	if _, err := ParseTrustedCerts([]byte("not a key")); err == nil {
		t.Error("garbage accepted")
	}
}

// xsw builds XSW1 (inObject) or XSW2 from a signed Response: a forged
// Response (ID of the genuine one, evil assertion) carrying the genuine
// signature, with the genuine Response moved into the signature's
// ds:Object or placed after the signature.
func xsw(t *testing.T, signed []byte, evil string, inObject bool) []byte {
	t.Helper()
	s := strings.TrimPrefix(string(signed), `<?xml version="1.0" encoding="UTF-8"?>`)
	i, j := strings.Index(s, "<ds:Signature"), strings.Index(s, "</ds:Signature>")+len("</ds:Signature>")
	if i < 0 || j < len("</ds:Signature>") {
		t.Fatal("no signature")
	}
	sig := s[i:j]
	open := s[:strings.Index(s, ">")+1]
	genuine := s[:i] + s[j:] // the genuine Response, its signature removed
	var body string
	if inObject {
		body = strings.Replace(sig, "</ds:Signature>", "<ds:Object>"+genuine+"</ds:Object></ds:Signature>", 1)
	} else {
		body = sig + "<samlp:Extensions>" + genuine + "</samlp:Extensions>"
	}
	return []byte(open + body + evil + "</samlp:Response>")
}

// TestNestedMetadataSignature: federation metadata may sign each entity
// of an EntitiesDescriptor; a signed SAML Response put under a foreign
// root is still wrapped.
func TestNestedMetadataSignature(t *testing.T) {
	p := newIdP(t)
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ID="_e1" entityID="https://idp.example"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`); err != nil {
		t.Fatal(err)
	}
	signed, err := p.sign.SignEnveloped(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	d := etree.NewDocument()
	d.SetRoot(signed)
	inner, err := d.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	outer := `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + inner + `</md:EntitiesDescriptor>`
	v := Verify([]byte(outer), []*x509.Certificate{p.cert})
	if d := v.Verdict(); d.Status != StatusVerified || !v.Covers("/EntitiesDescriptor/EntityDescriptor[1]") {
		t.Errorf("signed entity in EntitiesDescriptor: %s", d)
	}
	resp := p.response(t, respOpts{issued: time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), audience: "a", requestID: "r", destination: "d", signResp: true})
	foreign := `<x:Envelope xmlns:x="urn:example">` + strings.TrimPrefix(string(resp), `<?xml version="1.0" encoding="UTF-8"?>`) + `</x:Envelope>`
	if d := Verify([]byte(foreign), []*x509.Certificate{p.cert}).Verdict(); d.Status != StatusInvalid {
		t.Errorf("signed response under a foreign root: %s", d)
	}
}

// TestEmptyURIAssertionOnly: an assertion signed on its own with
// Reference URI="" (some signers mean the assertion, not the document it
// later travels in) verifies as covering the assertion only; tampering
// with it is still caught.
func TestEmptyURIAssertionOnly(t *testing.T) {
	p := newIdP(t)
	a := etree.NewDocument()
	if err := a.ReadFromString(`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" Version="2.0" IssueInstant="2026-01-02T10:00:00Z"><saml:Issuer>https://idp.example</saml:Issuer><saml:Subject><saml:NameID>alice@example.com</saml:NameID></saml:Subject></saml:Assertion>`); err != nil {
		t.Fatal(err)
	}
	signed, err := p.sign.SignEnveloped(a.Root())
	if err != nil {
		t.Fatal(err)
	}
	d := etree.NewDocument()
	d.SetRoot(signed)
	as, err := d.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(as, `URI=""`) {
		t.Fatal(`goxmldsig did not sign with URI=""`)
	}
	resp := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0" IssueInstant="2026-01-02T10:00:00Z"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` + as + `</samlp:Response>`
	v := Verify([]byte(resp), []*x509.Certificate{p.cert})
	if d := v.Verdict(); d.Status != StatusVerified || !v.Covers("/Response/Assertion[1]") || v.Covers("/Response/Status[1]") {
		t.Errorf("assertion-only URI=\"\": %s covered %v", d, v.Covered)
	}
	tampered := strings.Replace(resp, "alice@", "mallory@", 1)
	if d := Verify([]byte(tampered), []*x509.Certificate{p.cert}).Verdict(); d.Status != StatusInvalid {
		t.Errorf("tampered: %s", d)
	}
}
