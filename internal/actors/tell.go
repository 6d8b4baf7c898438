package actors

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// tell turns a cluster of groups into a story, or nil when the records make
// no story worth telling.
func (b *StoryBuilder) tell(cluster []*group) *Story {
	clear(b.sw) // the steps of the last story are not kept alive
	b.sw = b.sw[:0]
	var marks uint32
	var more int
	var steps []gstep
	byTime := func(x, y gstep) int { return x.Time.Compare(y.Time) }
	if len(cluster) == 1 && slices.IsSortedFunc(cluster[0].steps, byTime) {
		// the usual case: one group, its steps in order (tell does not
		// modify steps, and the group is closed)
		marks, more, steps = cluster[0].marks, cluster[0].more, cluster[0].steps
	} else {
		for _, g := range cluster {
			marks |= g.marks
			more += g.more
			steps = append(steps, g.steps...)
		}
		slices.SortStableFunc(steps, byTime)
	}
	kind := ""
	switch {
	case marks&mCredential != 0:
		kind = StoryAppCredential
	case marks&mBlocked != 0:
		kind = StoryBlockedAccount
	case marks&(mSSPRReset|mFimReset|mSSPRProgress|mSSPRBlocked) != 0:
		kind = StorySSPR
	case marks&(mSecInfo|mStrongAuth) != 0:
		kind = StorySecurityInfo
	case marks&mAdminReset != 0:
		kind = StoryAdminReset
	case marks&mWriteback != 0:
		kind = StoryWriteback
	case marks&mPIM != 0:
		kind = StoryPIM
	case marks&mConsent != 0:
		kind = StoryConsent
	case marks&mJIT != 0:
		kind = StoryJIT
	case marks&mSignIn != 0:
		kind = StorySignIn
	default:
		return nil
	}
	var st *Story
	if b.Reuse {
		if b.reused == nil {
			b.reused = new(Story)
		}
		st = b.reused
		clear(st.Steps) // no step of the last story is kept alive
		*st = Story{Steps: slices.Grow(st.Steps[:0], len(steps))[:len(steps)], Flags: st.Flags[:0], Related: st.Related[:0]}
	} else if len(steps) == 1 {
		// the usual story, one record: the story and its step in one allocation
		one := new(struct {
			Story
			step [1]Step
		})
		st = &one.Story
		st.Steps = one.step[:]
	} else {
		st = &Story{Steps: make([]Step, len(steps))}
	}
	st.Kind, st.MoreSteps = kind, more
	// The main group: the one holding the decisive record.
	main := cluster[0]
	decisive := mSSPRReset | mFimReset | mAdminReset | mStrongAuth | mSecInfo
	for _, g := range cluster {
		if g.marks&decisive != 0 {
			main = g
			break
		}
	}
	st.CorrelationID = main.corr
	st.Target = main.target
	for _, g := range cluster {
		if st.Target == "" {
			st.Target = g.target
		}
		if g != main && g.corr != "" && g.corr != main.corr && !slices.Contains(st.Related, g.corr) {
			st.Related = append(st.Related, g.corr)
		}
		if st.Start.IsZero() || (!g.first.IsZero() && g.first.Before(st.Start)) {
			st.Start = g.first
		}
		if g.last.After(st.End) {
			st.End = g.last
		}
	}
	for i := range steps {
		s := &steps[i]
		st.Steps[i] = s.Step
		if s.suspect != "" {
			flag := fmt.Sprintf("%s is flagged suspicious (%s)", firstNonEmpty(s.Actor, s.app), s.suspect)
			if s.marks&mSignIn != 0 && s.app != "" {
				flag = fmt.Sprintf("client app %s is flagged suspicious (%s)", s.app, s.suspect)
			}
			if !slices.Contains(st.Flags, flag) {
				st.Flags = append(st.Flags, flag)
			}
		}
	}
	for i := range steps {
		if s := &steps[i]; s.newCountry != "" {
			flag := fmt.Sprintf("failed sign-in from %s, a country with no successful sign-in by %s earlier in these logs", s.newCountry, orSomeone(s.actorUser))
			if !slices.Contains(st.Flags, flag) {
				st.Flags = append(st.Flags, flag)
			}
		}
	}
	switch kind {
	case StoryAppCredential:
		b.tellCredential(st, steps)
	case StoryBlockedAccount:
		b.tellBlocked(st, steps)
	case StorySSPR:
		b.tellSSPR(st, steps)
	case StorySecurityInfo:
		b.tellSecurityInfo(st, steps)
	case StoryAdminReset:
		b.tellAdminReset(st, steps)
	case StoryWriteback:
		wb := firstStep(steps, mWriteback)
		st.Actor = wb.Actor
		st.Summary = fmt.Sprintf("The sync account %s wrote a password change for %s between Entra ID and on-premises Active Directory (%s, %s).",
			wb.Actor, orSomeone(st.Target), wb.Activity, resultWord(wb.Result))
		st.Flags = append(st.Flags, "no password reset or change for this user was found in these logs near the writeback; export a wider time range to see what caused it")
	case StoryPIM:
		b.tellPIM(st, steps)
	case StoryConsent:
		c := firstStep(steps, mConsent)
		st.Actor = c.Actor
		app := firstNonEmpty(c.object, st.Target)
		st.Target = app
		st.Summary = fmt.Sprintf("%s consented to the application %s (%s). Consent lets the app act with the permissions it asked for; check the app under Enterprise applications if the consent is unexpected.",
			orSomeone(c.Actor), orSomeone(app), resultWord(c.Result))
		if isFailure(c.Result) {
			st.Flags = append(st.Flags, "the consent failed: "+firstNonEmpty(c.Detail, "no reason given"))
		}
	case StoryJIT:
		j := firstStep(steps, mJIT)
		st.Actor = j.Actor
		var acts []string
		for _, s := range steps {
			if !slices.Contains(acts, s.Activity) {
				acts = append(acts, s.Activity)
			}
		}
		st.Summary = fmt.Sprintf("Just-in-time provisioning: Entra ID's own provisioning service (%s) created or refreshed %s automatically (%s), as it does when a Microsoft service is first used in the tenant; no administrator asked for it.",
			j.Actor, orSomeone(st.Target), strings.Join(acts, ", "))
	case StorySignIn:
		b.tellSignIn(st, steps)
	}
	return st
}

