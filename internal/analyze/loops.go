package analyze

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/idtrace/idtrace/internal/decode/oauth"
	"github.com/idtrace/idtrace/internal/trace"
)

// Loops: the same client sent back to the identity provider again and
// again. Entra stops it with AADSTS50196; a trace shows it as repeated
// authorize requests, one esctx-* cookie more per cycle, and often a
// claims parameter that the user cannot satisfy.

// loopWindow is the longest pause between two authorize requests of one loop.
const loopWindow = 30 * time.Second

// loopMinCycles is how many authorize requests within the window make a loop.
const loopMinCycles = 3

type authzSeen struct {
	flow   int
	signIn int
	at     time.Time
	ids    CaseIDs
	esctx  int // esctx-* cookies the authorize request carried
}

// esctxSeen is how many esctx-* cookies a sign-in's requests to Entra
// carried: on the first and the last of them, and at most.
type esctxSeen struct {
	first, last, most, requests int
}

// loopState is what the analyzer keeps to find loops.
type loopState struct {
	byClient map[string][]authzSeen // client_id|redirect_uri -> authorize requests
	esctx    map[int]esctxSeen      // sign-in -> esctx-* cookies sent to Entra
	code196  map[int][]int          // sign-in -> flows showing AADSTS50196
}

func newLoopState() loopState {
	return loopState{byClient: map[string][]authzSeen{}, esctx: map[int]esctxSeen{}, code196: map[int][]int{}}
}

// noteAuthorize records an authorize request and decodes its claims parameter.
func (a *Analyzer) noteAuthorize(f *trace.Flow, s *signin, v url.Values) {
	key := v.Get("client_id") + "|" + stripURL(v.Get("redirect_uri"))
	if l := a.loops.byClient[key]; len(l) < 1<<13 {
		a.loops.byClient[key] = append(l, authzSeen{f.ID, s.ID, f.Started, caseIDs(f, nil, nil), esctxCount(f)})
	}
	if c := v.Get("claims"); c != "" {
		a.claimsParameter(f, s, c, "authorize request")
	}
}

// esctxCount counts the esctx-* cookies a request carries.
func esctxCount(f *trace.Flow) int {
	n := 0
	for _, c := range oauth.ESTSCookies(f.Request.Headers.Get("Cookie")) {
		if strings.HasPrefix(strings.ToLower(c), "esctx") {
			n++
		}
	}
	return n
}

// noteCookies counts the esctx-* cookies a request carries to Entra.
func (a *Analyzer) noteCookies(f *trace.Flow, s *signin) {
	if s == nil {
		return
	}
	n := esctxCount(f)
	e, ok := a.loops.esctx[s.ID]
	if !ok {
		e.first = n
	}
	e.last, e.most, e.requests = n, max(e.most, n), e.requests+1
	a.loops.esctx[s.ID] = e
}

// finishLoops reports each run of loopMinCycles or more authorize requests
// for the same client and redirect URI with less than loopWindow between
// them, and every sign-in Entra stopped with AADSTS50196, as one finding.
func (a *Analyzer) finishLoops() {
	reported := map[int]bool{}
	for key, seen := range a.loops.byClient {
		start := 0
		for i := 1; i <= len(seen); i++ {
			if i < len(seen) && !seen[i].at.IsZero() && seen[i].at.Sub(seen[i-1].at) <= loopWindow {
				continue
			}
			if run := seen[start:i]; len(run) >= loopMinCycles {
				a.loopFinding(key, run)
				for _, r := range run {
					reported[r.signIn] = true
				}
			}
			start = i
		}
	}
	for _, s := range a.signins {
		if flows := a.loops.code196[s.ID]; len(flows) > 0 && !reported[s.ID] {
			a.loopFinding(s.ClientID+"|"+stripURL(s.RedirectURI), []authzSeen{{flow: flows[0], signIn: s.ID}})
		}
	}
}

