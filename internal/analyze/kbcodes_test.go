package analyze

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/kb"
)

// TestEveryCodeInTheKnowledgeBase: every AADSTS number the analyzer's code
// names (an integer literal of 5 to 7 digits) is in kb/data/aadsts.csv with
// a category, so that no code is classified by a list of its own here.
func TestEveryCodeInTheKnowledgeBase(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(node ast.Node) bool {
			lit, ok := node.(*ast.BasicLit)
			if !ok || lit.Kind != token.INT {
				return true
			}
			v, err := strconv.ParseInt(lit.Value, 0, 64)
			if err != nil || v < 10000 || v > 9999999 || strings.HasPrefix(lit.Value, "0x") {
				return true
			}
			n++
			e, ok := kb.LookupError(int(v))
			if !ok || e.Category == "" {
				t.Errorf("%s: AADSTS%d is not in the knowledge base with a category", fset.Position(lit.Pos()), v)
			}
			return true
		})
	}
	if n == 0 {
		t.Error("no code literal found: the scan is broken")
	}
}

// TestEveryKnownCodeFollowsItsCategory runs each code of the knowledge base
// through the analyzer (as a token endpoint error) and checks that the
// finding's severity is the one its category gives, and that only errors
// reach the verdict.
func TestEveryKnownCodeFollowsItsCategory(t *testing.T) {
	all := kb.Errors()
	for _, e := range all {
		var b fb
		b.add("POST", entra+tenant+"/oauth2/v2.0/token", nil, "grant_type=client_credentials&client_id="+appID+"&client_secret=x&scope=s", 400, nil,
			entraError(e.Code, "invalid_request", "synthetic"))
		r, err := Run(sliceSource(b.flows), Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := e.Severity()
		var got []string
		for _, f := range r.Findings {
			if strings.HasSuffix(f.Code, fmt.Sprintf(".aadsts%d", e.Code)) {
				got = append(got, f.Severity)
			}
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("AADSTS%d (%s): finding severities %v, want [%s]", e.Code, e.Category, got, want)
		}
		inVerdict := len(r.Verdict) > 0 && r.Verdict[0].Code == fmt.Sprintf("AADSTS%d", e.Code)
		if inVerdict != (want == SeverityError) {
			t.Errorf("AADSTS%d (%s): in verdict %v, severity %s", e.Code, e.Category, inVerdict, want)
		}
		if inVerdict && (r.Verdict[0].CorrelationID != "c" || r.Verdict[0].RequestID != "t" || r.Verdict[0].Category != e.Category) {
			t.Errorf("AADSTS%d: verdict row %+v", e.Code, r.Verdict[0])
		}
	}
	if len(categoryFinding) != len(kb.Categories) {
		t.Errorf("categoryFinding names %d categories, the knowledge base has %d", len(categoryFinding), len(kb.Categories))
	}
	for _, c := range kb.Categories {
		if categoryFinding[c].code == "" {
			t.Errorf("category %s has no finding code", c)
		}
	}
}

// TestContextDependentCode: AADSTS16000 is told with the sign-in's own
// account and tenant, and the verdict carries the error body's identifiers.
func TestContextDependentCode(t *testing.T) {
	var b fb
	b.add("GET", authz("&login_hint=eve%40fabrikam.example"), nil, "", 302,
		loc(spa+"?error=interaction_required&error_description=AADSTS16000%3a+User+account+does+not+exist+in+tenant&state=S1"), "")
	r, err := Run(sliceSource(b.flows), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var f *Finding
	for i := range r.Findings {
		if strings.HasSuffix(r.Findings[i].Code, ".aadsts16000") {
			f = &r.Findings[i]
		}
	}
	if f == nil || !strings.Contains(f.Detail, "eve@fabrikam.example") || !strings.Contains(f.Detail, tenant) {
		t.Fatalf("16000 not told with the record's facts: %+v", r.Findings)
	}
	if len(r.Verdict) != 1 || r.Verdict[0].User != "eve@fabrikam.example" || r.Verdict[0].Tenant != tenant || r.Verdict[0].App != appID {
		t.Errorf("verdict %+v", r.Verdict)
	}
}

// TestCodesToldInContext: each code whose meaning depends on the request is
// told with the sign-in's own account, tenant, app, redirect URI or scopes.
func TestCodesToldInContext(t *testing.T) {
	tests := []struct {
		code int
		want []string
	}{
		{50020, []string{"the account eve@fabrikam.example has no user object in the tenant " + tenant + " the app asked for"}},
		{50034, []string{"the account eve@fabrikam.example was not found in the tenant " + tenant}},
		{51004, []string{"the account eve@fabrikam.example was not found in the tenant " + tenant}},
		{50105, []string{"the account eve@fabrikam.example is not assigned to the app " + appID}},
		{700016, []string{"the app " + appID + " is not registered nor provisioned in the tenant " + tenant}},
		{500011, []string{"the resource openid profile has no service principal in the tenant " + tenant}},
		{50011, []string{"the app " + appID + " sent redirect_uri " + spa}},
		{65001, []string{"the app " + appID + " has no consent for openid profile"}},
		{50076, nil}, // told the same way everywhere
	}
	for _, tt := range tests {
		var b fb
		b.add("GET", authz("&login_hint=eve%40fabrikam.example"), nil, "", 302,
			loc(spa+fmt.Sprintf("?error=invalid_request&error_description=AADSTS%d%%3a+synthetic&state=S1", tt.code)), "")
		r, err := Run(sliceSource(b.flows), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var detail string
		for _, f := range r.Findings {
			if strings.HasSuffix(f.Code, fmt.Sprintf(".aadsts%d", tt.code)) {
				detail = f.Detail
			}
		}
		if detail == "" {
			t.Errorf("AADSTS%d: no finding in %+v", tt.code, r.Findings)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(detail, " Here: "+w+".") {
				t.Errorf("AADSTS%d: detail %q lacks %q", tt.code, detail, w)
			}
		}
		if tt.want == nil && strings.Contains(detail, "Here:") {
			t.Errorf("AADSTS%d: context added where none applies: %q", tt.code, detail)
		}
	}
}

// TestEveryB2CCodeFollowsItsCategory: each AADB2C code of the knowledge
// base, returned to the app as an error redirect, gives one finding of the
// severity its category gives, and only errors reach the verdict.
func TestEveryB2CCodeFollowsItsCategory(t *testing.T) {
	for _, e := range kb.B2CErrors() {
		var b fb
		b.add("GET", "https://login.contoso.example/"+tenant+"/B2C_1A_signin/oauth2/v2.0/authorize?client_id="+appID+"&response_type=code&redirect_uri="+url.QueryEscape(spa)+"&scope=openid&state=S1", nil, "", 302,
			loc(spa+fmt.Sprintf("?error=server_error&error_description=AADB2C%d%%3a+synthetic&state=S1", e.Code)), "")
		r, err := Run(sliceSource(b.flows), Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range r.Findings {
			if strings.HasSuffix(f.Code, fmt.Sprintf(".aadb2c%d", e.Code)) {
				got = append(got, f.Severity)
			}
		}
		if len(got) != 1 || got[0] != e.Severity() {
			t.Errorf("AADB2C%d (%s): finding severities %v, want [%s]", e.Code, e.Category, got, e.Severity())
		}
		inVerdict := len(r.Verdict) > 0 && r.Verdict[0].Code == fmt.Sprintf("AADB2C%d", e.Code)
		if inVerdict != (e.Severity() == SeverityError) {
			t.Errorf("AADB2C%d (%s): in verdict %v", e.Code, e.Category, inVerdict)
		}
		if len(r.Flows) != 1 || !r.Flows[0].B2C || r.Flows[0].Policy != "B2C_1A_signin" {
			t.Errorf("AADB2C%d: sign-in %+v", e.Code, r.Flows)
		}
	}
}
