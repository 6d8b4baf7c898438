package saml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/idtrace/idtrace/internal/testutil"
)

func readShared(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.SharedDir(t, dir), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// restoreAADAssertion undoes what the IdentityModel test suite did to the
// real Entra assertion it ships: it was pretty-printed (whitespace between
// elements) and a second tenantid value was added. Both break the
// signature; removing them restores the bytes Entra signed.
func restoreAADAssertion(b []byte) []byte {
	b = regexp.MustCompile(`>\s+<`).ReplaceAll(b, []byte("><"))
	s := strings.Replace(string(b), "<AttributeValue>add29489-7269-41f4-8841-b63c95564421</AttributeValue>", "", 1)
	return []byte(strings.Replace(s, `ID = "`, `ID="`, 1))
}

func TestParseAADAssertion(t *testing.T) {
	b := readShared(t, "jwt", "identitymodel_Saml2TokenFromAAD.xml")
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != "Assertion" || len(m.Assertions) != 1 || !m.Signed {
		t.Fatalf("kind %q, %d assertions, signed %v", m.Kind, len(m.Assertions), m.Signed)
	}
	a := m.Assertions[0]
	if a.ID != "_d60bd9ed-8aab-40c8-ba5f-f548c3401ae2" || a.Issuer != "https://sts.windows.net/add29489-7269-41f4-8841-b63c95564420/" {
		t.Errorf("id %q issuer %q", a.ID, a.Issuer)
	}
	if a.Subject == nil || a.Subject.Format != "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" || a.Subject.Value != "RrX3SPSxDw6z4KHaKB2V_mnv0G-LbRZdYvo1RQa1L7s" {
		t.Errorf("subject %+v", a.Subject)
	}
	if a.Conditions == nil || !slices.Equal(a.Conditions.Audiences, []string{"spn:fe78e0b4-6fe7-47e6-812c-fb75cee266a4"}) ||
		a.Conditions.NotOnOrAfter != time.Date(2017, 3, 20, 16, 47, 31, 957e6, time.UTC) {
		t.Errorf("conditions %+v", a.Conditions)
	}
	if got := a.Attribute("http://schemas.microsoft.com/identity/claims/tenantid"); len(got) != 2 {
		t.Errorf("tenantid values %v", got)
	}
	if len(a.Attributes) != 7 || len(a.AuthnStatements) != 1 || a.AuthnStatements[0].ClassRef != "urn:oasis:names:tc:SAML:2.0:ac:classes:Password" {
		t.Errorf("%d attributes, authn %+v", len(a.Attributes), a.AuthnStatements)
	}
	// Conditions against the request time.
	if is := CheckConditions(m, time.Date(2017, 3, 20, 16, 0, 0, 0, time.UTC), 5*time.Minute); len(is) != 0 {
		t.Errorf("issues inside window: %+v", is)
	}
	is := CheckConditions(m, time.Date(2017, 3, 20, 18, 0, 0, 0, time.UTC), 5*time.Minute)
	if len(is) != 1 || is[0].Code != IssueExpired || is[0].AssertionID != a.ID {
		t.Errorf("issues after window: %+v", is)
	}
	if is := CheckAudience(m, "spn:fe78e0b4-6fe7-47e6-812c-fb75cee266a4"); len(is) != 0 {
		t.Errorf("audience issues %+v", is)
	}
	if is := CheckAudience(m, "https://other.example"); len(is) != 1 || is[0].Code != IssueWrongAudience {
		t.Errorf("wrong audience issues %+v", is)
	}
}

func TestVerifyAADAssertion(t *testing.T) {
	asShipped := readShared(t, "jwt", "identitymodel_Saml2TokenFromAAD.xml")
	restored := restoreAADAssertion(asShipped)
	tampered := bytes.Replace(restored, []byte("User1@Cyrano"), []byte("User2@Cyrano"), 1)
	md, err := ParseMetadata(readShared(t, "other", "identitymodel_aad_federationmetadata.xml"))
	if err != nil {
		t.Fatal(err)
	}
	own := keyInfoCertsOf(t, restored)
	cases := []struct {
		name     string
		xml      []byte
		certs    []*x509.Certificate
		want     *bool
		self     bool
		inReason string
	}{
		{"restored, embedded cert", restored, nil, ptrB(true), true, SelfAssertedNote},
		{"restored, cert given", restored, own, ptrB(true), false, "covers /Assertion"},
		{"as shipped (edited by its test suite)", asShipped, nil, ptrB(false), true, "altered"},
		{"one byte tampered", tampered, nil, ptrB(false), true, "altered"},
		// The metadata sample is Microsoft Online's (Live ID STS) and does
		// not hold the tenant's signing certificate.
		{"metadata certs", restored, md.SigningCerts, ptrB(false), false, "wrong key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Verify(c.xml, c.certs)
			if !eqB(v.Verified, c.want) || v.SelfAsserted != c.self || !strings.Contains(v.Reason, c.inReason) {
				t.Errorf("verified %v self %v reason %q; want %v %v %q", fmtB(v.Verified), v.SelfAsserted, v.Reason, fmtB(c.want), c.self, c.inReason)
			}
		})
	}
}

