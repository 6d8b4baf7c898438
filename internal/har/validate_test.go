package har

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// validator returns the command line of tools/harvalidate, failing when CI=true
// and it is not installed (./test.sh runs npm ci first), skipping otherwise.
func validator(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join(testutil.Root(), "tools", "harvalidate")
	_, errMod := os.Stat(filepath.Join(dir, "node_modules", "har-validator"))
	node, errNode := exec.LookPath("node")
	if errMod != nil || errNode != nil {
		msg := "har-validator is not installed (run npm ci in tools/harvalidate)"
		if errNode != nil {
			msg = "node is not on PATH"
		}
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return []string{node, filepath.Join(dir, "validate.js")}
}

func runValidator(t *testing.T, files []string) {
	t.Helper()
	cmd := validator(t)
	out, err := exec.Command(cmd[0], append(cmd[1:], files...)...).CombinedOutput()
	if err != nil {
		var fails []string
		for _, l := range strings.Split(string(out), "\n") {
			if !strings.HasPrefix(l, "ok ") {
				fails = append(fails, l)
			}
		}
		if len(fails) > 60 {
			fails = fails[:60]
		}
		t.Fatalf("har-validator rejected the writer's output: %v\n%s", err, strings.Join(fails, "\n"))
	}
	if got := strings.Count(string(out), "\nok ") + boolInt(strings.HasPrefix(string(out), "ok ")); got != len(files) {
		t.Fatalf("validator reported %d ok of %d files:\n%s", got, len(files), out)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestWriterOutputValidates writes every good corpus HAR (and the synthetic
// flows of this package's tests) through the Writer and validates the results
// with the npm package har-validator.
func TestWriterOutputValidates(t *testing.T) {
	good, _ := corpus(t)
	dir := t.TempDir()
	var files []string
	for _, path := range good {
		flows, meta, err := readAll(mustRead(t, path), filepath.Base(path))
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, filepath.Base(path))
		if err := os.WriteFile(out, writeAll(t, flows, meta), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, out)
	}
	for i, c := range syntheticFlows() {
		out := filepath.Join(dir, "synthetic-"+string(rune('a'+i))+".har")
		var buf bytes.Buffer
		w := NewWriter(&buf, nil)
		if err := w.WriteFlow(c); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(&trace.Meta{Pages: []trace.Page{{ID: "p1", OnLoad: trace.NA, OnContentLoad: 12.5}}}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, out)
	}
	runValidator(t, files)
}

// TestValidatorCatchesInvalid makes sure the validator run above can fail:
// a HAR without creator and with a non-integer status must be rejected.
func TestValidatorCatchesInvalid(t *testing.T) {
	cmd := validator(t)
	bad := filepath.Join(t.TempDir(), "bad.har")
	doc := `{"log":{"version":"1.2","entries":[{"startedDateTime":"x","time":1,"request":{},"response":{"status":"200"},"cache":{},"timings":{}}]}}`
	if err := os.WriteFile(bad, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(cmd[0], append(cmd[1:], bad)...).CombinedOutput()
	if err == nil {
		t.Fatalf("validator accepted an invalid HAR:\n%s", out)
	}
	if !strings.Contains(string(out), "creator") {
		t.Errorf("validator output does not name the missing creator:\n%s", out)
	}
}
