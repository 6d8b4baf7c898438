package kb

import (
	"slices"
	"testing"
)

func TestSeverityFollowsCategory(t *testing.T) {
	for _, tt := range []struct {
		code int
		sev  string
	}{
		{500121, SeverityError}, // MFA attempted and failed
		{50076, SeverityWarning}, {50074, SeverityWarning}, {50058, SeverityWarning},
		{50140, SeverityInfo}, {70016, SeverityInfo},
		{53003, SeverityError}, {50196, SeverityError}, {50126, SeverityError},
	} {
		e, ok := LookupError(tt.code)
		if !ok {
			t.Errorf("AADSTS%d not in the knowledge base", tt.code)
			continue
		}
		if got := e.Severity(); got != tt.sev {
			t.Errorf("AADSTS%d (%s): severity %s, want %s", tt.code, e.Category, got, tt.sev)
		}
	}
	for _, c := range Categories {
		if s := CategorySeverity(c); s != SeverityInfo && s != SeverityWarning && s != SeverityError {
			t.Errorf("category %s: severity %q", c, s)
		}
	}
}

func TestB2CErrors(t *testing.T) {
	if err := CheckErrors(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []int{90118, 90091} {
		e, ok := LookupB2CError(c)
		if !ok || e.Category != CategorySignal || e.Severity() != SeverityInfo {
			t.Errorf("AADB2C%d: %+v %v, want a signal of severity info", c, e, ok)
		}
	}
	all := B2CErrors()
	if len(all) < 20 {
		t.Errorf("only %d AADB2C codes", len(all))
	}
	for _, e := range all {
		if !slices.Contains(Categories, e.Category) || len(e.Meaning) < 20 || len(e.Action) < 10 {
			t.Errorf("AADB2C%d: thin or bad entry %+v", e.Code, e)
		}
	}
	for in, want := range map[string]int{
		"AADB2C90118: The user has forgotten their password.": 90118,
		"error_description=aadb2c90091%3a+cancelled":          90091,
		"AADB2C: none AADB2C99002":                            99002,
		"AADSTS50076":                                         0,
		"":                                                    0,
		"AADB2C":                                              0,
	} {
		if got := FindB2CCode(in); got != want {
			t.Errorf("FindB2CCode(%q) = %d, want %d", in, got, want)
		}
	}
}

func FuzzFindB2CCode(f *testing.F) {
	f.Add("AADB2C90118: x")
	f.Add("aadb2c")
	f.Fuzz(func(t *testing.T, s string) {
		if n := FindB2CCode(s); n < 0 {
			t.Fatalf("negative code %d", n)
		}
	})
}
