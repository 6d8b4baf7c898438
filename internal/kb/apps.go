package kb

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/idtrace/idtrace/internal/trace"
)

// App is a Microsoft first-party application as the knowledge base knows it.
// Values returned by lookups are copies; callers may modify them freely.
type App struct {
	// AppID is the application (client) ID, a lower-case GUID.
	AppID string
	// Name is the display name as published by the source (may be empty:
	// a few Graph rows carry no name).
	Name string
	// OwnerTenantID is the tenant that owns the app registration (lower-case
	// GUID), or "" when the source does not say.
	OwnerTenantID string
	// Source is where the row comes from: "Graph" (service principals seen in
	// Microsoft Graph), "EntraDocs" (GUIDs published in Microsoft's Entra
	// documentation), "GitHub" (community-contributed), or whatever a user's
	// export says.
	Source string
	// Verified is true only for rows read from Microsoft Graph with their
	// owner tenant. Rows named in Microsoft's documentation (no owner tenant)
	// and community-contributed rows are not verified; Provenance tells them apart.
	Verified bool
}

// MaxAppsFileSize caps what LoadApps reads, so that a hostile file cannot
// exhaust memory. The real export is about 0.5 MB.
const MaxAppsFileSize = 64 << 20

// MaxApps caps the number of rows LoadApps accepts.
const MaxApps = 1_000_000

// verifiedSources are the Source values whose rows are Verified.
var verifiedSources = map[string]bool{"graph": true}

// IsVerifiedSource reports whether rows from source count as verified.
func IsVerifiedSource(source string) bool {
	return verifiedSources[strings.ToLower(strings.TrimSpace(source))]
}

//go:generate go run ./gen -in ../../../shared/testdata/other/merill_MicrosoftApps.csv -out data/apps.csv

// LoadApps parses a CSV in the shape of merill/microsoft-info's
// MicrosoftApps.csv: a header naming AppId, AppDisplayName and optionally
// AppOwnerOrganizationId and Source (any order, case-insensitive, a UTF-8
// BOM allowed, other columns ignored), then one row per app.
//
// Values are normalised: surrounding white space (including no-break spaces
// and their mis-decoded "Â\u00a0" form found upstream) is trimmed, runs of
// white space in names collapse to one space, GUIDs are lower-cased. Every
// row is returned, in file order, duplicates included. A row whose AppId or
// AppOwnerOrganizationId is not a GUID, or with the wrong number of fields,
// is an error: a *trace.InputError with the 1-based line and column.
func LoadApps(r io.Reader) ([]App, error) {
	lr := &io.LimitedReader{R: r, N: MaxAppsFileSize + 1}
	cr := csv.NewReader(&bomSkipper{r: lr})
	cr.FieldsPerRecord = 0
	cr.ReuseRecord = true
	inErr := func(line, col int, field string, err error) error {
		return &trace.InputError{Entry: -1, Line: line, Column: col, Offset: -1, Field: field, Err: err}
	}
	hdr, err := cr.Read()
	if err == io.EOF {
		return nil, inErr(1, 0, "", errors.New("empty file: expected a header with AppId and AppDisplayName"))
	}
	if err != nil {
		return nil, csvErr(err, lr)
	}
	iID, iName, iOwner, iSrc := -1, -1, -1, -1
	for i, h := range hdr {
		switch strings.ToLower(cleanSpace(h)) {
		case "appid":
			iID = i
		case "appdisplayname":
			iName = i
		case "appownerorganizationid":
			iOwner = i
		case "source":
			iSrc = i
		}
	}
	if iID < 0 || iName < 0 {
		return nil, inErr(1, 0, "header", fmt.Errorf("missing column AppId or AppDisplayName (got %q)", strings.Join(hdr, ",")))
	}
	var apps []App
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvErr(err, lr)
		}
		line, _ := cr.FieldPos(0)
		if len(apps) >= MaxApps {
			return nil, inErr(line, 0, "", fmt.Errorf("more than %d apps", MaxApps))
		}
		a := App{}
		id, ok := normGUID(rec[iID])
		if !ok {
			l, c := cr.FieldPos(iID)
			return nil, inErr(l, c, "AppId", fmt.Errorf("not a GUID: %q", clip(rec[iID])))
		}
		a.AppID = id
		a.Name = normName(rec[iName])
		if iOwner >= 0 && strings.TrimSpace(rec[iOwner]) != "" {
			o, ok := normGUID(rec[iOwner])
			if !ok {
				l, c := cr.FieldPos(iOwner)
				return nil, inErr(l, c, "AppOwnerOrganizationId", fmt.Errorf("not a GUID: %q", clip(rec[iOwner])))
			}
			a.OwnerTenantID = o
		}
		if iSrc >= 0 {
			a.Source = cleanSpace(rec[iSrc])
		}
		a.Verified = IsVerifiedSource(a.Source)
		apps = append(apps, a)
	}
	if lr.N <= 0 {
		return nil, inErr(0, 0, "", fmt.Errorf("file larger than %d bytes", MaxAppsFileSize))
	}
	return apps, nil
}

