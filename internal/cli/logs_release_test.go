package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/entralog"
	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

// TestLogsReleaseKeepsCopies checks that logs copies whatever it keeps of a
// record before it lets the reader reuse the record's memory
// (entralog.Reader.Release): with the reused memory overwritten
// (entralog.PoisonReleased), every output format, and --actor, is the same
// as without, on generated exports of many chunks read on several
// goroutines and on the fixtures.
func TestLogsReleaseKeepsCopies(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4)) // parse on several goroutines
	dir := t.TempDir()
	var files []string
	for _, g := range []struct{ shape, kind, name string }{
		{entralog.ShapeDiagnostic, trace.KindAudit, "audit.ndjson"},
		{entralog.ShapeDiagnostic, trace.KindSignIn, "signins.ndjson"},
		{entralog.ShapePortalCSV, trace.KindSignIn, "signins.csv"},
		{entralog.ShapePortalCSV, trace.KindAudit, "audit.csv"},
	} {
		p := filepath.Join(dir, g.name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := entralog.Generate(f, g.shape, g.kind, 4000, 11); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(p); st.Size() < 1<<20 {
			t.Fatalf("%s: %d bytes, want several chunks", p, st.Size())
		}
		files = append(files, p)
	}
	synth, _ := filepath.Glob(filepath.Join(testutil.Root(), "testdata", "entra-synthetic", "diagnostic-ndjson", "*"))
	files = append(files, synth...)
	runs := [][]string{{"--format", "json"}, {"--format", "csv"}, {"--format", "text"}, {"--format", "md"},
		{"--actor", "fim_password_service@support.onmicrosoft.com", "--format", "json"},
		{"--actor", "Microsoft Office", "--format", "text"}}
	for _, args := range runs {
		for _, f := range files {
			a := append(append([]string{"logs"}, args...), f)
			entralog.PoisonReleased.Store(false)
			code, want, errOut := runCLI(t, a...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", a, code, errOut)
			}
			entralog.PoisonReleased.Store(true)
			_, got, _ := runCLI(t, a...)
			entralog.PoisonReleased.Store(false)
			if got != want {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Errorf("%v: output differs once released records are overwritten, at byte %d: %q instead of %q", a, i, clip(got[i:], 80), clip(want[i:], 80))
			}
			if strings.Contains(want, "########") {
				t.Errorf("%v: output holds ######## before any poisoning", a)
			}
		}
	}
}

func clip(s string, n int) string { return s[:min(n, len(s))] }