func keyInfoCertsOf(t *testing.T, b []byte) []*x509.Certificate {
	t.Helper()
	doc, err := SafeDocument(b)
	if err != nil {
		t.Fatal(err)
	}
	certs := keyInfoCerts(sigChild(doc.Root()))
	if len(certs) != 1 {
		t.Fatalf("%d KeyInfo certs", len(certs))
	}
	return certs
}

func TestMetadata(t *testing.T) {
	b := readShared(t, "other", "identitymodel_aad_federationmetadata.xml")
	md, err := ParseMetadata(b)
	if err != nil {
		t.Fatal(err)
	}
	if md.EntityID != "urn:federation:MicrosoftOnline" || !md.Signed || len(md.SigningCerts) != 2 || len(md.Problems) != 0 {
		t.Errorf("metadata %q signed %v certs %d problems %v", md.EntityID, md.Signed, len(md.SigningCerts), md.Problems)
	}
	for _, c := range md.SigningCerts {
		if c.Subject.CommonName != "Live ID STS Signing Public Key" {
			t.Errorf("cert %v", c.Subject)
		}
	}
	if len(md.Endpoints) == 0 || md.Endpoints[0].Location != "https://login.microsoftonline.com/login.srf" {
		t.Errorf("endpoints %+v", md.Endpoints)
	}
	// The metadata is itself signed by its first certificate.
	if v := Verify(b, md.SigningCerts); !eqB(v.Verified, ptrB(true)) || !slices.Equal(v.Covered, []string{"/EntityDescriptor"}) {
		t.Errorf("metadata signature: %s", v.Reason)
	}
	if _, err := ParseMetadata([]byte(`<x/>`)); !errors.Is(err, ErrNotSAML) {
		t.Errorf("non-metadata: %v", err)
	}
}