func (a *Analyzer) loopFinding(key string, run []authzSeen) {
	client, redirect, _ := strings.Cut(key, "|")
	first := a.get(run[0].signIn)
	var flows, signIns []int
	esctx, code196 := 0, []int{}
	for _, r := range run {
		flows = append(flows, r.flow)
		esctx = max(esctx, r.esctx)
		if !slices.Contains(signIns, r.signIn) {
			signIns = append(signIns, r.signIn)
			esctx = max(esctx, a.loops.esctx[r.signIn].most)
			code196 = append(code196, a.loops.code196[r.signIn]...)
		}
	}
	var b strings.Builder
	if len(run) >= loopMinCycles {
		span := run[len(run)-1].at.Sub(run[0].at).Round(100 * time.Millisecond)
		fmt.Fprintf(&b, "%d authorize requests from %s to %s within %s (sign-ins %s): the app keeps sending the user back to sign in.",
			len(run), appName(client, ""), firstNonEmpty(redirect, "its redirect URI"), span, joinInts(signIns))
	} else {
		fmt.Fprintf(&b, "Entra stopped sign-in %d of %s with AADSTS50196: it saw the same request too often in a short time.", run[0].signIn, appName(client, ""))
	}
	if len(run) >= loopMinCycles && first != nil {
		if c := cycleShape(first.Steps); c != "" {
			b.WriteString(" One cycle: " + c + ", then the next authorize request.")
		}
	}
	if len(code196) > 0 && len(run) >= loopMinCycles {
		b.WriteString(" Entra ended it with AADSTS50196 (loop detected).")
	}
	b.WriteString(esctxGrowth(run, a.loops.esctx[run[0].signIn], esctx))
	if first != nil && first.claimsIP != "" {
		fmt.Fprintf(&b, " The app asks for tokens bound to IP address %s (xms_rp_ipaddr) and issued after a given time (nbf): if Entra sees the user at another address, the app rejects every new token and starts over.", first.claimsIP)
	}
	hint := "Usual causes: the app loses its session cookie between the callback and the next page (SameSite/Secure attributes, third-party cookie blocking, a cookie too large), the app rejects the token it gets (wrong audience or issuer, clock skew) and starts again, or http/https and host names differ behind a proxy. Capture the app's own callback response and its Set-Cookie headers."
	if first != nil && first.claimsIP != "" {
		hint = "With an IP-bound claims request (SharePoint / OneDrive IP-based location policies or strict location enforcement), check that the user reaches the app and Entra from the same public IP: split-tunnel VPN, IPv6 to one and IPv4 to the other, or a proxy for one only. Otherwise: " + hint
	}
	sev := SeverityWarning
	if len(code196) > 0 {
		sev = SeverityError
	}
	title := fmt.Sprintf("Sign-in loop (%s)", plural(len(run), "cycle"))
	if len(run) < loopMinCycles {
		title = "Sign-in loop stopped by Entra (AADSTS50196)"
	}
	for _, id := range code196 {
		if !slices.Contains(flows, id) {
			flows = append(flows, id)
		}
	}
	slices.Sort(flows)
	a.finding(first, Finding{Severity: sev, Code: "signin_loop", Title: title, Detail: b.String(), Hint: hint, FlowIDs: flows})
	if len(code196) == 0 && first != nil {
		// The loop is the failure the user sees; AADSTS50196 has its own row.
		last := run[len(run)-1]
		fl := Failure{SignIn: first.ID, FlowID: last.flow, Seen: len(run), Code: "loop", What: title,
			Why: fmt.Sprintf("the app sent the user back to sign in %d times in %s", len(run), last.at.Sub(run[0].at).Round(100*time.Millisecond)), CaseIDs: last.ids}
		if !last.at.IsZero() {
			fl.Time = last.at.UTC()
		}
		a.rep.Verdict = append(a.rep.Verdict, fl)
	}
}

