package kb

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The merill/microsoft-info list that data/apps.csv comes from mixes real
// applications with every other GUID Microsoft's Entra documentation
// mentions: Graph permission IDs, directory role templates, tenant IDs,
// licence SKUs, FIDO2 authenticator models, Purview sensitive-information
// types. This file sorts each row into its kind, so that only applications
// are ever answered as applications.

// GUID kinds: what a GUID of the knowledge base is.
const (
	// GUIDApp is an application (client) ID.
	GUIDApp = "app"
	// GUIDPermission is the ID of a Microsoft Graph permission: a delegated
	// scope or an application role.
	GUIDPermission = "permission"
	// GUIDRoleTemplate is the template ID of a Microsoft Entra directory role.
	GUIDRoleTemplate = "role-template"
	// GUIDTenant is a tenant (directory) ID.
	GUIDTenant = "tenant"
	// GUIDOther is any other GUID the documentation names (a licence, an
	// Azure role, an authenticator model, ...): never an application.
	GUIDOther = "other"
)

// Provenance of an app row: how far the knowledge base can vouch for it.
const (
	// ProvenanceGraph rows were read from Microsoft Graph with the owner
	// tenant: the strongest evidence the knowledge base has.
	ProvenanceGraph = "graph"
	// ProvenanceDocs rows are named in Microsoft's documentation, which gives
	// no owner tenant.
	ProvenanceDocs = "docs"
	// ProvenanceCommunity rows were contributed by the community: likely, not proven.
	ProvenanceCommunity = "community"
	// ProvenanceUser rows come from a user's own export with another source.
	ProvenanceUser = "user"
)

// ConsumerTenantID is the tenant of personal Microsoft accounts. Anyone can
// register an app there, so it is no evidence that an app is Microsoft's.
const ConsumerTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// GUIDInfo is what the knowledge base knows about one GUID.
type GUIDInfo struct {
	ID string
	// Kind is one of the GUID* constants.
	Kind string
	// Name is the app, permission, role or tenant name.
	Name string
	// Detail qualifies the kind: "delegated" or "application" for a
	// permission, a description for an other GUID, the provenance of an app.
	Detail string
	// OwnerTenantID is the owner tenant of an app, when known.
	OwnerTenantID string
	// Source is the row's source (the data file or upstream column).
	Source string
}

//go:embed data/roles.csv
var rolesCSV []byte

type roleTable struct {
	byID   map[string]string
	byName map[string]string
}

var roles = sync.OnceValues(func() (roleTable, error) {
	t := roleTable{byID: map[string]string{}, byName: map[string]string{}}
	rows, err := readTable("roles.csv", rolesCSV, []string{"template_id", "name"})
	if err != nil {
		return t, err
	}
	for i, r := range rows {
		id, ok := normGUID(r[0])
		if !ok || id != r[0] {
			return t, fmt.Errorf("%w: data/roles.csv: row %d: bad template ID %q", errEmbeddedBroke, i+1, r[0])
		}
		if _, dup := t.byID[id]; dup {
			return t, fmt.Errorf("%w: data/roles.csv: duplicate template %s", errEmbeddedBroke, id)
		}
		t.byID[id] = r[1]
		t.byName[NormalizeName(r[1])] = id
	}
	return t, nil
})

// LookupRoleTemplate names the Entra directory role whose template ID is id.
func LookupRoleTemplate(id string) (string, bool) {
	id, ok := normGUID(id)
	if !ok {
		return "", false
	}
	t, _ := roles()
	name, ok := t.byID[id]
	return name, ok
}

// RoleTemplateByName returns the template ID of the directory role named name
// (compared with NormalizeName).
func RoleTemplateByName(name string) (string, bool) {
	t, _ := roles()
	id, ok := t.byName[NormalizeName(name)]
	return id, ok
}

// NormalizeName is the form in which names are compared: lower case, with
// white space, punctuation and the upstream "[Community Contributed]" marker
// removed. "Office 365 Shell WCSS-Client" and "Office365 Shell WCSS-Client"
// compare equal.
func NormalizeName(s string) string {
	// ASCII without '[' (no marker to remove): keep the letters, lower
	// case, and the digits, as the general loop below does.
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] < utf8.RuneSelf && s[i] != '['
	}
	if plain {
		b := make([]byte, 0, len(s))
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				b = append(b, c)
			case 'A' <= c && c <= 'Z':
				b = append(b, c+'a'-'A')
			}
		}
		return string(b)
	}
	return normalizeNameAny(s)
}