// csvErr turns an encoding/csv error into a located *trace.InputError.
func csvErr(err error, lr *io.LimitedReader) error {
	if lr.N <= 0 {
		return &trace.InputError{Entry: -1, Offset: -1, Err: fmt.Errorf("file larger than %d bytes", MaxAppsFileSize)}
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &trace.InputError{Entry: -1, Line: pe.Line, Column: pe.Column, Offset: -1, Err: pe.Err}
	}
	return &trace.InputError{Entry: -1, Offset: -1, Err: err}
}

// WriteApps writes apps in the MicrosoftApps.csv shape LoadApps reads,
// sorted by AppID (then name), every field quoted as upstream does.
func WriteApps(w io.Writer, apps []App) error {
	s := slices.Clone(apps)
	slices.SortStableFunc(s, func(a, b App) int {
		return cmp.Or(cmp.Compare(a.AppID, b.AppID), cmp.Compare(a.Name, b.Name))
	})
	var b bytes.Buffer
	q := func(v string) { b.WriteByte('"'); b.WriteString(strings.ReplaceAll(v, `"`, `""`)); b.WriteByte('"') }
	b.WriteString(`"AppId","AppDisplayName","AppOwnerOrganizationId","Source"` + "\n")
	for _, a := range s {
		q(a.AppID)
		b.WriteByte(',')
		q(a.Name)
		b.WriteByte(',')
		q(a.OwnerTenantID)
		b.WriteByte(',')
		q(a.Source)
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

// bomSkipper drops a leading UTF-8 byte order mark.
type bomSkipper struct {
	r       io.Reader
	checked bool
	pending []byte
}

func (b *bomSkipper) Read(p []byte) (int, error) {
	if !b.checked {
		b.checked = true
		var buf [3]byte
		n, err := io.ReadFull(b.r, buf[:])
		if !(n == 3 && buf == [3]byte{0xEF, 0xBB, 0xBF}) {
			b.pending = append(b.pending, buf[:n]...)
		}
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			return 0, err
		}
	}
	if len(b.pending) > 0 {
		n := copy(p, b.pending)
		b.pending = b.pending[n:]
		return n, nil
	}
	return b.r.Read(p)
}

// cleanSpace trims white space, including no-break spaces and the
// mis-decoded UTF-8 no-break space "Â\u00a0" that appears in the upstream data.
func cleanSpace(s string) string {
	s = strings.ReplaceAll(s, "\u00c2\u00a0", " ")
	return strings.TrimFunc(s, unicode.IsSpace)
}

// normName trims a display name and collapses inner runs of white space.
func normName(s string) string {
	// ASCII with single spaces between words only: nothing to change.
	plain := len(s) > 0 && s[0] != ' ' && s[len(s)-1] != ' '
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= ' ' && c < utf8.RuneSelf && (c != ' ' || s[i-1] != ' ')
	}
	if plain {
		return s
	}
	return normNameAny(s)
}

// normNameAny is normName for any input.
func normNameAny(s string) string {
	return strings.Join(strings.FieldsFunc(cleanSpace(s), unicode.IsSpace), " ")
}

// normGUID returns s as a lower-case GUID (8-4-4-4-12 hex digits), optionally
// in braces, or false.
func normGUID(s string) (string, bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(cleanSpace(s), "{"), "}")
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return "", false
			}
		}
	}
	return strings.ToLower(s), true
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// appIndex is a loaded app list with its lookup maps, its rows sorted by
// kind (see rowKind): only application rows are in apps, byID and byName;
// the others are in others. It is immutable once built.
type appIndex struct {
	apps   []App
	byID   map[string]App
	byName map[string][]App
	others map[string]GUIDInfo
	all    []App
}

