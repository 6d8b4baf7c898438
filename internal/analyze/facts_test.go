package analyze

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/decode/saml"
)

func factMap(fs []Explained) map[string]Explained {
	m := map[string]Explained{}
	for _, f := range fs {
		m[f.Claim] = f
	}
	return m
}

// TestJWTFactsDecisiveClaims: the facts of `idtrace jwt` are the report's
// token summary tied to claims and explained: app and role names, the
// factor count, groups counted, an overage said in words, ipaddr.
func TestJWTFactsDecisiveClaims(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	tok := enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(`{"tid":"72f988bf-86f1-41af-91ab-2d7cd011db47","appid":"c44b4083-3bb0-49c1-b47d-974e53cbdf3c","amr":["pwd"],"ipaddr":"203.0.113.9","hasgroups":true,"wids":["62e90394-69f5-4237-9190-012177145e10","b79fbf4d-3ef9-4689-8143-76b194e85509"],"roles":["Tasks.Read"]}`)) + "."
	r, err := ExplainJWT(tok, nil, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := factMap(r.Facts)
	for claim, want := range map[string]string{
		"appid":  "c44b4083-3bb0-49c1-b47d-974e53cbdf3c (Azure Portal)",
		"amr":    "pwd (single factor)",
		"ipaddr": "203.0.113.9",
		"wids":   "Global Administrator (62e90394-69f5-4237-9190-012177145e10)",
		"roles":  "Tasks.Read",
	} {
		if m[claim].Value != want {
			t.Errorf("%s = %q, want %q", claim, m[claim].Value, want)
		}
		if m[claim].Meaning == "" {
			t.Errorf("%s: no meaning from the knowledge base", claim)
		}
	}
	if g := m["groups"].Value; !strings.Contains(g, "overage") {
		t.Errorf("groups = %q, want the overage said", g)
	}
}

// TestSAMLFacts: a SAML response is explained in reading order, and Entra's
// claim attributes are rendered as the matching token claims.
func TestSAMLFacts(t *testing.T) {
	x := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r" Version="2.0" IssueInstant="2025-03-01T10:00:00Z" Destination="https://sp.example/acs"><saml:Issuer>https://sts.windows.net/t/</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:RequestDenied"/></samlp:StatusCode><samlp:StatusMessage>AADSTS50105: not assigned</samlp:StatusMessage></samlp:Status><saml:Assertion ID="_a" Version="2.0" IssueInstant="2025-03-01T10:00:00Z"><saml:Issuer>https://sts.windows.net/t/</saml:Issuer><saml:Subject><saml:NameID>alice@example.test</saml:NameID></saml:Subject><saml:Conditions NotBefore="2025-03-01T09:55:00Z" NotOnOrAfter="2025-03-01T11:00:00Z"><saml:AudienceRestriction><saml:Audience>https://sp.example/</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AttributeStatement><saml:Attribute Name="http://schemas.microsoft.com/claims/authnmethodsreferences"><saml:AttributeValue>http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password</saml:AttributeValue><saml:AttributeValue>http://schemas.microsoft.com/claims/multipleauthn</saml:AttributeValue></saml:Attribute><saml:Attribute Name="department"><saml:AttributeValue>Sales</saml:AttributeValue></saml:Attribute></saml:AttributeStatement><saml:AuthnStatement AuthnInstant="2025-03-01T09:59:58Z"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:X509</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement></saml:Assertion></samlp:Response>`
	m, err := saml.Parse([]byte(x))
	if err != nil {
		t.Fatal(err)
	}
	fs := samlFacts(m)
	var order []string
	for _, f := range fs {
		order = append(order, f.Claim)
	}
	if got := strings.Join(order, " "); got != "kind issuer destination status name_id audience valid authn_context amr department" {
		t.Errorf("facts in order %q", got)
	}
	fm := factMap(fs)
	for claim, want := range map[string]string{
		"status":        "Responder / RequestDenied: AADSTS50105: not assigned",
		"valid":         "2025-03-01T09:55:00Z to 2025-03-01T11:00:00Z",
		"authn_context": "urn:oasis:names:tc:SAML:2.0:ac:classes:X509 (a certificate) at 2025-03-01T09:59:58Z",
		"amr":           "pwd mfa (multifactor)",
		"department":    "Sales",
	} {
		if fm[claim].Value != want {
			t.Errorf("%s = %q, want %q", claim, fm[claim].Value, want)
		}
	}
	if fm["amr"].Meaning == "" || fm["department"].Meaning != "" {
		t.Errorf("meanings: amr %q (want the glossary's), department %q (want none)", fm["amr"].Meaning, fm["department"].Meaning)
	}
}
