// Command aadstsdiff compares idtrace's AADSTS table (internal/kb/data/aadsts.csv)
// with the markdown source of Microsoft's public error-code reference, and
// prints what differs:
//
//	missing AADSTS<code> <name>      in the reference, not in the table
//	name    AADSTS<code> <ref> <csv> the reference names the code differently
//	twice   AADSTS<code>             the reference lists the code more than once
//	extra   AADSTS<code> <name>      in the table only (from elsewhere; informational)
//
// Usage, from the repository root:
//
//	curl -sLO https://raw.githubusercontent.com/MicrosoftDocs/entra-docs/main/docs/identity-platform/reference-error-codes.md
//	go run ./internal/kb/tools/aadstsdiff reference-error-codes.md
//
// It exits 1 when a code is missing or named differently, so that a refresh
// ends with an empty report. Only codes and symbolic names are read: the
// reference's descriptions are never copied (docs/kb.md says how rows are
// written).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	csvPath := flag.String("csv", "internal/kb/data/aadsts.csv", "idtrace's AADSTS table")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: aadstsdiff [-csv aadsts.csv] reference-error-codes.md")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	n, err := run(os.Stdout, flag.Arg(0), *csvPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aadstsdiff:", err)
		os.Exit(1)
	}
	if n > 0 {
		os.Exit(1)
	}
}

// run prints the differences and returns how many need a change of the table.
func run(w io.Writer, refPath, csvPath string) (int, error) {
	rf, err := os.Open(refPath)
	if err != nil {
		return 0, err
	}
	defer rf.Close()
	ref, err := ParseReference(rf)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", refPath, err)
	}
	cf, err := os.Open(csvPath)
	if err != nil {
		return 0, err
	}
	defer cf.Close()
	table, err := ParseTable(cf)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", csvPath, err)
	}
	d := Compare(ref, table)
	for _, r := range d.Twice {
		fmt.Fprintf(w, "twice   AADSTS%d\n", r)
	}
	for _, r := range d.Missing {
		fmt.Fprintf(w, "missing AADSTS%d %s\n", r.Code, r.Name)
	}
	for _, r := range d.Renamed {
		fmt.Fprintf(w, "name    AADSTS%d reference %q, table %q\n", r.Code, r.Ref, r.Table)
	}
	for _, r := range d.Extra {
		fmt.Fprintf(w, "extra   AADSTS%d %s\n", r.Code, r.Name)
	}
	fmt.Fprintf(w, "reference: %d codes; table: %d codes; %d missing, %d named differently, %d only in the table\n",
		d.RefCodes, len(table), len(d.Missing), len(d.Renamed), len(d.Extra))
	return len(d.Missing) + len(d.Renamed), nil
}
