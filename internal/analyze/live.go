package analyze

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