func TestSAMLResponseFromHTML(t *testing.T) {
	page := readShared(t, "other", "saml2aws_aad_SAMLResponse.html")
	mm := regexp.MustCompile(`name="SAMLResponse" value="([^"]*)"`).FindSubmatch(page)
	if mm == nil {
		t.Fatal("no SAMLResponse field")
	}
	xmlb, err := DecodePost(string(mm[1]))
	if err != nil {
		t.Fatal(err)
	}
	// The saml2aws fixture holds the same Response twice, back to back:
	// not well-formed XML. Parse says so and where.
	_, err = Parse(xmlb)
	var xe *XMLError
	if !errors.As(err, &xe) || !strings.Contains(err.Error(), "more than one root") || xe.Offset != int64(len(xmlb)/2) {
		t.Fatalf("err %v", err)
	}
	m, err := Parse(xmlb[:xe.Offset])
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != "Response" || m.Destination != "https://signin.aws.amazon.com/saml" || !m.Status.Success() || m.Signed {
		t.Errorf("response %q dest %q status %+v signed %v", m.Kind, m.Destination, m.Status, m.Signed)
	}
	if m.Issuer != "https://sts.windows.net/25f4519b-eca5-405d-b516-123af862c268/" || len(m.Assertions) != 1 {
		t.Fatalf("issuer %q, %d assertions", m.Issuer, len(m.Assertions))
	}
	a := m.Assertions[0]
	if !a.Signed || a.Subject.Value != "exampleuser@exampledomain.com" || !slices.Contains(a.Conditions.Audiences, "https://signin.aws.amazon.com/saml") {
		t.Errorf("assertion %+v", a)
	}
	if roles := a.Attribute("https://aws.amazon.com/SAML/Attributes/Role"); len(roles) == 0 {
		t.Error("no AWS Role attribute")
	}
	// Its SignatureValue was rewritten with base64url characters by
	// saml2aws, so it cannot verify.
	if v := Verify(xmlb[:xe.Offset], nil); !eqB(v.Verified, ptrB(false)) {
		t.Errorf("saml2aws response verified %v: %s", fmtB(v.Verified), v.Reason)
	}
	// URL-encoded form body value, wrapped in lines, decodes the same.
	enc := url.QueryEscape(string(mm[1]))
	wrapped := enc[:100] + "\r\n" + enc[100:]
	again, err := DecodePost(wrapped)
	if err != nil || !bytes.Equal(again, xmlb) {
		t.Errorf("url-encoded post: %v", err)
	}
}

