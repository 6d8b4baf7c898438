// Command gen regenerates internal/kb/data/apps.csv, the embedded list of
// Microsoft first-party applications, from a MicrosoftApps.csv export of
// merill/microsoft-info (MIT). Run it from the repository root:
//
//	go run ./internal/kb/gen -in ../shared/testdata/other/merill_MicrosoftApps.csv -out internal/kb/data/apps.csv
//
// It parses the input with kb.LoadApps (the same parser `idtrace kb update`
// uses, which normalises IDs and whitespace and rejects malformed rows),
// sorts the rows by app ID and writes them in the same four-column shape.
// The build never reads the input: the output is committed.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/idtrace/idtrace/internal/kb"
)

func main() {
	in := flag.String("in", "../shared/testdata/other/merill_MicrosoftApps.csv", "merill MicrosoftApps.csv to read")
	out := flag.String("out", "internal/kb/data/apps.csv", "file to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	apps, err := kb.LoadApps(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := kb.WriteApps(w, apps); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	v := 0
	for _, a := range apps {
		if a.Verified {
			v++
		}
	}
	fmt.Fprintf(os.Stderr, "gen: wrote %d apps (%d verified, %d unverified) to %s\n", len(apps), v, len(apps)-v, out)
	return nil
}
