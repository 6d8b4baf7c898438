package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/actors"
	"github.com/idtrace/idtrace/internal/testutil"
)

// runCLI runs idtrace with args and returns the exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, Env{IO: IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Getenv: func(string) string { return "" }})
	return code, out.String(), errOut.String()
}

type logsJSON struct {
	Events int `json:"events"`
	Files  []struct {
		File   string `json:"file"`
		Shape  string `json:"shape"`
		Events int    `json:"events"`
	} `json:"files"`
	Actors  []actors.Actor `json:"actors"`
	Stories []actors.Story `json:"stories"`
}

func runLogsJSON(t *testing.T, args ...string) logsJSON {
	t.Helper()
	code, out, errOut := runCLI(t, append([]string{"logs", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got logsJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	return got
}

// countRecords counts the records of an export independently of entralog:
// CSV rows after the header, JSON array elements (or Graph "value"
// elements, over every concatenated document), non-blank NDJSON lines.
func countRecords(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	trimmed := bytes.TrimSpace(b)
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[' || len(trimmed) > 0 && trimmed[0] == '{' && !bytes.Contains(bytes.ReplaceAll(trimmed, []byte("\r\n"), []byte("\n")), []byte("}\n{")):
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		n := 0
		for dec.More() {
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			switch x := v.(type) {
			case []any:
				n += len(x)
			case map[string]any:
				if vals, ok := x["value"].([]any); ok {
					n += len(vals)
				} else {
					n++
				}
			}
		}
		return n
	case len(trimmed) > 0 && trimmed[0] == '{':
		n := 0
		sc := bufio.NewScanner(bytes.NewReader(trimmed))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) != "" {
				n++
			}
		}
		return n
	default:
		r := csv.NewReader(bytes.NewReader(b))
		r.FieldsPerRecord = -1
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return len(rows) - 1
	}
}

// TestLogsSharedFiles: every real sample goes through the full
// `idtrace logs --format json` path and every record is counted.
func TestLogsSharedFiles(t *testing.T) {
	for _, f := range testutil.SharedFiles(t, "entra", "*") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want := countRecords(t, f)
			got := runLogsJSON(t, f)
			if got.Events != want {
				t.Errorf("events = %d, want %d records", got.Events, want)
			}
			if len(got.Files) != 1 || got.Files[0].Events != want {
				t.Errorf("files = %+v", got.Files)
			}
			total := 0
			for _, a := range got.Actors {
				if !slices.Contains(actors.Classes, a.Class) || len(a.Evidence) == 0 || a.Explanation == "" {
					t.Errorf("actor %+v lacks a class, evidence or explanation", a)
				}
				total += a.Count
			}
			if want > 0 && total < want {
				t.Errorf("actor counts add up to %d for %d records", total, want)
			}
		})
	}
}

func actorByName(t *testing.T, got logsJSON, name string) actors.Actor {
	t.Helper()
	for _, a := range got.Actors {
		if strings.EqualFold(a.Name, name) || strings.EqualFold(a.UPN, name) {
			return a
		}
	}
	t.Fatalf("no actor %q in %+v", name, got.Actors)
	return actors.Actor{}
}

func storyOf(t *testing.T, got logsJSON, kind, target string) actors.Story {
	t.Helper()
	for _, s := range got.Stories {
		if s.Kind == kind && strings.EqualFold(s.Target, target) {
			return s
		}
	}
	t.Fatalf("no %s story for %s in %+v", kind, target, got.Stories)
	return actors.Story{}
}

