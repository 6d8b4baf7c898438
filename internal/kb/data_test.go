package kb

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

func TestLookupError(t *testing.T) {
	must := []int{50011, 50012, 50034, 50053, 50055, 50056, 50057, 50058, 50059, 50074, 50076, 50079,
		50105, 50126, 50140, 50158, 53000, 53003, 530032, 54005, 65001, 65004, 70000, 70002, 70008,
		70011, 700016, 700051, 700054, 7000215, 7000222, 700082, 90072, 90094, 16000, 16003, 500011,
		500113, 50173, 81010, 900144, 9002313, 90014, 700025, 750054, 500200}
	for _, c := range must {
		e, ok := LookupError(c)
		if !ok {
			t.Errorf("LookupError(%d): not found", c)
			continue
		}
		if e.Code != c {
			t.Errorf("LookupError(%d).Code = %d", c, e.Code)
		}
	}
	tests := []struct {
		code           int
		name, category string
	}{
		{50076, "UserStrongAuthClientAuthNRequired", CategoryMFA},
		{53003, "BlockedByConditionalAccess", CategoryConditionalAccess},
		{50011, "InvalidReplyTo", CategoryRedirect},
		{65001, "DelegationDoesNotExist", CategoryConsent},
		{7000222, "InvalidClientSecretExpiredKeysProvided", CategoryClientAuth},
		{50058, "UserInformationNotProvided", CategoryInteraction},
		{500200, "", CategoryUser}, // no published symbolic name: none invented
	}
	for _, tt := range tests {
		e, _ := LookupError(tt.code)
		if e.Name != tt.name || e.Category != tt.category {
			t.Errorf("LookupError(%d) = %q/%q, want %q/%q", tt.code, e.Name, e.Category, tt.name, tt.category)
		}
	}
	for _, c := range []int{0, -1, 1, 99999999} {
		if e, ok := LookupError(c); ok {
			t.Errorf("LookupError(%d) = %+v, want not found", c, e)
		}
	}
}

func TestEveryErrorIsExplained(t *testing.T) {
	all := Errors()
	if len(all) < 300 {
		t.Errorf("only %d AADSTS codes", len(all))
	}
	seen := map[int]bool{}
	for i, e := range all {
		if seen[e.Code] {
			t.Errorf("duplicate code %d", e.Code)
		}
		seen[e.Code] = true
		if i > 0 && all[i-1].Code >= e.Code {
			t.Errorf("Errors() not sorted at %d", e.Code)
		}
		if len(e.Meaning) < 20 || len(e.Action) < 10 {
			t.Errorf("AADSTS%d: meaning %q / action %q too thin", e.Code, e.Meaning, e.Action)
		}
		if !slices.Contains(Categories, e.Category) {
			t.Errorf("AADSTS%d: category %q", e.Code, e.Category)
		}
		if strings.ContainsAny(e.Meaning+e.Action, "{}") {
			t.Errorf("AADSTS%d: template placeholder left in prose", e.Code)
		}
	}
}

