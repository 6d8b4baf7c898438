package main

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Row is one code of the reference or of the table.
type Row struct {
	Code int
	// Name is the symbolic name ("UserStrongAuthClientAuthNRequired"), or ""
	// when there is none.
	Name string
}

// rowRE matches a table row of the AADSTS reference whose first cell is a
// code: "| AADSTS50076 | UserStrongAuthClientAuthNRequired - ... |"; the B2C
// reference writes its codes in backticks: "| `AADB2C90118` | ... |".
func rowRE(prefix string) *regexp.Regexp {
	return regexp.MustCompile(`^\s*\|\s*` + "`?" + regexp.QuoteMeta(prefix) + `(\d+)` + "`?" + `\s*\|(.*)$`)
}

// nameRE is a symbolic name at the start of a description: an identifier
// followed by a dash, or alone in the cell. "Invalid URI - ..." and
// "AADSTS901002: ..." have none.
var nameRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*)\s*(?:-|$)`)

// maxLine bounds one line of the reference (the longest real row is a few
// kilobytes).
const maxLine = 1 << 20

// ParseReference reads the markdown of the AADSTS error-code reference and
// returns its rows in page order (a code listed twice appears twice).
func ParseReference(r io.Reader) ([]Row, error) { return ParseReferenceOf(r, "AADSTS") }

// ParseReferenceOf reads the rows of codes with the given prefix ("AADSTS"
// or "AADB2C") from a reference's markdown. Lines that are not such rows are
// ignored; a row whose code is 0 or longer than nine digits is an error
// naming the line. Symbolic names are read for AADSTS codes only (the B2C
// reference has none: its first words are a message).
func ParseReferenceOf(r io.Reader, prefix string) ([]Row, error) {
	re := rowRE(prefix)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	var rows []Row
	line := 0
	for sc.Scan() {
		line++
		m := re.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		code, err := strconv.Atoi(m[1])
		if err != nil || code <= 0 || len(m[1]) > 9 {
			return nil, fmt.Errorf("line %d: bad code %s%s", line, prefix, m[1])
		}
		desc, _, _ := strings.Cut(m[2], "|")
		var name string
		if n := nameRE.FindStringSubmatch(strings.TrimSpace(desc)); n != nil && prefix == "AADSTS" {
			name = n[1]
		}
		rows = append(rows, Row{Code: code, Name: name})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no %s rows: not the error-code reference", prefix)
	}
	return rows, nil
}

// ParseTable reads the code and name columns of idtrace's aadsts.csv or
// aadb2c.csv (header code,name,category,meaning,action; '#' comments).
func ParseTable(r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = 5
	hdr, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if hdr[0] != "code" || hdr[1] != "name" {
		return nil, fmt.Errorf("header %q: want code, name, category, meaning, action", hdr)
	}
	var rows []Row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		code, err := strconv.Atoi(strings.TrimSpace(rec[0]))
		if err != nil || code <= 0 {
			return nil, fmt.Errorf("line %d: bad code %q", line, rec[0])
		}
		rows = append(rows, Row{Code: code, Name: strings.TrimSpace(rec[1])})
	}
}

// Renamed is a code both lists have, under different names.
type Renamed struct {
	Code       int
	Ref, Table string
}

// Diff is what Compare finds; every list is sorted by code.
type Diff struct {
	// RefCodes is the number of distinct codes of the reference.
	RefCodes int
	// Missing: in the reference, not in the table.
	Missing []Row
	// Renamed: the reference gives a name and the table another (a table
	// row without a name, where the reference has one, counts too).
	Renamed []Renamed
	// Extra: in the table only.
	Extra []Row
	// Twice: codes the reference lists more than once.
	Twice []int
}

// Compare diffs the reference's rows with the table's. For a code the
// reference lists twice, a name given by any of its rows counts.
func Compare(ref, table []Row) Diff {
	var d Diff
	refName := map[int]string{}
	count := map[int]int{}
	for _, r := range ref {
		count[r.Code]++
		if count[r.Code] == 2 {
			d.Twice = append(d.Twice, r.Code)
		}
		if refName[r.Code] == "" {
			refName[r.Code] = r.Name
		}
	}
	d.RefCodes = len(count)
	tabName := map[int]string{}
	for _, t := range table {
		tabName[t.Code] = t.Name
		if _, ok := count[t.Code]; !ok {
			d.Extra = append(d.Extra, t)
		}
	}
	for code, name := range refName {
		tn, ok := tabName[code]
		switch {
		case !ok:
			d.Missing = append(d.Missing, Row{Code: code, Name: name})
		case name != "" && tn != name:
			d.Renamed = append(d.Renamed, Renamed{Code: code, Ref: name, Table: tn})
		}
	}
	byCode := func(a, b Row) int { return cmp.Compare(a.Code, b.Code) }
	slices.SortFunc(d.Missing, byCode)
	slices.SortFunc(d.Extra, byCode)
	slices.SortFunc(d.Renamed, func(a, b Renamed) int { return cmp.Compare(a.Code, b.Code) })
	slices.Sort(d.Twice)
	return d
}
