package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
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
		{"89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", actors.ClassMicrosoftApp, []string{"WCSS-Client", "(source: EntraDocs", "Microsoft 365 web header", "appOwnerOrganizationId", "Get-MgServicePrincipal -Filter \"appId eq '89bee1f7-5e6e-4d8a-9f3d-ecd601259da7'\""}},
		{"c44b4083-3bb0-49c1-b47d-974e53cbdf3c", actors.ClassMicrosoftApp, []string{"owner:      f8cdef31-a31e-4b4a-93e4-5f571e91255a (Microsoft Services", "Microsoft Graph (verified)"}},
		{"62e90394-69f5-4237-9190-012177145e10", actors.ClassUnknown, []string{"directory role template: Global Administrator", "cannot be the actor"}},
		{"e1fe6dd8-ba31-4d61-89e7-88639da4683d", actors.ClassUnknown, []string{"Graph permission: User.Read, delegated"}},
		{"72f988bf-86f1-41af-91ab-2d7cd011db47", actors.ClassUnknown, []string{"a tenant: Microsoft corporate tenant"}},
		{"MS-PIM", actors.ClassUnknown, []string{"a name alone proves nothing", "app IDs:    01fc33a7-78ba-4d2f-a4b7-768e336e890e", "seen doing:"}},
		{"Azure Portal", actors.ClassUnknown, []string{"a name alone proves nothing", "app IDs:    c44b4083-3bb0-49c1-b47d-974e53cbdf3c"}},
		{"Office 365 Shell WCSS-Client", actors.ClassUnknown, []string{"app IDs:    89bee1f7-5e6e-4d8a-9f3d-ecd601259da7"}},
		{"Sync_DC01_0123456789ab@contoso.onmicrosoft.com", actors.ClassSync, []string{"Entra Connect"}},
		{"Sync_evil@gmail.com", actors.ClassSuspicious, []string{"exact form"}},
		{"sync_x@contoso.com", actors.ClassSuspicious, []string{"exact form"}},
		{"On-Premises Directory Synchronization Service Account", actors.ClassUnknown, []string{"display name"}},
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
			for _, k := range []string{"name", "upn", "app_id", "class", "count", "evidence", "explanation", "kind", "what", "query"} {
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

// TestWhoisGoldens pins the whole answer for one query of each kind; rewrite
// with go test ./internal/cli -run TestWhoisGoldens -update.
func TestWhoisGoldens(t *testing.T) {
	for _, g := range []struct{ file, query string }{
		{"app", "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7"},
		{"app-verified", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"},
		{"permission", "e1fe6dd8-ba31-4d61-89e7-88639da4683d"},
		{"role-template", "62e90394-69f5-4237-9190-012177145e10"},
		{"tenant", "72f988bf-86f1-41af-91ab-2d7cd011db47"},
		{"internal-actor", "fim_password_service@support.onmicrosoft.com"},
		{"sync-account", "Sync_AADC01_0123456789ab@contoso.onmicrosoft.com"},
		{"look-alike-user", "fim_password_service@contoso.com"},
		{"look-alike-sync", "Sync_evil@gmail.com"},
		{"look-alike-app-name", "Office 365 Shell WCSS-Client"},
		{"unknown", "11111111-2222-3333-4444-555555555555"},
	} {
		t.Run(g.file, func(t *testing.T) {
			code, out, errOut := runCLI(t, "whois", g.query)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			p := filepath.Join("testdata", "whois", g.file+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(p)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if out != string(want) {
				t.Errorf("whois %s differs from %s:\n%s", g.query, p, out)
			}
		})
	}
}

// TestWhoisLookAlikeApp: a record with a Microsoft app's name (spelled as the
// portal spells it) and a non-Microsoft app ID is suspicious.
func TestWhoisLookAlikeApp(t *testing.T) {
	a := actors.Default().Describe(actors.Principal{Name: "Office 365 Shell WCSS-Client", AppID: "11111111-2222-3333-4444-555555555555", App: true})
	if a.Class != actors.ClassSuspicious {
		t.Errorf("class %s, evidence %q", a.Class, a.Evidence)
	}
}

// TestWhoisOddName: a name with invalid UTF-8 before the community marker
// (it made NormalizeName slice out of range) gets an answer, not a panic.
func TestWhoisOddName(t *testing.T) {
	code, out, errOut := runCLI(t, "whois", "\xd8[CommunitY ContriButed]")
	if code != 0 || !strings.Contains(out, "class:      unknown") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}
