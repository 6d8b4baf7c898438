package kb

import (
	"bytes"
	"encoding/csv"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLookupGUIDKinds(t *testing.T) {
	tests := []struct {
		id, kind, name, detail string
	}{
		{"62e90394-69f5-4237-9190-012177145e10", GUIDRoleTemplate, "Global Administrator", ""},
		{"88d8e3e3-8f55-4a1e-953a-9b9898b8876b", GUIDRoleTemplate, "Directory Readers", ""},
		{"72f988bf-86f1-41af-91ab-2d7cd011db47", GUIDTenant, "", ""},
		{"f8cdef31-a31e-4b4a-93e4-5f571e91255a", GUIDTenant, "", ""},
		{ConsumerTenantID, GUIDTenant, "", ""},
		{"e1fe6dd8-ba31-4d61-89e7-88639da4683d", GUIDPermission, "User.Read", "delegated"},
		{"01d4889c-1287-42c6-ac1f-5d1e02578ef6", GUIDPermission, "Files.Read.All", "application"},
		{"00000000-0000-0000-0000-000000000000", GUIDOther, "", ""},
		{"005b3ef1-47dd-4e68-bb02-c6db484d00f2", GUIDOther, "", ""}, // a Purview sensitive information type
		{"00283e6b-2bd8-440f-a2d5-87358e4c89a1", GUIDOther, "", ""}, // POWER AUTOMATE FOR PROJECT P1, a service plan
		{"0076631b-d4a0-427f-5773-0ec71c9e0279", GUIDOther, "", ""}, // HYPR FIDO2 Authenticator, an AAGUID
		{"89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", GUIDApp, "Office365 Shell WCSS-Client", ProvenanceDocs},
		{"c44b4083-3bb0-49c1-b47d-974e53cbdf3c", GUIDApp, "Azure Portal", ProvenanceGraph},
		{"2f5afa01-cdcb-4707-a62a-0803cc994c60", GUIDApp, "MS-CE-CXG-MAC-AadShadowRoleWriter", ProvenanceCommunity},
	}
	for _, tt := range tests {
		g, ok := LookupGUID(strings.ToUpper(tt.id))
		if !ok {
			t.Errorf("LookupGUID(%s): not found", tt.id)
			continue
		}
		if g.Kind != tt.kind || tt.name != "" && g.Name != tt.name || tt.detail != "" && g.Detail != tt.detail {
			t.Errorf("LookupGUID(%s) = %+v, want kind %q name %q detail %q", tt.id, g, tt.kind, tt.name, tt.detail)
		}
		if _, isApp := LookupApp(tt.id); isApp != (tt.kind == GUIDApp) {
			t.Errorf("LookupApp(%s) found = %v, but its kind is %s", tt.id, isApp, tt.kind)
		}
	}
	if g, ok := LookupGUID("11111111-2222-3333-4444-555555555555"); ok {
		t.Errorf("unknown GUID found: %+v", g)
	}
}

// TestNoPermissionRoleOrTenantIsAnApp reads data/apps.csv, roles.csv and
// tenants.csv directly and checks that no row that names a permission, a
// directory role or a tenant is answered as an application.
func TestNoPermissionRoleOrTenantIsAnApp(t *testing.T) {
	recs, err := csv.NewReader(bytes.NewReader(appsCSV)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range recs[1:] {
		id, name := strings.ToLower(strings.TrimSpace(strings.Trim(r[0], "\u00c2\u00a0 "))), r[1]
		// Graph rows are service principals read from Graph: apps whatever their name
		if r[3] != "Graph" && (strings.HasSuffix(name, " - Delegated") || strings.HasSuffix(name, " - Application")) {
			checked++
			if a, ok := LookupApp(id); ok {
				t.Errorf("permission %q (%s) answered as app %+v", name, id, a)
			}
			if g, _ := LookupGUID(id); g.Kind != GUIDPermission {
				t.Errorf("permission %q (%s) has kind %q", name, id, g.Kind)
			}
		}
	}
	for _, file := range [][]byte{rolesCSV, tenantsCSV} {
		for _, line := range strings.Split(string(file), "\n")[1:] {
			if line == "" || line[0] == '#' {
				continue
			}
			id := strings.SplitN(line, ",", 2)[0]
			checked++
			if a, ok := LookupApp(id); ok {
				t.Errorf("role or tenant %s answered as app %+v", id, a)
			}
		}
	}
	for _, a := range Apps() {
		if _, ok := LookupRoleTemplate(a.AppID); ok {
			t.Errorf("Apps() lists role template %s", a.AppID)
		}
		if _, ok := MicrosoftTenant(a.AppID); ok || a.AppID == ConsumerTenantID || a.AppID == emptyGUID {
			t.Errorf("Apps() lists tenant or empty GUID %s", a.AppID)
		}
	}
	if checked < 1000 {
		t.Errorf("only %d permission, role and tenant rows checked", checked)
	}
	c := KindCounts()
	t.Logf("kinds: %v", c)
	if c[GUIDRoleTemplate] < 100 || c[GUIDPermission] < 1000 || c[GUIDApp] < 1000 {
		t.Errorf("kind counts %v: expected at least 100 roles, 1000 permissions, 1000 apps", c)
	}
}

func TestNamesAreNormalised(t *testing.T) {
	for _, name := range []string{"Office 365 Shell WCSS-Client", "office365shellwcssclient", "Office365 Shell WCSS Client", " OFFICE365  SHELL WCSS-CLIENT "} {
		got := AppsByName(name)
		if len(got) != 1 || got[0].AppID != "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7" {
			t.Errorf("AppsByName(%q) = %+v, want the Office365 Shell WCSS-Client app", name, got)
		}
	}
	// community rows match without their upstream marker
	if got := AppsByName("MS-CE-CXG-MAC-AadShadowRoleWriter"); len(got) != 1 {
		t.Errorf("community app by plain name: %+v", got)
	}
	// a permission or role name is not an app name
	for _, name := range []string{"User.Read - Delegated", "Global Administrator"} {
		if got := AppsByName(name); len(got) != 0 {
			t.Errorf("AppsByName(%q) = %+v, want none", name, got)
		}
	}
	if id, ok := RoleTemplateByName("global administrator"); !ok || id != "62e90394-69f5-4237-9190-012177145e10" {
		t.Errorf("RoleTemplateByName = %q, %v", id, ok)
	}
	if ps := PermissionsByName("user.read"); len(ps) != 1 || ps[0].Detail != "delegated" {
		t.Errorf("PermissionsByName(user.read) = %+v", ps)
	}
}

func TestAppNotesAreApps(t *testing.T) {
	m, err := appNotes()
	if err != nil {
		t.Fatal(err)
	}
	if len(m) < 10 {
		t.Fatalf("only %d app notes", len(m))
	}
	for id, does := range m {
		if _, ok := LookupApp(id); !ok {
			t.Errorf("app note for %s, which is not an app of the list", id)
		}
		if len(does) < 20 {
			t.Errorf("app note for %s too short", id)
		}
	}
}

var updateKinds = flag.Bool("update", false, "rewrite data/appkinds.csv from rowKind")

// TestAppKindsTable checks that data/appkinds.csv holds rowKind's answer for
// every row of the embedded list that takes rowKind's slow path, and nothing
// else; with -update it rewrites the table.
func TestAppKindsTable(t *testing.T) {
	apps, err := LoadApps(bytes.NewReader(appsCSV))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"app_id", "name", "source", "kind", "detail"})
	want := map[string][2]string{}
	for _, a := range apps {
		if !slowKind(a) {
			continue
		}
		k, d := rowKind(a)
		if _, dup := want[kindKey(a)]; dup {
			continue
		}
		want[kindKey(a)] = [2]string{k, d}
		w.Write([]string{a.AppID, a.Name, a.Source, k, d})
	}
	w.Flush()
	if *updateKinds {
		if err := os.WriteFile(filepath.Join("data", "appkinds.csv"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got := appKinds()
	if len(want) < 1000 {
		t.Fatalf("only %d documentation rows: the list lost its documentation rows", len(want))
	}
	if !maps.Equal(got, want) {
		n := 0
		for k, v := range want {
			if got[k] != v && n < 5 {
				t.Errorf("appkinds.csv: %q: %v, rowKind says %v", k, got[k], v)
				n++
			}
		}
		t.Fatalf("data/appkinds.csv is out of date (%d rows, want %d): go test ./internal/kb -run TestAppKindsTable -update", len(got), len(want))
	}
}

// TestServicePlansAreNotApps: GUIDs that Microsoft Graph reports as service
// plan (or SKU) IDs in license details, and that the upstream list names
// like apps, are not answered as applications.
func TestServicePlansAreNotApps(t *testing.T) {
	plans := map[string]string{
		"113feb6c-3fe4-4440-bddc-54d774bf0318": "EXCHANGE_S_FOUNDATION",
		"b737dad2-2f6c-4c65-90e3-ca563267e8b9": "PROJECTWORKMANAGEMENT (Planner)",
		"4828c8ec-dc2e-4779-b502-87ac9ce28ab7": "MCOEV (Phone System)",
		"199a5c09-e0ca-4e37-8f7c-b05d533e1ea2": "MICROSOFTBOOKINGS",
		"882e1d05-acd1-4ccb-8708-6ee03664b117": "INTUNE_O365",
		"a23b959c-7ce8-4e57-9140-b90eb88a9e97": "SWAY",
		"6db1f1db-2b46-403f-be40-e39395f08dbb": "CUSTOMER_KEY",
		"64bfac92-2b17-4482-b5e5-a0304429de3e": "MICROSOFTENDPOINTDLP",
		"94065c59-bc8e-4e8b-89e5-5138d471eaff": "MICROSOFT_SEARCH",
		"8f0c5670-4e56-4892-b06d-91c085d7004f": "SPZA_IW (App Connect IW, a SKU)",
	}
	for id, plan := range plans {
		if a, ok := LookupApp(id); ok {
			t.Errorf("%s (%s) is answered as the app %q", id, plan, a.Name)
		}
		g, ok := LookupGUID(id)
		if !ok || g.Kind != GUIDOther || !strings.Contains(g.Detail, "licence") {
			t.Errorf("%s (%s): LookupGUID = %+v, %v; want an other GUID described as a licence", id, plan, g, ok)
		}
	}
	// Real first-party apps named in the same documentation stay apps.
	for _, id := range []string{"d3590ed6-52b3-4102-aeff-aad2292ab01c", "29d9ed98-a469-4536-ade2-f981bc1d605e", "1950a258-227b-4e31-a9cf-717495945fc2", "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7"} {
		if _, ok := LookupApp(id); !ok {
			t.Errorf("%s is no longer an app", id)
		}
	}
}

// TestNotAppsTable checks data/notapps.csv: every row names a row of the
// embedded list by ID and name, with a known kind, and is used.
func TestNotAppsTable(t *testing.T) {
	apps, err := LoadApps(bytes.NewReader(appsCSV))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string][]string{}
	for _, a := range apps {
		names[a.AppID] = append(names[a.AppID], a.Name)
	}
	if _, err := readTable("notapps.csv", notAppsCSV, []string{"app_id", "kind", "name", "why"}); err != nil {
		t.Fatal(err)
	}
	m := notApps()
	if len(m) < 250 {
		t.Fatalf("%d rows in data/notapps.csv", len(m))
	}
	for id, r := range m {
		if !slices.Contains(names[id], r.name) {
			t.Errorf("notapps.csv: %s %q is not a row of data/apps.csv", id, r.name)
		}
		switch r.kind {
		case "licence", "role", "other", "permission":
		default:
			t.Errorf("notapps.csv: %s: unknown kind %q", id, r.kind)
		}
		if g, ok := LookupGUID(id); !ok || g.Kind == GUIDApp {
			t.Errorf("notapps.csv: %s %q still answers as an app", id, r.name)
		}
	}
}

// FuzzNormalizeName checks the ASCII shortcuts of NormalizeName and normName
// against their general forms, and that DisplayName takes any input.
func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"Office 365 Shell WCSS-Client", "Office365 Shell WCSS-Client", "  Azure  Portal ", "Graph [Community Contributed]",
		"On-Premises Directory Synchronization Service Account", "a\tb", "\u00c2\u00a0x", "Ünïcode Äpp", "", " ", "x\x7f y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := NormalizeName(s), normalizeNameAny(s); got != want {
			t.Fatalf("NormalizeName(%q) = %q, want %q", s, got, want)
		}
		DisplayName(s) // must not panic (it did on "\xd8[CommunitY ContriButed]")
		if got, want := normName(s), normNameAny(s); got != want {
			t.Fatalf("normName(%q) = %q, want %q", s, got, want)
		}
	})
}
