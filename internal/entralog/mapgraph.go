package entralog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/idtrace/idtrace/internal/trace"
)

// fieldError is a problem with one field of a record; the reader turns it
// into a *trace.InputError with the record's position.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

var errNotJSON = errors.New("value is not JSON")

// shallowErr explains a value that should have been a JSON object or array.
// PowerShell's ConvertTo-Json and Export-Csv write nested objects beyond
// their depth as the .NET type name ("Microsoft.Graph.PowerShell.Models...").
func shallowErr(s string) error {
	if strings.HasPrefix(s, "Microsoft.Graph.") || strings.HasPrefix(s, "System.Collections.") {
		return fmt.Errorf("%w: holds the type name %q instead of the object: the exporter cut nesting short (ConvertTo-Json -Depth defaults to 2; export again with -Depth 10)", errNotJSON, trunc(s, 80))
	}
	return fmt.Errorf("%w: %q", errNotJSON, trunc(s, 40))
}

// categoryKind maps a log category or Log Analytics table name to an Event
// kind; "" when it names no audit or sign-in log.
func categoryKind(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "aad")
	switch s {
	case "auditlogs", "auditlog":
		return trace.KindAudit
	case "signinlogs", "signinlog", "interactiveusersigninlogs":
		return trace.KindSignIn
	case "noninteractiveusersigninlogs":
		return trace.KindSignInNonInteractive
	case "serviceprincipalsigninlogs", "microsoftserviceprincipalsigninlogs":
		return trace.KindSignInServicePrincipal
	case "managedidentitysigninlogs":
		return trace.KindSignInManagedIdentity
	}
	return ""
}

// defaultCategory is the diagnostic category name of a sign-in kind.
func defaultCategory(kind string) string {
	switch kind {
	case trace.KindSignIn:
		return "SignInLogs"
	case trace.KindSignInNonInteractive:
		return "NonInteractiveUserSignInLogs"
	case trace.KindSignInServicePrincipal:
		return "ServicePrincipalSignInLogs"
	case trace.KindSignInManagedIdentity:
		return "ManagedIdentitySignInLogs"
	}
	return ""
}

// jsonField returns known key k of r as JSON: an object or array as is, or a
// string holding JSON (Log Analytics dynamic columns), which is parsed and
// put in place of the string. nil when absent, null or empty. A non-empty
// string that is not JSON is an error: an actor or target silently lost
// would be misclassified downstream.
func jsonField(r *rec, k int) (*node, error) {
	n := r.get(k)
	if n == nil {
		return nil, nil
	}
	return parseInPlace(n, r.name(k))
}

func parseInPlace(n *node, field string) (*node, error) {
	switch n.kind {
	case 'o', 'a':
		return n, nil
	case 's', 'r':
		s := strings.TrimSpace(n.s)
		if s == "" {
			return nil, nil
		}
		if s[0] != '{' && s[0] != '[' {
			return nil, &fieldError{field, shallowErr(s)}
		}
		p, err := parseJSONString(s)
		if err != nil {
			return nil, &fieldError{field, fmt.Errorf("%w: %v", errNotJSON, err)}
		}
		*n = p
		return n, nil
	case 'z':
		return nil, nil
	}
	return nil, &fieldError{field, errNotJSON}
}

// graphKind decides the kind of a Graph-like record (Graph, portal JSON,
// Log Analytics, diagnostic properties) from its category and keys.
func graphKind(r, env *rec) (string, error) {
	if env != nil {
		if c := env.peek(kCategory); c != nil {
			k := categoryKind(c.text())
			if k == "" {
				return "", &fieldError{env.name(kCategory), &otherCategory{trunc(c.text(), 60)}}
			}
			env.get(kCategory)
			return k, nil
		}
	}
	for _, key := range []int{kType, kCategory} {
		if c := r.peek(key); c != nil && c.kind == 's' {
			if k := categoryKind(c.s); k != "" {
				return k, nil
			}
		}
	}
	if r.has(kActivityDisplayName) || r.has(kInitiatedBy) || r.has(kLoggedByService) || r.has(kTargetResources) {
		return trace.KindAudit, nil
	}
	if r.has(kCreatedDateTime) || r.has(kAppID) || r.has(kClientAppUsed) || r.has(kSignInEventTypes) ||
		r.has(kIsInteractive) || strings.EqualFold(textOf(r.peek(kOperationName)), "Sign-in activity") {
		return signInSubKind(r), nil
	}
	return "", errors.New("cannot tell an audit record from a sign-in: no activityDisplayName, initiatedBy, createdDateTime or appId")
}

