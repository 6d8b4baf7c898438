package actors

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// kustoDir is the npm project that runs Microsoft's Kusto.Language.
var kustoDir = filepath.Join("..", "..", "tests", "kusto")

type kustoResult struct {
	Name        string `json:"name"`
	Diagnostics []struct {
		Severity string `json:"severity"`
		Code     string `json:"code"`
		Message  string `json:"message"`
		Start    int    `json:"start"`
		Length   int    `json:"length"`
	} `json:"diagnostics"`
}

// runKusto checks queries with Microsoft's parser and semantic analyzer
// (tests/kusto/check.js). Without node or the npm modules it fails under
// CI=true and skips otherwise.
func runKusto(t *testing.T, qs []Query) []kustoResult {
	t.Helper()
	node, err := exec.LookPath("node")
	_, serr := os.Stat(filepath.Join(kustoDir, "node_modules", "@kusto", "language-service-next"))
	if err != nil || serr != nil {
		msg := "the KQL check needs node and tests/kusto/node_modules (run npm ci in tests/kusto)"
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: node %v, modules %v", msg, err, serr)
		}
		t.Skip(msg)
	}
	in, err := json.Marshal(qs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(kustoDir, "check.js"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("check.js: %v: %s", err, stderr.String())
	}
	var res []kustoResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("check.js output: %v", err)
	}
	if len(res) != len(qs) {
		t.Fatalf("check.js answered %d queries of %d", len(res), len(qs))
	}
	return res
}

// TestKQLPassesKusto runs every query `idtrace logs --kql` prints through
// Kusto.Language against the documented schemas of the Entra tables: no
// syntax error, no unknown column, table or function, no type error.
func TestKQLPassesKusto(t *testing.T) {
	qs := DefaultQueries()
	for i, r := range runKusto(t, qs) {
		if r.Name != qs[i].Name {
			t.Fatalf("answer %d is for %q, want %q", i, r.Name, qs[i].Name)
		}
		for _, d := range r.Diagnostics {
			at := qs[i].Text[min(d.Start, len(qs[i].Text)):min(d.Start+max(d.Length, 20), len(qs[i].Text))]
			if d.Severity == "Error" {
				t.Errorf("%s: %s %s at %d (%q)", r.Name, d.Code, d.Message, d.Start, at)
			} else {
				t.Logf("%s: %s %s %s at %d (%q)", r.Name, d.Severity, d.Code, d.Message, d.Start, at)
			}
		}
	}
}

// TestKustoCatchesMistakes makes sure the check is not vacuous: a wrong
// column, a wrong table, a type error and a syntax error are all reported.
func TestKustoCatchesMistakes(t *testing.T) {
	bad := []Query{
		{Name: "column", Text: `SigninLogs | where AppOwnerTenantId == "x"`},
		{Name: "table", Text: `SignInLogz | take 1`},
		{Name: "type", Text: `AuditLogs | where TimeGenerated > "yesterday" + 1`},
		{Name: "syntax", Text: `AuditLogs | where (OperationName == "x"`},
		{Name: "good", Text: `AADServicePrincipalSignInLogs | summarize count() by ServicePrincipalName, AppId`},
	}
	res := runKusto(t, bad)
	for i, r := range res {
		errs := 0
		for _, d := range r.Diagnostics {
			if d.Severity == "Error" {
				errs++
			}
		}
		if (errs == 0) != (bad[i].Name == "good") {
			t.Errorf("%s: %d errors: %+v", r.Name, errs, r.Diagnostics)
		}
	}
}
