package actors

import (
	"fmt"
	"strings"
	"testing"
	"time"

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

// TestStoriesSurviveGroupReuse: a story keeps its content while the builder
// reuses the groups it was told from for later records.
func TestStoriesSurviveGroupReuse(t *testing.T) {
	var stories []*Story
	var early []string
	b := NewStoryBuilder(NewClassifier(Default()), func(s *Story) error {
		stories = append(stories, s)
		early = append(early, string(s.AppendJSON(nil)))
		return nil
	})
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3000 {
		e := &trace.Event{Kind: trace.KindSignIn, Time: t0.Add(time.Duration(i) * 7 * time.Second),
			CorrelationID: fmt.Sprintf("corr-%d", i/2), // two records per correlation
			Actor:         trace.Principal{Type: "user", UPN: fmt.Sprintf("user%d@contoso.example", i%50)},
			App:           trace.Principal{Type: "app", AppID: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", DisplayName: "Azure Portal"},
			IPAddress:     "203.0.113.7", ErrorCode: []int{0, 50126, 50076}[i%3], File: "t.ndjson", Line: i + 1}
		b.Classifier.Add(e)
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(stories) != 1500 {
		t.Fatalf("%d stories, want 1500", len(stories))
	}
	if s := stories[0]; s.CorrelationID != "corr-0" || len(s.Steps) != 2 || s.Steps[1].Source != "t.ndjson:2" {
		t.Errorf("first story: correlation %q, %d steps; want corr-0 with 2 steps from t.ndjson:1 and :2", s.CorrelationID, len(s.Steps))
	}
	for i, s := range stories {
		if got := string(s.AppendJSON(nil)); got != early[i] {
			t.Fatalf("story %d changed after it was emitted:\n got %s\nwant %s", i, got, early[i])
		}
	}
	if len(b.free) == 0 {
		t.Error("no closed group was kept for reuse")
	}
}

// TestSignInDetailWithoutApp checks that a sign-in whose detail has nothing
// before its facts (no app, resource, interactive flag or error) does not
// start with the separator.
func TestSignInDetailWithoutApp(t *testing.T) {
	var got []*Story
	b := NewStoryBuilder(NewClassifier(Default()), func(s *Story) error { got = append(got, s); return nil })
	e := &trace.Event{Kind: trace.KindSignIn, Time: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC), CorrelationID: "c1",
		Actor: trace.Principal{Type: "user", UPN: "alice@contoso.example"}, IPAddress: "203.0.113.7", File: "t.ndjson", Line: 1}
	b.Classifier.Add(e)
	if err := b.Add(e); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Steps) != 1 {
		t.Fatalf("%d stories, want one sign-in of one step", len(got))
	}
	if d := got[0].Steps[0].Detail; strings.HasPrefix(d, ";") || !strings.Contains(d, "203.0.113.7") {
		t.Errorf("detail %q: want the facts (IP 203.0.113.7) without a leading separator", d)
	}
}
