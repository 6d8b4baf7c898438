// Package kb is idtrace's knowledge base: facts compiled into the binary as
// data files under data/ (see SOURCES.md for where each comes from).
//
//   - Microsoft first-party applications (app ID, name, owner tenant), from
//     merill/microsoft-info (MIT); a user may replace the list with a newer
//     export (SetAppOverride, LoadUserApps, `idtrace kb update`).
//   - The tenants Microsoft registers its own apps in (MicrosoftTenant).
//   - Microsoft internal actors seen in Entra audit and sign-in logs.
//   - AADSTS error codes with their meaning and the next step.
//   - The meaning of JWT, OpenID Connect and Entra token claims.
//
// The prose (explanations, meanings, actions) is the project's own.
// Everything is parsed lazily, once, on first use; nothing happens at init.
// Lookups return copies: callers may modify the values they get. The data
// files may only be changed by the kb package's owner, and
// data/apps.csv only by regenerating it with ./gen.
package kb

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
)

var (
	//go:embed data/apps.csv
	appsCSV []byte
	//go:embed data/tenants.csv
	tenantsCSV []byte
	//go:embed data/actors.csv
	actorsCSV []byte
	//go:embed data/aadsts.csv
	aadstsCSV []byte
	//go:embed data/claims.csv
	claimsCSV []byte
)

// readTable parses one of the hand-written embedded CSV files: a header that
// must equal want, then rows of exactly len(want) fields. Fields are trimmed.
// Comment lines start with '#'.
func readTable(name string, data []byte, want []string) ([][]string, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comment = '#'
	cr.FieldsPerRecord = len(want)
	hdr, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: data/%s: header: %w", errEmbeddedBroke, name, err)
	}
	if !slices.Equal(hdr, want) {
		return nil, fmt.Errorf("%w: data/%s: header %q, want %q", errEmbeddedBroke, name, hdr, want)
	}
	var rows [][]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: data/%s: %w", errEmbeddedBroke, name, err)
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		line, _ := cr.FieldPos(0)
		for i, f := range rec {
			if f == "" && !optionalColumn(name, want[i]) {
				return nil, fmt.Errorf("%w: data/%s: line %d: empty %s", errEmbeddedBroke, name, line, want[i])
			}
		}
		rows = append(rows, rec)
	}
}

// optionalColumn lists the columns of the hand-written tables that may be empty.
func optionalColumn(file, col string) bool {
	switch file + ":" + col {
	case "actors.csv:upn", "actors.csv:app_id", "actors.csv:name", "aadsts.csv:name", "aadb2c.csv:name":
		return true
	}
	return false
}

// Preload parses the embedded tables that the lookups of apps, GUIDs,
// tenants, internal actors and error codes read (what the first lookup
// would otherwise do), so that a caller who will need them can have the
// work done on another goroutine while it does something else.
func Preload() {
	embeddedApps()
	notApps()
	appNotes()
	tenants()
	actors()
	errorCodes()
}

// ---- tenants ----

type tenantTable struct {
	names map[string]string
}

var tenants = sync.OnceValues(func() (tenantTable, error) {
	t := tenantTable{names: map[string]string{}}
	rows, err := readTable("tenants.csv", tenantsCSV, []string{"tenant_id", "name"})
	if err != nil {
		return t, err
	}
	for i, r := range rows {
		id, ok := normGUID(r[0])
		if !ok || id != r[0] {
			return t, fmt.Errorf("%w: data/tenants.csv: row %d: bad tenant ID %q", errEmbeddedBroke, i+1, r[0])
		}
		if _, dup := t.names[id]; dup {
			return t, fmt.Errorf("%w: data/tenants.csv: duplicate tenant %s", errEmbeddedBroke, id)
		}
		t.names[id] = r[1]
	}
	return t, nil
})

// MicrosoftTenant reports whether tenantID (a GUID, any case) is one of the
// tenants in which Microsoft registers its own first-party applications, and
// names it. An app whose owner tenant is one of these is Microsoft's.
//
// The consumer (Microsoft account) tenant 9188040d-6c67-4c5b-b112-36a304b66dad
// is deliberately absent: apps that anyone registers with a personal account
// are owned by it, so it proves nothing about Microsoft.
func MicrosoftTenant(tenantID string) (name string, ok bool) {
	id, ok := normGUID(tenantID)
	if !ok {
		return "", false
	}
	t, _ := tenants()
	name, ok = t.names[id]
	return name, ok
}

