package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/actors"
	"github.com/idtrace/idtrace/internal/entralog"
	"github.com/idtrace/idtrace/internal/testutil"
)

// labelAndTell runs the classifier and the story builder over one export,
// as logs does, and returns the actors and stories as JSON. With lean, the
// reader keeps only actors.ExtraKeys in Extra and parses on two workers.
func labelAndTell(t *testing.T, path string, data []byte, lean bool) string {
	t.Helper()
	rd, err := entralog.NewReader(bytes.NewReader(data), path)
	if err != nil {
		t.Fatal(err)
	}
	if lean {
		rd.KeepExtra(actors.ExtraKeys())
		rd.SetWorkers(2)
	}
	c := actors.NewClassifier(actors.Default())
	var out []byte
	b := actors.NewStoryBuilder(c, func(s *actors.Story) error {
		out = append(s.AppendJSON(out), '\n')
		return nil
	})
	for e, err := range rd.Events() {
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		c.Add(e)
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	a, err := json.Marshal(c.Actors())
	if err != nil {
		t.Fatal(err)
	}
	return string(a) + "\n" + string(out)
}

// TestLogsLeanExtraSameStories checks that keeping only the Extra fields the
// classifier and stories read (and parsing on two workers) changes no label
// and no story, on every log fixture and the shared real samples.
func TestLogsLeanExtraSameStories(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "entralog", "testdata", "*.*"))
	synth, _ := filepath.Glob(filepath.Join(testutil.Root(), "testdata", "entra-synthetic", "*", "*.*"))
	paths = append(append(paths, synth...), testutil.SharedFiles(t, "entra", "*")...)
	var gen bytes.Buffer
	if err := entralog.Generate(&gen, entralog.ShapeDiagnostic, "audit", 3000, 3); err != nil {
		t.Fatal(err)
	}
	checked, told := 0, 0
	for _, p := range append(paths, "generated-audit.ndjson") {
		if strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".txt") || strings.HasSuffix(p, ".golden") {
			continue
		}
		data := gen.Bytes()
		if p != "generated-audit.ndjson" {
			var err error
			if data, err = os.ReadFile(p); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := entralog.NewReader(bytes.NewReader(data), p); err != nil {
			continue // not a log export
		}
		full, lean := labelAndTell(t, p, data, false), labelAndTell(t, p, data, true)
		if full != lean {
			t.Errorf("%s: labels or stories differ with the lean reader", p)
		}
		if strings.Count(full, "\n") >= 2 {
			told++
		}
		checked++
	}
	if checked < 20 || told < checked/2 {
		t.Fatalf("only %d exports checked, %d with stories", checked, told)
	}
}