func textOf(n *node) string {
	if n == nil {
		return ""
	}
	return n.text()
}

// signInSubKind tells the sign-in log from keys when no category says it.
func signInSubKind(r *rec) string {
	if t := r.peek(kSignInEventTypes); t != nil && t.kind == 'a' {
		for _, e := range t.mem {
			switch strings.ToLower(e.val.text()) {
			case "managedidentity":
				return trace.KindSignInManagedIdentity
			case "serviceprincipal":
				return trace.KindSignInServicePrincipal
			case "noninteractiveuser":
				return trace.KindSignInNonInteractive
			case "interactiveuser":
				return trace.KindSignIn
			}
		}
	}
	if m := r.peek(kManagedServiceIdentity); m != nil && m.kind == 'o' {
		for _, mm := range m.mem {
			if strings.EqualFold(mm.key, "msiType") {
				if t := strings.ToLower(mm.val.text()); t != "" && t != "none" {
					return trace.KindSignInManagedIdentity
				}
			}
		}
	}
	if textOf(r.peek(kUserID)) == "" && textOf(r.peek(kUserPrincipalName)) == "" && textOf(r.peek(kServicePrincipalID)) != "" {
		return trace.KindSignInServicePrincipal
	}
	if i := r.peek(kIsInteractive); i != nil {
		if b, ok := boolOf(i); ok && !b {
			return trace.KindSignInNonInteractive
		}
	}
	return trace.KindSignIn
}

func boolOf(n *node) (bool, bool) {
	switch n.kind {
	case 't':
		return true, true
	case 'f':
		return false, true
	case 's':
		switch strings.ToLower(strings.TrimSpace(n.s)) {
		case "true", "1", "yes":
			return true, true
		case "false", "0", "no":
			return false, true
		}
	}
	return false, false
}

// firstStr returns the first non-empty text among known keys of r (all of
// them are marked used).
func firstStr(r *rec, keys ...int) string {
	out := ""
	for _, k := range keys {
		if s := r.str(k); out == "" && s != "" {
			out = s
		}
	}
	return out
}

// fallback returns v, or else the text of known key k of env. The env key is
// marked used only when its value is taken or equal to v, so that a
// different value stays in Extra.
func fallback(v string, env *rec, k int) string {
	if env == nil {
		return v
	}
	n := env.peek(k)
	if n == nil {
		return v
	}
	t := n.text()
	if v == "" || t == v || t == "" {
		env.get(k)
		if v == "" {
			return t
		}
	}
	return v
}

func timeField(r *rec, keys ...int) (string, string) {
	for _, k := range keys {
		if n := r.get(k); n != nil && !n.isEmpty() {
			return n.text(), r.name(k)
		}
	}
	return "", ""
}

func setTime(ev *trace.Event, r, env *rec, keys ...int) error {
	s, field := timeField(r, keys...)
	if s == "" && env != nil {
		s, field = timeField(env, kTime)
	}
	t, err := parseTime(s)
	if err != nil {
		return &fieldError{field, err}
	}
	ev.Time = t
	return nil
}

// mapGraph fills ev from a Graph-like record r; env is the diagnostic
// settings envelope around it (r is then its "properties"), or nil.
func mapGraph(ev *trace.Event, r, env *rec) error {
	kind, err := graphKind(r, env)
	if err != nil {
		return err
	}
	ev.Kind = kind
	ev.ID = r.str(kID)
	ev.CorrelationID = fallback(r.str(kCorrelationID), env, kCorrelationID)
	if kind == trace.KindAudit {
		err = mapGraphAudit(ev, r, env)
	} else {
		err = mapGraphSignIn(ev, r, env)
	}
	if err != nil {
		return err
	}
	top := r
	if env != nil {
		top = env
	}
	if r.keep == nil {
		size := len(r.n.mem)
		if env != nil {
			size += len(env.n.mem)
		}
		ev.Extra = make([]trace.KV, 0, size)
	}
	ev.Extra = keptExtra(ev.Extra, top.n, r.keep)
	return nil
}

// keptExtra is extraOf, except that with a filter the few fields kept are
// gathered on the stack first and stored in one exact-size slice (nil when
// none is kept).
func keptExtra(out []trace.KV, n *node, keep *extraFilter) []trace.KV {
	if keep == nil || out != nil {
		return extraOf(out, n, keep)
	}
	var buf [8]trace.KV
	kept := extraOf(buf[:0], n, keep)
	if len(kept) == 0 {
		return nil
	}
	return append(make([]trace.KV, 0, len(kept)), kept...)
}

