// Command aadstsdiff compares idtrace's error-code tables
// (internal/kb/data/aadsts.csv, aadb2c.csv) with the markdown source of
// Microsoft's public error-code references, and prints what differs:
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
//	go run ./internal/kb/tools/aadstsdiff -prefix AADB2C error-codes.md   # Azure AD B2C
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
	prefix := flag.String("prefix", "AADSTS", "which codes: AADSTS (Entra) or AADB2C (Azure AD B2C)")
	csvPath := flag.String("csv", "", "idtrace's table (default internal/kb/data/aadsts.csv, or aadb2c.csv with -prefix AADB2C)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: aadstsdiff [-prefix AADSTS|AADB2C] [-csv table.csv] reference.md")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || (*prefix != "AADSTS" && *prefix != "AADB2C") {
		flag.Usage()
		os.Exit(2)
	}
	if *csvPath == "" {
		*csvPath = map[string]string{"AADSTS": "internal/kb/data/aadsts.csv", "AADB2C": "internal/kb/data/aadb2c.csv"}[*prefix]
	}
	n, err := run(os.Stdout, *prefix, flag.Arg(0), *csvPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aadstsdiff:", err)
		os.Exit(1)
	}
	if n > 0 {
		os.Exit(1)
	}
}

// run prints the differences and returns how many need a change of the table.
func run(w io.Writer, prefix, refPath, csvPath string) (int, error) {
	rf, err := os.Open(refPath)
	if err != nil {
		return 0, err
	}
	defer rf.Close()
	ref, err := ParseReferenceOf(rf, prefix)
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
		fmt.Fprintf(w, "twice   %s%d\n", prefix, r)
	}
	for _, r := range d.Missing {
		fmt.Fprintf(w, "missing %s%d %s\n", prefix, r.Code, r.Name)
	}
	for _, r := range d.Renamed {
		fmt.Fprintf(w, "name    %s%d reference %q, table %q\n", prefix, r.Code, r.Ref, r.Table)
	}
	for _, r := range d.Extra {
		fmt.Fprintf(w, "extra   %s%d %s\n", prefix, r.Code, r.Name)
	}
	fmt.Fprintf(w, "reference: %d codes; table: %d codes; %d missing, %d named differently, %d only in the table\n",
		d.RefCodes, len(table), len(d.Missing), len(d.Renamed), len(d.Extra))
	return len(d.Missing) + len(d.Renamed), nil
}
