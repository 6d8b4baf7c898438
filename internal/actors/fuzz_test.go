package actors_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/idtrace/idtrace/internal/actors"
	"github.com/idtrace/idtrace/internal/entralog"
	"github.com/idtrace/idtrace/internal/testutil"
)

// FuzzAnalyze feeds whatever the entralog readers make of arbitrary bytes
// through the classifier and the story builder: no panic, every actor gets a
// known class with evidence, every story is valid JSON with steps.
func FuzzAnalyze(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(testutil.Root(), "testdata", "entra-synthetic", "*", "*"))
	seeds = append(seeds, testutil.SharedFiles(f, "entra", "*")...)
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := entralog.NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		c := actors.NewClassifier(actors.Default())
		stories := 0
		b := actors.NewStoryBuilder(c, func(s *actors.Story) error {
			stories++
			if len(s.Steps) == 0 || s.Kind == "" || s.Summary == "" {
				t.Errorf("empty story %+v", s)
			}
			if js := s.AppendJSON(nil); !json.Valid(js) {
				t.Errorf("invalid story JSON %s", js)
			}
			return nil
		})
		n := 0
		for e, err := range rd.Events() {
			if err != nil {
				break
			}
			n++
			c.Add(e)
			if err := b.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}
		if c.Events() != n || stories > n {
			t.Errorf("%d events counted for %d read, %d stories", c.Events(), n, stories)
		}
		for _, a := range c.Actors() {
			if !slices.Contains(actors.Classes, a.Class) || len(a.Evidence) == 0 || a.Explanation == "" || a.Count < 1 {
				t.Errorf("bad actor %+v", a)
			}
		}
	})
}
