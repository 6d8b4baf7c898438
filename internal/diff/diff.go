// Package diff compares the sign-ins of two traces — the day it worked and
// today: it matches each sign-in of one trace with its counterpart in the
// other and finds, step by step, the first difference that matters: the
// endpoint reached, the status, a request parameter, a cookie sent, a token
// claim, an error.
//
// Values that differ on every sign-in (state, nonce, codes, request IDs,
// token times and identifiers) are compared by presence only, so two
// successful sign-ins of the same app compare equal. Secret values (codes,
// tokens, cookies, passwords) never appear whole in a Result.
package diff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/trace"
)

// Side is one of the two traces compared.
type Side struct {
	Name   string
	Report *analyze.Report
	// Flow returns a flow of the trace by ID (the sign-ins' steps name them).
	Flow func(id int) (*trace.Flow, error)
}

// Result is the comparison of two traces.
type Result struct {
	Left  string `json:"left"`
	Right string `json:"right"`
	// Pairs are the matched sign-ins, in the left trace's order.
	Pairs []Pair `json:"pairs"`
	// OnlyLeft and OnlyRight are sign-ins without a counterpart.
	OnlyLeft  []SignInRef `json:"only_left"`
	OnlyRight []SignInRef `json:"only_right"`
}

// Differs reports whether anything differs.
func (r *Result) Differs() bool {
	if len(r.OnlyLeft)+len(r.OnlyRight) > 0 {
		return true
	}
	for _, p := range r.Pairs {
		if p.First != nil {
			return true
		}
	}
	return false
}

