package analyze

import (
	"encoding/base64"
	"net/url"
	"slices"
	"testing"
	"time"
)

// spResponse is a Response with one assertion whose subject confirmation
// carries notAfter, recipient and inResp; destination is the Response's.
func spResponse(destination, recipient, inResp, audience string, notAfter time.Time) string {
	x := `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="` + t0.Format(time.RFC3339) + `" Destination="` + destination + `" InResponseTo="_req1">` +
		`<saml:Issuer>https://idp.example/</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
		`<saml:Assertion ID="_a1" Version="2.0" IssueInstant="` + t0.Format(time.RFC3339) + `"><saml:Issuer>https://idp.example/</saml:Issuer>` +
		`<saml:Subject><saml:NameID>alice@contoso.example</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
		`<saml:SubjectConfirmationData NotOnOrAfter="` + notAfter.Format(time.RFC3339) + `" Recipient="` + recipient + `" InResponseTo="` + inResp + `"/></saml:SubjectConfirmation></saml:Subject>` +
		`<saml:Conditions NotBefore="` + t0.Add(-time.Minute).Format(time.RFC3339) + `" NotOnOrAfter="` + t0.Add(time.Hour).Format(time.RFC3339) + `"><saml:AudienceRestriction><saml:Audience>` + audience + `</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
		`</saml:Assertion></samlp:Response>`
	return base64.StdEncoding.EncodeToString([]byte(x))
}

func TestSAMLServiceProviderChecks(t *testing.T) {
	acs := "https://sp.example/acs"
	later := t0.Add(time.Hour)
	tests := []struct {
		name     string
		resp     string
		postTo   string
		opts     Options
		want     string // a finding code that must be present
		wantNone string // a finding code that must be absent
	}{
		{"all consistent", spResponse(acs, acs, "_req1", "https://sp.example/", later), acs, Options{SAMLAudience: "https://sp.example/"}, "", "saml_destination_differs"},
		{"posted elsewhere", spResponse(acs, acs, "_req1", "https://sp.example/", later), "https://evil.example/acs", Options{}, "saml_destination_differs", ""},
		{"recipient differs", spResponse(acs, "https://other.example/acs", "_req1", "https://sp.example/", later), acs, Options{}, "saml_recipient_differs", ""},
		{"confirmation answers another request", spResponse(acs, acs, "_other", "https://sp.example/", later), acs, Options{}, "saml_in_response_to_differs", ""},
		{"confirmation expired", spResponse(acs, acs, "_req1", "https://sp.example/", t0.Add(-10*time.Minute)), acs, Options{}, "saml_confirmation_expired", ""},
		{"confirmation expired within the skew", spResponse(acs, acs, "_req1", "https://sp.example/", t0.Add(-time.Minute)), acs, Options{}, "saml_within_skew", "saml_confirmation_expired"},
		{"skew of zero", spResponse(acs, acs, "_req1", "https://sp.example/", t0.Add(-time.Minute)), acs, Options{Skew: time.Nanosecond}, "saml_confirmation_expired", ""},
		{"expected audience absent", spResponse(acs, acs, "_req1", "https://other-sp.example/", later), acs, Options{SAMLAudience: "https://sp.example/"}, "saml_wrong_audience", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fb{}
			b.add("GET", entra+tenant+"/saml2?SAMLRequest="+url.QueryEscape(samlDeflate(authnRequest)), nil, "", 200, nil, "<html>login</html>")
			f := b.add("POST", tt.postTo, nil, "SAMLResponse="+url.QueryEscape(tt.resp), 302, loc("https://sp.example/"), "")
			f.Started = t0
			r, err := Run(sliceSource(b.flows), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, f := range r.Findings {
				codes = append(codes, f.Code)
			}
			if tt.want != "" && !slices.Contains(codes, tt.want) {
				t.Errorf("findings %v lack %s", codes, tt.want)
			}
			if tt.wantNone != "" && slices.Contains(codes, tt.wantNone) {
				t.Errorf("findings %v hold %s", codes, tt.wantNone)
			}
		})
	}
}