// MicrosoftTenants returns the IDs of every tenant MicrosoftTenant knows, sorted.
func MicrosoftTenants() []string {
	t, _ := tenants()
	ids := make([]string, 0, len(t.names))
	for id := range t.names {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// ---- actors ----

// Actor is a Microsoft-internal account or service that appears as the actor
// ("initiated by") of Entra audit records or in sign-in logs although the
// tenant never created it.
type Actor struct {
	// Name is the display name logs show ("Microsoft Substrate Management");
	// for account actors it may be empty.
	Name string
	// UPN is set for account actors (fim_password_service@support.onmicrosoft.com).
	UPN string
	// AppID is the application ID when it is a documented fact; "" otherwise.
	AppID string
	// Kind is "internal-account" (a Microsoft-run user account) or
	// "internal-app" (a Microsoft service principal acting in app context).
	Kind string
	// Explanation says, in plain words, who this is.
	Explanation string
	// Activities is what it is typically seen doing in logs.
	Activities string
	// Source says where the fact comes from.
	Source string
}

// Actor kinds.
const (
	KindInternalAccount = "internal-account"
	KindInternalApp     = "internal-app"
)

type actorTable struct {
	list []Actor
	by   map[string]int // lower-case name, UPN, app ID -> index
}

var actors = sync.OnceValues(func() (actorTable, error) {
	t := actorTable{by: map[string]int{}}
	rows, err := readTable("actors.csv", actorsCSV,
		[]string{"name", "upn", "app_id", "kind", "explanation", "activities", "source"})
	if err != nil {
		return t, err
	}
	for i, r := range rows {
		a := Actor{Name: r[0], UPN: r[1], AppID: r[2], Kind: r[3], Explanation: r[4], Activities: r[5], Source: r[6]}
		if a.Name == "" && a.UPN == "" {
			return t, fmt.Errorf("%w: data/actors.csv: row %d: no name nor UPN", errEmbeddedBroke, i+1)
		}
		if a.Kind != KindInternalAccount && a.Kind != KindInternalApp {
			return t, fmt.Errorf("%w: data/actors.csv: row %d: bad kind %q", errEmbeddedBroke, i+1, a.Kind)
		}
		if a.AppID != "" {
			id, ok := normGUID(a.AppID)
			if !ok || id != a.AppID {
				return t, fmt.Errorf("%w: data/actors.csv: row %d: bad app ID %q", errEmbeddedBroke, i+1, a.AppID)
			}
		}
		for _, k := range []string{a.Name, a.UPN, a.AppID} {
			k = nameKey(k)
			if k == "" {
				continue
			}
			if j, dup := t.by[k]; dup {
				return t, fmt.Errorf("%w: data/actors.csv: row %d: %q already used by row %d", errEmbeddedBroke, i+1, k, j+1)
			}
			t.by[k] = len(t.list)
		}
		t.list = append(t.list, a)
	}
	return t, nil
})

// LookupActor finds a Microsoft internal actor by its display name, UPN or
// app ID: exact match, case-insensitive, surrounding and repeated white space
// ignored. A look-alike ("fim_password_service@support.onmicrosoft.co") is
// not found.
func LookupActor(nameOrUPNOrAppID string) (Actor, bool) {
	t, _ := actors()
	k := nameKey(nameOrUPNOrAppID)
	if id, ok := normGUID(k); ok {
		k = id
	}
	i, ok := t.by[k]
	if !ok || k == "" {
		return Actor{}, false
	}
	return t.list[i], true
}

// Actors returns every known internal actor, in data-file order (a copy).
func Actors() []Actor {
	t, _ := actors()
	return slices.Clone(t.list)
}

// ---- AADSTS errors ----

// ErrorCode is one AADSTS (Entra security token service) error.
type ErrorCode struct {
	// Code is the number after "AADSTS" (50076 for AADSTS50076).
	Code int
	// Name is the symbolic name Microsoft publishes for the code
	// ("UserStrongAuthClientAuthNRequired"), or "" when the public reference
	// gives none (idtrace does not invent names).
	Name string
	// Meaning says what went wrong, in plain words.
	Meaning string
	// Action is the next step: who should do what.
	Action string
	// Category groups codes; one of the Category* constants.
	Category string
}

// Error categories.
const (
	CategoryMFA               = "mfa"
	CategoryConditionalAccess = "conditional-access"
	CategoryConsent           = "consent"
	CategoryClientAuth        = "client-auth"
	CategoryClient            = "client-config"
	CategoryRedirect          = "redirect"
	CategoryUser              = "user"
	CategoryCredentials       = "credentials"
	CategoryTenant            = "tenant"
	CategoryToken             = "token"
	CategoryRequest           = "request"
	CategoryDevice            = "device"
	CategoryFederation        = "federation"
	CategoryThrottling        = "throttling"
	CategoryServer            = "server"
	CategoryInteraction       = "interaction"
)

// Categories lists every valid ErrorCode.Category.
var Categories = []string{
	CategoryMFA, CategoryConditionalAccess, CategoryConsent, CategoryClientAuth, CategoryClient,
	CategoryRedirect, CategoryUser, CategoryCredentials, CategoryTenant, CategoryToken, CategoryRequest,
	CategoryDevice, CategoryFederation, CategoryThrottling, CategoryServer, CategoryInteraction,
	CategoryMFAFailure, CategorySignal,
}

type errorTable struct {
	list []ErrorCode
	by   map[int]int
}

var errorCodes = sync.OnceValues(func() (errorTable, error) { return loadErrorTable("aadsts.csv", aadstsCSV) })

// loadErrorTable reads an embedded error-code table (data/aadsts.csv,
// data/aadb2c.csv): code, name, category, meaning, action; sorted by code.
func loadErrorTable(name string, data []byte) (errorTable, error) {
	t := errorTable{by: map[int]int{}}
	rows, err := readTable(name, data, []string{"code", "name", "category", "meaning", "action"})
	if err != nil {
		return t, err
	}
	for i, r := range rows {
		n, err := strconv.Atoi(r[0])
		if err != nil || n <= 0 {
			return t, fmt.Errorf("%w: data/%s: row %d: bad code %q", errEmbeddedBroke, name, i+1, r[0])
		}
		if !slices.Contains(Categories, r[2]) {
			return t, fmt.Errorf("%w: data/%s: row %d: code %d: unknown category %q", errEmbeddedBroke, name, i+1, n, r[2])
		}
		if j, dup := t.by[n]; dup {
			return t, fmt.Errorf("%w: data/%s: code %d on rows %d and %d", errEmbeddedBroke, name, n, j+1, i+1)
		}
		t.by[n] = len(t.list)
		t.list = append(t.list, ErrorCode{Code: n, Name: r[1], Category: r[2], Meaning: r[3], Action: r[4]})
	}
	slices.SortFunc(t.list, func(a, b ErrorCode) int { return cmp.Compare(a.Code, b.Code) })
	for i, e := range t.list {
		t.by[e.Code] = i
	}
	return t, nil
}

// LookupError returns the AADSTS code (the number without the "AADSTS" prefix).
func LookupError(code int) (ErrorCode, bool) {
	t, _ := errorCodes()
	i, ok := t.by[code]
	if !ok {
		return ErrorCode{}, false
	}
	return t.list[i], true
}

// ParseErrorCode extracts the number from "AADSTS50076", "aadsts50076:" or
// "50076". It reports false if s holds no such code.
func ParseErrorCode(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 6 && strings.EqualFold(s[:6], "AADSTS") {
		s = s[6:]
	}
	end := 0
	for end < len(s) && end < 9 && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:end])
	return n, err == nil && n > 0
}