// cycleShape describes one cycle of a loop by the steps of its first sign-in:
// "GET login.microsoftonline.com/.../authorize (200) → POST
// app.contoso.com/signin-oidc (302) → ..."; at most six steps, "" for none.
func cycleShape(steps []Step) string {
	var parts []string
	for i, st := range steps {
		if i == 6 {
			parts = append(parts, fmt.Sprintf("… %d more", len(steps)-i))
			break
		}
		where := strings.TrimPrefix(strings.TrimPrefix(st.URL, "https://"), "http://")
		if segs := strings.Split(where, "/"); len(segs) > 4 {
			where = segs[0] + "/…/" + strings.Join(segs[len(segs)-2:], "/")
		}
		p := strings.TrimSpace(st.Method + " " + where)
		if st.Status != 0 {
			p += fmt.Sprintf(" (%d)", st.Status)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " → ")
}

// esctxGrowth tells how the esctx-* cookies carried to Entra grew: from the
// first cycle's authorize request to the last one's for a run of cycles, or
// from the sign-in's first request to Entra to its last for a single sign-in
// stopped with AADSTS50196; with no growth, the most carried ("up to" unless
// every request carried as many). most is the
// largest count seen; "" when no request carried any.
func esctxGrowth(run []authzSeen, one esctxSeen, most int) string {
	const why = ": Entra sets one per sign-in attempt, so a growing pile of them fingerprints a loop."
	switch {
	case most == 0:
		return ""
	case len(run) >= loopMinCycles && run[len(run)-1].esctx > run[0].esctx:
		return fmt.Sprintf(" The esctx-* cookies the browser carried to Entra grew from %d on the first cycle to %d on the last, over %s%s",
			run[0].esctx, run[len(run)-1].esctx, plural(len(run), "cycle"), why)
	case len(run) < loopMinCycles && one.requests >= 2 && one.last > one.first:
		return fmt.Sprintf(" The esctx-* cookies the browser carried to Entra grew from %d on the sign-in's first request to Entra to %d on its last, over %s (at most %d)%s",
			one.first, one.last, plural(one.requests, "request"), one.most, why)
	}
	upTo := "up to "
	if flat(run, one, most) {
		upTo = ""
	}
	return fmt.Sprintf(" The browser carried %s%d esctx-* cookies to Entra: Entra sets one per sign-in attempt, so a pile of them fingerprints a loop.", upTo, most)
}

// flat reports whether every request counted carried most esctx-* cookies.
func flat(run []authzSeen, one esctxSeen, most int) bool {
	if len(run) >= loopMinCycles {
		for _, r := range run {
			if r.esctx != most {
				return false
			}
		}
		return true
	}
	return one.first == most && one.last == most
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

// claimsParameter explains a claims request (authorize parameter or API
// challenge) as a step detail and a finding.
func (a *Analyzer) claimsParameter(f *trace.Flow, s *signin, raw, where string) {
	c, err := oauth.ParseClaimsRequest(raw)
	if err != nil {
		a.finding(s, Finding{Severity: SeverityWarning, Code: "claims_malformed", Title: "Claims parameter does not decode",
			Detail: fmt.Sprintf("The %s carries a claims parameter that is not valid: %v.", where, err),
			Hint:   "Pass the claims challenge exactly as the resource sent it (base64-decoded JSON).", FlowIDs: []int{f.ID}})
		return
	}
	var seen []string
	var parts []string
	for _, ask := range c.Asks {
		if slices.Contains(seen, ask.Name) {
			continue
		}
		seen = append(seen, ask.Name)
		parts = append(parts, ask.Name+": "+ask.Explain(f.Started))
		if ask.Name == "xms_rp_ipaddr" && s != nil {
			s.claimsIP = ask.Value
		}
	}
	if len(parts) == 0 {
		return
	}
	stepDetail(s, f, "claims requested: "+strings.Join(seen, ", "))
	a.finding(s, Finding{Severity: SeverityInfo, Code: "claims_requested", Title: "Claims requested (" + where + ")",
		Detail:  "The " + where + " asks for: " + strings.Join(parts, "; ") + ".",
		Hint:    "These come from the resource (or Conditional Access through it); the sign-in must produce a token that meets them, or the resource sends the user back.",
		FlowIDs: []int{f.ID}})
}