// normalizeNameAny is NormalizeName for any input.
func normalizeNameAny(s string) string {
	s = cleanSpace(s)
	s = cutMarker(s)
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// DisplayName is an app's name without the upstream "[Community Contributed]" marker.
func DisplayName(name string) string {
	if cut := cutMarker(name); len(cut) != len(name) {
		return strings.TrimSpace(cut)
	}
	return name
}

// communityMarker is the note the upstream list adds to community rows' names.
const communityMarker = "[community contributed]"

// cutMarker removes the first communityMarker, in any ASCII case, from s.
// It looks in s itself: an index into strings.ToLower(s) can be off, as
// lower-casing may change the length of s (invalid UTF-8, some letters).
func cutMarker(s string) string {
	for i := strings.IndexByte(s, '['); i >= 0; {
		if len(s)-i >= len(communityMarker) && asciiEqualFold(s[i:i+len(communityMarker)], communityMarker) {
			return s[:i] + s[i+len(communityMarker):]
		}
		j := strings.IndexByte(s[i+1:], '[')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return s
}

// asciiEqualFold reports whether s equals lower (lower-case ASCII, of the
// same length) when ASCII letters in s are lower-cased.
func asciiEqualFold(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// Provenance says how far the knowledge base vouches for an app row: see
// the Provenance* constants.
func (a App) Provenance() string {
	switch strings.ToLower(strings.TrimSpace(a.Source)) {
	case "graph":
		return ProvenanceGraph
	case "entradocs":
		return ProvenanceDocs
	case "github":
		return ProvenanceCommunity
	}
	return ProvenanceUser
}

var (
	// A Graph permission: "User.Read - Delegated", "Files.Read.All - Application",
	// or a bare dotted name ("TeamsTab.Create.Chat").
	permissionRe = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)+)(?: - (Delegated|Application))?$`)
	anyTypedRe   = regexp.MustCompile(`^(.+) - (Delegated|Application)$`)
	fidoRe       = regexp.MustCompile(`(?i)(\bfido|\bu2f\b|authenticator|security key|yubikey|passkey|webauthn|ctap|digipass|etoken|crescendo|ishield|fingerprint key|\bthinc\b|id-one card|\bRSA DS\d|aaguid)`)
	// Third-party applications and products the documentation names by GUID
	// (gallery apps, tutorials): never Microsoft's.
	thirdPartyRe = regexp.MustCompile(`(?i)^(adobe|amazon|marketo|cirrus|confluence|jira|datawiza|dayforce|ensurity|idemia|onespan|safenet|swissbit|taglio|verimark|atkey|authenton|codeplex|bing ads tutorial|crm online instance for testing|cronus|copilot transcript example|mock |teams rooms test|dynamics 365 omnichanel sample|dynamics 365 customer service sample)`)
	// Lifecycle Workflows task definitions and directory setting templates.
	taskRe = regexp.MustCompile(`(?i)^(send (email|welcome|onboarding)|add user to|remove user|remove users|enable user account|disable user account|request user access package|run a custom task|change password$|recreate a missing)|settings$`)
	// Licences and service plans (SKU names), as the licensing reference names them.
	licenceRe = regexp.MustCompile(`(?i)(\bplan\b|\bplans\b|\btrial\b|\bgcc\b|government|\bgov\b|faculty|students?\b|\bedu\b|\b[aefgkmp][1-5]\b|add-on|\baddon\b|capacity|vcpu|\blicen[cs]e|subscription|\bedition\b|\bsku\b|\bunits\b|per user|per app|_\d+$|\(\d+\)|\busgov|\bqualified offer|\bviral\b|\bvtrial\b|\bdod\b|\bpartner\b|\bnonprofit|\bfor teams\b|\bpremium\b|\bstandard\b|\bbasic\b|\bessentials\b|\bfree\b|\bmin\)|\bdomestic\b|\bcalling\b|\battach\b|\bbundle\b)`)
	// Azure built-in roles and other role names.
	azureRoleRe = regexp.MustCompile(`(?i)\b(reader|contributor|owner|operator|administrator|admin|user|users|role|editor|viewer|writer|approver|author|manager|managers|analyst|responder|sender|receiver|publisher|listener|creator|engineer|specialist|member|members|developer|exporter|importer|auditor|inviter|technician|login|access)( \(preview\))?$`)
	// Other things the documentation lists by GUID.
	otherDocRe = regexp.MustCompile(`(?i)(tenant|\bgroup\b|\bnamespace\b|interface|\btable id\b|\bguid\b|state store|\bsid\b|\bschema\b|\bpolicy id\b|\bobject id\b|remove access|send onboarding|^re-register|\bsetting\b|\btemplate\b)`)
	emptyGUID  = "00000000-0000-0000-0000-000000000000"
)

//go:embed data/appkinds.csv
var appKindsCSV []byte

// appKinds is rowKind precomputed for the rows of the embedded list that
// take its slow path (documentation rows, matched against a dozen regular
// expressions: a fifth of a second at start-up otherwise), keyed by
// kindKey. data/appkinds.csv is written by
// `go test ./internal/kb -run TestAppKindsTable -update`, and the test fails
// when it is out of date.
var appKinds = sync.OnceValue(func() map[string][2]string {
	m := map[string][2]string{}
	cr := csv.NewReader(bytes.NewReader(appKindsCSV))
	cr.FieldsPerRecord = 5
	rows, err := cr.ReadAll()
	if err != nil || len(rows) == 0 {
		return m // the table test reports it; rowKind answers meanwhile
	}
	for _, r := range rows[1:] {
		m[kindKey(App{AppID: r[0], Name: r[1], Source: r[2]})] = [2]string{r[3], r[4]}
	}
	return m
})

func kindKey(a App) string { return a.AppID + "\x00" + a.Name + "\x00" + a.Source }

// slowKind reports whether rowKind has to match a's name against patterns
// (the rows appkinds.csv holds).
func slowKind(a App) bool {
	p := a.Provenance()
	return p != ProvenanceGraph && p != ProvenanceCommunity
}

// kindOf is rowKind, answered from the precomputed table pre when it holds a.
func kindOf(a App, pre map[string][2]string) (kind, detail string) {
	if slowKind(a) {
		if k, ok := pre[kindKey(a)]; ok {
			return k[0], k[1]
		}
	}
	return rowKind(a)
}

// rowKind sorts one row of the app list into its kind. Rows from Microsoft
// Graph and community rows are applications (the list collects service
// principals there); rows from the documentation are applications only when
// their name reads like one.
func rowKind(a App) (kind, detail string) {
	if name, ok := LookupRoleTemplate(a.AppID); ok {
		return GUIDRoleTemplate, name
	}
	if a.AppID == ConsumerTenantID {
		return GUIDTenant, "the consumer (personal Microsoft account) tenant"
	}
	if name, ok := MicrosoftTenant(a.AppID); ok {
		return GUIDTenant, name
	}
	if a.AppID == emptyGUID {
		return GUIDOther, "the empty GUID"
	}
	if p := a.Provenance(); p == ProvenanceGraph || p == ProvenanceCommunity {
		return GUIDApp, p
	}
	n := a.Name
	if m := permissionRe.FindStringSubmatch(n); m != nil {
		return GUIDPermission, strings.ToLower(m[2])
	}
	if m := anyTypedRe.FindStringSubmatch(n); m != nil {
		return GUIDPermission, strings.ToLower(m[2])
	}
	switch {
	case n == "":
		return GUIDOther, "a GUID named in Microsoft's documentation without a name"
	case strings.HasPrefix(n, "Purview/"):
		return GUIDOther, "a Microsoft Purview sensitive information type"
	case thirdPartyRe.MatchString(n):
		return GUIDOther, "a third-party application or an example named in Microsoft's documentation, not a Microsoft application"
	case taskRe.MatchString(n):
		return GUIDOther, "a Lifecycle Workflows task or directory setting template named in Microsoft's documentation"
	case fidoRe.MatchString(n):
		return GUIDOther, "a passkey/FIDO2 authenticator model (AAGUID)"
	case licenceRe.MatchString(n) || isUpperName(n):
		return GUIDOther, "most likely a licence (SKU or service plan) named in Microsoft's documentation"
	case azureRoleRe.MatchString(n):
		return GUIDOther, "most likely an Azure built-in role or another role named in Microsoft's documentation"
	case otherDocRe.MatchString(n):
		return GUIDOther, "an identifier named in Microsoft's documentation that is not an application"
	}
	if r, ok := notApps()[a.AppID]; ok && NormalizeName(r.name) == NormalizeName(n) {
		switch r.kind {
		case "licence":
			return GUIDOther, "a licence (product SKU or service plan) that Microsoft's documentation names, not an application (reviewed: data/notapps.csv)"
		case "role":
			return GUIDOther, "an Azure built-in role or another role that Microsoft's documentation names, not an application (reviewed: data/notapps.csv)"
		case "permission":
			return GUIDPermission, r.why
		default:
			return GUIDOther, r.why + " named in Microsoft's documentation, not an application (reviewed: data/notapps.csv)"
		}
	}
	return GUIDApp, ProvenanceDocs
}

//go:embed data/notapps.csv
var notAppsCSV []byte

type notApp struct{ kind, name, why string }

// notApps are the documentation rows that a review found not to be
// applications although their names fit no pattern above: licences (SKU
// and service plan names such as "Exchange Foundation" or "Microsoft
// Planner", whose GUIDs are service plan IDs, not app IDs), Azure roles,
// ETW providers, COM classes, documentation links. A row matches only
// with the same ID and name, so a renamed upstream row is looked at again.
var notApps = sync.OnceValue(func() map[string]notApp {
	m := map[string]notApp{}
	rows, err := readTable("notapps.csv", notAppsCSV, []string{"app_id", "kind", "name", "why"})
	if err != nil {
		return m // TestNotAppsTable reports it
	}
	for _, r := range rows {
		m[r[0]] = notApp{kind: r[1], name: r[2], why: r[3]}
	}
	return m
})

// isUpperName reports whether a name is written in capitals, as licence
// service plans are ("POWER AUTOMATE FOR PROJECT P1").
func isUpperName(s string) bool {
	letters, upper := 0, 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
			if unicode.IsUpper(r) {
				upper++
			}
		}
	}
	return letters >= 8 && upper == letters
}

// LookupGUID says what a GUID is: an application, a Graph permission, a
// directory role template, a tenant, or another documented identifier.
// Tenants and role templates come from their own tables first; then the
// app list, sorted by kind.
func LookupGUID(id string) (GUIDInfo, bool) {
	id, ok := normGUID(id)
	if !ok {
		return GUIDInfo{}, false
	}
	if name, ok := MicrosoftTenant(id); ok {
		return GUIDInfo{ID: id, Kind: GUIDTenant, Name: name, Detail: "a tenant in which Microsoft registers its own applications", Source: "data/tenants.csv"}, true
	}
	if id == ConsumerTenantID {
		return GUIDInfo{ID: id, Kind: GUIDTenant, Name: "Microsoft consumer (personal account) tenant",
			Detail: "anyone can register an app owned by this tenant, so it is no evidence of Microsoft", Source: "Microsoft identity platform documentation"}, true
	}
	if name, ok := LookupRoleTemplate(id); ok {
		return GUIDInfo{ID: id, Kind: GUIDRoleTemplate, Name: name, Detail: "a Microsoft Entra built-in directory role", Source: "data/roles.csv"}, true
	}
	ix := currentApps()
	if a, ok := ix.byID[id]; ok {
		return GUIDInfo{ID: id, Kind: GUIDApp, Name: DisplayName(a.Name), Detail: a.Provenance(), OwnerTenantID: a.OwnerTenantID, Source: a.Source}, true
	}
	if g, ok := ix.others[id]; ok {
		return g, true
	}
	return GUIDInfo{}, false
}

// PermissionsByName returns the Graph permissions named name ("User.Read"),
// delegated and application.
func PermissionsByName(name string) []GUIDInfo {
	k := NormalizeName(name)
	var out []GUIDInfo
	for _, g := range currentApps().others {
		if g.Kind == GUIDPermission && NormalizeName(g.Name) == k {
			out = append(out, g)
		}
	}
	slices.SortFunc(out, func(a, b GUIDInfo) int { return strings.Compare(a.Detail+a.ID, b.Detail+b.ID) })
	return out
}

// otherInfo builds the GUIDInfo of a non-app row.
func otherInfo(a App, kind, detail string) GUIDInfo {
	name := a.Name
	if kind == GUIDPermission {
		if m := anyTypedRe.FindStringSubmatch(name); m != nil {
			name = m[1]
		}
	}
	return GUIDInfo{ID: a.AppID, Kind: kind, Name: name, Detail: detail, Source: a.Source}
}

// KindCounts counts the rows of the current app list by kind.
func KindCounts() map[string]int {
	ix := currentApps()
	c := map[string]int{GUIDApp: len(ix.byID)}
	for _, g := range ix.others {
		c[g.Kind]++
	}
	return c
}

//go:embed data/appnotes.csv
var appNotesCSV []byte

var appNotes = sync.OnceValues(func() (map[string]string, error) {
	m := map[string]string{}
	rows, err := readTable("appnotes.csv", appNotesCSV, []string{"app_id", "does"})
	if err != nil {
		return m, err
	}
	for i, r := range rows {
		id, ok := normGUID(r[0])
		if !ok || id != r[0] {
			return m, fmt.Errorf("%w: data/appnotes.csv: row %d: bad app ID %q", errEmbeddedBroke, i+1, r[0])
		}
		m[id] = r[1]
	}
	return m, nil
})

// AppDoes says in one sentence what a common Microsoft app does, or "".
func AppDoes(appID string) string {
	id, ok := normGUID(appID)
	if !ok {
		return ""
	}
	m, _ := appNotes()
	return m[id]
}