func deflate(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

const authnRequest = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="id-req-1" Version="2.0" IssueInstant="2026-01-02T10:00:00Z" Destination="https://login.microsoftonline.com/tid/saml2" AssertionConsumerServiceURL="https://sp.example/acs" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" ForceAuthn="true"><saml:Issuer>https://sp.example</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"/><samlp:RequestedAuthnContext Comparison="exact"><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></samlp:RequestedAuthnContext></samlp:AuthnRequest>`

func TestDecodeRedirectAuthnRequest(t *testing.T) {
	param := base64.StdEncoding.EncodeToString(deflate(t, []byte(authnRequest)))
	for name, in := range map[string]string{
		"decoded":     param,
		"url-encoded": url.QueryEscape(param),
	} {
		t.Run(name, func(t *testing.T) {
			x, err := DecodeRedirect(in)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Parse(x)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != "AuthnRequest" || m.ID != "id-req-1" || m.Issuer != "https://sp.example" || m.AssertionConsumerServiceURL != "https://sp.example/acs" ||
				m.ForceAuthn != "true" || m.NameIDPolicyFormat != "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" ||
				len(m.RequestedAuthnContext) != 1 || m.RequestedAuthnComparison != "exact" || m.IssueInstant.IsZero() {
				t.Errorf("%+v", m)
			}
		})
	}
	// Not deflated but plain XML: tolerated.
	if x, err := DecodeRedirect(base64.StdEncoding.EncodeToString([]byte(authnRequest))); err != nil || !bytes.Equal(x, []byte(authnRequest)) {
		t.Errorf("plain: %v", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	bomb := base64.StdEncoding.EncodeToString(deflate(t, make([]byte, 3*MaxInflated)))
	if _, err := DecodeRedirect(bomb); !errors.Is(err, ErrTooLarge) {
		t.Errorf("bomb: %v", err)
	}
	for _, in := range []string{"", "!!!notbase64", base64.StdEncoding.EncodeToString([]byte("\xff\xfe garbage"))} {
		if _, err := DecodeRedirect(in); err == nil {
			t.Errorf("DecodeRedirect(%q) accepted", in)
		}
	}
	if _, err := DecodePost("%%zz"); err == nil {
		t.Error("bad url encoding accepted")
	}
}

func TestUnsafeXMLRejected(t *testing.T) {
	cases := map[string]string{
		"xxe": `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>`,
		"billion laughs": `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
			`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>`,
		"plain doctype": `<!DOCTYPE html><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`,
		"deep":          strings.Repeat("<a>", MaxDepth+1) + strings.Repeat("</a>", MaxDepth+1),
		"too large":     "<a>" + strings.Repeat("x", MaxXMLSize) + "</a>",
	}
	for name, x := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(x))
			if !errors.Is(err, ErrUnsafeXML) {
				t.Errorf("err %v, want ErrUnsafeXML", err)
			}
			if v := Verify([]byte(x), nil); !eqB(v.Verified, ptrB(false)) {
				t.Errorf("Verify %v", fmtB(v.Verified))
			}
		})
	}
	for name, x := range map[string]string{
		"undefined entity": `<a>&x;</a>`,
		"mismatched":       `<a></b>`,
		"two roots":        `<a/><b/>`,
		"not saml":         `<html/>`,
		"utf16":            `<?xml version="1.0" encoding="utf-16"?><a/>`,
	} {
		if _, err := Parse([]byte(x)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestStatusAndLogout(t *testing.T) {
	resp := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="r1" InResponseTo="id-req-1" Version="2.0" IssueInstant="2026-01-02T10:00:05Z" Destination="https://sp.example/acs"><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">https://sts.windows.net/t/</Issuer>` +
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:RequestDenied"><samlp:StatusCode Value="urn:example:deeper"/></samlp:StatusCode></samlp:StatusCode>` +
		`<samlp:StatusMessage>AADSTS50105: not assigned</samlp:StatusMessage><samlp:StatusDetail><Cause>AADSTS50105</Cause></samlp:StatusDetail></samlp:Status></samlp:Response>`
	m, err := Parse([]byte(resp))
	if err != nil {
		t.Fatal(err)
	}
	if m.InResponseTo != "id-req-1" || m.Status.Success() || m.Status.Code != "urn:oasis:names:tc:SAML:2.0:status:Responder" ||
		!slices.Equal(m.Status.SubCodes, []string{"urn:oasis:names:tc:SAML:2.0:status:RequestDenied", "urn:example:deeper"}) ||
		m.Status.Message != "AADSTS50105: not assigned" || m.Status.Detail != "AADSTS50105" {
		t.Errorf("status %+v", m.Status)
	}
	is := CheckConditions(m, time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), time.Second)
	codes := issueCodes(is)
	if !slices.Equal(codes, []string{IssueStatusError, IssueIssuedInFuture}) || !strings.Contains(is[0].Detail, "Responder / RequestDenied") {
		t.Errorf("issues %+v", is)
	}
	lr := `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="lr1" Version="2.0" IssueInstant="2026-01-02T10:00:00Z" Reason="urn:oasis:names:tc:SAML:2.0:logout:user"><saml:Issuer>https://sp.example</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">abc</saml:NameID><samlp:SessionIndex>s1</samlp:SessionIndex></samlp:LogoutRequest>`
	m, err = Parse([]byte(lr))
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != "LogoutRequest" || m.NameID == nil || m.NameID.Value != "abc" || !slices.Equal(m.SessionIndexes, []string{"s1"}) || m.Reason == "" {
		t.Errorf("logout %+v", m)
	}
	bad := `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x" IssueInstant="yesterday"/>`
	m, err = Parse([]byte(bad))
	if err != nil || len(m.Problems) != 1 || !slices.Equal(issueCodes(CheckConditions(m, time.Now(), 0)), []string{IssueBadValue}) {
		t.Errorf("bad time: %v %+v", err, m)
	}
}

func issueCodes(is []Issue) []string {
	var out []string
	for _, i := range is {
		out = append(out, i.Code)
	}
	return out
}

// idp is a tiny synthetic IdP built on goxmldsig (crewjam/saml is not
// served to this build).
type idp struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
	sign *dsig.SigningContext
}