func firstStep(steps []gstep, m uint32) gstep {
	for _, s := range steps {
		if s.marks&m != 0 {
			return s
		}
	}
	return gstep{}
}

// stepsWith returns the steps with any of the marks m, in order (nil for
// none). The slices share b's scratch space, which tell clears: they are only
// valid while one story is told.
func (b *StoryBuilder) stepsWith(steps []gstep, m uint32) []*gstep {
	start := len(b.sw)
	for i := range steps {
		if steps[i].marks&m != 0 {
			b.sw = append(b.sw, &steps[i])
		}
	}
	if len(b.sw) == start {
		return nil
	}
	return b.sw[start:len(b.sw):len(b.sw)]
}

func isFailure(r string) bool {
	r = strings.ToLower(r)
	return r == "failure" || r == "failed" || r == "false" || r == "timeout"
}

func resultWord(r string) string {
	if r == "" {
		return "result not recorded"
	}
	return strings.ToLower(r)
}

func orSomeone(s string) string {
	if s == "" {
		return "an unnamed principal"
	}
	return s
}

// verification lists the user's verification steps in order, without repeats.
func (b *StoryBuilder) verification(steps []gstep) []string {
	var out []string
	for _, s := range b.stepsWith(steps, mSSPRProgress) {
		d := firstNonEmpty(s.Detail, s.Activity)
		if isFailure(s.Result) {
			d += " (failed)"
		}
		if len(out) == 0 || out[len(out)-1] != d {
			out = append(out, d)
		}
	}
	return out
}

