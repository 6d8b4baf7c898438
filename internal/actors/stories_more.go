package actors

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idtrace/idtrace/internal/trace"
)

// More story kinds.
const (
	// StoryAppCredential is one account adding credentials (secrets or
	// certificates) to applications or service principals.
	StoryAppCredential = "app-credential"
	// StoryBlockedAccount is sign-in attempts to a disabled or locked account.
	StoryBlockedAccount = "blocked-account-sign-ins"
)

// Sign-in error codes of accounts that cannot sign in.
var blockedAccountCodes = map[int]string{
	50057: "disabled",
	50053: "locked or blocked",
}

// Limits of the per-user country memory used to spot failures from new countries.
const (
	maxCountryUsers    = 100_000
	maxCountriesByUser = 16
)

// isCredentialActivity reports whether an audit record adds or changes an
// application's or service principal's credentials.
func isCredentialActivity(e *trace.Event) bool {
	a := e.Activity
	if containsFold(a, "Certificates and secrets management") || containsFold(a, "service principal credentials") {
		return true
	}
	if containsFold(a, "Update application") || containsFold(a, "Update service principal") {
		for _, t := range e.Targets {
			for _, mp := range t.Modified {
				if strings.EqualFold(mp.Name, "KeyDescription") {
					return true
				}
			}
		}
	}
	return false
}

var keyDescRe = regexp.MustCompile(`KeyIdentifier=([0-9A-Fa-f-]+),KeyType=([A-Za-z0-9]+)`)

// addedKeys returns the key types of the credentials a record adds: the
// KeyDescription entries of the new value that the old value lacks.
func addedKeys(e *trace.Event) (types []string) {
	for _, t := range e.Targets {
		for _, mp := range t.Modified {
			if !strings.EqualFold(mp.Name, "KeyDescription") {
				continue
			}
			old := map[string]bool{}
			for _, m := range keyDescRe.FindAllStringSubmatch(mp.Old, -1) {
				old[strings.ToLower(m[1])] = true
			}
			for _, m := range keyDescRe.FindAllStringSubmatch(mp.New, -1) {
				if !old[strings.ToLower(m[1])] {
					types = append(types, m[2])
				}
			}
		}
	}
	return types
}

// signInFacts are the facts of a sign-in record a story reports.
type signInFacts struct {
	ip, clientApp, ca, grants, authReq, requestID, risk string
	// location is the portal's location text; without it, the location is
	// city, state and country (appendLocation).
	location, city, state, country string
	legacy                         bool
}

// Indexes of the Extra fields factsOf reads.
const (
	xCity = iota
	xState
	xCountry
	xLocationDetails
	xLocation
	xCA
	xAuthReq
	xRequestID
	xRiskLevel
	xRiskState
	xCAPolicies
	xCount
)

// extraNames are the keys (or last dotted segments of keys) of each field,
// in the spellings of the export shapes.
var extraNames = [xCount][]string{
	xCity:            {"city"},
	xState:           {"state"},
	xCountry:         {"countryOrRegion"},
	xLocationDetails: {"LocationDetails"},
	xLocation:        {"location"},
	xCA:              {"conditionalAccessStatus", "Conditional Access"},
	xAuthReq:         {"authenticationRequirement", "Authentication requirement"},
	xRequestID:       {"originalRequestId", "Request ID"},
	xRiskLevel:       {"riskLevelDuringSignIn", "Risk level during sign-in"},
	xRiskState:       {"riskState", "Risk state"},
	xCAPolicies:      {"ConditionalAccessPolicies", "appliedConditionalAccessPolicies"},
}

// extraByLen lists, by length, the names of extraNames with their field.
var extraByLen = func() (l [64][]extraName) {
	for f, names := range extraNames {
		for _, n := range names {
			l[len(n)] = append(l[len(n)], extraName{f, n})
		}
	}
	return l
}()

type extraName struct {
	field int
	name  string
}

// extras reads the fields of extraNames from e.Extra in one pass: the first
// non-empty value of each.
func extras(e *trace.Event) (out [xCount]string) {
	diag := e.Shape == "diagnostic-ndjson"
	for _, kv := range e.Extra {
		k := kv.Key
		if i := strings.LastIndexByte(k, '.'); i >= 0 {
			k = k[i+1:]
		} else if diag {
			// the envelope's keys: its "location" is the Azure region, not the user's
			continue
		}
		if len(k) >= len(extraByLen) {
			continue
		}
		for _, n := range extraByLen[len(k)] { // most keys have no name of their length
			if out[n.field] == "" && strings.EqualFold(k, n.name) {
				if v := strings.TrimSpace(kv.Value); v != "" && v != "null" && v != "[]" && v != "{}" {
					out[n.field] = v
				}
			}
		}
	}
	return out
}

