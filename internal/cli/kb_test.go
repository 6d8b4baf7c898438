package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/kb"
	"github.com/idtrace/idtrace/internal/testutil"
)

// kbRun executes idtrace with args and returns its exit code, stdout and stderr.
func kbRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := Env{IO: IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}, Getenv: func(string) string { return "" }}
	code := Main(context.Background(), args, env)
	return code, out.String(), errOut.String()
}

// kbHome points os.UserConfigDir at a fresh temporary directory.
func kbHome(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	t.Setenv("AppData", dir)
	t.Cleanup(func() { kb.SetAppOverride(nil) })
	p, err := kb.UserAppsPath()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKBListJSON(t *testing.T) {
	tests := []struct {
		what, key, want string
		min             int
	}{
		{"apps", "app_id", "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", 1000},
		{"errors", "code", "50076", 300},
		{"claims", "name", "preferred_username", 60},
		{"actors", "upn", "fim_password_service@support.onmicrosoft.com", 20},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			code, out, errOut := kbRun(t, "", "kb", tt.what, "--json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var rows []map[string]any
			if err := json.Unmarshal([]byte(out), &rows); err != nil {
				t.Fatalf("not a JSON array: %v", err)
			}
			if len(rows) < tt.min {
				t.Errorf("%d rows, want at least %d", len(rows), tt.min)
			}
			found := false
			for _, r := range rows {
				if v, ok := r[tt.key]; ok && strings.TrimSuffix(jsonString(v), ".0") == tt.want {
					found = true
				}
			}
			if !found {
				t.Errorf("no row with %s=%s", tt.key, tt.want)
			}
		})
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

func TestKBListText(t *testing.T) {
	code, out, _ := kbRun(t, "", "kb", "errors")
	if code != 0 || !strings.Contains(out, "AADSTS50076") || !strings.Contains(out, "UserStrongAuthClientAuthNRequired") {
		t.Errorf("kb errors: exit %d, output lacks AADSTS50076 row", code)
	}
	code, out, _ = kbRun(t, "", "kb", "apps")
	if code != 0 || !strings.Contains(out, "Office365 Shell WCSS-Client") {
		t.Errorf("kb apps: exit %d, output lacks WCSS-Client", code)
	}
	if code, _, _ := kbRun(t, "", "kb", "apps", "--bogus"); code != 2 {
		t.Errorf("kb apps --bogus: exit %d, want 2", code)
	}
}

func TestKBUpdate(t *testing.T) {
	p := kbHome(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "apps.csv")
	// synthetic: one embedded app renamed, one new app
	csv := "\"AppId\",\"AppDisplayName\",\"AppOwnerOrganizationId\",\"Source\"\n" +
		"\"c44b4083-3bb0-49c1-b47d-974e53cbdf3c\",\"Azure Portal (renamed)\",\"f8cdef31-a31e-4b4a-93e4-5f571e91255a\",\"Graph\"\n" +
		"\"11111111-2222-3333-4444-555555555555\",\"Synthetic New App\",\"\",\"GitHub\"\n"
	if err := os.WriteFile(in, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := kbRun(t, "", "kb", "update", "--dry-run", in)
	if code != 0 || !strings.Contains(out, "read 2 apps") || !strings.Contains(out, "1 added") || !strings.Contains(out, "1 changed") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("dry run wrote %s", p)
	}
	// It would remove almost the whole built-in list: not saved without --yes.
	code, out, errOut = kbRun(t, "", "kb", "update", in)
	if code != 2 || !strings.Contains(errOut, "would remove 4427 of the 4428 apps of the built-in list") || !strings.Contains(errOut, "--yes") {
		t.Fatalf("update without --yes: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "Microsoft Graph") || !strings.Contains(out, "more removed") {
		t.Errorf("update does not name the apps it would remove:\n%s", out)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("update without --yes wrote %s", p)
	}
	code, out, errOut = kbRun(t, "", "kb", "update", "--yes", in)
	if code != 0 || !strings.Contains(out, "1 verified, 1 unverified") || !strings.Contains(out, "removed") {
		t.Fatalf("update: exit %d\n%s%s", code, out, errOut)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", p, st.Mode().Perm())
		}
		if dst, err := os.Stat(filepath.Dir(p)); err != nil || dst.Mode().Perm() != 0o700 {
			t.Errorf("config dir mode %v, want 0700 (%v)", dst.Mode().Perm(), err)
		}
	}
	if err := kb.LoadUserApps(); err != nil {
		t.Fatal(err)
	}
	if a, ok := kb.LookupApp("c44b4083-3bb0-49c1-b47d-974e53cbdf3c"); !ok || a.Name != "Azure Portal (renamed)" {
		t.Errorf("user list not used after update: %+v %v", a, ok)
	}
	code, out, _ = kbRun(t, "", "kb", "reset")
	if code != 0 || !strings.Contains(out, "removed") {
		t.Errorf("reset: exit %d: %s", code, out)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("reset left %s", p)
	}
}

func TestKBUpdateRejectsBadFile(t *testing.T) {
	p := kbHome(t)
	in := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(in, []byte("AppId,AppDisplayName\n89bee1f7-5e6e-4d8a-9f3d-ecd601259da7,ok\nnot-a-guid,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := kbRun(t, "", "kb", "update", in)
	if code != 1 || !strings.Contains(errOut, "bad.csv") || !strings.Contains(errOut, "line 3") || !strings.Contains(errOut, "AppId") {
		t.Errorf("exit %d, stderr %q: want exit 1 naming file, line 3 and AppId", code, errOut)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("a failed update wrote %s", p)
	}
	code, _, errOut = kbRun(t, "AppId,AppDisplayName\n", "kb", "update", "-")
	if code != 1 || !strings.Contains(errOut, "no apps") {
		t.Errorf("empty stdin: exit %d, stderr %q", code, errOut)
	}
}

// TestKBUpdateSharedExport feeds the real merill export: nothing changes.
func TestKBUpdateSharedExport(t *testing.T) {
	kbHome(t)
	p := testutil.SharedDir(t, "other/merill_MicrosoftApps.csv")
	code, out, errOut := kbRun(t, "", "kb", "update", "--dry-run", p)
	if code != 0 || !strings.Contains(out, "read 4428 apps") || !strings.Contains(out, "0 added, 0 removed, 0 changed, 4428 unchanged") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}

func TestKBShowEntries(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"kb", "errors", "AADSTS50076", "53003"}, 0, []string{"AADSTS50076", "next step:", "interactive", "AADSTS53003", "BlockedByConditionalAccess"}},
		{[]string{"kb", "apps", "89BEE1F7-5E6E-4D8A-9F3D-ECD601259DA7"}, 0, []string{"Office365 Shell WCSS-Client", "verified:     no (named in Microsoft's documentation"}},
		{[]string{"kb", "apps", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"}, 0, []string{"Azure Portal", "verified:     yes"}},
		// a role template is not an app
		{[]string{"kb", "apps", "62e90394-69f5-4237-9190-012177145e10"}, 1, nil},
		{[]string{"kb", "apps", "azure portal"}, 0, []string{"c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Microsoft Services"}},
		{[]string{"kb", "apps", "MS-CE-CXG-MAC-AadShadowRoleWriter [Community Contributed]"}, 0, []string{"verified:     no"}},
		{[]string{"kb", "claims", "scp", "xms_new"}, 0, []string{"delegated permissions", "xms_new"}},
		{[]string{"kb", "actors", "MS-PIM"}, 0, []string{"01fc33a7-78ba-4d2f-a4b7-768e336e890e", "seen doing:"}},
		{[]string{"kb", "errors", "12345"}, 1, nil},
		{[]string{"kb", "errors", "nonsense"}, 2, nil},
		{[]string{"kb", "apps", "Contoso Portal"}, 1, nil},
		{[]string{"kb", "actors", "fim_password_service@support.onmicrosoft.co"}, 1, nil},
	}
	for _, tt := range tests {
		code, out, errOut := kbRun(t, "", tt.args...)
		if code != tt.code {
			t.Errorf("%v: exit %d, want %d (%s)", tt.args, code, tt.code, errOut)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, w, out)
			}
		}
	}
	code, out, _ := kbRun(t, "", "kb", "errors", "--json", "50011")
	var rows []kbErrorJSON
	if code != 0 || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 1 || rows[0].Name != "InvalidReplyTo" || rows[0].Action == "" {
		t.Errorf("kb errors --json 50011: exit %d, %q", code, out)
	}
}

// graphID is Microsoft Graph's app ID, among the first built-in apps.
const graphID = "00000003-0000-0000-c000-000000000000"

// writeCSV writes a MicrosoftApps.csv-shaped file of the first n built-in
// apps, Microsoft Graph renamed to name.
func writeCSV(t *testing.T, n int, name string) string {
	t.Helper()
	base, err := kb.EmbeddedApps()
	if err != nil {
		t.Fatal(err)
	}
	apps := base[:n]
	for i := range apps {
		if apps[i].AppID == graphID {
			apps[i].Name = name
		}
	}
	var b bytes.Buffer
	if err := kb.WriteApps(&b, apps); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "apps.csv")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKBUpdateKeepsPrevious: a small change saves without asking; reset
// goes back to the list the last update replaced, then to the built-in one.
func TestKBUpdateKeepsPrevious(t *testing.T) {
	p := kbHome(t)
	base, err := kb.EmbeddedApps()
	if err != nil {
		t.Fatal(err)
	}
	id := graphID
	builtin, _ := kb.LookupApp(id)
	// Less than a tenth removed: saved without --yes.
	n := len(base) - len(base)/20
	first := writeCSV(t, n, "First Name")
	if code, out, errOut := kbRun(t, "", "kb", "update", first); code != 0 {
		t.Fatalf("update first: exit %d\n%s%s", code, out, errOut)
	}
	second := writeCSV(t, n, "Second Name")
	code, out, errOut := kbRun(t, "", "kb", "update", second)
	if code != 0 || !strings.Contains(out, "compared with the saved list of") || !strings.Contains(out, "0 removed, 1 changed") {
		t.Fatalf("update second: exit %d\n%s%s", code, out, errOut)
	}
	lookup := func() string {
		t.Helper()
		kb.SetAppOverride(nil)
		if err := kb.LoadUserApps(); err != nil {
			t.Fatal(err)
		}
		a, _ := kb.LookupApp(id)
		return a.Name
	}
	if got := lookup(); got != "Second Name" {
		t.Fatalf("after two updates: app %s is %q, want Second Name", id, got)
	}
	if code, out, _ := kbRun(t, "", "kb", "reset"); code != 0 || !strings.Contains(out, "restored") {
		t.Fatalf("reset: exit %d: %s", code, out)
	}
	if got := lookup(); got != "First Name" {
		t.Errorf("after reset: app %s is %q, want First Name (the list before the last update)", id, got)
	}
	if code, out, _ := kbRun(t, "", "kb", "reset"); code != 0 || !strings.Contains(out, "built-in list is in use") {
		t.Fatalf("second reset: exit %d: %s", code, out)
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("second reset left %s", p)
	}
	if got := lookup(); got != builtin.Name {
		t.Errorf("after the second reset: app %s is %q, want the built-in name", id, got)
	}

	// A saved list much shorter than the one in use: refused without --yes
	// on stdin (no terminal to ask on), kept with --yes, and reset --builtin
	// drops both saved lists.
	kbRun(t, "", "kb", "update", first)
	short := writeCSV(t, 10, "Short")
	code, _, errOut = kbRun(t, "", "kb", "update", short)
	if code != 2 || !strings.Contains(errOut, "of the saved list (more than a tenth)") {
		t.Errorf("short list: exit %d, stderr %q", code, errOut)
	}
	if got := lookup(); got != "First Name" {
		t.Errorf("a refused update changed the list: %q", got)
	}
	if code, _, errOut := kbRun(t, "", "kb", "update", "-y", short); code != 0 {
		t.Fatalf("update -y: exit %d: %s", code, errOut)
	}
	if code, _, _ := kbRun(t, "", "kb", "reset", "--builtin"); code != 0 {
		t.Fatal("reset --builtin failed")
	}
	prev, _ := kb.PreviousAppsPath()
	for _, f := range []string{p, prev} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("reset --builtin left %s", f)
		}
	}
}

// TestKBUpdateAsks: on a terminal, a large removal is asked about; "n"
// saves nothing, "y" saves.
func TestKBUpdateAsks(t *testing.T) {
	p := kbHome(t)
	short := writeCSV(t, 10, "Short")
	for _, ans := range []string{"n\n", "y\n"} {
		var out, errOut bytes.Buffer
		env := Env{IO: IOStreams{In: strings.NewReader(ans), InTTY: true, Out: &out, ErrOut: &errOut}, Getenv: func(string) string { return "" }}
		if code := Main(context.Background(), []string{"kb", "update", short}, env); code != 0 {
			t.Fatalf("answer %q: exit %d: %s", ans, code, errOut.String())
		}
		if !strings.Contains(errOut.String(), "Save it anyway? [y/N]") {
			t.Errorf("answer %q: no question on stderr: %q", ans, errOut.String())
		}
		_, err := os.Stat(p)
		if saved := err == nil; saved != (ans == "y\n") {
			t.Errorf("answer %q: saved=%v", ans, saved)
		}
	}
}