// SignInRef names a sign-in of one trace.
type SignInRef struct {
	ID       int    `json:"id"`
	Protocol string `json:"protocol"`
	Grant    string `json:"grant,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	Client   string `json:"client_name,omitempty"`
	IdP      string `json:"idp,omitempty"`
	Result   string `json:"result"`
	Error    string `json:"error,omitempty"`
	Steps    int    `json:"steps"`
	// FirstFlow is the first flow of the sign-in (0 if it has no step).
	FirstFlow int `json:"first_flow,omitempty"`
}

// Pair is two matched sign-ins and their first difference (nil when none).
type Pair struct {
	Left  SignInRef   `json:"left"`
	Right SignInRef   `json:"right"`
	First *Difference `json:"first_difference"`
}

// Kinds of Difference, in the order a step is checked.
const (
	KindEndpoint  = "endpoint"
	KindStatus    = "status"
	KindParameter = "parameter"
	KindCookie    = "cookie"
	KindClaim     = "claim"
	KindError     = "error"
	KindSteps     = "steps"
)

// Difference is where two sign-ins first part ways.
type Difference struct {
	Kind string `json:"kind"`
	// Step is the 1-based step of the sign-ins where it was found (0: the sign-in as a whole).
	Step      int `json:"step"`
	LeftFlow  int `json:"left_flow,omitempty"`
	RightFlow int `json:"right_flow,omitempty"`
	// Name is the parameter, cookie or claim ("" for other kinds).
	Name string `json:"name,omitempty"`
	// Left and Right are the two values ("" when absent on that side); secrets are shortened.
	Left   string `json:"left"`
	Right  string `json:"right"`
	Detail string `json:"detail"`
}

// Compare matches the sign-ins of left and right and finds the first
// difference of each pair. It fails only when a flow cannot be read.
func Compare(left, right Side) (*Result, error) {
	res := &Result{Left: left.Name, Right: right.Name, Pairs: []Pair{}, OnlyLeft: []SignInRef{}, OnlyRight: []SignInRef{}}
	ls, rs := signIns(left.Report), signIns(right.Report)
	used := make([]bool, len(rs))
	match := make([]int, len(ls))
	for i := range match {
		match[i] = -1
	}
	// Exact key first (protocol, grant, client, IdP), then protocol and client only.
	for _, key := range []func(*analyze.SignIn) string{fullKey, looseKey} {
		for i, l := range ls {
			if match[i] >= 0 {
				continue
			}
			for j, r := range rs {
				if !used[j] && key(l) == key(r) {
					match[i], used[j] = j, true
					break
				}
			}
		}
	}
	for i, l := range ls {
		if match[i] < 0 {
			res.OnlyLeft = append(res.OnlyLeft, ref(l))
			continue
		}
		r := rs[match[i]]
		d, err := first(left, right, l, r)
		if err != nil {
			return nil, err
		}
		res.Pairs = append(res.Pairs, Pair{Left: ref(l), Right: ref(r), First: d})
	}
	for j, r := range rs {
		if !used[j] {
			res.OnlyRight = append(res.OnlyRight, ref(r))
		}
	}
	return res, nil
}

func signIns(r *analyze.Report) []*analyze.SignIn {
	if r == nil {
		return nil
	}
	out := make([]*analyze.SignIn, len(r.Flows))
	for i := range r.Flows {
		out[i] = &r.Flows[i]
	}
	return out
}

func fullKey(s *analyze.SignIn) string {
	return strings.ToLower(s.Protocol + "|" + s.Grant + "|" + s.ClientID + "|" + s.IdP)
}

func looseKey(s *analyze.SignIn) string { return strings.ToLower(s.Protocol + "|" + s.ClientID) }

func ref(s *analyze.SignIn) SignInRef {
	r := SignInRef{ID: s.ID, Protocol: s.Protocol, Grant: s.Grant, ClientID: s.ClientID, Client: s.ClientName, IdP: s.IdP,
		Result: s.Result, Error: s.Error, Steps: len(s.Steps)}
	if len(s.Steps) > 0 {
		r.FirstFlow = s.Steps[0].FlowID
	}
	return r
}

// first walks the steps of two matched sign-ins and returns the first difference.
func first(left, right Side, l, r *analyze.SignIn) (*Difference, error) {
	n := min(len(l.Steps), len(r.Steps))
	for i := 0; i < n; i++ {
		a, b := l.Steps[i], r.Steps[i]
		d := &Difference{Step: i + 1, LeftFlow: a.FlowID, RightFlow: b.FlowID}
		if a.Kind != b.Kind || a.Method != b.Method || a.URL != b.URL {
			d.Kind, d.Left, d.Right = KindEndpoint, a.Method+" "+a.URL+" ("+a.Kind+")", b.Method+" "+b.URL+" ("+b.Kind+")"
			d.Detail = "the sign-ins reach different endpoints"
			return d, nil
		}
		if a.Status != b.Status {
			d.Kind, d.Left, d.Right = KindStatus, fmt.Sprint(a.Status), fmt.Sprint(b.Status)
			d.Detail = "the same request got a different status"
			return d, nil
		}
		fa, err := flow(left, a.FlowID)
		if err != nil {
			return nil, err
		}
		fb, err := flow(right, b.FlowID)
		if err != nil {
			return nil, err
		}
		if name, va, vb, ok := paramDiff(fa, fb); ok {
			d.Kind, d.Name, d.Left, d.Right = KindParameter, name, va, vb
			d.Detail = "request parameter " + name + " differs"
			return d, nil
		}
		if name, ina, inb, ok := cookieDiff(fa, fb); ok {
			d.Kind, d.Name = KindCookie, name
			d.Left, d.Right = presence(ina), presence(inb)
			d.Detail = "cookie " + name + " is sent on one side only"
			return d, nil
		}
		if name, va, vb, ok := claimDiff(left.Report, right.Report, a.FlowID, b.FlowID); ok {
			d.Kind, d.Name, d.Left, d.Right = KindClaim, name, va, vb
			d.Detail = "token claim " + name + " differs"
			return d, nil
		}
		if ea, eb := errorsAt(left.Report, a.FlowID), errorsAt(right.Report, b.FlowID); ea != eb {
			d.Kind, d.Left, d.Right = KindError, ea, eb
			d.Detail = "the analysis found a different error here"
			return d, nil
		}
	}
	if len(l.Steps) != len(r.Steps) {
		d := &Difference{Kind: KindSteps, Step: n + 1, Left: fmt.Sprintf("%d steps", len(l.Steps)), Right: fmt.Sprintf("%d steps", len(r.Steps))}
		if n < len(l.Steps) {
			d.LeftFlow = l.Steps[n].FlowID
			d.Detail = fmt.Sprintf("the right sign-in stops after step %d; the left one goes on to %s %s", n, l.Steps[n].Kind, l.Steps[n].URL)
		} else {
			d.RightFlow = r.Steps[n].FlowID
			d.Detail = fmt.Sprintf("the left sign-in stops after step %d; the right one goes on to %s %s", n, r.Steps[n].Kind, r.Steps[n].URL)
		}
		return d, nil
	}
	if l.Result != r.Result || l.Error != r.Error {
		return &Difference{Kind: KindError, Left: strings.TrimSpace(l.Result + " " + l.Error), Right: strings.TrimSpace(r.Result + " " + r.Error),
			Detail: "the sign-ins end differently"}, nil
	}
	return nil, nil
}

func flow(s Side, id int) (*trace.Flow, error) {
	if s.Flow == nil {
		return nil, fmt.Errorf("diff: %s: no way to read flows", s.Name)
	}
	f, err := s.Flow(id)
	if err != nil {
		return nil, fmt.Errorf("diff: %s: %w", s.Name, err)
	}
	if f.Request == nil {
		f.Request = &trace.Request{}
	}
	return f, nil
}

func presence(b bool) string {
	if b {
		return "sent"
	}
	return "not sent"
}

// volatileParam reports parameters whose value changes on every sign-in:
// only their presence is compared.
func volatileParam(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "state", "nonce", "code", "code_challenge", "code_verifier", "client-request-id", "sso_nonce", "ctx", "flowtoken",
		"canary", "hpgrequestid", "hpgid", "hpgact", "id_token", "access_token", "refresh_token", "session_state", "sid",
		"samlrequest", "samlresponse", "relaystate", "wctx", "wresult", "ppft", "i13", "i19", "uaid", "mscrid", "wreply",
		"client_assertion", "assertion", "password", "passwd", "device_code", "user_code", "x-client-ver", "otc",
		"request_id", "correlation_id", "timestamp", "trace_id", "sessionid", "sft", "sfttag", "iframe-request-id", "fci":
		return true
	}
	return strings.Contains(n, "nonce") || strings.Contains(n, "canary") || strings.Contains(n, "requestid") || strings.Contains(n, "request-id")
}

// secret reports parameters and claims whose values are secrets.
func secret(name string) bool {
	switch strings.ToLower(name) {
	case "code", "id_token", "access_token", "refresh_token", "client_secret", "password", "passwd", "client_assertion",
		"assertion", "samlresponse", "wresult", "device_code", "flowtoken", "ppft", "canary", "code_verifier", "otc":
		return true
	}
	return false
}

func shown(name, v string) string {
	if !secret(name) || v == "" {
		return v
	}
	h := sha256.Sum256([]byte(v))
	p := v
	if len(p) > 6 {
		p = p[:6]
	}
	return fmt.Sprintf("%s…[%d chars, sha256 %s]", p, len(v), hex.EncodeToString(h[:])[:12])
}

type param struct{ name, value string }

// params lists a flow's query, fragment and form parameters in order.
func params(f *trace.Flow) []param {
	var out []param
	add := func(raw string) {
		for part := range strings.SplitSeq(raw, "&") {
			if part == "" {
				continue
			}
			k, v, _ := strings.Cut(part, "=")
			if dk, err := url.QueryUnescape(k); err == nil {
				k = dk
			}
			if dv, err := url.QueryUnescape(v); err == nil {
				v = dv
			}
			out = append(out, param{k, v})
		}
	}
	u := f.Request.URL
	u, frag, _ := strings.Cut(u, "#")
	if _, q, ok := strings.Cut(u, "?"); ok {
		add(q)
	}
	add(frag)
	ct := strings.ToLower(f.Request.Headers.Get("Content-Type") + f.Request.MimeType)
	if strings.Contains(ct, "x-www-form-urlencoded") {
		add(string(f.Request.Body))
	}
	return out
}

// paramDiff finds the first parameter (in the left request's order, then
// the right's) present on one side only or with another value.
func paramDiff(a, b *trace.Flow) (name, va, vb string, ok bool) {
	pa, pb := params(a), params(b)
	get := func(ps []param, n string) (string, bool) {
		for _, p := range ps {
			if p.name == n {
				return p.value, true
			}
		}
		return "", false
	}
	for _, p := range pa {
		v, has := get(pb, p.name)
		switch {
		case !has:
			return p.name, shown(p.name, p.value), "(absent)", true
		case v != p.value && !volatileParam(p.name):
			return p.name, shown(p.name, p.value), shown(p.name, v), true
		}
	}
	for _, p := range pb {
		if _, has := get(pa, p.name); !has {
			return p.name, "(absent)", shown(p.name, p.value), true
		}
	}
	return "", "", "", false
}

func cookieNames(f *trace.Flow) []string {
	var out []string
	for _, h := range f.Request.Headers.Values("Cookie") {
		for c := range strings.SplitSeq(h, ";") {
			if k, _, ok := strings.Cut(strings.TrimSpace(c), "="); ok && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// cookieDiff finds the first cookie sent on one side only.
func cookieDiff(a, b *trace.Flow) (string, bool, bool, bool) {
	ca, cb := cookieNames(a), cookieNames(b)
	for _, c := range ca {
		if !slices.Contains(cb, c) {
			return c, true, false, true
		}
	}
	for _, c := range cb {
		if !slices.Contains(ca, c) {
			return c, false, true, true
		}
	}
	return "", false, false, false
}

// volatileClaim reports claims that differ on every token.
func volatileClaim(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "iat", "nbf", "exp", "auth_time", "uti", "aio", "rh", "jti", "nonce", "c_hash", "at_hash", "s_hash", "sid",
		"id", "issueinstant", "issue_instant", "notbefore", "not_before", "notonorafter", "not_on_or_after",
		"inresponseto", "in_response_to", "authninstant", "authn_instant", "sessionindex", "session_index", "xms_tcdt", "ipaddr":
		return true
	}
	return strings.Contains(n, "instant")
}

// tokensAt returns the tokens first seen in a flow, by kind.
func tokensAt(r *analyze.Report, flowID int) map[string]*analyze.Token {
	out := map[string]*analyze.Token{}
	if r == nil {
		return out
	}
	for i := range r.Tokens {
		t := &r.Tokens[i]
		if t.FlowID == flowID {
			if _, ok := out[t.Kind]; !ok {
				out[t.Kind] = t
			}
		}
	}
	return out
}

// claimDiff compares the claims of the tokens of each kind first seen in
// the two flows.
func claimDiff(ra, rb *analyze.Report, fa, fb int) (name, va, vb string, ok bool) {
	ta, tb := tokensAt(ra, fa), tokensAt(rb, fb)
	kinds := make([]string, 0, len(ta)+len(tb))
	for k := range ta {
		kinds = append(kinds, k)
	}
	for k := range tb {
		if _, dup := ta[k]; !dup {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		a, b := ta[k], tb[k]
		if a == nil || b == nil {
			return k, presence(a != nil), presence(b != nil), true
		}
		ca, oa := claims(a.Claims)
		cb, ob := claims(b.Claims)
		for _, c := range oa {
			if volatileClaim(c) {
				continue
			}
			vb, has := cb[c]
			if !has {
				return k + "." + c, string(ca[c]), "(absent)", true
			}
			if !bytes.Equal(ca[c], vb) {
				return k + "." + c, string(ca[c]), string(vb), true
			}
		}
		for _, c := range ob {
			if _, has := ca[c]; !has && !volatileClaim(c) {
				return k + "." + c, "(absent)", string(cb[c]), true
			}
		}
		if (a.Verified == nil) != (b.Verified == nil) || (a.Verified != nil && *a.Verified != *b.Verified) {
			return k + " signature", verdict(a.Verified), verdict(b.Verified), true
		}
	}
	return "", "", "", false
}

func verdict(v *bool) string {
	switch {
	case v == nil:
		return "not checked"
	case *v:
		return "verified"
	}
	return "INVALID"
}

// claims decodes a claims object into compact values and the key order.
func claims(raw json.RawMessage) (map[string][]byte, []string) {
	out := map[string][]byte{}
	var order []string
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return out, nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		var b bytes.Buffer
		if json.Compact(&b, v) == nil {
			v = b.Bytes()
		}
		out[k] = v
		order = append(order, k)
	}
	return out, order
}

// errorsAt lists the codes of the error findings that name a flow.
func errorsAt(r *analyze.Report, flowID int) string {
	if r == nil {
		return ""
	}
	var codes []string
	for _, f := range r.Findings {
		if f.Severity != analyze.SeverityError || !slices.Contains(f.FlowIDs, flowID) {
			continue
		}
		codes = append(codes, f.Code)
	}
	slices.Sort(codes)
	return strings.Join(slices.Compact(codes), ", ")
}
