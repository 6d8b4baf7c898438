package analyze

import (
	"strings"
	"testing"
)

// TestEsctxGrowth: the loop finding tells how the esctx-* cookies grew (first
// to last, over how many cycles or requests), and falls back to the most
// carried when they did not grow.
func TestEsctxGrowth(t *testing.T) {
	cycles := func(counts ...int) []authzSeen {
		var run []authzSeen
		for i, c := range counts {
			run = append(run, authzSeen{flow: i + 1, signIn: i + 1, esctx: c})
		}
		return run
	}
	tests := []struct {
		name string
		run  []authzSeen
		one  esctxSeen
		most int
		want string
	}{
		{"growing over cycles", cycles(2, 3, 5, 4), esctxSeen{}, 5, "grew from 2 on the first cycle to 4 on the last, over 4 cycles"},
		{"flat over cycles", cycles(3, 3, 3), esctxSeen{}, 3, "The browser carried 3 esctx-* cookies"},
		{"shrinking over cycles", cycles(4, 2, 1), esctxSeen{}, 4, "The browser carried up to 4 esctx-* cookies"},
		{"none", cycles(0, 0, 0), esctxSeen{}, 0, ""},
		{"one sign-in stopped by 50196", cycles(1), esctxSeen{first: 4, last: 11, most: 11, requests: 7}, 11, "grew from 4 on the sign-in's first request to Entra to 11 on its last, over 7 requests (at most 11)"},
		{"one request only", cycles(1), esctxSeen{first: 6, last: 6, most: 6, requests: 1}, 6, "The browser carried 6 esctx-* cookies"},
		{"one sign-in, fewer at the end", cycles(1), esctxSeen{first: 6, last: 2, most: 7, requests: 3}, 7, "The browser carried up to 7 esctx-* cookies"},
	}
	for _, tt := range tests {
		got := esctxGrowth(tt.run, tt.one, tt.most)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("%s: %q, want it to contain %q", tt.name, got, tt.want)
		}
	}
}

func TestCycleShape(t *testing.T) {
	steps := []Step{
		{Method: "GET", URL: "https://login.microsoftonline.com/t/oauth2/v2.0/authorize", Status: 200},
		{Method: "POST", URL: "https://app.example/signin-oidc", Status: 302},
		{Method: "GET", URL: "http://app.example/", Status: 0},
	}
	want := "GET login.microsoftonline.com/…/v2.0/authorize (200) → POST app.example/signin-oidc (302) → GET app.example/"
	if got := cycleShape(steps); got != want {
		t.Errorf("cycleShape = %q, want %q", got, want)
	}
	if got := cycleShape(nil); got != "" {
		t.Errorf("no steps: %q", got)
	}
	var many []Step
	for range 9 {
		many = append(many, Step{Method: "GET", URL: "https://a.example/x"})
	}
	if got := cycleShape(many); !strings.HasSuffix(got, "→ … 3 more") || strings.Count(got, "GET") != 6 {
		t.Errorf("nine steps: %q", got)
	}
}