func mapGraphAudit(ev *trace.Event, r, env *rec) error {
	if err := setTime(ev, r, env, kActivityDateTime, kTimeGenerated); err != nil {
		return err
	}
	ev.Category = r.str(kCategory)
	ev.Activity = firstStr(r, kActivityDisplayName, kOperationName)
	ev.Activity = fallback(ev.Activity, env, kOperationName)
	ev.OperationType = firstStr(r, kOperationType, kAADOperationType)
	ev.Service = r.str(kLoggedByService)
	ev.Result = strings.ToLower(r.str(kResult))
	ev.ResultReason = r.str(kResultReason)
	ev.UserAgent = r.str(kUserAgent)

	ib, err := jsonField(r, kInitiatedBy)
	if err != nil {
		return err
	}
	if ib != nil {
		for _, k := range []string{"user", "app"} {
			if c := ib.child(k); c != nil && c.kind == 's' && c.s != "" {
				return &fieldError{r.name(kInitiatedBy) + "." + k, shallowErr(c.s)}
			}
		}
		if u := ib.child("user"); u != nil && u.kind == 'o' && !u.isEmpty() {
			ev.Actor = trace.Principal{Type: "user", ID: u.str("id"), DisplayName: u.str("displayName"),
				UPN: u.str("userPrincipalName"), IPAddress: u.str("ipAddress")}
		}
		if a := ib.child("app"); a != nil && a.kind == 'o' && !a.isEmpty() {
			ev.App = trace.Principal{Type: "app", AppID: a.str("appId"), DisplayName: a.str("displayName"),
				ServicePrincipalID: a.str("servicePrincipalId"), ServicePrincipalName: a.str("servicePrincipalName")}
			if ev.Actor.Type == "" {
				ev.Actor = ev.App
			}
		}
	}
	ev.IPAddress = fallback(ev.Actor.IPAddress, env, kCallerIPAddress)

	tr, err := jsonField(r, kTargetResources)
	if err != nil {
		return err
	}
	if tr != nil {
		if tr.kind != 'a' {
			return &fieldError{r.name(kTargetResources), errors.New("not a JSON array")}
		}
		for i := range tr.mem {
			t := &tr.mem[i].val
			if t.kind != 'o' {
				return &fieldError{fmt.Sprintf("%s[%d]", r.name(kTargetResources), i), shallowErr(t.text())}
			}
			tg := trace.Target{Type: t.str("type"), ID: t.str("id"), DisplayName: t.str("displayName"), UPN: t.str("userPrincipalName")}
			if mp := t.child("modifiedProperties"); mp != nil && mp.kind == 'a' {
				for j := range mp.mem {
					p := &mp.mem[j].val
					if p.kind != 'o' {
						continue
					}
					tg.Modified = append(tg.Modified, trace.ModifiedProperty{Name: p.str("displayName"), Old: p.str("oldValue"), New: p.str("newValue")})
				}
			}
			ev.Targets = append(ev.Targets, tg)
		}
	}
	ad, err := jsonField(r, kAdditionalDetails)
	if err != nil {
		return err
	}
	if ad != nil && ad.kind == 'a' {
		for i := range ad.mem {
			d := &ad.mem[i].val
			if d.kind != 'o' {
				continue
			}
			kv := trace.KV{Key: d.str("key"), Value: d.str("value")}
			if ev.UserAgent == "" && strings.EqualFold(kv.Key, "User-Agent") {
				ev.UserAgent = kv.Value
			}
			ev.Details = append(ev.Details, kv)
		}
	}
	return nil
}