// modernClients are the client-app values of modern authentication; every
// other value names a legacy protocol (IMAP, POP, SMTP, Exchange ActiveSync, ...).
var modernClients = []string{"browser", "mobile apps and desktop clients", ""}

// isModernClient reports whether the lower-cased client app is one of
// modernClients, without lower-casing (and allocating) ASCII names.
func isModernClient(app string) bool {
	app = strings.TrimSpace(app)
	for i := 0; i < len(app); i++ {
		if app[i] >= utf8.RuneSelf {
			return slices.Contains(modernClients, strings.ToLower(app))
		}
	}
	for _, m := range modernClients {
		if len(app) == len(m) && asciiLowerEq(app, m) {
			return true
		}
	}
	return false
}

func factsOf(e *trace.Event) signInFacts {
	f := signInFacts{ip: e.IPAddress, clientApp: e.ClientApp}
	f.legacy = !isModernClient(e.ClientApp)
	x := extras(e)
	// Location: structured (JSON shapes, LocationDetails in Log Analytics CSV) or the portal's text.
	f.city, f.state = x[xCity], x[xState]
	f.country = x[xCountry]
	for _, ld := range [...]string{x[xLocationDetails], x[xLocation]} {
		if strings.HasPrefix(ld, "{") {
			f.city, f.state, f.country = jsonField(ld, "city"), jsonField(ld, "state"), jsonField(ld, "countryOrRegion")
			break
		}
	}
	if f.country == "" {
		if loc := x[xLocation]; len(loc) == 2 {
			f.country = loc
		} else if loc != "" && !strings.HasPrefix(loc, "{") {
			f.location = loc
			if i := strings.LastIndexByte(loc, ','); i >= 0 {
				f.country = strings.TrimSpace(loc[i+1:])
			}
		}
	}
	f.ca = x[xCA]
	f.authReq = x[xAuthReq]
	f.requestID = firstNonEmpty(x[xRequestID], e.ID)
	risk := x[xRiskLevel]
	if st := x[xRiskState]; st != "" && !strings.EqualFold(st, "none") {
		risk = strings.TrimSpace(risk + " " + st)
	}
	if !strings.EqualFold(risk, "none") && !strings.EqualFold(risk, "hidden") {
		f.risk = risk
	}
	f.grants = grantControls(e, x[xCAPolicies])
	return f
}

// jsonField returns the string value of "key" in a flat JSON object's text,
// or "" (a value with escapes is returned as written). It is a cheap stand-in
// for decoding the whole location object of every sign-in.
func jsonField(obj, key string) string {
	for i := 0; i < len(obj); {
		j := quotedIndex(obj, i, key)
		if j < 0 {
			return ""
		}
		k := j + len(key) + 2
		i = k
		for k < len(obj) && (obj[k] == ' ' || obj[k] == '\t' || obj[k] == '\n' || obj[k] == '\r') {
			k++
		}
		if k >= len(obj) || obj[k] != ':' {
			continue // the key text appeared inside a value
		}
		k++
		for k < len(obj) && (obj[k] == ' ' || obj[k] == '\t' || obj[k] == '\n' || obj[k] == '\r') {
			k++
		}
		if k >= len(obj) || obj[k] != '"' {
			return ""
		}
		k++
		end := k
		for end < len(obj) && obj[end] != '"' {
			if obj[end] == '\\' {
				end++
			}
			end++
		}
		if end > len(obj) {
			return ""
		}
		return obj[k:end]
	}
	return ""
}

// quotedIndex is the index of the first `"key"` in obj at or after from, or
// -1: strings.Index of the quoted key, without building it.
func quotedIndex(obj string, from int, key string) int {
	for at := from + 1; at+len(key) < len(obj); {
		j := strings.Index(obj[at:len(obj)-1], key)
		if j < 0 {
			return -1
		}
		at += j
		if obj[at-1] == '"' && obj[at+len(key)] == '"' {
			return at - 1
		}
		at++
	}
	return -1
}