func newIdP(t *testing.T) *idp {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "synthetic test IdP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ctx, err := dsig.NewSigningContext(k, [][]byte{der})
	if err != nil {
		t.Fatal(err)
	}
	// Exclusive C14N, as Entra, ADFS and most IdPs use.
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	return &idp{key: k, cert: cert, sign: ctx}
}

type respOpts struct {
	issued      time.Time
	audience    string
	signResp    bool
	signAssert  bool
	requestID   string
	destination string
}

// response builds and signs a SAML 2.0 Response.
func (p *idp) response(t *testing.T, o respOpts) []byte {
	t.Helper()
	ts := func(d time.Duration) string { return o.issued.Add(d).UTC().Format("2006-01-02T15:04:05.000Z") }
	x := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_resp1" InResponseTo="` + o.requestID + `" Version="2.0" IssueInstant="` + ts(0) + `" Destination="` + o.destination + `">` +
		`<saml:Issuer>https://idp.example</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
		`<saml:Assertion ID="_assert1" Version="2.0" IssueInstant="` + ts(0) + `"><saml:Issuer>https://idp.example</saml:Issuer>` +
		`<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.com</saml:NameID>` +
		`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="` + o.requestID + `" NotOnOrAfter="` + ts(5*time.Minute) + `" Recipient="` + o.destination + `"/></saml:SubjectConfirmation></saml:Subject>` +
		`<saml:Conditions NotBefore="` + ts(-time.Minute) + `" NotOnOrAfter="` + ts(time.Hour) + `"><saml:AudienceRestriction><saml:Audience>` + o.audience + `</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
		`<saml:AuthnStatement AuthnInstant="` + ts(0) + `" SessionIndex="_sess1"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
		`<saml:AttributeStatement><saml:Attribute Name="email" FriendlyName="mail"><saml:AttributeValue>alice@example.com</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
		`</saml:Assertion></samlp:Response>`
	doc := etree.NewDocument()
	if err := doc.ReadFromString(x); err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	if o.signAssert {
		a := root.SelectElement("Assertion")
		// Sign the assertion as a standalone element carrying its own
		// namespace declarations, as IdPs do.
		nsctx, err := etreeutils.NSBuildParentContext(a)
		if err != nil {
			t.Fatal(err)
		}
		det, err := etreeutils.NSDetatch(nsctx, a)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := p.sign.SignEnveloped(det)
		if err != nil {
			t.Fatal(err)
		}
		signed = afterIssuer(t, signed)
		root.RemoveChild(a)
		root.AddChild(signed)
	}
	if o.signResp {
		signed, err := p.sign.SignEnveloped(root)
		if err != nil {
			t.Fatal(err)
		}
		doc.SetRoot(afterIssuer(t, signed))
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// afterIssuer moves the Signature that goxmldsig appended to el right
// after Issuer, where the schema and every real IdP put it. goxmldsig
// appends without fixing etree's bookkeeping, so el is round-tripped first.
func afterIssuer(t *testing.T, el *etree.Element) *etree.Element {
	t.Helper()
	d := etree.NewDocument()
	d.SetRoot(el)
	b, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	d = etree.NewDocument()
	if err := d.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	el = d.Root()
	sig := el.SelectElement("Signature")
	el.RemoveChild(sig)
	el.InsertChildAt(1, sig)
	if el.ChildElements()[0].Tag != "Issuer" || el.ChildElements()[1].Tag != "Signature" {
		t.Fatal("signature not after Issuer")
	}
	return el
}

func TestSyntheticIdP(t *testing.T) {
	p := newIdP(t)
	other := newIdP(t)
	issued := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	base := respOpts{issued: issued, audience: "https://sp.example", requestID: "id-req-1", destination: "https://sp.example/acs"}
	with := func(f func(*respOpts)) respOpts { o := base; f(&o); return o }

	assertSigned := p.response(t, with(func(o *respOpts) { o.signAssert = true }))
	respSigned := p.response(t, with(func(o *respOpts) { o.signResp = true }))
	both := p.response(t, with(func(o *respOpts) { o.signResp, o.signAssert = true, true }))
	unsigned := p.response(t, base)
	wrongAud := p.response(t, with(func(o *respOpts) { o.signAssert = true; o.audience = "https://evil.example" }))

	// Signature wrapping: an attacker inserts an unsigned assertion of
	// their own (same ID) before the genuine signed one.
	evil := bytes.Replace(assertSigned, []byte(`<samlp:Status>`),
		[]byte(`<saml:Assertion ID="_assert1" Version="2.0" IssueInstant="2026-01-02T10:00:00Z"><saml:Issuer>https://idp.example</saml:Issuer><saml:Subject><saml:NameID>admin@example.com</saml:NameID></saml:Subject></saml:Assertion><samlp:Status>`), 1)
	// Wrapping, second shape: the genuine signed assertion hidden in the
	// Advice of the attacker's unsigned one.
	gi, gj := bytes.Index(assertSigned, []byte("<saml:Assertion")), bytes.LastIndex(assertSigned, []byte("</saml:Assertion>"))+len("</saml:Assertion>")
	nested := slices.Concat(assertSigned[:gi],
		[]byte(`<saml:Assertion ID="_evil" Version="2.0" IssueInstant="2026-01-02T10:00:00Z"><saml:Issuer>https://idp.example</saml:Issuer><saml:Subject><saml:NameID>admin@example.com</saml:NameID></saml:Subject><saml:Advice>`),
		assertSigned[gi:gj], []byte(`</saml:Advice></saml:Assertion>`), assertSigned[gj:])
	tamperedAssert := bytes.Replace(assertSigned, []byte("alice@example.com</saml:NameID>"), []byte("admin@example.com</saml:NameID>"), 1)
	tamperedResp := bytes.Replace(respSigned, []byte("alice@example.com</saml:NameID>"), []byte("admin@example.com</saml:NameID>"), 1)

	trusted := []*x509.Certificate{p.cert}
	cases := []struct {
		name      string
		xml       []byte
		certs     []*x509.Certificate
		want      *bool
		covered   []string
		uncovered []string
		warn      string
	}{
		{"assertion signed", assertSigned, trusted, ptrB(true), []string{"/Response/Assertion[1]"}, nil, ""},
		{"response signed", respSigned, trusted, ptrB(true), []string{"/Response"}, nil, ""},
		{"both signed", both, trusted, ptrB(true), []string{"/Response", "/Response/Assertion[1]"}, nil, ""},
		{"self-asserted", assertSigned, nil, ptrB(true), []string{"/Response/Assertion[1]"}, nil, ""},
		{"unsigned", unsigned, trusted, ptrB(false), nil, []string{"/Response/Assertion[1]"}, ""},
		{"other IdP's cert", assertSigned, []*x509.Certificate{other.cert}, ptrB(false), nil, []string{"/Response/Assertion[1]"}, ""},
		{"tampered assertion", tamperedAssert, trusted, ptrB(false), nil, []string{"/Response/Assertion[1]"}, ""},
		{"tampered response", tamperedResp, trusted, ptrB(false), nil, []string{"/Response/Assertion[1]"}, ""},
		{"wrapping in Advice", nested, trusted, ptrB(false), nil, []string{"/Response/Assertion[1]", "/Response/Assertion[1]/Advice[1]/Assertion[1]"}, "signature on unexpected element"},
		{"wrapping", evil, trusted, ptrB(false), nil, []string{"/Response/Assertion[1]", "/Response/Assertion[2]"}, "occurs 2 times"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Verify(c.xml, c.certs)
			if !eqB(v.Verified, c.want) {
				t.Errorf("verified %s, want %s: %s %+v", fmtB(v.Verified), fmtB(c.want), v.Reason, v.Signatures)
			}
			if !slices.Equal(v.Covered, c.covered) || !slices.Equal(v.Uncovered, c.uncovered) {
				t.Errorf("covered %v uncovered %v", v.Covered, v.Uncovered)
			}
			if c.warn != "" && !slices.ContainsFunc(v.Warnings, func(w string) bool { return strings.Contains(w, c.warn) }) {
				t.Errorf("warnings %v lack %q", v.Warnings, c.warn)
			}
		})
	}

	// A signature whose KeyInfo carries no certificate verifies against the
	// trusted one, and never by itself.
	noCert := regexp.MustCompile(`<ds:KeyInfo>.*</ds:KeyInfo>`).ReplaceAll(assertSigned, []byte("<ds:KeyInfo><ds:KeyName>k</ds:KeyName></ds:KeyInfo>"))
	if v := Verify(noCert, trusted); !eqB(v.Verified, ptrB(true)) {
		t.Errorf("KeyName only, trusted cert: %s %+v", v.Reason, v.Signatures)
	}
	if v := Verify(noCert, nil); v.Verified != nil {
		t.Errorf("KeyName only, no cert: %s", v.Reason)
	}
	// Covers maps verified signatures to assertion paths.
	pm, _ := Parse(respSigned)
	if v := Verify(respSigned, trusted); !v.Covers(pm.Assertions[0].Path) || v.Covers("/Other") {
		t.Errorf("Covers(%q) with %v", pm.Assertions[0].Path, v.Covered)
	}

	// Parse, conditions and audience.
	m, err := Parse(assertSigned)
	if err != nil {
		t.Fatal(err)
	}
	a := m.Assertions[0]
	if !a.Signed || m.Signed || a.SubjectConfirmations[0].InResponseTo != "id-req-1" || a.SubjectConfirmations[0].Recipient != "https://sp.example/acs" ||
		a.AuthnStatements[0].SessionIndex != "_sess1" || !slices.Equal(a.Attribute("mail"), []string{"alice@example.com"}) {
		t.Errorf("assertion %+v", a)
	}
	cond := []struct {
		name string
		xml  []byte
		at   time.Time
		aud  string
		want []string
	}{
		{"valid", assertSigned, issued.Add(time.Minute), "https://sp.example", nil},
		{"expired", assertSigned, issued.Add(2 * time.Hour), "https://sp.example", []string{IssueExpired, IssueConfirmationExpired}},
		{"confirmation window passed", assertSigned, issued.Add(10 * time.Minute), "https://sp.example", []string{IssueConfirmationExpired}},
		{"before NotBefore", assertSigned, issued.Add(-10 * time.Minute), "https://sp.example", []string{IssueIssuedInFuture, IssueIssuedInFuture, IssueNotYetValid}},
		{"wrong audience", wrongAud, issued.Add(time.Minute), "https://sp.example", []string{IssueWrongAudience}},
	}
	for _, c := range cond {
		t.Run("conditions "+c.name, func(t *testing.T) {
			m, err := Parse(c.xml)
			if err != nil {
				t.Fatal(err)
			}
			got := issueCodes(append(CheckConditions(m, c.at, 2*time.Minute), CheckAudience(m, c.aud)...))
			if !slices.Equal(got, c.want) {
				t.Errorf("issues %v, want %v", got, c.want)
			}
		})
	}
}

