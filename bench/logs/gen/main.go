// Command gen writes the synthetic inputs of the logs benchmark with
// entralog.Generate: one million sign-in rows as portal CSV and as
// diagnostic-settings NDJSON, and one million audit rows as NDJSON.
// Everything it writes is invented (see entralog.Generate).
//
//	go run ./bench/logs/gen -dir /tmp/idtrace-bench -n 1000000
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/idtrace/idtrace/internal/entralog"
	"github.com/idtrace/idtrace/internal/trace"
)

func main() {
	dir := flag.String("dir", "/tmp/idtrace-bench", "output directory")
	n := flag.Int("n", 1_000_000, "records per file")
	flag.Parse()
	files := []struct {
		name, shape, kind string
		seed              int64
	}{
		{"signins.csv", entralog.ShapePortalCSV, trace.KindSignIn, 1},
		{"signins.ndjson", entralog.ShapeDiagnostic, trace.KindSignIn, 1},
		{"audit.ndjson", entralog.ShapeDiagnostic, trace.KindAudit, 2},
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for _, f := range files {
		if err := write(filepath.Join(*dir, f.name), f.shape, f.kind, *n, f.seed); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}

func write(path, shape, kind string, n int, seed int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := entralog.Generate(w, shape, kind, n, seed); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