// Errors returns every known AADSTS code, sorted by code (a copy).
func Errors() []ErrorCode {
	t, _ := errorCodes()
	return slices.Clone(t.list)
}

// ---- claims ----

// Claim explains one token claim.
type Claim struct {
	// Name is the claim as it appears in a token ("preferred_username").
	// Claims with a family prefix are listed by it ("xms_cc").
	Name string
	// Meaning says what the claim tells, in plain words.
	Meaning string
	// Tokens says which tokens carry it ("id_token, access_token").
	Tokens string
}

type claimTable struct {
	list []Claim
	by   map[string]int
}

var claims = sync.OnceValues(func() (claimTable, error) {
	t := claimTable{by: map[string]int{}}
	rows, err := readTable("claims.csv", claimsCSV, []string{"name", "tokens", "meaning"})
	if err != nil {
		return t, err
	}
	for i, r := range rows {
		k := strings.ToLower(r[0])
		if j, dup := t.by[k]; dup {
			return t, fmt.Errorf("%w: data/claims.csv: claim %q on rows %d and %d", errEmbeddedBroke, r[0], j+1, i+1)
		}
		t.by[k] = len(t.list)
		t.list = append(t.list, Claim{Name: r[0], Tokens: r[1], Meaning: r[2]})
	}
	return t, nil
})

// LookupClaim explains a claim by name. Claim names are case-sensitive in
// tokens, but lookup ignores case so that "UPN" still finds upn. An
// unlisted xms_* claim gets a generic explanation of the xms_ family, with
// ok still true and Name set to the asked name.
func LookupClaim(name string) (Claim, bool) {
	t, _ := claims()
	k := strings.ToLower(strings.TrimSpace(name))
	if i, ok := t.by[k]; ok {
		return t.list[i], true
	}
	if strings.HasPrefix(k, "xms_") {
		if i, ok := t.by["xms_*"]; ok {
			c := t.list[i]
			c.Name = strings.TrimSpace(name)
			return c, true
		}
	}
	return Claim{}, false
}

// Claims returns every explained claim, in data-file order (a copy).
func Claims() []Claim {
	t, _ := claims()
	return slices.Clone(t.list)
}

// Check parses every embedded data file and returns the first error. The
// package's tests call it; the CLI may call it to report a broken build.
func Check() error {
	if _, err := embeddedApps(); err != nil {
		return err
	}
	if _, err := tenants(); err != nil {
		return err
	}
	if _, err := actors(); err != nil {
		return err
	}
	if _, err := errorCodes(); err != nil {
		return err
	}
	if _, err := roles(); err != nil {
		return err
	}
	if _, err := appNotes(); err != nil {
		return err
	}
	_, err := claims()
	return err
}
