package wsfed

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/idtrace/idtrace/internal/decode/saml"
	"github.com/idtrace/idtrace/internal/testutil"
)

// Synthetic SAML 1.1 token in the shape ADFS sends to Entra (values made up).
const saml11 = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:1.0:assertion" MajorVersion="1" MinorVersion="1" AssertionID="_a11" Issuer="http://adfs.example/adfs/services/trust" IssueInstant="2026-01-02T10:00:00.000Z">` +
	`<saml:Conditions NotBefore="2026-01-02T10:00:00.000Z" NotOnOrAfter="2026-01-02T11:00:00.000Z"><saml:AudienceRestrictionCondition><saml:Audience>urn:federation:MicrosoftOnline</saml:Audience></saml:AudienceRestrictionCondition></saml:Conditions>` +
	`<saml:AttributeStatement><saml:Subject><saml:NameIdentifier Format="http://schemas.xmlsoap.org/claims/UPN">bob@example.com</saml:NameIdentifier><saml:SubjectConfirmation><saml:ConfirmationMethod>urn:oasis:names:tc:SAML:1.0:cm:bearer</saml:ConfirmationMethod></saml:SubjectConfirmation></saml:Subject>` +
	`<saml:Attribute AttributeName="UPN" AttributeNamespace="http://schemas.xmlsoap.org/claims"><saml:AttributeValue>bob@example.com</saml:AttributeValue></saml:Attribute>` +
	`<saml:Attribute AttributeName="ImmutableID" AttributeNamespace="http://schemas.microsoft.com/LiveID/Federation/2008/05"><saml:AttributeValue>AbCd==</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
	`<saml:AuthenticationStatement AuthenticationMethod="urn:oasis:names:tc:SAML:1.0:am:password" AuthenticationInstant="2026-01-02T09:59:59.000Z"><saml:Subject><saml:NameIdentifier>bob@example.com</saml:NameIdentifier></saml:Subject></saml:AuthenticationStatement></saml:Assertion>`

func rstr(token string) string {
	return `<t:RequestSecurityTokenResponse xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust"><t:Lifetime><wsu:Created xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">2026-01-02T10:00:00.000Z</wsu:Created><wsu:Expires xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">2026-01-02T11:00:00.000Z</wsu:Expires></t:Lifetime>` +
		`<wsp:AppliesTo xmlns:wsp="http://schemas.xmlsoap.org/ws/2004/09/policy"><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>urn:federation:MicrosoftOnline</wsa:Address></wsa:EndpointReference></wsp:AppliesTo>` +
		`<t:RequestedSecurityToken>` + token + `</t:RequestedSecurityToken><t:TokenType>urn:oasis:names:tc:SAML:1.0:assertion</t:TokenType></t:RequestSecurityTokenResponse>`
}

// signed signs a token element with goxmldsig (exclusive C14N) and returns
// its XML.
func signed(t *testing.T, xml, idAttr string) (string, *x509.Certificate) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "synthetic ADFS token signing"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	cert, _ := x509.ParseCertificate(der)
	ctx, err := dsig.NewSigningContext(k, [][]byte{der})
	if err != nil {
		t.Fatal(err)
	}
	ctx.IdAttribute = idAttr
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	doc := etree.NewDocument()
	if err := doc.ReadFromString(xml); err != nil {
		t.Fatal(err)
	}
	el, err := ctx.SignEnveloped(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	doc.SetRoot(el)
	s, _ := doc.WriteToString()
	return s, cert
}