func mapGraphSignIn(ev *trace.Event, r, env *rec) error {
	if err := setTime(ev, r, env, kCreatedDateTime, kTimeGenerated); err != nil {
		return err
	}
	cat := ""
	if c := r.peek(kCategory); c != nil && categoryKind(c.text()) != "" {
		cat = r.str(kCategory)
	}
	if env != nil && cat == "" {
		cat = textOf(env.peek(kCategory))
	}
	if cat == "" {
		cat = defaultCategory(ev.Kind)
	}
	ev.Category = cat
	ev.Activity = fallback(r.str(kOperationName), env, kOperationName)
	if ev.Activity == "" {
		ev.Activity = "Sign-in activity"
	}

	ev.App = trace.Principal{Type: "app", AppID: r.str(kAppID), DisplayName: r.str(kAppDisplayName),
		OwnerTenantID: r.str(kAppOwnerTenantID)}
	spID, spName := r.str(kServicePrincipalID), r.str(kServicePrincipalName)
	switch ev.Kind {
	case trace.KindSignInServicePrincipal, trace.KindSignInManagedIdentity:
		ev.App.ServicePrincipalID = spID
		ev.App.ServicePrincipalName = spName
		ev.Actor = ev.App
		if spName != "" {
			ev.Actor.DisplayName = spName
		}
	default:
		ev.Actor = trace.Principal{Type: "user", ID: r.str(kUserID), DisplayName: r.str(kUserDisplayName), UPN: r.str(kUserPrincipalName)}
		if spID != "" || spName != "" {
			ev.App.ServicePrincipalID = spID
			ev.App.ServicePrincipalName = spName
		}
	}
	res := trace.Principal{DisplayName: r.str(kResourceDisplayName), AppID: r.str(kResourceIdentity),
		ServicePrincipalID: r.str(kResourceServicePrincipalID), OwnerTenantID: r.str(kResourceOwnerTenantID)}
	if n := r.peek(kResourceID); n != nil && !strings.HasPrefix(n.text(), "/") {
		if id := r.str(kResourceID); res.AppID == "" {
			res.AppID = id
		}
	}
	if res != (trace.Principal{}) {
		res.Type = "app"
	}
	ev.Resource = res

	ev.IPAddress = fallback(r.str(kIPAddress), env, kCallerIPAddress)
	ev.Actor.IPAddress = ev.IPAddress
	ev.ClientApp = r.str(kClientAppUsed)
	ev.UserAgent = r.str(kUserAgent)
	if n := r.get(kIsInteractive); n != nil {
		b, ok := boolOf(n)
		if !ok && !n.isEmpty() {
			return &fieldError{r.name(kIsInteractive), fmt.Errorf("not a boolean: %q", trunc(n.text(), 20))}
		}
		ev.Interactive = b
	} else {
		ev.Interactive = ev.Kind == trace.KindSignIn
	}

	var st *node
	for _, k := range []int{kStatus, kStatusDynamic, kStatusString} {
		n, err := jsonField(r, k)
		if err != nil {
			return err
		}
		if st == nil && n != nil {
			st = n
		}
	}
	code, haveCode := "", false
	if st != nil {
		if c := st.child("errorCode"); c != nil && !c.isEmpty() {
			code, haveCode = c.text(), true
		}
		ev.FailureReason = st.str("failureReason")
		if a := st.child("additionalDetails"); a != nil && !a.isEmpty() {
			ev.Details = append(ev.Details, trace.KV{Key: "status.additionalDetails", Value: a.text()})
		}
	}
	if rt := r.peek(kResultType); rt != nil && !rt.isEmpty() {
		if !haveCode {
			code, haveCode = rt.text(), true
			r.get(kResultType)
		} else if rt.text() == code {
			r.get(kResultType)
		}
	}
	if env != nil && !haveCode {
		if rt := env.peek(kResultType); rt != nil && !rt.isEmpty() {
			code, haveCode = rt.text(), true
			env.get(kResultType)
		}
	}
	if haveCode {
		n, err := strconv.Atoi(strings.TrimSpace(code))
		if err != nil {
			return &fieldError{"errorCode", fmt.Errorf("not an integer: %q", trunc(code, 20))}
		}
		ev.ErrorCode = n
		if n == 0 {
			ev.Result = "success"
		} else {
			ev.Result = "failure"
		}
	}
	if rd := r.peek(kResultDescription); rd != nil {
		if ev.FailureReason == "" {
			ev.FailureReason = r.str(kResultDescription)
		} else if rd.text() == ev.FailureReason {
			r.get(kResultDescription)
		}
	}
	if env != nil && ev.FailureReason == "" {
		ev.FailureReason = fallback("", env, kResultDescription)
	}
	// authenticationDetails stays in Extra as written; Details gets one
	// summary line per step.
	if r.has(kAuthenticationDetails) {
		cp := *r.peek(kAuthenticationDetails) // parsed aside: Extra keeps the text as written
		p, err := parseInPlace(&cp, r.name(kAuthenticationDetails))
		if err != nil {
			return err
		}
		if p != nil && p.kind == 'a' {
			for i := range p.mem {
				s := &p.mem[i].val
				if s.kind != 'o' {
					continue
				}
				ev.Details = append(ev.Details, authStep(s))
			}
		}
	}
	return nil
}

// authStep summarizes one authenticationDetails step without marking its
// keys used (the whole array stays in Extra).
func authStep(s *node) trace.KV {
	get := func(k string) string {
		for _, m := range s.mem {
			if strings.EqualFold(m.key, k) {
				return m.val.text()
			}
		}
		return ""
	}
	method := get("authenticationMethod")
	if d := get("authenticationMethodDetail"); d != "" && d != method {
		method += " (" + d + ")"
	}
	val := ""
	switch get("succeeded") {
	case "true":
		val = "succeeded"
	case "false":
		val = "failed"
	}
	if d := get("authenticationStepResultDetail"); d != "" {
		if val != "" {
			val += ": "
		}
		val += d
	}
	return trace.KV{Key: "authentication: " + method, Value: val}
}

