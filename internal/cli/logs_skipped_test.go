package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
)

// A diagnostic export that mixes in another category: its records are
// counted and named, on stderr and in the JSON, never silently dropped.
func TestLogsReportsOtherCategories(t *testing.T) {
	audit, err := os.ReadFile(filepath.Join(testutil.SharedDir(t, "entra"), "elastic_diag_AuditLogs_sample.log"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile(filepath.Join("..", "entralog", "testdata", "bad", "unknown_category.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(audit)), "\n")
	p := filepath.Join(t.TempDir(), "mixed.ndjson")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"+string(other)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := idt(t, "", "logs", "--format", "json", p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Events int `json:"events"`
		Files  []struct {
			Skipped map[string]int `json:"skipped"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Events != len(lines) || len(doc.Files) != 1 || doc.Files[0].Skipped["ProvisioningLogs"] != 1 {
		t.Errorf("events %d (want %d), files %+v", doc.Events, len(lines), doc.Files)
	}
	if !strings.Contains(errOut, "passed over 1 record(s) of category ProvisioningLogs") {
		t.Errorf("stderr lacks the note: %q", errOut)
	}
}