func (b *StoryBuilder) writebackSentence(st *Story, steps []gstep) string {
	wbs := b.stepsWith(steps, mWriteback)
	if len(wbs) == 0 {
		return ""
	}
	wb := wbs[0]
	if isFailure(wb.Result) {
		st.Flags = append(st.Flags, fmt.Sprintf("password writeback to on-premises AD failed: %s", firstNonEmpty(wb.Detail, "no reason given")))
		return fmt.Sprintf(" Writing the new password back to on-premises Active Directory (by %s) FAILED: %s.", wb.Actor, firstNonEmpty(wb.Detail, "no reason given"))
	}
	corr := ""
	if wb.CorrelationID != "" && wb.CorrelationID != st.CorrelationID {
		corr = fmt.Sprintf(" under its own correlation ID %s", wb.CorrelationID)
	}
	return fmt.Sprintf(" The new password was then written back to on-premises Active Directory by the sync account %s%s.", wb.Actor, corr)
}

func (b *StoryBuilder) tellSSPR(st *Story, steps []gstep) {
	verif := b.verification(steps)
	fims := b.stepsWith(steps, mFimReset)
	resets := b.stepsWith(steps, mSSPRReset|mFimReset)
	user := st.Target
	if user == "" {
		for _, s := range b.stepsWith(steps, mSSPRProgress|mSSPRReset) {
			if s.actorUser != "" {
				user = s.actorUser
				break
			}
		}
		st.Target = user
	}
	var sb strings.Builder
	failed := len(resets) > 0
	for _, r := range resets {
		if !isFailure(r.Result) {
			failed = false
		}
	}
	switch {
	case len(resets) == 0 && b.stepsWith(steps, mSSPRBlocked) != nil:
		st.Actor = user
		fmt.Fprintf(&sb, "Self-service password reset: %s was blocked from resetting their password (too many attempts or not allowed by policy); no password was changed.", orSomeone(user))
		st.Flags = append(st.Flags, "the user was blocked from self-service password reset")
	case len(resets) == 0:
		st.Actor = user
		fmt.Fprintf(&sb, "Self-service password reset: %s started a password reset but no reset was recorded in these logs", orSomeone(user))
		if len(verif) > 0 {
			fmt.Fprintf(&sb, "; the last step was: %s.", verif[len(verif)-1])
		} else {
			sb.WriteString(".")
		}
	case failed:
		r := resets[len(resets)-1]
		st.Actor = r.Actor
		fmt.Fprintf(&sb, "Self-service password reset: the attempt to reset the password of %s FAILED (%s).", orSomeone(user), firstNonEmpty(r.Detail, "no reason given"))
		st.Flags = append(st.Flags, "the self-service password reset failed")
	case len(fims) > 0:
		st.Actor = fims[0].Actor
		fmt.Fprintf(&sb, "Self-service password reset: Microsoft's password-reset service (%s) reset the password of %s at the user's own request.", fims[0].Actor, orSomeone(user))
	default:
		st.Actor = resets[0].Actor
		unlockOnly := true
		for _, r := range resets {
			if !containsFold(r.Activity, "unlock") {
				unlockOnly = false
			}
		}
		if unlockOnly {
			fmt.Fprintf(&sb, "Self-service account unlock: %s unlocked their own account through self-service password reset, without changing the password.", orSomeone(user))
		} else {
			fmt.Fprintf(&sb, "Self-service password reset: %s reset their own password through self-service password reset.", orSomeone(user))
		}
	}
	if len(resets) > 0 && !failed {
		if len(verif) > 0 {
			fmt.Fprintf(&sb, " Before that, the user proved who they are: %s.", strings.Join(verif, "; "))
		} else {
			st.Flags = append(st.Flags, "the user's verification steps (\"Self-service password reset flow activity progress\") are not in these logs; export the Self-service Password Management records of the same time to see them")
		}
		if len(fims) > 0 {
			sb.WriteString(" fim_password_service is not an intruder: it is the account Microsoft's self-service password reset service uses to write the new password once the user has passed verification.")
		}
	}
	sb.WriteString(b.writebackSentence(st, steps))
	if sa := b.stepsWith(steps, mStrongAuth); len(sa) > 0 {
		fmt.Fprintf(&sb, " Security info was also updated (%s).", sa[0].Detail)
	}
	st.Summary = sb.String()
}

