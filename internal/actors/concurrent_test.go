package actors_test

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/actors"
	"github.com/idtrace/idtrace/internal/entralog"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// tellAll feeds every record of the generated export to a story builder and
// returns the stories' JSON in the order Sink got them, and the counts.
func tellAll(t *testing.T, data []byte, concurrent bool) ([]string, map[string]int) {
	t.Helper()
	return tellFile(t, "gen.ndjson", data, concurrent, false)
}

// tellFile is tellAll for an export read as a file called name; with reuse,
// the builder refills one Story (Reuse).
func tellFile(t *testing.T, name string, data []byte, concurrent, reuse bool) ([]string, map[string]int) {
	t.Helper()
	r, err := entralog.NewReader(bytes.NewReader(data), name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	c := actors.NewClassifier(actors.Default())
	b := actors.NewStoryBuilder(c, func(s *actors.Story) error {
		out = append(out, string(s.AppendJSON(nil)))
		return nil
	})
	b.Window = actors.DefaultWindow
	b.Reuse = reuse
	if concurrent {
		b.Concurrent()
	}
	for ev, err := range r.Events() {
		if err != nil {
			t.Fatal(err)
		}
		c.Add(ev)
		if err := b.Add(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	return out, maps.Clone(b.Counts())
}

// TestConcurrentSameStories checks that telling stories on the builder's own
// goroutine (Concurrent) gives the same stories, in the same order, with the
// same counts, on audit records (multi-record stories joined across
// correlations) and sign-ins.
func TestConcurrentSameStories(t *testing.T) {
	for _, kind := range []string{trace.KindAudit, trace.KindSignIn} {
		var data bytes.Buffer
		if err := entralog.Generate(&data, entralog.ShapeDiagnostic, kind, 6000, 5); err != nil {
			t.Fatal(err)
		}
		want, wantN := tellAll(t, data.Bytes(), false)
		got, gotN := tellAll(t, data.Bytes(), true)
		if len(want) < 1000 {
			t.Fatalf("%s: only %d stories", kind, len(want))
		}
		if len(got) != len(want) || !maps.Equal(gotN, wantN) {
			t.Fatalf("%s: %d stories %v concurrently, %d %v in line", kind, len(got), gotN, len(want), wantN)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: story %d differs:\n got %s\nwant %s", kind, i, got[i], want[i])
			}
		}
	}
}

// TestConcurrentSinkError checks that a Sink error stops a concurrent
// builder: a later Add or Flush returns it.
func TestConcurrentSinkError(t *testing.T) {
	var data bytes.Buffer
	if err := entralog.Generate(&data, entralog.ShapeDiagnostic, trace.KindSignIn, 3000, 5); err != nil {
		t.Fatal(err)
	}
	r, err := entralog.NewReader(bytes.NewReader(data.Bytes()), "gen.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	told := 0
	c := actors.NewClassifier(actors.Default())
	b := actors.NewStoryBuilder(c, func(*actors.Story) error {
		if told++; told == 10 {
			return boom
		}
		return nil
	})
	b.Concurrent()
	var addErr error
	for ev, err := range r.Events() {
		if err != nil {
			t.Fatal(err)
		}
		c.Add(ev)
		if addErr = b.Add(ev); addErr != nil {
			break
		}
	}
	if err := b.Flush(); !errors.Is(err, boom) {
		t.Fatalf("Flush = %v, want %v", err, boom)
	}
	if addErr != nil && !errors.Is(addErr, boom) {
		t.Fatalf("Add = %v, want nil or %v", addErr, boom)
	}
	if told != 10 {
		t.Errorf("Sink called %d times, want it to stop after the error (10)", told)
	}
}

// TestReuseSameStories checks that a builder refilling one Story (Reuse)
// hands Sink the same stories as one making a new Story each time, in line
// and concurrently: on generated audit records (stories of several steps)
// and sign-ins, and on the synthetic and real exports (stories with flags
// and related correlations).
func TestReuseSameStories(t *testing.T) {
	inputs := map[string][]byte{}
	for _, kind := range []string{trace.KindAudit, trace.KindSignIn} {
		var data bytes.Buffer
		if err := entralog.Generate(&data, entralog.ShapeDiagnostic, kind, 6000, 8); err != nil {
			t.Fatal(err)
		}
		inputs["generated "+kind+".ndjson"] = data.Bytes()
	}
	files, _ := filepath.Glob(filepath.Join(testutil.Root(), "testdata", "entra-synthetic", "*", "*"))
	for _, p := range append(files, testutil.SharedFiles(t, "entra", "*")...) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		inputs[p] = data
	}
	stories, multi, flagged := 0, 0, 0
	for name, data := range inputs {
		if _, err := entralog.NewReader(bytes.NewReader(data), filepath.Base(name)); err != nil {
			continue // not a log export (a README)
		}
		want, wantN := tellFile(t, filepath.Base(name), data, false, false)
		for _, s := range want {
			if strings.Count(s, `"time":`) > 1 {
				multi++
			}
			if strings.Contains(s, `"flags":`) {
				flagged++
			}
		}
		stories += len(want)
		for _, concurrent := range []bool{false, true} {
			got, gotN := tellFile(t, filepath.Base(name), data, concurrent, true)
			if !slices.Equal(got, want) || !maps.Equal(gotN, wantN) {
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Fatalf("%s (concurrent %v): story %d differs with Reuse:\n got %s\nwant %s", name, concurrent, i, got[i], want[i])
					}
				}
				t.Fatalf("%s (concurrent %v): %d stories %v with Reuse, %d %v without", name, concurrent, len(got), gotN, len(want), wantN)
			}
		}
	}
	if stories < 5000 || multi < 100 || flagged < 3 {
		t.Fatalf("%d stories compared, %d of several steps, %d flagged: too few", stories, multi, flagged)
	}
}