// extraOf appends the members of object n not used by the mapping (see
// appendExtra), holding the path cache for the whole record. With keep,
// only the members keep admits are appended.
func extraOf(out []trace.KV, n *node, keep *extraFilter) []trace.KV {
	paths.mu.Lock()
	defer paths.mu.Unlock()
	return appendExtra(out, "", n, keep)
}

// appendExtra appends the members of object n not used by the mapping, in
// order, recursing into used objects and arrays to find unused nested keys
// (named by their path, "targetResources[0].groupType"). The caller holds
// paths.mu.
func appendExtra(out []trace.KV, prefix string, n *node, keep *extraFilter) []trace.KV {
	if n == nil || n.kind != 'o' {
		return out
	}
	for i := range n.mem {
		m := &n.mem[i]
		if !m.used && keep != nil && (m.adm < 0 || m.adm == 0 && !keep.admits(m.key)) {
			continue
		}
		if m.used && m.val.kind != 'o' && m.val.kind != 'a' {
			continue // nothing unused inside
		}
		key := m.key
		if prefix != "" {
			key = paths.join(prefix, key, -1)
		}
		if !m.used {
			out = append(out, trace.KV{Key: key, Value: m.val.text()})
			continue
		}
		out = appendNested(out, key, &m.val, keep)
	}
	return out
}

func appendNested(out []trace.KV, key string, v *node, keep *extraFilter) []trace.KV {
	switch v.kind {
	case 'o':
		out = appendExtra(out, key, v, keep)
	case 'a':
		for j := range v.mem {
			if v.mem[j].val.kind == 'o' {
				out = appendExtra(out, paths.join(key, "", j), &v.mem[j].val, keep)
			}
		}
	}
	return out
}

// extraFilter selects the unmapped fields that go to Event.Extra by the last
// dotted segment of their name (see Reader.KeepExtra).
type extraFilter struct {
	names map[string]bool // lower case
	lens  [64]bool
}

func newExtraFilter(names []string) *extraFilter {
	f := &extraFilter{names: make(map[string]bool, len(names))}
	for _, n := range names {
		n = strings.ToLower(n)
		f.names[n] = true
		if len(n) < len(f.lens) {
			f.lens[len(n)] = true
		}
	}
	return f
}

// decide is admits as a member's adm value (0 for a nil filter).
func (f *extraFilter) decide(key string) int8 {
	switch {
	case f == nil:
		return 0
	case f.admits(key):
		return 1
	}
	return -1
}

// admits reports whether the field named key (a member name; the part after
// its last dot counts) is kept: its last segment is one of the names in
// ASCII case-insensitive comparison, or holds a non-ASCII byte (kept, since
// Unicode case folding may match it to a name).
func (f *extraFilter) admits(key string) bool {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		key = key[i+1:]
	}
	var buf [64]byte
	if len(key) >= len(buf) {
		for i := 0; i < len(key); i++ {
			if key[i] >= 0x80 {
				return true
			}
		}
		return f.names[strings.ToLower(key)]
	}
	b := buf[:len(key)]
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 0x80 {
			return true
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	if !f.lens[len(key)] {
		return false
	}
	return f.names[string(b)]
}

// pathCache remembers the dotted paths appendExtra builds ("a.b",
// "a[0]"): every record of an export repeats the same few hundred, and
// building them anew for each record was a large part of reading one.
type pathCache struct {
	mu sync.Mutex
	m  map[pathKey]string
}

type pathKey struct {
	prefix, key string
	index       int
}

// maxPaths bounds the cache; paths beyond it are built each time.
const maxPaths = 4096

var paths = pathCache{m: map[pathKey]string{}}

// join returns prefix.key, or prefix[index] when index >= 0. The caller
// holds c.mu.
func (c *pathCache) join(prefix, key string, index int) string {
	k := pathKey{prefix, key, index}
	if s, ok := c.m[k]; ok {
		return s
	}
	var s string
	if index >= 0 {
		s = prefix + "[" + strconv.Itoa(index) + "]"
	} else {
		s = prefix + "." + key
	}
	if len(c.m) < maxPaths {
		// Copies: prefix and key may point into a record's line.
		c.m[pathKey{strings.Clone(prefix), strings.Clone(key), index}] = s
	}
	return s
}
