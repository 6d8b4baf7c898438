package actors

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idtrace/idtrace/internal/trace"
)

// Actor is one principal seen in the logs, with its label: the JSON actor
// object of `idtrace logs` and `idtrace whois` (see docs/logs.md).
type Actor struct {
	Name        string    `json:"name"`
	UPN         string    `json:"upn"`
	AppID       string    `json:"app_id"`
	Class       string    `json:"class"`
	Count       int       `json:"count"`
	Evidence    []string  `json:"evidence"`
	Explanation string    `json:"explanation"`
	Roles       []string  `json:"roles,omitempty"`
	First       time.Time `json:"first,omitzero"`
	Last        time.Time `json:"last,omitzero"`
	// Activities counts what the actor did, most frequent first (at most
	// MaxActivities distinct names are kept per actor).
	Activities []ActivityCount `json:"activities,omitempty"`
}

// ActivityCount is how many times an actor performed one activity.
type ActivityCount struct {
	Activity string `json:"activity"`
	Count    int    `json:"count"`
}

// MaxActivities caps the distinct activity names kept per actor.
const MaxActivities = 32

// MaxActors caps the distinct actors a Classifier tracks, to bound memory;
// records of actors beyond it are counted in Classifier.Overflow (the
// summary reports the number) but their actors are not listed.
const MaxActors = 200_000

type actorAgg struct {
	p          Principal
	count      int
	first      time.Time
	last       time.Time
	roles      uint8 // 1 actor, 2 client app
	activities map[string]*int
	label      Label
	dirty      bool
	// lastAct and lastN are the activity counted last and its count: an
	// actor mostly repeats one activity.
	lastAct string
	lastN   *int
}

// Classifier aggregates the principals of a stream of events, one record at
// a time, in memory bounded by the number of distinct actors (not events).
// The zero value is not ready: use NewClassifier. Not safe for concurrent use.
type Classifier struct {
	K      Knowledge
	events int
	actors map[string]*actorAgg
	// Overflow counts records with an actor or app not tracked because
	// MaxActors distinct ones were already tracked.
	Overflow int
	// names interns activity names (a small vocabulary shared by all actors).
	names map[string]string
	// kbuf holds the keys of the principal being looked up.
	kbuf []byte
	// lastKey and last are the key and the aggregate of the client app (or
	// else the actor) Add counted last, for LabelOf on the same record.
	lastKey []byte
	last    *actorAgg
}

// maxInternedNames bounds Classifier.names.
const maxInternedNames = 4096

// intern returns a copy of s shared by every actor that saw the same activity.
func (c *Classifier) intern(s string) string {
	if v, ok := c.names[s]; ok {
		return v
	}
	v := strings.Clone(s)
	if c.names == nil {
		c.names = make(map[string]string)
	}
	if len(c.names) < maxInternedNames {
		c.names[v] = v
	}
	return v
}

// NewClassifier returns a Classifier using k.
func NewClassifier(k Knowledge) *Classifier {
	return &Classifier{K: k, actors: make(map[string]*actorAgg)}
}

// Events returns the number of events added.
func (c *Classifier) Events() int { return c.events }

// Key returns the aggregation key of a principal: its UPN, else app ID, else
// object ID, else display name (lower-cased), or "" when it names nobody.
func Key(p trace.Principal) string { return string(appendKey(nil, p)) }

// appendKey appends Key(p) to dst.
func appendKey(dst []byte, p trace.Principal) []byte {
	var prefix, v string
	switch {
	case p.UPN != "":
		prefix, v = "upn:", p.UPN
	case p.AppID != "":
		prefix, v = "app:", p.AppID
	case p.ServicePrincipalID != "":
		prefix, v = "sp:", p.ServicePrincipalID
	case p.ID != "":
		prefix, v = "id:", p.ID
	case p.DisplayName != "":
		prefix, v = "name:", p.DisplayName
	default:
		return dst
	}
	dst = append(dst, prefix...)
	return appendLower(dst, strings.TrimSpace(v))
}

// appendLower appends strings.ToLower(s) to dst, without allocating for ASCII.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(dst, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// Add counts one event: its actor and, for sign-ins, its client app.
func (c *Classifier) Add(e *trace.Event) {
	c.events++
	over := false
	c.kbuf = appendKey(c.kbuf[:0], e.Actor)
	na := len(c.kbuf)
	c.kbuf = appendKey(c.kbuf, e.App)
	ka, kp := c.kbuf[:na], c.kbuf[na:]
	c.last = nil
	if len(ka) > 0 {
		a := c.touch(ka, e.Actor, e, 1)
		over = a == nil
		c.remember(ka, a)
	}
	if len(kp) > 0 && string(kp) != string(ka) && !samePrincipal(e.Actor, e.App) {
		a := c.touch(kp, e.App, e, 2)
		over = a == nil || over
		c.remember(kp, a)
	}
	if over {
		c.Overflow++
	}
}