func TestParseErrorCode(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"AADSTS50076", 50076, true},
		{"aadsts700016: Application with identifier", 700016, true},
		{" 53003 ", 53003, true},
		{"AADSTS", 0, false},
		{"AADSTSx", 0, false},
		{"", 0, false},
		{"0", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseErrorCode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseErrorCode(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestLookupClaim(t *testing.T) {
	for _, n := range []string{"aud", "iss", "iat", "nbf", "exp", "sub", "oid", "tid", "upn", "unique_name",
		"preferred_username", "name", "email", "appid", "azp", "appidacr", "azpacr", "scp", "roles", "wids",
		"groups", "hasgroups", "_claim_names", "_claim_sources", "amr", "acr", "acrs", "auth_time", "idp",
		"ipaddr", "xms_cc", "xms_mirid", "xms_tcdt", "xms_pdl", "xms_tpl", "xms_st", "uti", "rh", "ver",
		"nonce", "at_hash", "c_hash", "sid", "deviceid", "cnf", "family_name", "given_name", "login_hint",
		"puid", "altsecid", "onprem_sid", "in_corp", "pwd_exp", "pwd_url", "ctry", "tenant_region_scope",
		"verified_primary_email", "aio", "UPN"} {
		c, ok := LookupClaim(n)
		if !ok || c.Meaning == "" || c.Tokens == "" {
			t.Errorf("LookupClaim(%q) = %+v, %v", n, c, ok)
		}
	}
	c, ok := LookupClaim("xms_something_new")
	if !ok || c.Name != "xms_something_new" || !strings.Contains(c.Meaning, "xms_") {
		t.Errorf("LookupClaim(xms_something_new) = %+v, %v; want the generic xms_ explanation", c, ok)
	}
	if c, ok := LookupClaim("no_such_claim"); ok {
		t.Errorf("LookupClaim(no_such_claim) = %+v", c)
	}
}

// TestEmbeddedAppsNoConflicts checks the generated list: every ID unique and
// the list sorted, as the generator writes it.
func TestEmbeddedAppsNoConflicts(t *testing.T) {
	apps, err := EmbeddedApps()
	if err != nil {
		t.Fatal(err)
	}
	v := 0
	for i, a := range apps {
		if i > 0 && apps[i-1].AppID >= a.AppID {
			t.Errorf("apps.csv not sorted or duplicate at %s (%q after %q)", a.AppID, a.Name, apps[i-1].Name)
		}
		if a.Verified {
			v++
		}
	}
	t.Logf("embedded apps: %d (%d verified, %d unverified)", len(apps), v, len(apps)-v)
	if v == 0 || v == len(apps) {
		t.Errorf("verified %d of %d: expected both kinds", v, len(apps))
	}
}

// TestLoadAppsSharedMatchesIndependentCount parses the real merill exports
// and compares with a plain encoding/csv count and with the JSON export.
func TestLoadAppsSharedMatchesIndependentCount(t *testing.T) {
	for _, p := range testutil.SharedFiles(t, "other", "merill_*.csv") {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		apps, err := LoadApps(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if len(apps) != len(recs)-1 {
			t.Errorf("%s: LoadApps %d apps, csv %d rows", filepath.Base(p), len(apps), len(recs)-1)
		}
		// duplicates that upstream really has
		seen := map[string]App{}
		for _, a := range apps {
			if b, dup := seen[a.AppID]; dup {
				t.Logf("%s: upstream duplicate app ID %s: %q/%s and %q/%s", filepath.Base(p), a.AppID, b.Name, b.Source, a.Name, a.Source)
				if b.Name != a.Name {
					t.Errorf("%s: app ID %s has conflicting names %q and %q", filepath.Base(p), a.AppID, b.Name, a.Name)
				}
			}
			seen[a.AppID] = a
		}
	}
	p := testutil.SharedDir(t, "other/merill_MicrosoftApps.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var js []struct{ AppId, AppDisplayName, AppOwnerOrganizationId, Source string }
	if err := json.Unmarshal(data, &js); err != nil {
		t.Fatal(err)
	}
	emb, err := EmbeddedApps()
	if err != nil {
		t.Fatal(err)
	}
	if len(js) != len(emb) {
		t.Errorf("JSON export has %d apps, embedded list %d", len(js), len(emb))
	}
	for _, j := range js {
		g, ok := LookupGUID(j.AppId)
		if !ok {
			t.Errorf("JSON row %q (%s) not in the embedded knowledge", j.AppId, j.AppDisplayName)
			continue
		}
		if g.Kind != GUIDApp {
			continue // sorted into another kind: TestKinds checks those
		}
		a, _ := LookupApp(j.AppId)
		if a.Name != normName(j.AppDisplayName) || a.Source != j.Source {
			t.Errorf("app %s: embedded %q/%s, JSON %q/%s", a.AppID, a.Name, a.Source, j.AppDisplayName, j.Source)
		}
	}
}

func TestLoadAppsErrors(t *testing.T) {
	tests := []struct {
		name, in         string
		line, col        int
		field, errSubstr string
	}{
		{"empty", "", 1, 0, "", "empty file"},
		{"no AppId column", "Name,Source\nx,y\n", 1, 0, "header", "missing column"},
		{"bad GUID", "AppId,AppDisplayName\n89bee1f7-5e6e-4d8a-9f3d-ecd601259da7,a\nnot-a-guid,b\n", 3, 1, "AppId", "not a GUID"},
		{"bad owner", "\"AppId\",\"AppDisplayName\",\"AppOwnerOrganizationId\"\n\"89bee1f7-5e6e-4d8a-9f3d-ecd601259da7\",\"a\",\"zz\"\n", 2, 44, "AppOwnerOrganizationId", "not a GUID"},
		{"field count", "AppId,AppDisplayName\n89bee1f7-5e6e-4d8a-9f3d-ecd601259da7,a,extra\n", 2, 0, "", "wrong number of fields"},
		{"bare quote", "AppId,AppDisplayName\n89bee1f7-5e6e-4d8a-9f3d-ecd601259da7,a\"b\n", 2, 0, "", "bare"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadApps(strings.NewReader(tt.in))
			var ie *trace.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *trace.InputError", err)
			}
			if ie.Line != tt.line || (tt.col != 0 && ie.Column != tt.col) || ie.Field != tt.field {
				t.Errorf("err = %q: line %d col %d field %q, want line %d col %d field %q", err, ie.Line, ie.Column, ie.Field, tt.line, tt.col, tt.field)
			}
			if !strings.Contains(err.Error(), tt.errSubstr) {
				t.Errorf("err = %q, want it to mention %q", err, tt.errSubstr)
			}
		})
	}
}

func TestLoadAppsNormalises(t *testing.T) {
	in := "\xef\xbb\xbfSource,APPID,AppDisplayName,Extra\r\n" +
		"Graph,{89BEE1F7-5E6E-4D8A-9F3D-ECD601259DA7} ,\"  Office365   Shell WCSS-Client \",x\r\n" +
		"GitHub,420c7602-7f70-4895-9394-d3d679ea36fb\u00c2\u00a0,Teams,y\r\n"
	apps, err := LoadApps(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []App{
		{AppID: "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", Name: "Office365 Shell WCSS-Client", Source: "Graph", Verified: true},
		{AppID: "420c7602-7f70-4895-9394-d3d679ea36fb", Name: "Teams", Source: "GitHub", Verified: false},
	}
	if !slices.Equal(apps, want) {
		t.Errorf("LoadApps = %+v\nwant %+v", apps, want)
	}
}

func TestWriteAppsRoundTrip(t *testing.T) {
	in := []App{
		{AppID: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", Name: `Azure "Portal", new`, OwnerTenantID: "f8cdef31-a31e-4b4a-93e4-5f571e91255a", Source: "Graph", Verified: true},
		{AppID: "00000003-0000-0000-c000-000000000000", Name: "Microsoft Graph", Source: "EntraDocs", Verified: false},
	}
	var b bytes.Buffer
	if err := WriteApps(&b, in); err != nil {
		t.Fatal(err)
	}
	out, err := LoadApps(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0] != in[1] || out[1] != in[0] {
		t.Errorf("round trip = %+v", out)
	}
}

func TestAppOverride(t *testing.T) {
	t.Cleanup(func() { SetAppOverride(nil) })
	custom := []App{{AppID: "11111111-2222-3333-4444-555555555555", Name: "Contoso Newer Microsoft App", Source: "Graph", Verified: true}}
	SetAppOverride(custom)
	if a, ok := LookupApp("11111111-2222-3333-4444-555555555555"); !ok || a.Name != "Contoso Newer Microsoft App" {
		t.Errorf("override not used: %+v %v", a, ok)
	}
	if _, ok := LookupApp("c44b4083-3bb0-49c1-b47d-974e53cbdf3c"); ok {
		t.Errorf("override should replace the embedded list")
	}
	custom[0].Name = "mutated"
	if a, _ := LookupApp("11111111-2222-3333-4444-555555555555"); a.Name == "mutated" {
		t.Errorf("SetAppOverride kept the caller's slice")
	}
	SetAppOverride(nil)
	if _, ok := LookupApp("c44b4083-3bb0-49c1-b47d-974e53cbdf3c"); !ok {
		t.Errorf("SetAppOverride(nil) did not restore the embedded list")
	}
}

func TestLoadUserApps(t *testing.T) {
	t.Cleanup(func() { SetAppOverride(nil) })
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir)
	t.Setenv("AppData", dir)
	p, err := UserAppsPath()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p, dir) || filepath.Base(p) != "apps.csv" || filepath.Base(filepath.Dir(p)) != "idtrace" {
		t.Fatalf("UserAppsPath = %s", p)
	}
	if err := LoadUserApps(); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	if _, ok := LookupApp("c44b4083-3bb0-49c1-b47d-974e53cbdf3c"); !ok {
		t.Fatal("embedded list not in use")
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("AppId,AppDisplayName\nbad,x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = LoadUserApps()
	var ie *trace.InputError
	if !errors.As(err, &ie) || ie.File != p || ie.Line != 2 {
		t.Errorf("malformed user file: err = %v", err)
	}
	if err := os.WriteFile(p, []byte("AppId,AppDisplayName,Source\n11111111-2222-3333-4444-555555555555,New App,Graph\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := LoadUserApps(); err != nil {
		t.Fatal(err)
	}
	if a, ok := LookupApp("11111111-2222-3333-4444-555555555555"); !ok || !a.Verified {
		t.Errorf("user list not installed: %+v %v", a, ok)
	}
}

func TestReadTableRejectsMalformed(t *testing.T) {
	want := []string{"code", "name", "category", "meaning", "action"}
	for _, in := range []string{
		"code,name\n1,x\n",                                 // wrong header
		"code,name,category,meaning,action\n1,x,y\n",       // short row
		"code,name,category,meaning,action\n1,x,,m,a\n",    // empty required field
		"code,name,category,meaning,action\n1,x,\"y,m,a\n", // unterminated quote
	} {
		if _, err := readTable("aadsts.csv", []byte(in), want); err == nil {
			t.Errorf("readTable(%q) accepted malformed data", in)
		}
	}
}

func FuzzLoadApps(f *testing.F) {
	for _, p := range testutil.SharedFiles(f, "other", "merill_*.csv") {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 4096 {
			data = data[:4096]
		}
		f.Add(data)
	}
	f.Add([]byte("AppId,AppDisplayName\n89bee1f7-5e6e-4d8a-9f3d-ecd601259da7,a\n"))
	f.Add([]byte("\xef\xbb\xbf\"AppId\",\"AppDisplayName\",\"AppOwnerOrganizationId\",\"Source\"\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		apps, err := LoadApps(bytes.NewReader(data))
		if err != nil {
			var ie *trace.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("error is not an *trace.InputError: %v", err)
			}
			return
		}
		for _, a := range apps {
			if id, ok := normGUID(a.AppID); !ok || id != a.AppID {
				t.Fatalf("bad app ID accepted: %q", a.AppID)
			}
		}
		// what LoadApps accepts, WriteApps writes and LoadApps reads back identically
		var b bytes.Buffer
		if err := WriteApps(&b, apps); err != nil {
			t.Fatal(err)
		}
		again, err := LoadApps(&b)
		if err != nil {
			t.Fatalf("re-reading written apps: %v", err)
		}
		if len(again) != len(apps) {
			t.Fatalf("round trip: %d apps, then %d", len(apps), len(again))
		}
	})
}

// TestGeneratedAppsMatchUpstream regenerates data/apps.csv the way ./gen does
// and requires it to be byte-identical to the embedded file.
func TestGeneratedAppsMatchUpstream(t *testing.T) {
	p := testutil.SharedDir(t, "other/merill_MicrosoftApps.csv")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	apps, err := LoadApps(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteApps(&b, apps); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), appsCSV) {
		t.Errorf("data/apps.csv differs from what ./gen makes of %s: run go generate ./internal/kb", p)
	}
}