func newAppIndex(all []App) *appIndex {
	ix := &appIndex{byID: make(map[string]App, len(all)), byName: make(map[string][]App), others: map[string]GUIDInfo{}, all: all}
	pre := appKinds()
	for _, a := range all {
		kind, detail := kindOf(a, pre)
		if kind != GUIDApp {
			if _, dup := ix.others[a.AppID]; !dup {
				ix.others[a.AppID] = otherInfo(a, kind, detail)
			}
			continue
		}
		ix.apps = append(ix.apps, a)
		if _, dup := ix.byID[a.AppID]; !dup {
			ix.byID[a.AppID] = a // first row wins; duplicates are reported by tests
		}
		if k := NormalizeName(a.Name); k != "" {
			ix.byName[k] = append(ix.byName[k], a)
		}
	}
	return ix
}

func nameKey(s string) string { return strings.ToLower(normName(s)) }

var (
	embeddedApps     = sync.OnceValues(func() (*appIndex, error) { return loadEmbeddedApps() })
	appOverride      atomic.Pointer[appIndex]
	errEmbeddedBroke = errors.New("kb: embedded data is malformed")
)

func loadEmbeddedApps() (*appIndex, error) {
	apps, err := LoadApps(bytes.NewReader(appsCSV))
	if err != nil {
		return &appIndex{byID: map[string]App{}, byName: map[string][]App{}, others: map[string]GUIDInfo{}}, fmt.Errorf("%w: data/apps.csv: %w", errEmbeddedBroke, err)
	}
	return newAppIndex(apps), nil
}

// currentApps returns the override if set, else the embedded list. A broken
// embedded file yields an empty index (and fails the package tests).
func currentApps() *appIndex {
	if ix := appOverride.Load(); ix != nil {
		return ix
	}
	ix, _ := embeddedApps()
	return ix
}

// LookupApp finds an app by its application (client) ID, case-insensitively
// (braces and surrounding spaces allowed).
func LookupApp(appID string) (App, bool) {
	id, ok := normGUID(appID)
	if !ok {
		return App{}, false
	}
	a, ok := currentApps().byID[id]
	return a, ok
}

// AppsByName returns the apps whose display name equals name, compared
// after NormalizeName (case, white space and punctuation ignored). Several apps
// may share a name; the result is a new slice in list order, nil if none.
func AppsByName(name string) []App {
	k := NormalizeName(name)
	if k == "" {
		return nil
	}
	return slices.Clone(currentApps().byName[k])
}

// Apps returns every application of the current list (the user's override
// if set), in list order; rows of other kinds (permissions, roles, tenants,
// licences: see LookupGUID) are left out. The slice is a copy.
func Apps() []App { return slices.Clone(currentApps().apps) }

// EmbeddedApps returns every row of the list compiled into the binary
// (applications and rows of other kinds alike, as data/apps.csv holds
// them), ignoring any override, and an error if the embedded data is malformed.
func EmbeddedApps() ([]App, error) {
	ix, err := embeddedApps()
	return slices.Clone(ix.all), err
}

// SetAppOverride replaces the app list used by LookupApp, AppsByName and
// Apps with apps (typically a user's newer export loaded with LoadApps).
// A nil or empty slice restores the embedded list. It is safe for
// concurrent use; the slice is copied.
func SetAppOverride(apps []App) {
	if len(apps) == 0 {
		appOverride.Store(nil)
		return
	}
	appOverride.Store(newAppIndex(slices.Clone(apps)))
}

// UserAppsPath is where `idtrace kb update` keeps a user's app list:
// os.UserConfigDir()/idtrace/apps.csv.
func UserAppsPath() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("kb: no user config directory: %w", err)
	}
	return filepath.Join(d, "idtrace", "apps.csv"), nil
}

// PreviousAppsPath is where `idtrace kb update` keeps the user's list it
// replaced, for `idtrace kb reset` to restore: apps.previous.csv beside
// UserAppsPath.
func PreviousAppsPath() (string, error) {
	p, err := UserAppsPath()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(p), "apps.previous.csv"), nil
}

// LoadUserApps loads the user's app list from UserAppsPath, if it exists,
// and installs it with SetAppOverride. A missing file is not an error (the
// embedded list stays in use); a malformed one is, and leaves the embedded
// list in place.
func LoadUserApps() error {
	p, err := UserAppsPath()
	if err != nil {
		return nil // no config dir: nothing to load
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("kb: %w", err)
	}
	defer f.Close()
	apps, err := LoadApps(f)
	if err != nil {
		var ie *trace.InputError
		if errors.As(err, &ie) {
			ie.File = p
		}
		return fmt.Errorf("kb: user app list: %w", err)
	}
	SetAppOverride(apps)
	return nil
}
