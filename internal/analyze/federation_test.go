package analyze

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

// fedHop builds an Entra sign-in federated to AD FS whose token comes back to
// login.srf as wresult (synthetic, made-up names), the return posted at
// returnAt after the start.
func fedHop(wresult string, returnAt time.Duration) *fb {
	wctx := "estsredirect=2&estsrequest=rQQIARAAabc"
	var b fb
	b.add("GET", authz("&response_mode=form_post"), nil, "", 200, ests(), `<script>$Config={"pgid":"ConvergedSignIn","correlationId":"`+corrID+`"};</script>`)
	b.add("POST", entra+"common/GetCredentialType", jsonCT(), `{"username":"dave@contoso.example"}`, 200, nil,
		`{"Username":"dave@contoso.example","IfExistsResult":0,"Credentials":{"FederationRedirectUrl":"`+adfs+`?wa=wsignin1.0&wtrealm=urn%3afederation%3aMicrosoftOnline&wctx=`+url.QueryEscape(wctx)+`"}}`)
	b.add("GET", adfs+"?wa=wsignin1.0&wtrealm=urn%3afederation%3aMicrosoftOnline&wctx="+url.QueryEscape(wctx), trace.Headers{{Name: "Referer", Value: "https://login.microsoftonline.com/"}}, "", 200, nil,
		`<html><form method="POST" action="https://login.microsoftonline.com/login.srf"></form></html>`)
	ret := b.add("POST", entra+"login.srf", trace.Headers{{Name: "Referer", Value: "https://sts.contoso.example/"}},
		"wa=wsignin1.0&wresult="+url.QueryEscape(wresult)+"&wctx="+url.QueryEscape(wctx), 200, nil, "<html></html>")
	ret.Started = t0.Add(returnAt)
	return &b
}

// TestFederationFindings: each federation finding is raised by the shape it
// names, and only then.
func TestFederationFindings(t *testing.T) {
	fault := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code>` +
		`<s:Reason><s:Text xml:lang="en-US">MSIS3127: The specified request failed.</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`
	samlReq := `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_ests1" Version="2.0" IssueInstant="2025-03-01T10:00:01Z" AssertionConsumerServiceURL="https://login.microsoftonline.com/login.srf"><saml:Issuer>urn:federation:MicrosoftOnline</saml:Issuer></samlp:AuthnRequest>`
	samlErr := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r9" Version="2.0" IssueInstant="2025-03-01T10:00:03Z" Destination="https://login.microsoftonline.com/login.srf" InResponseTo="_ests1"><saml:Issuer>https://idp.fabrikam.example/</saml:Issuer>` +
		`<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal"/></samlp:StatusCode><samlp:StatusMessage>unknown user</samlp:StatusMessage></samlp:Status></samlp:Response>`
	tests := []struct {
		name, code, severity, detail string
		build                        func() *fb
	}{
		{"WS-Trust SOAP fault", "wstrust_fault", SeverityError, "MSIS3127", func() *fb {
			var b fb
			b.add("POST", "https://sts.contoso.example/adfs/services/trust/13/usernamemixed", trace.Headers{{Name: "Content-Type", Value: "application/soap+xml"}}, "<s:Envelope/>", 500,
				trace.Headers{{Name: "Content-Type", Value: "application/soap+xml"}}, fault)
			return &b
		}},
		{"account not found", "account_not_found", SeverityWarning, "IfExistsResult 1", func() *fb {
			var b fb
			b.add("GET", authz(""), nil, "", 200, ests(), `<script>$Config={"pgid":"ConvergedSignIn"};</script>`)
			b.add("POST", entra+"common/GetCredentialType", jsonCT(), `{"username":"nobody@contoso.example"}`, 200, nil, `{"Username":"nobody@contoso.example","IfExistsResult":1}`)
			return &b
		}},
		{"federated token expired", "federation_token_expired", SeverityError, "valid until 2025-03-01T11:00:04Z", func() *fb { return fedHop(adfsRSTR(), 2*time.Hour) }},
		{"federated token unreadable", "federation_token_unreadable", SeverityWarning, "could not be read", func() *fb { return fedHop("not a token", 4*time.Second) }},
		{"federated SAML IdP error", "federation_idp_error", SeverityError, "Requester", func() *fb {
			var b fb
			q := url.QueryEscape(samlDeflate(samlReq))
			b.add("GET", authz("&response_mode=form_post"), nil, "", 302, loc("https://idp.fabrikam.example/sso/saml?SAMLRequest="+q+"&RelayState=R"), "")
			b.add("GET", "https://idp.fabrikam.example/sso/saml?SAMLRequest="+q+"&RelayState=R", nil, "", 200, nil, "<html>IdP</html>")
			b.add("POST", entra+"login.srf", trace.Headers{{Name: "Referer", Value: "https://idp.fabrikam.example/"}},
				"SAMLResponse="+url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(samlErr)))+"&RelayState=R", 200, nil, "<html></html>")
			return &b
		}},
	}
	for _, tt := range tests {
		r, err := Run(sliceSource(tt.build().flows), Options{})
		if err != nil {
			t.Fatal(err)
		}
		f, ok := findingCodes(r)[tt.code]
		if !ok || f.Severity != tt.severity || !strings.Contains(f.Detail, tt.detail) {
			t.Errorf("%s: finding %s = %+v (found %v), want severity %s and %q in the detail; all: %+v", tt.name, tt.code, f, ok, tt.severity, tt.detail, r.Findings)
		}
	}
	// The same hop with a current token raises none of them.
	r, err := Run(sliceSource(fedHop(adfsRSTR(), 4*time.Second).flows), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"wstrust_fault", "account_not_found", "federation_token_expired", "federation_token_unreadable", "federation_idp_error"} {
		if _, ok := findingCodes(r)[c]; ok {
			t.Errorf("a sound federation hop raised %s", c)
		}
	}
	if len(r.Flows) != 1 || r.Flows[0].Federation == nil || r.Flows[0].Federation.Subject != "Zm9vYmFyMTIzNA==" {
		t.Errorf("the hop is not stitched into one Entra sign-in: %+v", r.Flows)
	}
}
