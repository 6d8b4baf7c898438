package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

const refFile = "testdata/reference-error-codes-3164b3b5.md"

// TestTableHasEveryReferenceCode: every code of the checked revision of
// Microsoft's reference is in data/aadsts.csv, under the reference's name
// where it gives one.
func TestTableHasEveryReferenceCode(t *testing.T) {
	var out bytes.Buffer
	n, err := run(&out, "AADSTS", refFile, "../../data/aadsts.csv")
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d codes missing or named differently:\n%s", n, out.String())
	}
	f, err := os.Open(refFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref, err := ParseReference(f)
	if err != nil {
		t.Fatal(err)
	}
	// The revision's table has 346 rows, 50147 twice.
	if d := Compare(ref, nil); len(ref) != 346 || d.RefCodes != 345 || len(d.Twice) != 1 || d.Twice[0] != 50147 {
		t.Errorf("reference extract: %d rows, %d codes, twice %v; want 346, 345, [50147]", len(ref), d.RefCodes, d.Twice)
	}
}

func TestParseReferenceRows(t *testing.T) {
	md := strings.Join([]string{
		"## AADSTS error codes",
		"| Error | Description |",
		"|---|---|",
		"| AADSTS50076 | UserStrongAuthClientAuthNRequired - Due to a change, the user must use MFA. |",
		"| AADSTS50078 | UserStrongAuthExpired- Presented MFA has expired.|",
		"| AADSTS50029 | Invalid URI - domain name contains invalid characters. |",
		"| AADSTS901002 | AADSTS901002: The 'resource' request parameter isn't supported. |",
		"| AADSTS50086 | SasNonRetryableError |",
		"|AADSTS160021| AppSessionSelectionInvalidSessionNotExist - a | b |",
		"| AADSTS50192 | Invalid Request - RawCredentialExpectedNotFound - No credential. |",
		"| `invalid_request` | Protocol error. | Fix it. |",
		"text AADSTS50011 in prose is not a row",
	}, "\n")
	rows, err := ParseReference(strings.NewReader(md))
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{{50076, "UserStrongAuthClientAuthNRequired"}, {50078, "UserStrongAuthExpired"}, {50029, ""},
		{901002, ""}, {50086, "SasNonRetryableError"}, {160021, "AppSessionSelectionInvalidSessionNotExist"}, {50192, ""}}
	if len(rows) != len(want) {
		t.Fatalf("rows %v, want %v", rows, want)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
}

func TestParseReferenceErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"# a page\nno table here\n", "no AADSTS rows"},
		{"| AADSTS1 | a |\n| AADSTS999999999999 | b |\n", "line 2: bad code"},
	} {
		_, err := ParseReference(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseReference(%q) error %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestCompare(t *testing.T) {
	ref := []Row{{1, "A"}, {2, ""}, {3, "C"}, {3, ""}, {4, "D"}}
	table := []Row{{1, "A"}, {3, "Other"}, {4, ""}, {5, "E"}}
	d := Compare(ref, table)
	if len(d.Missing) != 1 || d.Missing[0] != (Row{2, ""}) {
		t.Errorf("missing %v", d.Missing)
	}
	if len(d.Renamed) != 2 || d.Renamed[0] != (Renamed{3, "C", "Other"}) || d.Renamed[1] != (Renamed{4, "D", ""}) {
		t.Errorf("renamed %v", d.Renamed)
	}
	if len(d.Extra) != 1 || d.Extra[0].Code != 5 || len(d.Twice) != 1 || d.Twice[0] != 3 || d.RefCodes != 4 {
		t.Errorf("diff %+v", d)
	}
}

func TestRunReportsMissing(t *testing.T) {
	dir := t.TempDir()
	csvPath := dir + "/t.csv"
	if err := os.WriteFile(csvPath, []byte("code,name,category,meaning,action\n# c\n50076,UserStrongAuthClientAuthNRequired,mfa,m,a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	refPath := dir + "/r.md"
	if err := os.WriteFile(refPath, []byte("| AADSTS50076 | UserStrongAuthClientAuthNRequired - x |\n| AADSTS53003 | BlockedByConditionalAccess - y |\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	n, err := run(&out, "AADSTS", refPath, csvPath)
	if err != nil || n != 1 || !strings.Contains(out.String(), "missing AADSTS53003 BlockedByConditionalAccess") {
		t.Errorf("run = %d, %v:\n%s", n, err, out.String())
	}
	if err := os.WriteFile(csvPath, []byte("code,name,category,meaning,action\nx,,mfa,m,a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := run(&out, "AADSTS", refPath, csvPath); err == nil || !strings.Contains(err.Error(), "line 2: bad code") {
		t.Errorf("bad table: error %v", err)
	}
}

func FuzzParseReference(f *testing.F) {
	f.Add("| AADSTS50076 | UserStrongAuthClientAuthNRequired - x |\n")
	f.Add("|AADSTS1|\n| AADSTS0 | |\n")
	f.Fuzz(func(t *testing.T, s string) {
		rows, err := ParseReference(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Code <= 0 || strings.ContainsAny(r.Name, " -|") {
				t.Fatalf("row %+v from %q", r, s)
			}
		}
	})
}

// TestB2CTableHasEveryReferenceCode: every code of the checked revision of
// Microsoft's B2C error-code reference is in data/aadb2c.csv.
func TestB2CTableHasEveryReferenceCode(t *testing.T) {
	const b2cFile = "testdata/b2c-error-codes-8b40f798.md"
	var out bytes.Buffer
	n, err := run(&out, "AADB2C", b2cFile, "../../data/aadb2c.csv")
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d B2C codes missing:\n%s", n, out.String())
	}
	f, err := os.Open(b2cFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ref, err := ParseReferenceOf(f, "AADB2C")
	if err != nil {
		t.Fatal(err)
	}
	if len(ref) != 125 || ref[0].Code != 90002 || ref[len(ref)-1].Code != 99015 {
		t.Errorf("B2C extract: %d rows, first %v, last %v; want 125 from 90002 to 99015", len(ref), ref[0], ref[len(ref)-1])
	}
	for _, r := range ref {
		if r.Name != "" {
			t.Errorf("AADB2C%d: name %q read from a message", r.Code, r.Name)
		}
	}
}

func TestParseB2CRows(t *testing.T) {
	md := "| Error code | Message |\n| --- | --- |\n| `AADB2C90118` | The user has forgotten their password. |\n| `AADB2C90086` | Unsupported |\n| AADSTS50076 | UserStrongAuthClientAuthNRequired - x |\n"
	rows, err := ParseReferenceOf(strings.NewReader(md), "AADB2C")
	if err != nil || len(rows) != 2 || rows[0] != (Row{90118, ""}) || rows[1] != (Row{90086, ""}) {
		t.Errorf("rows %v, %v", rows, err)
	}
	if rows, err := ParseReference(strings.NewReader(md)); err != nil || len(rows) != 1 || rows[0].Name != "UserStrongAuthClientAuthNRequired" {
		t.Errorf("AADSTS rows of a mixed page: %v, %v", rows, err)
	}
}