func TestEncryptedAssertionAndSAML11(t *testing.T) {
	x := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="r" Version="2.0" IssueInstant="2026-01-02T10:00:00Z"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></saml:EncryptedAssertion></samlp:Response>`
	m, err := Parse([]byte(x))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Assertions) != 1 || !m.Assertions[0].Encrypted {
		t.Errorf("assertions %+v", m.Assertions)
	}
	if got := issueCodes(CheckConditions(m, time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), 0)); !slices.Equal(got, []string{IssueEncrypted}) {
		t.Errorf("issues %v", got)
	}
	s11 := `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" MajorVersion="1" MinorVersion="1" AssertionID="_a11" Issuer="http://adfs.example/adfs/services/trust" IssueInstant="2026-01-02T10:00:00.000Z">` +
		`<saml:Conditions NotBefore="2026-01-02T10:00:00.000Z" NotOnOrAfter="2026-01-02T11:00:00.000Z"><saml:AudienceRestrictionCondition><saml:Audience>urn:federation:MicrosoftOnline</saml:Audience></saml:AudienceRestrictionCondition></saml:Conditions>` +
		`<saml:AttributeStatement><saml:Subject><saml:NameIdentifier Format="urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified">ImmutableID==</saml:NameIdentifier><saml:SubjectConfirmation><saml:ConfirmationMethod>urn:oasis:names:tc:SAML:1.0:cm:bearer</saml:ConfirmationMethod></saml:SubjectConfirmation></saml:Subject>` +
		`<saml:Attribute AttributeName="UPN" AttributeNamespace="http://schemas.xmlsoap.org/claims"><saml:AttributeValue>bob@example.com</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
		`<saml:AuthenticationStatement AuthenticationMethod="urn:oasis:names:tc:SAML:1.0:am:password" AuthenticationInstant="2026-01-02T09:59:59.000Z"><saml:Subject><saml:NameIdentifier>ImmutableID==</saml:NameIdentifier></saml:Subject></saml:AuthenticationStatement></saml:Assertion>`
	m, err = Parse([]byte(s11))
	if err != nil {
		t.Fatal(err)
	}
	a := m.Assertions[0]
	if a.Version != "1.1" || a.ID != "_a11" || a.Issuer != "http://adfs.example/adfs/services/trust" || a.Subject.Value != "ImmutableID==" ||
		!slices.Equal(a.Conditions.Audiences, []string{"urn:federation:MicrosoftOnline"}) || !slices.Equal(a.Attribute("UPN"), []string{"bob@example.com"}) ||
		a.AuthnStatements[0].ClassRef != "urn:oasis:names:tc:SAML:1.0:am:password" {
		t.Errorf("saml 1.1 %+v", a)
	}
}

func eqB(a, b *bool) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func fmtB(b *bool) string {
	if b == nil {
		return "nil"
	}
	if *b {
		return "true"
	}
	return "false"
}

func TestVerifyRedirect(t *testing.T) {
	p, other := newIdP(t), newIdP(t)
	req := url.QueryEscape(base64.StdEncoding.EncodeToString(deflate(t, []byte(authnRequest))))
	signedPart := "SAMLRequest=" + req + "&RelayState=" + url.QueryEscape("state 1/2") + "&SigAlg=" + url.QueryEscape("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
	h := sha256.Sum256([]byte(signedPart))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	q := signedPart + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	cases := []struct {
		name  string
		q     string
		certs []*x509.Certificate
		want  *bool
	}{
		{"valid", q, []*x509.Certificate{other.cert, p.cert}, ptrB(true)},
		{"wrong cert", q, []*x509.Certificate{other.cert}, ptrB(false)},
		{"no cert", q, nil, nil},
		{"relaystate changed", strings.Replace(q, "state", "State", 1), []*x509.Certificate{p.cert}, ptrB(false)},
		{"unsigned", "SAMLRequest=" + req, []*x509.Certificate{p.cert}, nil},
		{"duplicate param", q + "&SAMLRequest=x", []*x509.Certificate{p.cert}, ptrB(false)},
		// An algorithm idtrace does not implement is not checked, never "altered".
		{"unsupported SigAlg", strings.Replace(q, url.QueryEscape("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"), url.QueryEscape("http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"), 1), []*x509.Certificate{p.cert}, nil},
	}
	for _, c := range cases {
		if v := VerifyRedirect(c.q, c.certs); !eqB(v.Verified, c.want) {
			t.Errorf("%s: %s (%s)", c.name, fmtB(v.Verified), v.Reason)
		}
	}
}