// grantControls lists the grant controls Conditional Access enforced.
func grantControls(e *trace.Event, policies string) string {
	var out []string
	add := func(s string) {
		s = strings.Trim(strings.TrimSpace(s), `"`)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if cap := policies; strings.HasPrefix(cap, "[") {
		var ps []struct {
			Result                string   `json:"result"`
			EnforcedGrantControls []string `json:"enforcedGrantControls"`
		}
		if json.Unmarshal([]byte(cap), &ps) == nil {
			for _, p := range ps {
				if p.Result == "success" || p.Result == "failure" {
					for _, g := range p.EnforcedGrantControls {
						add(g)
					}
				}
			}
		}
	}
	for _, kv := range e.Extra {
		if strings.HasSuffix(kv.Key, ".enforcedGrantControls") {
			var gs []string
			if json.Unmarshal([]byte(kv.Value), &gs) == nil {
				for _, g := range gs {
					add(g)
				}
			}
		}
	}
	return strings.Join(out, ", ")
}

// hasLocation reports whether appendLocation appends anything.
func (f *signInFacts) hasLocation() bool {
	return f.location != "" || f.city != "" || f.state != "" || f.country != ""
}

// appendLocation appends the location: the portal's text, else city, state
// and country, comma-separated.
func (f *signInFacts) appendLocation(dst []byte) []byte {
	if f.location != "" {
		return append(dst, f.location...)
	}
	start := len(dst)
	for _, p := range [...]string{f.city, f.state, f.country} {
		if p != "" {
			if len(dst) > start {
				dst = append(dst, ", "...)
			}
			dst = append(dst, p...)
		}
	}
	return dst
}

// text is the facts in one line ("from 203.0.113.7 (Oslo, NO), client app
// IMAP4 (legacy protocol), Conditional Access failure, ...").
func (f signInFacts) text() string {
	b, _, _ := f.appendText(nil)
	return string(b)
}

// appendText appends text() to dst, and where in dst it wrote the location
// (loc == locEnd when it wrote none).
func (f *signInFacts) appendText(dst []byte) (out []byte, loc, locEnd int) {
	start := len(dst)
	part := func(ss ...string) {
		if len(dst) > start {
			dst = append(dst, ", "...)
		}
		for _, s := range ss {
			dst = append(dst, s...)
		}
	}
	if f.ip != "" || f.hasLocation() {
		part("from ")
		if f.ip == "" {
			loc = len(dst)
			dst = f.appendLocation(dst)
			locEnd = len(dst)
		} else {
			dst = append(dst, f.ip...)
			if f.hasLocation() {
				dst = append(dst, " ("...)
				loc = len(dst)
				dst = f.appendLocation(dst)
				locEnd = len(dst)
				dst = append(dst, ')')
			}
		}
	}
	if f.clientApp != "" {
		if f.legacy {
			part("client app ", f.clientApp, " (legacy protocol: no multifactor authentication possible)")
		} else {
			part("client app ", f.clientApp)
		}
	}
	if f.ca != "" {
		part("Conditional Access ", f.ca)
	}
	if f.grants != "" {
		part("grant controls ", f.grants)
	}
	if f.authReq != "" {
		part("requirement ", f.authReq)
	}
	if f.risk != "" {
		part("risk ", f.risk)
	}
	if f.requestID != "" {
		part("request ID ", f.requestID)
	}
	return dst, loc, locEnd
}

// countryCheck remembers, per user, the countries of successful sign-ins,
// and reports a failed sign-in from a country the user has not signed in
// from successfully earlier in the stream.
func (b *StoryBuilder) countryCheck(e *trace.Event, country string) (newCountry bool) {
	user := strings.ToLower(firstNonEmpty(e.Actor.UPN, e.Actor.ID))
	if user == "" || country == "" {
		return false
	}
	if b.countries == nil {
		b.countries = map[string]*[]string{}
	}
	seen := b.countries[user]
	c := strings.ToUpper(country)
	if e.ErrorCode == 0 {
		// Never assign to an existing key (the map would keep the new key,
		// which points into the reader's line): mutate through the pointer,
		// and store a copy of the key once.
		if seen == nil {
			if len(b.countries) >= maxCountryUsers {
				return false
			}
			seen = new([]string)
			b.countries[strings.Clone(user)] = seen
		}
		if !slices.Contains(*seen, c) && len(*seen) < maxCountriesByUser {
			*seen = append(*seen, strings.Clone(c))
		}
		return false
	}
	return seen != nil && len(*seen) > 0 && !slices.Contains(*seen, c)
}

// appendGroupKey appends the key of the group a record with marks m joins:
// credential changes group by actor ("c|" and Key of the actor),
// blocked-account sign-ins by user ("b|" and the lower-cased user), other
// sign-ins by correlation (or record) ID ("s|" and the ID), audit records by
// correlation ID ("a|" and the ID). A key of two bytes names no one.
func (b *StoryBuilder) appendGroupKey(dst []byte, e *trace.Event, m uint32) []byte {
	switch {
	case m&mCredential != 0:
		return appendKey(append(dst, "c|"...), e.Actor)
	case m&mBlocked != 0:
		return appendLower(append(dst, "b|"...), firstNonEmpty(e.Actor.UPN, e.Actor.ID, e.Actor.DisplayName))
	}
	if m&mSignIn != 0 {
		return append(append(dst, "s|"...), firstNonEmpty(e.CorrelationID, e.ID)...)
	}
	return append(append(dst, "a|"...), e.CorrelationID...)
}

func (b *StoryBuilder) tellCredential(st *Story, steps []gstep) {
	actor := steps[0].Actor
	st.Actor = actor
	var apps, types []string
	keys := 0
	for _, s := range steps {
		if s.object != "" && !slices.Contains(apps, s.object) {
			apps = append(apps, s.object)
		}
		keys += max(len(s.keyTypes), 1)
		for _, t := range s.keyTypes {
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	st.Target = strings.Join(apps, ", ")
	kind := "credential(s)"
	if len(types) > 0 {
		kind = fmt.Sprintf("credential(s) of type %s", strings.Join(types, ", "))
	}
	span := ""
	if d := st.End.Sub(st.Start); d > 0 {
		span = " in " + d.Round(time.Second).String()
	}
	var ips []string
	for _, s := range steps {
		if s.ip != "" && !slices.Contains(ips, s.ip) {
			ips = append(ips, s.ip)
		}
	}
	from := ""
	if len(ips) > 0 {
		from = " from " + strings.Join(ips, ", ")
	}
	st.Summary = fmt.Sprintf("%s added %d %s to %d application(s) (%s)%s%s. A new secret or certificate lets whoever holds it sign in as the app.",
		orSomeone(actor), keys, kind, len(apps), orSomeone(st.Target), span, from)
	if len(apps) >= 3 {
		st.Flags = append(st.Flags, fmt.Sprintf("one account added credentials to %d applications within %s: adding secrets to several apps is a known way to keep access; confirm each change with the app owners", len(apps), b.window()))
	}
	for _, s := range steps {
		if isFailure(s.Result) {
			st.Flags = append(st.Flags, "some credential changes failed")
			break
		}
	}
}

func (b *StoryBuilder) tellBlocked(st *Story, steps []gstep) {
	last := steps[len(steps)-1]
	st.Actor = firstNonEmpty(st.Target, last.Actor)
	state := blockedAccountCodes[last.errorCode]
	var apps, places []string
	for _, s := range steps {
		if s.app != "" && !slices.Contains(apps, s.app) {
			apps = append(apps, s.app)
		}
		p := s.ip
		if s.location != "" {
			p = strings.TrimSpace(p + " (" + s.location + ")")
		}
		if p != "" && !slices.Contains(places, p) {
			places = append(places, p)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d sign-in attempt(s) to the %s account %s", len(steps), state, orSomeone(st.Actor))
	if len(apps) > 0 {
		fmt.Fprintf(&sb, " to %s", strings.Join(apps, ", "))
	}
	if len(places) > 0 {
		fmt.Fprintf(&sb, " from %s", strings.Join(places, ", "))
	}
	fmt.Fprintf(&sb, ", all refused (%s).", b.errorText(last.errorCode, ""))
	st.Summary = sb.String()
	st.Flags = append(st.Flags, fmt.Sprintf("someone keeps trying to sign in as an account that is %s: if the account belongs to someone who left, the attempts may come from a stolen password", state))
	for i := range st.Steps {
		st.Steps[i].Role = "refused"
	}
}

// ExtraKeys names the unmapped fields of an Event (Event.Extra, by the last
// dotted segment of their key) that the Classifier and the StoryBuilder
// read: a reader may keep only these (entralog's Reader.KeepExtra) and the
// labels and stories stay the same.
func ExtraKeys() []string {
	var out []string
	for _, names := range extraNames {
		out = append(out, names...)
	}
	out = append(out, "enforcedGrantControls")
	for _, k := range tenantKeys {
		if i := strings.LastIndexByte(k, '.'); i >= 0 {
			k = k[i+1:]
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}
