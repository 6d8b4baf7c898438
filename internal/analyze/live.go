package analyze

import (
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/idtrace/idtrace/internal/decode/jwt"
)

// Live analysis: a capture feeds flows to Add as they complete and, after
// each, asks for the findings that flow revealed.

// LiveFinding is a finding reported during a capture, with what is known
// of its sign-in at that moment.
type LiveFinding struct {
	Finding
	// User and IdP are the sign-in's user hint and identity provider host
	// when the finding belongs to a sign-in ("" otherwise).
	User, IdP string
}

// NewFindings returns the findings added since the mark from the previous
// call (0 the first time) and the mark to pass next. It reads state only; it
// must be called from the goroutine that calls Add.
func (a *Analyzer) NewFindings(mark int) ([]LiveFinding, int) {
	all := a.rep.Findings
	if mark >= len(all) {
		return nil, len(all)
	}
	out := make([]LiveFinding, 0, len(all)-mark)
	for _, f := range all[mark:] {
		lf := LiveFinding{Finding: f}
		lf.FlowIDs = append([]int(nil), f.FlowIDs...)
		if s := a.get(f.SignIn); s != nil {
			lf.User, lf.IdP = s.User, s.IdP
		}
		out = append(out, lf)
	}
	return out, len(all)
}

// SignIns returns how many sign-ins the analyzer has seen so far.
func (a *Analyzer) SignIns() int { return len(a.signins) }

// ResultInProgress is the result of a sign-in in a Snapshot that has
// neither failed nor reached a token, code or assertion yet. Finish never
// reports it: there such a sign-in is "incomplete".
const ResultInProgress = "in_progress"

// Snapshot returns the analysis so far as a report the caller owns, for a
// capture that shows its sign-ins and tokens while it runs. It settles
// nothing, so Add may go on after it: a sign-in that is neither failed nor
// finished is ResultInProgress, JWT signatures are checked against the
// keys seen so far (SAML ones as far as Add already checked them), and the
// findings only the whole trace reveals (loops, incomplete sign-ins) are
// left to Finish. It must be called from the goroutine that calls Add, and
// not after Finish. c, when not nil, remembers the signature checks from
// one snapshot to the next (they are redone only when new keys were seen);
// pass the same cache with the same Analyzer every time.
func (a *Analyzer) Snapshot(c *SnapshotCache) *Report {
	r := a.rep
	r.Verdict = slices.Clone(a.rep.Verdict)
	r.Keys = nil
	r.ClaimMeanings = maps.Clone(a.rep.ClaimMeanings)
	if a.rep.Started != nil {
		t := *a.rep.Started
		r.Started = &t
	}
	if a.rep.Ended != nil {
		t := *a.rep.Ended
		r.Ended = &t
	}
	r.Findings = make([]Finding, len(a.rep.Findings))
	for i, f := range a.rep.Findings {
		f.FlowIDs = slices.Clone(f.FlowIDs)
		r.Findings[i] = f
	}
	sort.SliceStable(r.Findings, func(i, j int) bool {
		fi, fj := r.Findings[i], r.Findings[j]
		if SeverityRank(fi.Severity) != SeverityRank(fj.Severity) {
			return SeverityRank(fi.Severity) > SeverityRank(fj.Severity)
		}
		return minID(fi.FlowIDs) < minID(fj.FlowIDs)
	})
	r.Tokens = make([]Token, len(a.rep.Tokens))
	for i, t := range a.rep.Tokens {
		t.Issues, t.Summary = slices.Clone(t.Issues), slices.Clone(t.Summary)
		if t.raw != "" && !strings.HasPrefix(t.Kind, "saml") && t.Kind != "wsfed_token" {
			if m, ok := c.get(i, len(a.keys.Keys)); ok {
				t.Verified, t.Unsigned, t.KeyID, t.VerifyDetail = m.verified, m.unsigned, m.kid, m.reason
			} else if tok, err := jwt.Parse(t.raw); err == nil {
				v := jwt.Verify(tok, a.keys)
				t.Verified, t.Unsigned, t.KeyID, t.VerifyDetail = v.Verified, v.Unsigned, v.KeyID, v.Reason
				if v.Verified == nil && t.VerifyDetail == "" {
					t.VerifyDetail = "no keys seen yet"
				}
				c.put(i, len(a.keys.Keys), checked{t.Verified, t.Unsigned, t.KeyID, t.VerifyDetail})
			}
		}
		t.Verdict = SignatureWord(t.Verified, t.Unsigned)
		t.raw = ""
		r.Tokens[i] = t
	}
	r.Flows = make([]SignIn, 0, len(a.signins))
	for _, s := range a.signins {
		c := s.SignIn
		c.Scopes, c.Steps, c.Tokens = slices.Clone(c.Scopes), slices.Clone(c.Steps), slices.Clone(c.Tokens)
		slices.Sort(c.Tokens)
		c.WindowsAuth = slices.Clone(c.WindowsAuth)
		for i := range c.WindowsAuth {
			c.WindowsAuth[i].Facts = slices.Clone(c.WindowsAuth[i].Facts)
		}
		if c.Federation != nil {
			fed := *c.Federation
			fed.Flows = slices.Clone(fed.Flows)
			c.Federation = &fed
		}
		if c.Result == "" {
			c.Result = ResultInProgress
			if s.gotToken || (s.gotCode && len(s.tokenFlows) == 0) {
				c.Result = ResultSuccess
			}
		}
		r.Flows = append(r.Flows, c)
	}
	for i := range r.Verdict {
		v := &r.Verdict[i]
		if s := a.get(v.SignIn); s != nil {
			v.User, v.Tenant, v.App = s.User, s.Tenant, appName(s.ClientID, s.ClientName)
		}
	}
	return &r
}

// SnapshotCache keeps the signature checks of Snapshot between calls.
// The zero value is ready to use.
type SnapshotCache struct {
	keys int       // how many keys the checks were made with
	tok  []checked // by index in Report.Tokens
	have []bool
}

type checked struct {
	verified *bool
	unsigned bool
	kid      string
	reason   string
}

func (c *SnapshotCache) get(i, keys int) (checked, bool) {
	if c == nil || c.keys != keys || i >= len(c.tok) || !c.have[i] {
		return checked{}, false
	}
	return c.tok[i], true
}

func (c *SnapshotCache) put(i, keys int, v checked) {
	if c == nil {
		return
	}
	if c.keys != keys {
		c.keys, c.tok, c.have = keys, nil, nil
	}
	for len(c.tok) <= i {
		c.tok, c.have = append(c.tok, checked{}), append(c.have, false)
	}
	c.tok[i], c.have[i] = v, true
}