// remember keeps a (of key k) for LabelOf.
func (c *Classifier) remember(k []byte, a *actorAgg) {
	if a != nil {
		c.lastKey, c.last = append(c.lastKey[:0], k...), a
	}
}

func samePrincipal(a, b trace.Principal) bool {
	if a.AppID != "" && strings.EqualFold(a.AppID, b.AppID) {
		return true
	}
	if a.ServicePrincipalID != "" && strings.EqualFold(a.ServicePrincipalID, b.ServicePrincipalID) {
		return true
	}
	return false
}

func (c *Classifier) touch(kb []byte, tp trace.Principal, e *trace.Event, role uint8) *actorAgg {
	a := c.actors[string(kb)]
	if a == nil {
		if len(c.actors) >= MaxActors {
			return nil
		}
		a = &actorAgg{p: FromTrace(tp), activities: make(map[string]*int, 4), dirty: true}
		if role == 2 {
			a.p.App = true
		}
		// keep copies, not pointers into the reader's line buffer
		for _, f := range []*string{&a.p.Name, &a.p.UPN, &a.p.AppID, &a.p.ID, &a.p.OwnerTenantID} {
			*f = strings.Clone(*f)
		}
		c.actors[string(kb)] = a
	} else {
		a.merge(tp)
	}
	if a.p.OwnerTenantID != "" && a.p.TenantID == "" {
		if t := tenantOf(e); t != "" {
			a.p.TenantID = strings.Clone(strings.ToLower(t))
			a.dirty = true
		}
	}
	a.count++
	a.roles |= role
	if !e.Time.IsZero() {
		if a.first.IsZero() || e.Time.Before(a.first) {
			a.first = e.Time
		}
		if e.Time.After(a.last) {
			a.last = e.Time
		}
	}
	act := e.Activity
	if role == 2 {
		act = "client app of a sign-in"
	}
	if act != "" {
		// Assigning to an existing string key stores the new key, so only
		// ever assign with the interned copy, never with act itself (which
		// may point into the reader's line buffer).
		if a.lastN != nil && act == a.lastAct {
			*a.lastN++
		} else if n := a.activities[act]; n != nil {
			*n++
			a.lastAct, a.lastN = c.intern(act), n
		} else if len(a.activities) < MaxActivities {
			k := c.intern(act)
			n := new(1)
			a.activities[k] = n
			a.lastAct, a.lastN = k, n
		}
	}
	return a
}

func (a *actorAgg) merge(tp trace.Principal) {
	// the usual case: nothing new to fill in
	if (a.p.Name != "" || tp.DisplayName == "") && (a.p.UPN != "" || tp.UPN == "") && (a.p.AppID != "" || tp.AppID == "") &&
		(a.p.ID != "" || (tp.ID == "" && tp.ServicePrincipalID == "")) && (a.p.OwnerTenantID != "" || tp.OwnerTenantID == "") {
		return
	}
	fill := func(dst *string, v string, lower bool) {
		if *dst == "" && v != "" {
			v = strings.TrimSpace(v)
			if lower {
				v = strings.ToLower(v)
			}
			*dst = strings.Clone(v)
			a.dirty = true
		}
	}
	fill(&a.p.Name, tp.DisplayName, false)
	fill(&a.p.UPN, tp.UPN, false)
	fill(&a.p.AppID, tp.AppID, true)
	fill(&a.p.ID, firstNonEmpty(tp.ID, tp.ServicePrincipalID), false)
	fill(&a.p.OwnerTenantID, tp.OwnerTenantID, true)
}

// tenantOf finds the tenant a record belongs to among its unmapped columns.
func tenantOf(e *trace.Event) string {
	for _, kv := range e.Extra {
		if kv.Value != "" && isTenantKey(kv.Key) {
			return kv.Value
		}
	}
	return ""
}

// tenantKeys are the names (lower case) of the columns tenantOf reads, in
// the JSON exports' spellings and the portal CSV's ("Resource tenant ID").
var tenantKeys = [...]string{"tenantid", "aadtenantid", "resourcetenantid", "properties.tenantid", "resource tenant id"}