func (b *StoryBuilder) tellSecurityInfo(st *Story, steps []gstep) {
	reg := b.stepsWith(steps, mSecInfo)
	sa := b.stepsWith(steps, mStrongAuth)
	var sb strings.Builder
	user := st.Target
	if len(reg) > 0 {
		st.Actor = reg[0].Actor
		var what []string
		for _, r := range reg {
			d := r.Activity
			if r.Detail != "" && !strings.HasPrefix(r.Detail, "target ") {
				d += " (" + r.Detail + ")"
			}
			if isFailure(r.Result) {
				d += " [failed]"
			}
			if !slices.Contains(what, d) {
				what = append(what, d)
			}
		}
		fmt.Fprintf(&sb, "Security-info registration: %s changed their sign-in methods: %s.", orSomeone(user), strings.Join(what, "; "))
	} else if len(sa) > 0 {
		st.Actor = sa[0].Actor
		fmt.Fprintf(&sb, "Security-info update: %s updated the authentication methods of %s (%s).", sa[0].Actor, orSomeone(user), sa[0].Detail)
	}
	fimSA := b.stepsWith(steps, mFimStrongAuth)
	if len(fimSA) > 0 {
		fmt.Fprintf(&sb, " Microsoft's password-reset and registration service (%s) wrote the change into the user's StrongAuthentication properties: this is the service recording the user's own registration, not an administrator.", fimSA[0].Actor)
		if len(reg) == 0 {
			st.Flags = append(st.Flags, "fim_password_service changed StrongAuthentication properties but the user's own registration records are not in these logs")
		}
	} else if len(sa) > 0 && len(reg) == 0 {
		if l := sa[0]; l.suspect == "" {
			st.Flags = append(st.Flags, fmt.Sprintf("%s changed the user's StrongAuthentication properties directly; make sure this was an expected administrator action", l.Actor))
		}
	}
	st.Summary = sb.String()
}

func (b *StoryBuilder) tellAdminReset(st *Story, steps []gstep) {
	r := firstStep(steps, mAdminReset)
	st.Actor = r.Actor
	var sb strings.Builder
	if r.suspect != "" {
		fmt.Fprintf(&sb, "Password reset by a SUSPICIOUS account: %s %s the password of %s. This account is not one of Microsoft's documented service accounts, whatever its name suggests; find out who created it and what else it did (idtrace logs --actor %s).",
			orSomeone(r.Actor), map[bool]string{true: "tried to reset (and failed)", false: "reset"}[isFailure(r.Result)], orSomeone(st.Target), r.Actor)
	} else if isFailure(r.Result) {
		fmt.Fprintf(&sb, "Admin password reset: %s tried to reset the password of %s and FAILED (%s).", orSomeone(r.Actor), orSomeone(st.Target), firstNonEmpty(r.Detail, "no reason given"))
	} else {
		fmt.Fprintf(&sb, "Admin password reset: %s reset the password of %s (an administrator or helpdesk action, not self-service).", orSomeone(r.Actor), orSomeone(st.Target))
	}
	sb.WriteString(b.writebackSentence(st, steps))
	st.Summary = sb.String()
}

func (b *StoryBuilder) tellPIM(st *Story, steps []gstep) {
	p := firstStep(steps, mPIM)
	role := ""
	for _, s := range b.stepsWith(steps, mPIM) {
		if s.object != "" {
			role = s.object
			break
		}
	}
	user := st.Target
	st.Actor = p.Actor
	var sb strings.Builder
	fmt.Fprintf(&sb, "PIM activation: %s activated", orSomeone(firstNonEmpty(user, p.Actor)))
	if role != "" {
		fmt.Fprintf(&sb, " the role %s", role)
	} else {
		sb.WriteString(" an eligible role")
	}
	sb.WriteString(" through Privileged Identity Management")
	for _, s := range steps {
		if strings.EqualFold(s.Actor, "MS-PIM") {
			sb.WriteString("; MS-PIM, Microsoft's PIM service, then added the time-bound role membership")
			break
		}
	}
	sb.WriteString(".")
	for _, s := range steps {
		if isFailure(s.Result) {
			st.Flags = append(st.Flags, fmt.Sprintf("%s failed: %s", s.Activity, firstNonEmpty(s.Detail, "no reason given")))
			break
		}
	}
	st.Summary = sb.String()
}