func TestSignInRequest(t *testing.T) {
	q, _ := url.ParseQuery("wa=wsignin1.0&wtrealm=urn%3afederation%3aMicrosoftOnline&wctx=LoginOptions%3D3%26estsredirect%3D2&wreply=https%3A%2F%2Flogin.microsoftonline.com%2Flogin.srf&whr=contoso.com&wct=2026-01-02T10%3A00%3A00Z")
	m, err := Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	if m.Action != SignIn || m.Realm != "urn:federation:MicrosoftOnline" || m.Reply != "https://login.microsoftonline.com/login.srf" ||
		m.Context != "LoginOptions=3&estsredirect=2" || m.HomeRealm != "contoso.com" || m.CurrentTime == "" || m.Response || m.Result != nil {
		t.Errorf("%+v", m)
	}
	out, err := Parse(url.Values{"wa": {"wsignout1.0"}, "wreply": {"https://app.example/"}})
	if err != nil || out.Action != SignOut || out.Reply != "https://app.example/" {
		t.Errorf("signout %v %+v", err, out)
	}
	for name, f := range map[string]url.Values{"no wa": {"wtrealm": {"x"}}, "bad wa": {"wa": {"wsignin2.0"}}} {
		_, err := Parse(f)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "wa" || !errors.Is(err, ErrNotWSFed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSignInResponseSAML11(t *testing.T) {
	tok, cert := signed(t, saml11, "AssertionID")
	form := url.Values{"wa": {SignIn}, "wresult": {rstr(tok)}, "wctx": {"rm=0&id=passive"}}
	m, err := Parse(form)
	if err != nil {
		t.Fatal(err)
	}
	r := m.Result
	if !m.Response || r == nil || r.TrustVersion != "2005/02" || r.AppliesTo != "urn:federation:MicrosoftOnline" ||
		r.TokenType != "urn:oasis:names:tc:SAML:1.0:assertion" || r.Expires.Sub(r.Created) != time.Hour || len(r.Problems) != 0 {
		t.Fatalf("result %+v", r)
	}
	a := r.Token.Assertions[0]
	if a.Version != "1.1" || a.ID != "_a11" || a.Issuer != "http://adfs.example/adfs/services/trust" || a.Subject.Value != "bob@example.com" ||
		len(a.Attribute("ImmutableID")) != 1 || a.Conditions.Audiences[0] != "urn:federation:MicrosoftOnline" || !a.Signed {
		t.Errorf("assertion %+v", a)
	}
	// The extracted token still verifies: with its own cert and the given one.
	for name, certs := range map[string][]*x509.Certificate{"self": nil, "given": {cert}} {
		if v := saml.Verify(r.TokenXML, certs); v.Verified == nil || !*v.Verified {
			t.Errorf("%s: %s %+v", name, v.Reason, v.Signatures)
		}
	}
	tampered := strings.Replace(form.Get("wresult"), "bob@example.com</saml:AttributeValue>", "eve@example.com</saml:AttributeValue>", 1)
	m, err = Parse(url.Values{"wa": {SignIn}, "wresult": {tampered}})
	if err != nil {
		t.Fatal(err)
	}
	if v := saml.Verify(m.Result.TokenXML, nil); v.Verified == nil || *v.Verified {
		t.Errorf("tampered token: %s", v.Reason)
	}
	// Conditions against the request time.
	is := saml.CheckConditions(m.Result.Token, time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC), time.Minute)
	if len(is) != 1 || is[0].Code != saml.IssueExpired {
		t.Errorf("issues %+v", is)
	}
}

func TestSignInResponseSAML2Shared(t *testing.T) {
	// The real Entra SAML 2.0 assertion, restored to the bytes Entra signed
	// (see the saml package tests), wrapped in a WS-Trust 1.3 collection.
	b, err := os.ReadFile(filepath.Join(testutil.SharedDir(t, "jwt"), "identitymodel_Saml2TokenFromAAD.xml"))
	if err != nil {
		t.Fatal(err)
	}
	b = regexp.MustCompile(`>\s+<`).ReplaceAll(b, []byte("><"))
	b = bytes.Replace(b, []byte("<AttributeValue>add29489-7269-41f4-8841-b63c95564421</AttributeValue>"), nil, 1)
	b = bytes.Replace(b, []byte(`ID = "`), []byte(`ID="`), 1)
	wres := `<trust:RequestSecurityTokenResponseCollection xmlns:trust="http://docs.oasis-open.org/ws-sx/ws-trust/200512"><trust:RequestSecurityTokenResponse>` +
		`<trust:RequestedSecurityToken>` + string(b) + `</trust:RequestedSecurityToken><trust:TokenType>http://docs.oasis-open.org/wss/oasis-wss-saml-token-profile-1.1#SAMLV2.0</trust:TokenType></trust:RequestSecurityTokenResponse></trust:RequestSecurityTokenResponseCollection>`
	m, err := Parse(url.Values{"wa": {SignIn}, "wresult": {wres}})
	if err != nil {
		t.Fatal(err)
	}
	r := m.Result
	if r.TrustVersion != "1.3" || r.Token == nil || r.Token.Assertions[0].Issuer != "https://sts.windows.net/add29489-7269-41f4-8841-b63c95564420/" {
		t.Fatalf("result %+v", r)
	}
	if v := saml.Verify(r.TokenXML, nil); v.Verified == nil || !*v.Verified || !v.SelfAsserted {
		t.Errorf("verify: %s", v.Reason)
	}
}

func TestBadResults(t *testing.T) {
	cases := map[string]struct {
		wresult string
		unsafe  bool
	}{
		"not xml":    {"hello", false},
		"xxe":        {`<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><t:RequestSecurityTokenResponse xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust">&x;</t:RequestSecurityTokenResponse>`, true},
		"wrong root": {`<a/>`, false},
	}
	for name, c := range cases {
		_, err := Parse(url.Values{"wa": {SignIn}, "wresult": {c.wresult}})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "wresult" || errors.Is(err, saml.ErrUnsafeXML) != c.unsafe {
			t.Errorf("%s: %v", name, err)
		}
	}
	m, err := Parse(url.Values{"wa": {SignIn}, "wresult": {`<t:RequestSecurityTokenResponse xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust"><t:RequestedSecurityToken><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></t:RequestedSecurityToken></t:RequestSecurityTokenResponse>`}})
	if err != nil || !m.Result.Encrypted || m.Result.Token != nil {
		t.Errorf("encrypted: %v %+v", err, m.Result)
	}
	m, err = Parse(url.Values{"wa": {SignIn}, "wresult": {`<t:RequestSecurityTokenResponse xmlns:t="http://schemas.xmlsoap.org/ws/2005/02/trust"/>`}})
	if err != nil || len(m.Result.Problems) != 1 {
		t.Errorf("empty: %v %+v", err, m.Result)
	}
}
