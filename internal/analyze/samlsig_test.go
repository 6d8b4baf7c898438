package analyze

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// signedSAML signs a synthetic Response with a fresh key (enveloped
// signature on the Response, exclusive C14N) and returns it with the cert.
func signedSAML(t *testing.T, xml string) ([]byte, *x509.Certificate) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test idp"}, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ctx, err := dsig.NewSigningContext(k, [][]byte{der})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	doc := etree.NewDocument()
	if err := doc.ReadFromString(xml); err != nil {
		t.Fatal(err)
	}
	signed, err := ctx.SignEnveloped(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	d2 := etree.NewDocument()
	d2.SetRoot(signed)
	out, err := d2.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out, cert
}

func TestSAMLSignatures(t *testing.T) {
	raw, _ := base64.StdEncoding.DecodeString(samlResponse("_req1", "https://sp.example/", t0.Add(-time.Minute), t0.Add(time.Hour), "urn:oasis:names:tc:SAML:2.0:status:Success"))
	signed, cert := signedSAML(t, string(raw))
	_, otherCert := signedSAML(t, string(raw))
	tampered := strings.Replace(string(signed), "alice@contoso.example", "mallory@contoso.example", 1)
	expiredRaw, _ := base64.StdEncoding.DecodeString(samlResponse("_req1", "https://sp.example/", t0.Add(-2*time.Hour), t0.Add(-time.Hour), "urn:oasis:names:tc:SAML:2.0:status:Success"))
	wrongAudRaw, _ := base64.StdEncoding.DecodeString(samlResponse("_req1", "https://other.example/", t0.Add(-time.Minute), t0.Add(time.Hour), "urn:oasis:names:tc:SAML:2.0:status:Success"))
	expired, expCert := signedSAML(t, string(expiredRaw))
	wrongAud, audCert := signedSAML(t, string(wrongAudRaw))
	tests := []struct {
		name    string
		xml     string
		certs   []*x509.Certificate
		want    string // "true", "false", "null"
		reason  string
		finding string // a finding code that must be present ("" none)
	}{
		{"trusted certificate", string(signed), []*x509.Certificate{cert}, "true", "", ""},
		{"only the embedded certificate", string(signed), nil, "null", "self-asserted", ""},
		{"another IdP's certificate", string(signed), []*x509.Certificate{otherCert}, "false", "wrong key", "bad_signature"},
		{"tampered", tampered, []*x509.Certificate{cert}, "false", "", "bad_signature"},
		{"unsigned", string(raw), []*x509.Certificate{cert}, "false", "unsigned", "saml_unsigned"},
		{"signed but expired", string(expired), []*x509.Certificate{expCert}, "true", "", "saml_conditions_expired"},
		{"signed for another audience", string(wrongAud), []*x509.Certificate{audCert}, "true", "", "saml_wrong_audience"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fb{}
			b.add("GET", entra+tenant+"/saml2?SAMLRequest="+url.QueryEscape(samlDeflate(authnRequest)), nil, "", 200, nil, "<html>login</html>")
			b.add("POST", "https://sp.example/acs", nil, "SAMLResponse="+url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(tt.xml))), 302, loc("https://sp.example/"), "")
			r, err := Run(sliceSource(b.flows), Options{SAMLCerts: tt.certs})
			if err != nil {
				t.Fatal(err)
			}
			var tok *Token
			for i := range r.Tokens {
				if r.Tokens[i].Kind == "saml_response" {
					tok = &r.Tokens[i]
				}
			}
			if tok == nil {
				t.Fatalf("no SAML response token: %+v", r.Tokens)
			}
			got := "null"
			if tok.Verified != nil {
				got = map[bool]string{true: "true", false: "false"}[*tok.Verified]
			}
			if got != tt.want || !strings.Contains(tok.Verdict+" "+tok.VerifyDetail, tt.reason) {
				t.Errorf("verified %s (%s), want %s with %q", got, tok.VerifyDetail, tt.want, tt.reason)
			}
			if len(r.Flows) != 1 || r.Flows[0].User == "" {
				t.Errorf("sign-in %+v", r.Flows)
			}
			var codes []string
			for _, f := range r.Findings {
				codes = append(codes, f.Code)
			}
			if tt.finding != "" && !slices.Contains(codes, tt.finding) {
				t.Errorf("findings %v lack %s", codes, tt.finding)
			}
			if tt.finding == "" && len(codes) > 0 {
				t.Errorf("unexpected findings %v", codes)
			}
			if wantErr := tt.finding != ""; wantErr != (r.Flows[0].Result == ResultError) {
				t.Errorf("result %s (%s) with findings %v", r.Flows[0].Result, r.Flows[0].Error, codes)
			}
		})
	}
}