func (b *StoryBuilder) tellSignIn(st *Story, steps []gstep) {
	last := &steps[len(steps)-1]
	st.Actor = firstNonEmpty(st.Target, last.Actor)
	app := ""
	appLabel := ""
	for i := range steps {
		if s := &steps[i]; s.app != "" {
			app, appLabel = s.app, s.appLabel
			break
		}
	}
	mfa := false
	for i := range steps {
		if c := steps[i].errorCode; c == 50074 || c == 50076 || c == 50079 {
			mfa = true
			st.Steps[i].Role = "mfa-interrupt"
		}
	}
	// the outcome: head, then (for failures) the error's text and tail
	var head, errText, tail string
	switch {
	case last.errorCode == 0 && mfa:
		head = ": interrupted to ask for multifactor authentication, then succeeded."
	case last.errorCode == 0 && len(steps) > 1:
		head, errText, tail = ": succeeded after ", strconv.Itoa(len(steps)), " attempts."
	case last.errorCode == 0:
		head = ": succeeded."
	case mfa && (last.errorCode == 50074 || last.errorCode == 50076 || last.errorCode == 50079):
		head, errText, tail = ": stopped at the multifactor authentication prompt (", b.errorText(last.errorCode, ""), "); no successful sign-in followed in this correlation."
	case b.interrupt(last.errorCode):
		head, errText, tail = ": ended at an interrupt, not a failure (", b.errorText(last.errorCode, ""), "); no later record in this correlation."
	default:
		head, errText, tail = ": failed with ", b.errorText(last.errorCode, ""), "."
	}
	who := orSomeone(st.Actor)
	n := len("Sign-in: ") + len(who) + len(head) + len(errText) + len(tail)
	if app != "" {
		n += len(" to ") + len(app)
		if appLabel != "" {
			n += len(" (") + len(appLabel) + len(")")
		}
	}
	var sum []byte
	if b.Reuse {
		sum = b.sum[:0]
	}
	sum = slices.Grow(sum, n) // the one allocation of the summary (none with Reuse, once grown)
	sum = append(append(sum, "Sign-in: "...), who...)
	if app != "" {
		sum = append(append(sum, " to "...), app...)
		if appLabel != "" {
			sum = append(append(append(sum, " ("...), appLabel...), ')')
		}
	}
	sum = append(append(append(sum, head...), errText...), tail...)
	if b.Reuse {
		b.sum = sum // rewritten by the next story: Sink is done with this one by then
	}
	st.Summary = unsafe.String(unsafe.SliceData(sum), len(sum))
	for i := range st.Steps {
		if st.Steps[i].Role == "" {
			if steps[i].errorCode == 0 {
				st.Steps[i].Role = "success"
			} else {
				st.Steps[i].Role = "failure"
			}
		}
	}
}

// interrupt reports whether code is an expected mid-flow interrupt
// (the knowledge base's "interaction" category).
func (b *StoryBuilder) interrupt(code int) bool {
	if b.Classifier == nil {
		return false
	}
	ec, ok := b.Classifier.K.errorCode(code)
	return ok && ec.Category == "interaction"
}

// SortStories orders stories for a summary: account stories first, then
// sign-ins; each by start time.
func SortStories(s []*Story) {
	slices.SortStableFunc(s, func(x, y *Story) int {
		return cmp.Or(cmp.Compare(kindRank(x.Kind), kindRank(y.Kind)), x.Start.Compare(y.Start))
	})
}

// storyKinds lists the story kinds in summary order.
var storyKinds = [...]string{StoryAppCredential, StoryBlockedAccount, StorySSPR, StorySecurityInfo, StoryAdminReset, StoryWriteback, StoryPIM, StoryConsent, StoryJIT, StorySignIn}

func kindRank(k string) int {
	for i, v := range storyKinds {
		if v == k {
			return i
		}
	}
	return 99
}
