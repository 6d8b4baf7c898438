package actors

import (
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/trace"
)

func TestSignInFacts(t *testing.T) {
	e := &trace.Event{Kind: trace.KindSignIn, ID: "req-1", IPAddress: "198.51.100.5", ClientApp: "IMAP4", Extra: []trace.KV{
		{Key: "ConditionalAccessPolicies", Value: `[{"displayName":"MFA","result":"failure","enforcedGrantControls":["Mfa"]},{"displayName":"Off","result":"notEnabled","enforcedGrantControls":["Block"]}]`},
		{Key: "ConditionalAccessStatus", Value: "failure"},
		{Key: "AuthenticationRequirement", Value: "multiFactorAuthentication"},
		{Key: "LocationDetails", Value: `{"city":"Lagos","state":"Lagos","countryOrRegion":"NG"}`},
		{Key: "RiskLevelDuringSignIn", Value: "high"},
		{Key: "RiskState", Value: "atRisk"},
	}}
	got := factsOf(e).text()
	for _, w := range []string{"from 198.51.100.5 (Lagos, Lagos, NG)", "client app IMAP4 (legacy protocol", "Conditional Access failure",
		"grant controls Mfa", "requirement multiFactorAuthentication", "risk high atRisk", "request ID req-1"} {
		if !strings.Contains(got, w) {
			t.Errorf("facts %q lack %q", got, w)
		}
	}
	if strings.Contains(got, "Block") {
		t.Errorf("grant control of a policy that did not apply: %q", got)
	}
	modern := factsOf(&trace.Event{Kind: trace.KindSignIn, ClientApp: "Browser"}).text()
	if strings.Contains(modern, "legacy") {
		t.Errorf("browser named legacy: %q", modern)
	}
}

func TestAddedKeys(t *testing.T) {
	e := &trace.Event{Targets: []trace.Target{{Type: "Application", Modified: []trace.ModifiedProperty{{Name: "KeyDescription",
		Old: `["[KeyIdentifier=aaaa-1,KeyType=Password,KeyUsage=Verify,DisplayName=x]"]`,
		New: `["[KeyIdentifier=aaaa-1,KeyType=Password,KeyUsage=Verify,DisplayName=x]","[KeyIdentifier=bbbb-2,KeyType=AsymmetricX509Cert,KeyUsage=Verify,DisplayName=y]"]`}}}}}
	if got := addedKeys(e); len(got) != 1 || got[0] != "AsymmetricX509Cert" {
		t.Errorf("addedKeys = %v", got)
	}
	e.Activity = "Update application – Certificates and secrets management "
	if !isCredentialActivity(e) {
		t.Error("not seen as a credential change")
	}
}

// TestDiagnosticEnvelopeLocationIgnored: the diagnostic envelope's
// "location" is an Azure region, never the user's country.
func TestDiagnosticEnvelopeLocationIgnored(t *testing.T) {
	e := &trace.Event{Kind: trace.KindSignIn, Shape: "diagnostic-ndjson", Extra: []trace.KV{{Key: "location", Value: "US"}}}
	if f := factsOf(e); f.country != "" || f.location != "" {
		t.Errorf("envelope location taken: %+v", f)
	}
	e.Extra = append(e.Extra, trace.KV{Key: "properties.location.countryOrRegion", Value: "NO"})
	if f := factsOf(e); f.country != "NO" {
		t.Errorf("country %q, want NO", f.country)
	}
}

func TestJSONField(t *testing.T) {
	obj := `{"note": "the \"city\" was", "city" : "Oslo", "state":"Oslo\"x","countryOrRegion":"NO","geo":{"lat":1}}`
	for key, want := range map[string]string{"city": "Oslo", "state": `Oslo\"x`, "countryOrRegion": "NO", "lat": "", "missing": ""} {
		if got := jsonField(obj, key); got != want {
			t.Errorf("jsonField(%s) = %q, want %q", key, got, want)
		}
	}
}

// FuzzJSONField: the cheap location reader never panics and returns a
// substring of its input.
func FuzzJSONField(f *testing.F) {
	f.Add(`{"city":"Lagos","countryOrRegion":"NG"}`, "city")
	f.Add(`{"city":"a\`, "city")
	f.Add(`{"city"   :   `, "city")
	f.Fuzz(func(t *testing.T, obj, key string) {
		got := jsonField(obj, key)
		if !strings.Contains(obj, got) {
			t.Errorf("jsonField(%q, %q) = %q, not part of the input", obj, key, got)
		}
	})
}