// isTenantKey reports whether strings.ToLower(k) is one of tenantKeys,
// without lower-casing (and allocating) for the usual ASCII names.
func isTenantKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if k[i] >= utf8.RuneSelf {
			lk := strings.ToLower(k)
			for _, t := range tenantKeys {
				if lk == t {
					return true
				}
			}
			return false
		}
	}
	for _, t := range tenantKeys {
		if len(k) == len(t) && asciiLowerEq(k, t) {
			return true
		}
	}
	return false
}

// asciiLowerEq reports whether ASCII k lower-cased equals lower (same length).
func asciiLowerEq(k, lower string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func (c *Classifier) labelOf(a *actorAgg) Label {
	if a.dirty {
		a.label = c.K.Classify(a.p)
		a.dirty = false
	}
	return a.label
}

// LabelOf returns the label of the principal p as aggregated so far (or a
// fresh classification when p has not been added).
func (c *Classifier) LabelOf(p trace.Principal) Label {
	c.kbuf = appendKey(c.kbuf[:0], p)
	if c.last != nil && string(c.kbuf) == string(c.lastKey) {
		return c.labelOf(c.last)
	}
	if a := c.actors[string(c.kbuf)]; a != nil {
		return c.labelOf(a)
	}
	return c.K.Classify(FromTrace(p))
}

func (c *Classifier) actorOf(key string, a *actorAgg) Actor {
	l := c.labelOf(a)
	out := Actor{
		Name: a.p.Name, UPN: a.p.UPN, AppID: a.p.AppID,
		Class: l.Class, Count: a.count, Evidence: l.Evidence, Explanation: l.Explanation,
		First: a.first, Last: a.last,
	}
	if out.Name == "" {
		out.Name = firstNonEmpty(a.p.UPN, a.p.AppID, a.p.ID, strings.TrimPrefix(key, "name:"))
	}
	if a.roles&1 != 0 {
		out.Roles = append(out.Roles, "actor")
	}
	if a.roles&2 != 0 {
		out.Roles = append(out.Roles, "client-app")
	}
	for k, n := range a.activities {
		out.Activities = append(out.Activities, ActivityCount{k, *n})
	}
	slices.SortFunc(out.Activities, func(x, y ActivityCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), strings.Compare(x.Activity, y.Activity))
	})
	return out
}

// Actors returns every actor with its label, sorted for a summary:
// suspicious, unknown, then the other classes; within a class by count
// (highest first), then name; actors alike in all that (several objects
// with one display name) in the order of their keys, so that the order
// never depends on the map's.
func (c *Classifier) Actors() []Actor {
	out := make([]Actor, 0, len(c.actors))
	mapKeys := make([]string, 0, len(c.actors))
	for k, a := range c.actors {
		out = append(out, c.actorOf(k, a))
		mapKeys = append(mapKeys, k)
	}
	// the sort keys, worked out once per actor rather than per comparison
	type key struct {
		rank, count  int
		name, id, mk string
		i            int
	}
	keys := make([]key, len(out))
	for i, a := range out {
		keys[i] = key{ClassRank(a.Class), a.Count, strings.ToLower(a.Name), a.UPN + a.AppID, mapKeys[i], i}
	}
	slices.SortFunc(keys, func(x, y key) int {
		if c := cmp.Compare(x.rank, y.rank); c != 0 {
			return c
		}
		if c := cmp.Compare(y.count, x.count); c != 0 {
			return c
		}
		if c := strings.Compare(x.name, y.name); c != 0 {
			return c
		}
		if c := strings.Compare(x.id, y.id); c != 0 {
			return c
		}
		return strings.Compare(x.mk, y.mk)
	})
	sorted := make([]Actor, len(out))
	for j, k := range keys {
		sorted[j] = out[k.i]
	}
	return sorted
}

// Matches reports whether the principal p answers to name: its UPN, app ID,
// object ID or display name, case-insensitively.
func Matches(p trace.Principal, name string) bool {
	if name == "" {
		return false
	}
	for _, v := range []string{p.UPN, p.AppID, p.ID, p.ServicePrincipalID, p.DisplayName} {
		if v != "" && strings.EqualFold(strings.TrimSpace(v), name) {
			return true
		}
	}
	return false
}

// Describe returns the Actor object for a principal seen nowhere (whois):
// its label with a count of zero.
func (k Knowledge) Describe(p Principal) Actor {
	l := k.Classify(p)
	return Actor{Name: firstNonEmpty(p.Name, p.UPN, p.AppID, p.ID), UPN: p.UPN, AppID: p.AppID, Class: l.Class,
		Evidence: l.Evidence, Explanation: l.Explanation}
}