// TestLogsSyntheticShapes: the SSPR, security-info, writeback and
// look-alike scenario, in every input shape, gives the same labels and
// stories.
func TestLogsSyntheticShapes(t *testing.T) {
	nRecords := len(synAudits()) + len(synSignIns())
	shapes := []string{"portal-csv", "portal-json", "graph-json", "la-csv", "la-json", "diagnostic-ndjson"}
	for _, shape := range shapes {
		t.Run(shape, func(t *testing.T) {
			files, err := filepath.Glob(filepath.Join(synDir(t), shape, "*"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no fixtures for %s", shape)
			}
			got := runLogsJSON(t, files...)
			if got.Events != nRecords {
				t.Errorf("events = %d, want %d", got.Events, nRecords)
			}
			for _, f := range got.Files {
				if f.Shape != shape {
					t.Errorf("%s read as %s", f.File, f.Shape)
				}
			}
			labels := []struct{ name, class, evidence string }{
				{fimUPN, actors.ClassMicrosoftInternal, "documented Microsoft-internal account"},
				{lookUPN, actors.ClassSuspicious, "not one of Microsoft's documented internal accounts"},
				{syncUPN, actors.ClassSync, "Sync_"},
				{synAlice.UPN, actors.ClassTenantUser, synAlice.UPN},
				{"Office 365 Shell WCSS-Client", actors.ClassMicrosoftApp, "appOwnerTenantId f8cdef31-a31e-4b4a-93e4-5f571e91255a is Microsoft Services"},
				{"Azure Portal", actors.ClassSuspicious, "is not a Microsoft tenant"},
			}
			for _, l := range labels {
				a := actorByName(t, got, l.name)
				if a.Class != l.class || !strings.Contains(strings.Join(a.Evidence, " "), l.evidence) {
					t.Errorf("%s: class %s evidence %q; want %s with %q", l.name, a.Class, a.Evidence, l.class, l.evidence)
				}
			}
			// Suspicious and unknown come first.
			if got.Actors[0].Class != actors.ClassSuspicious {
				t.Errorf("first actor is %s, want suspicious first", got.Actors[0].Class)
			}

			sspr := storyOf(t, got, actors.StorySSPR, synAlice.UPN)
			if sspr.CorrelationID != corrSSPR || sspr.Actor != fimUPN || !slices.Equal(sspr.Related, []string{corrWB}) {
				t.Errorf("sspr: corr %s actor %s related %v", sspr.CorrelationID, sspr.Actor, sspr.Related)
			}
			var roles []string
			for _, s := range sspr.Steps {
				roles = append(roles, s.Role)
			}
			if !slices.Equal(roles, []string{"verification", "verification", "verification", "reset", "reset", "writeback"}) {
				t.Errorf("sspr roles = %v", roles)
			}
			for _, w := range []string{"reset the password of alice@contoso.example at the user's own request",
				"User submitted their user ID; User started the mobile SMS verification option; User completed the mobile SMS verification option",
				"written back to on-premises Active Directory by the sync account " + syncUPN} {
				if !strings.Contains(sspr.Summary, w) {
					t.Errorf("sspr summary lacks %q:\n%s", w, sspr.Summary)
				}
			}
			if len(sspr.Flags) != 0 {
				t.Errorf("sspr flags: %v", sspr.Flags)
			}

			sec := storyOf(t, got, actors.StorySecurityInfo, synBob.UPN)
			if !strings.Contains(sec.Summary, "User registered Mobile Phone SMS") || !strings.Contains(sec.Summary, "StrongAuthentication") || len(sec.Steps) != 2 {
				t.Errorf("security-info story: %+v", sec)
			}

			look := storyOf(t, got, actors.StoryAdminReset, synCarol.UPN)
			if look.Actor != lookUPN || len(look.Flags) == 0 || !strings.Contains(look.Flags[0], "suspicious") {
				t.Errorf("look-alike reset: actor %s flags %v", look.Actor, look.Flags)
			}

			si := storyOf(t, got, actors.StorySignIn, synAlice.UPN)
			if !strings.Contains(si.Summary, "interrupted to ask for multifactor authentication, then succeeded") || si.Steps[0].Role != "mfa-interrupt" {
				t.Errorf("sign-in story: %+v", si)
			}
			fake := storyOf(t, got, actors.StorySignIn, synCarol.UPN)
			if !strings.Contains(fake.Summary, "AADSTS50126") || len(fake.Flags) == 0 {
				t.Errorf("look-alike app sign-in: %+v", fake)
			}
			cred := storyOf(t, got, actors.StoryAppCredential, "Payroll Sync, HR Portal, Expense Bot")
			if cred.Actor != synDave.UPN || len(cred.Steps) != 3 || len(cred.Flags) != 1 ||
				!strings.Contains(cred.Summary, "added 3 credential(s) of type Password to 3 application(s)") || !strings.Contains(cred.Summary, "in 2m0s") {
				t.Errorf("app-credential story: %+v", cred)
			}
			dis := storyOf(t, got, actors.StoryBlockedAccount, synErin.UPN)
			if len(dis.Steps) != 2 || !strings.Contains(dis.Summary, "2 sign-in attempt(s) to the disabled account erin@contoso.example") ||
				!strings.Contains(dis.Summary, "198.51.100.77 (Lagos, NG)") {
				t.Errorf("blocked-account story: %+v", dis)
			}
			for _, w := range []string{"from 198.51.100.77 (Lagos, NG)", "client app Browser", "Conditional Access ", "requirement ", "request ID aaaabbbb-0000-4000-8000-000000000004"} {
				if !strings.Contains(dis.Steps[0].Detail, w) {
					t.Errorf("blocked-account step lacks %q: %s", w, dis.Steps[0].Detail)
				}
			}
			newCountry := 0
			for _, st := range got.Stories {
				if st.Kind == actors.StorySignIn && st.Target == synBob.UPN {
					for _, f := range st.Flags {
						if strings.Contains(f, "failed sign-in from NG, a country with no successful sign-in by bob@contoso.example") {
							newCountry++
						}
					}
				}
			}
			if newCountry != 1 {
				t.Errorf("new-country flag on %d of Bob's sign-in stories, want 1", newCountry)
			}
			if len(got.Stories) != 9 {
				t.Errorf("%d stories, want 9", len(got.Stories))
			}
		})
	}
}

// TestLogsDoneWhen is the acceptance test: an admin who found
// fim_password_service in the audit log runs one command and reads, in plain
// words, what happened, with the user's verification steps beside it.
func TestLogsDoneWhen(t *testing.T) {
	for _, f := range []string{"portal-csv/AuditLogs_synthetic.csv", "portal-json/AuditLogs_synthetic.json"} {
		t.Run(f, func(t *testing.T) {
			code, out, errOut := runCLI(t, "logs", filepath.Join(synDir(t), f))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range []string{
				"Microsoft's password-reset service (fim_password_service@support.onmicrosoft.com) reset the password of alice@contoso.example at the user's own request.",
				"Before that, the user proved who they are: User submitted their user ID; User started the mobile SMS verification option; User completed the mobile SMS verification option.",
				"fim_password_service is not an intruder",
				"(verification) alice@contoso.example — Self-service password reset flow activity progress [success]: User completed the mobile SMS verification option",
				"MICROSOFT-INTERNAL fim_password_service@support.onmicrosoft.com",
				"SUSPICIOUS         fim_passw0rd_service <fim_passw0rd_service@support.onmicrosoft.com>",
				"FLAG: fim_passw0rd_service@support.onmicrosoft.com is flagged suspicious",
			} {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			// Suspicious actors are listed before everything else.
			if i, j := strings.Index(out, "SUSPICIOUS"), strings.Index(out, "MICROSOFT-INTERNAL"); i < 0 || j < 0 || i > j {
				t.Errorf("suspicious actors do not come first")
			}
			if errOut != "" {
				t.Errorf("stderr: %q", errOut)
			}
		})
	}
}

func TestLogsActor(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(synDir(t), "la-json", "*"))
	code, out, errOut := runCLI(t, append([]string{"logs", "--actor", fimUPN}, files...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"MICROSOFT-INTERNAL", "RECORDS (2)", "as actor      Reset user password [success] → alice@contoso.example", "as actor      Update user [success] → bob@contoso.example", "STORIES (2)", "[sspr]", "[security-info]"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	code, out, _ = runCLI(t, append([]string{"logs", "--actor", synAlice.UPN, "--format", "json"}, files...)...)
	if code != 0 {
		t.Fatal(code)
	}
	var got struct {
		Actor   actors.Actor   `json:"actor"`
		Records []actorRecord  `json:"records"`
		Stories []actors.Story `json:"stories"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	// Alice acted in 4 SSPR records, was the target of 2 more, and signed in twice.
	var as []string
	for _, r := range got.Records {
		as = append(as, r.As)
	}
	if got.Actor.Class != actors.ClassTenantUser || len(got.Records) != 8 || len(got.Stories) != 2 {
		t.Errorf("actor %+v, records %v, %d stories", got.Actor, as, len(got.Stories))
	}
}

func TestLogsFormats(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(synDir(t), "graph-json", "*"))
	code, out, _ := runCLI(t, append([]string{"logs", "--format", "md"}, files...)...)
	if code != 0 || !strings.Contains(out, "# Entra log summary") || !strings.Contains(out, "| time | actor | activity | result | detail | role |") || !strings.Contains(out, "> **Flag:**") {
		t.Errorf("markdown output:\n%s", out)
	}
	code, out, _ = runCLI(t, append([]string{"logs", "--format", "csv"}, files...)...)
	if code != 0 {
		t.Fatal(code)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range rows[1:] {
		n[r[0]]++
	}
	if !slices.Equal(rows[0], logsCSVHeader) || n["actor"] != 11 || n["story"] != 9 {
		t.Errorf("csv: header %v, rows %v", rows[0], n)
	}
	// Stories stream out as they complete; the summary (known only at the
	// end) follows them.
	for i := 1; i < len(rows)-1; i++ {
		if rows[i][0] == "actor" && rows[i+1][0] == "story" {
			t.Errorf("csv: a story row after an actor row (row %d)", i+2)
		}
	}
	code, out, _ = runCLI(t, append([]string{"logs", "--format", "json"}, files...)...)
	if code != 0 {
		t.Fatal(code)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var keys []string
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("json: starts with %v, %v", tok, err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"stories", "events", "files", "story_counts", "actors"}; !slices.Equal(keys, want) {
		t.Errorf("json members %v, want %v", keys, want)
	}
}

func TestLogsErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		args []string
		code int
		msg  []string
	}{
		{"truncated json", []string{write("t.json", `[{"activityDisplayName":"Update user","activityDateTime":"2026-03-02T09:00:00Z","correlationId":"x"},{"activityDisplayName":`)}, 1, []string{"t.json", "record 2"}},
		{"wrong csv columns", []string{write("w.csv", "a,b,c\n1,2,3\n")}, 1, []string{"w.csv", "line 1", "not a recognised Entra"}},
		{"bad ndjson line", []string{write("b.ndjson", `{"category":"AuditLogs","time":"2026-03-02T09:00:00Z","properties":{"activityDisplayName":"x","correlationId":"c"}}`+"\n{not json\n")}, 1, []string{"b.ndjson", "line 2"}},
		// JSON and CSV stream their stories, but an error before much
		// output leaves stdout empty too.
		{"bad ndjson line, json", []string{"--format", "json", filepath.Join(dir, "b.ndjson")}, 1, []string{"b.ndjson", "line 2"}},
		{"bad ndjson line, csv", []string{"--format", "csv", filepath.Join(dir, "b.ndjson")}, 1, []string{"b.ndjson", "line 2"}},
		{"missing file", []string{filepath.Join(dir, "nope.csv")}, 1, []string{"nope.csv"}},
		{"no files", nil, 2, []string{"at least one FILE"}},
		{"bad format", []string{"--format", "xml", "x"}, 2, []string{`invalid argument "xml" for "-f, --format" flag: want text, md, json or csv`}},
		{"kql with files", []string{"--kql", "x"}, 2, []string{"takes no files"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"logs"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			if out != "" {
				t.Errorf("stdout on error: %q", out)
			}
			if tc.code == 1 && strings.Count(errOut, "\n") != 1 {
				t.Errorf("want one line on stderr, got %q", errOut)
			}
			for _, m := range tc.msg {
				if !strings.Contains(errOut, m) {
					t.Errorf("stderr %q lacks %q", errOut, m)
				}
			}
		})
	}
}

func TestLogsKQL(t *testing.T) {
	code, out, _ := runCLI(t, "logs", "--kql", "--format", "json")
	if code != 0 {
		t.Fatal(code)
	}
	var qs []actors.Query
	if err := json.Unmarshal([]byte(out), &qs); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, q := range qs {
		names[q.Name] = true // Kusto.Language checks the text: internal/actors TestKQLPassesKusto
	}
	for _, n := range []string{"audit-actors", "signin-apps", "lookalike-actors", "sspr-stories", "security-info-stories", "admin-password-resets", "pim-activations", "consents", "jit-provisioning", "signin-stories"} {
		if !names[n] {
			t.Errorf("no %s query", n)
		}
	}
	code, out, _ = runCLI(t, "logs", "--kql")
	if code != 0 || !strings.Contains(out, "// ---- sspr-stories ----") || !strings.Contains(out, `"fim_password_service@support.onmicrosoft.com"`) {
		t.Errorf("text --kql output:\n%s", out)
	}
}

// TestLogsProgress: progress goes to stderr only when stderr is a terminal.
func TestLogsProgress(t *testing.T) {
	defer func(v int64) { logsProgressMinBytes = v }(logsProgressMinBytes)
	logsProgressMinBytes = 1
	f := filepath.Join(synDir(t), "diagnostic-ndjson", "entra_synthetic.ndjson")
	for _, tty := range []bool{false, true} {
		var out, errOut bytes.Buffer
		code := Main(context.Background(), []string{"logs", "--format", "json", f},
			Env{IO: IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, ErrTTY: tty}, Getenv: func(string) string { return "" }})
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		got := errOut.String()
		if tty != strings.Contains(got, "entra_synthetic.ndjson: 19 records\n") {
			t.Errorf("ErrTTY=%v: stderr %q", tty, got)
		}
		if !json.Valid(out.Bytes()) {
			t.Errorf("ErrTTY=%v: stdout is not JSON", tty)
		}
	}
}

// TestLogsFlagValues: every out-of-range flag value is a usage error (exit 2).
func TestLogsFlagValues(t *testing.T) {
	for _, args := range [][]string{
		{"logs", "--window", "-5m", "x.json"},
		{"logs", "--window", "0s", "x.json"},
		{"logs", "--window", "800h", "x.json"},
		{"logs", "--window", "soon", "x.json"},
		{"logs", "--format", "xml", "x.json"},
		{"logs", "--kql", "--window", "-1s"},
		{"logs", "--actor", strings.Repeat("a", 2000), "x.json"},
		{"logs"},
	} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("%.60v: exit %d, want 2", args, code)
		}
	}
}

// TestLogsStdin: "logs -" reads the export from stdin and finds what the
// same file gives, named "stdin"; "-" twice is a usage error.
func TestLogsStdin(t *testing.T) {
	for _, f := range testutil.SharedFiles(t, "entra", "*") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			code, fromFile, errOut := run(t, "", "logs", "--format", "json", f)
			if code != 0 {
				t.Fatalf("logs FILE: exit %d: %s", code, errOut)
			}
			code, fromStdin, errOut := run(t, string(b), "logs", "--format", "json", "-")
			if code != 0 {
				t.Fatalf("logs -: exit %d: %s", code, errOut)
			}
			var a, c logsJSON
			if err := json.Unmarshal([]byte(fromFile), &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(fromStdin), &c); err != nil {
				t.Fatal(err)
			}
			if len(c.Files) != 1 || c.Files[0].File != "stdin" {
				t.Errorf("logs -: files %+v, want one named stdin", c.Files)
			}
			if a.Events != c.Events || len(a.Actors) != len(c.Actors) || len(a.Stories) != len(c.Stories) {
				t.Errorf("logs -: %d events, %d actors, %d stories; the file gives %d, %d, %d",
					c.Events, len(c.Actors), len(c.Stories), a.Events, len(a.Actors), len(a.Stories))
			}
		})
	}
	if code, _, errOut := run(t, "", "logs", "-", "-"); code != 2 || !strings.Contains(errOut, "(stdin) given 2 times") {
		t.Errorf("logs - -: exit %d, stderr %q", code, errOut)
	}
}
