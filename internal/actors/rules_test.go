package actors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/entralog"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// ruleCases are principals of every kind the audit rules decide.
var ruleCases = []Principal{
	{Name: "fim_password_service", UPN: "fim_password_service@support.onmicrosoft.com"},
	{UPN: "SPO_SERVICE@support.onmicrosoft.com"},
	{UPN: "fim_passw0rd_service@support.onmicrosoft.com"},
	{UPN: "anything@support.onmicrosoft.net"},
	{UPN: "fim_password_service@contoso.com"},
	{Name: "MS-PIM", UPN: "ms-pim@contoso.com"},
	{Name: "MS-PIM", App: true},
	{Name: "MS-PIM", AppID: "01fc33a7-78ba-4d2f-a4b7-768e336e890e", App: true},
	{Name: "MS-PIM", AppID: "11111111-2222-3333-4444-555555555555", App: true},
	{Name: "Microsoft Azure AD Internal - Jit Provisioning", App: true},
	{UPN: "Sync_DC01_1a2b3c4d5e6f@contoso.onmicrosoft.com"},
	{UPN: "ADToAADSyncServiceAccount@contoso.onmicrosoft.com"},
	{UPN: "Sync_evil@gmail.com"},
	{UPN: "sync_x@contoso.com"},
	{Name: "On-Premises Directory Synchronization Service Account"},
	{Name: "On-Premises Directory Synchronization Service Account", UPN: "helpdesk@contoso.com"},
	{Name: "Alice", UPN: "alice@contoso.com"},
	{UPN: "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com"},
	{Name: "Mystery"},
	{Name: "Backup Robot", AppID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", App: true},
}

// fixturePrincipals reads the actors of the synthetic fixtures (every export
// shape) with the real reader.
func fixturePrincipals(t *testing.T) []Principal {
	t.Helper()
	root := filepath.Join(testutil.Root(), "testdata", "entra-synthetic")
	var ps []Principal
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".md") {
			return err
		}
		r, cl, err := entralog.Open(p)
		if err != nil {
			return err
		}
		defer cl.Close()
		for e, err := range r.Events() {
			if err != nil {
				return err
			}
			for _, a := range []trace.Principal{e.Actor} {
				ps = append(ps, FromTrace(a))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) < 20 {
		t.Fatalf("only %d principals in the synthetic fixtures", len(ps))
	}
	return ps
}

// decidableByRules reports whether a principal is one the KQL table can
// judge: no owner tenant, and no need of the Microsoft app list (which the
// KQL does not carry).
func decidableByRules(k Knowledge, p Principal) bool {
	if p.OwnerTenantID != "" {
		return false
	}
	if _, ok := k.app(p.AppID); ok {
		if _, internal := k.actor(p.AppID); !internal {
			return false
		}
	}
	if _, internal := k.actor(p.Name); !internal && len(k.appsByName(p.Name)) > 0 {
		return false
	}
	_, ok := k.guid(p.AppID)
	return !ok || p.AppID == "" || func() bool { _, i := k.actor(p.AppID); return i }()
}

// TestAuditRulesAgreeWithClassify runs the synthetic fixtures and the rule
// cases through Classify and through the rule table the KQL is generated
// from: both must give the same class.
func TestAuditRulesAgreeWithClassify(t *testing.T) {
	k := Default()
	used := map[string]int{}
	n := 0
	for _, p := range append(fixturePrincipals(t), ruleCases...) {
		if !decidableByRules(k, p) {
			continue
		}
		n++
		r := k.ApplyAuditRules(p)
		used[r.ID]++
		if got := k.Classify(p).Class; got != r.Class {
			t.Errorf("%+v: Classify says %s, rule %s says %s", p, got, r.ID, r.Class)
		}
	}
	if n < 30 {
		t.Errorf("only %d principals compared", n)
	}
	for _, r := range AuditRules {
		if used[r.ID] == 0 {
			t.Errorf("rule %s decided no principal: add a case", r.ID)
		}
	}
}

// TestKQLCaseIsTheRuleTable checks that the audit-actors query's case() is
// the rule table, row by row and in order, with the lists of the knowledge base.
func TestKQLCaseIsTheRuleTable(t *testing.T) {
	var q Query
	for _, x := range DefaultQueries() {
		if x.Name == "audit-actors" {
			q = x
		}
	}
	at := strings.Index(q.Text, "| extend Class = case(")
	if at < 0 {
		t.Fatalf("no case() in:\n%s", q.Text)
	}
	rest := q.Text[at:]
	for _, r := range AuditRules {
		var want string
		if r.ID == AuditRules[len(AuditRules)-1].ID {
			want = kqlString(r.Class) + ") // " + r.ID
		} else {
			want = r.KQL + ", " + kqlString(r.Class) + ", // " + r.ID
		}
		i := strings.Index(rest, want)
		if i < 0 {
			t.Fatalf("rule %s not next in the case():\nwant %s\nin %s", r.ID, want, rest)
		}
		rest = rest[i+len(want):]
	}
	for _, a := range kbActors() {
		for _, s := range []string{a.UPN, a.Name, a.AppID} {
			if s != "" && !strings.Contains(q.Text, kqlString(strings.ToLower(s))) && !strings.Contains(q.Text, kqlString(s)) {
				t.Errorf("internal actor %q missing from the KQL lists", s)
			}
		}
	}
	for _, id := range kbTenants() {
		if !strings.Contains(q.Text, kqlString(id)) {
			t.Errorf("tenant %s missing from the KQL lists", id)
		}
	}
}
