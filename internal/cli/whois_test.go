package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/actors"
)

func TestWhois(t *testing.T) {
	tests := []struct {
		query, class string
		want         []string // substrings of the text output
	}{
		{"fim_password_service@support.onmicrosoft.com", actors.ClassMicrosoftInternal, []string{"documented Microsoft-internal account", "self-service password reset", "seen doing:"}},
		{"FIM_PASSWORD_SERVICE@support.onmicrosoft.com", actors.ClassMicrosoftInternal, []string{"documented Microsoft-internal account"}},
		{"fim_passw0rd_service@support.onmicrosoft.com", actors.ClassSuspicious, []string{"not one of Microsoft's documented internal accounts"}},
		{"anything@support.onmicrosoft.net", actors.ClassSuspicious, []string{"support.onmicrosoft.net"}},
		{"89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", actors.ClassMicrosoftApp, []string{"WCSS-Client", "(source: EntraDocs)"}},
		{"MS-PIM", actors.ClassMicrosoftInternal, []string{"Privileged Identity Management"}},
		{"Azure Portal", actors.ClassMicrosoftApp, []string{"found by display name", "look-alike"}},
		{"Sync_DC01_abcdef@contoso.onmicrosoft.com", actors.ClassSync, []string{"Entra Connect"}},
		{"On-Premises Directory Synchronization Service Account", actors.ClassSync, []string{"display name"}},
		{"alice@contoso.example", actors.ClassTenantUser, []string{"A user account of this tenant"}},
		{"11111111-2222-3333-4444-555555555555", actors.ClassUnknown, []string{"not a Microsoft app"}},
		{"Totally Unknown Thing", actors.ClassUnknown, []string{"matches nothing known"}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			code, out, errOut := runCLI(t, "whois", tc.query)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if !strings.Contains(out, "class:      "+tc.class+"\n") {
				t.Errorf("class is not %s:\n%s", tc.class, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			code, out, _ = runCLI(t, "whois", "--format", "json", tc.query)
			if code != 0 {
				t.Fatal(code)
			}
			var obj map[string]any
			if err := json.Unmarshal([]byte(out), &obj); err != nil {
				t.Fatalf("not one JSON object: %v\n%s", err, out)
			}
			for _, k := range []string{"name", "upn", "app_id", "class", "count", "evidence", "explanation"} {
				if _, ok := obj[k]; !ok {
					t.Errorf("JSON lacks %q: %s", k, out)
				}
			}
			if obj["class"] != tc.class {
				t.Errorf("json class = %v", obj["class"])
			}
		})
	}
}

func TestWhoisUsage(t *testing.T) {
	for _, args := range [][]string{{"whois"}, {"whois", "a", "b"}, {"whois", "--format", "xml", "a"}} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
