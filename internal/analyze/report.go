package analyze

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// RenderOptions tune the text and Markdown reports.
type RenderOptions struct {
	// ExplainClaims adds the meaning of every claim seen (the Markdown
	// report always has it, in its appendix).
	ExplainClaims bool
}

// WriteText writes the report for a terminal: verdict, timeline, sign-ins,
// findings, tokens. It prints token claims, never raw tokens, cookies or secrets.
func WriteText(w io.Writer, r *Report) error { return WriteTextWith(w, r, RenderOptions{}) }

// WriteTextWith is WriteText with options.
func WriteTextWith(w io.Writer, r *Report, o RenderOptions) error {
	return write(w, r, false, o)
}

// WriteMarkdown writes the report as Markdown for a support case or a
// wiki: the verdict first, a Mermaid sequence diagram per sign-in, and the
// claim glossary in an appendix.
func WriteMarkdown(w io.Writer, r *Report) error {
	return write(w, r, true, RenderOptions{ExplainClaims: true})
}

// gapWorthNoting is the pause between two steps the timeline points out.
const gapWorthNoting = 5 * time.Second

// maxVerdictLines caps the failures told in a sentence each, maxVerdict
// the rows of the verdict table (the JSON has them all).
const (
	maxVerdictLines = 5
	maxVerdict      = 50
)

// maxTimeline caps the rows of the timeline.
const maxTimeline = 300

type writer struct {
	b  strings.Builder
	md bool
}

func (w *writer) h(level int, s string) {
	if w.md {
		fmt.Fprintf(&w.b, "%s %s\n\n", strings.Repeat("#", level), s)
		return
	}
	fmt.Fprintf(&w.b, "%s\n%s\n", s, strings.Repeat("=-~"[level-1:level], len([]rune(s))))
}

// t escapes untrusted text for Markdown (and leaves it as is for text).
func (w *writer) t(s string) string {
	if !w.md {
		return s
	}
	return mdEscape(s)
}

func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '|', '#', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func resultWord(s SignIn) string {
	switch s.Result {
	case ResultError:
		return "FAILED"
	case ResultSuccess:
		return "succeeded"
	}
	return "incomplete"
}

func write(out io.Writer, r *Report, md bool, o RenderOptions) error {
	w := &writer{md: md}
	title := "Sign-in analysis"
	if r.Source != "" {
		title += " of " + w.t(r.Source)
	}
	w.h(1, title)
	w.verdict(r)
	fmt.Fprintf(&w.b, "%s, %s, %s, %s", plural(r.FlowsRead, "HTTP flow"), plural(len(r.Flows), "sign-in"), plural(len(r.Tokens), "token"), plural(len(r.Findings), "finding"))
	if r.Started != nil && r.Ended != nil {
		fmt.Fprintf(&w.b, " (%s to %s UTC)", r.Started.UTC().Format("2006-01-02 15:04:05"), r.Ended.UTC().Format("15:04:05"))
	}
	w.b.WriteString(".\n\n")
	w.timeline(r)
	w.signIns(r)
	w.findings(r)
	w.tokens(r)
	if o.ExplainClaims && len(r.ClaimMeanings) > 0 {
		w.glossary(r)
	}
	_, err := io.WriteString(out, w.b.String())
	return err
}

// verdict leads the report: one row per failure with its case identifiers.
func (w *writer) verdict(r *Report) {
	w.h(2, "Verdict")
	if len(r.Verdict) == 0 && len(r.Flows) == 0 {
		w.b.WriteString("No sign-in in this trace, so no failure to report.")
		if len(r.Tokens) > 0 {
			fmt.Fprintf(&w.b, " It carries %s from sign-ins made before the capture started (see Tokens).", plural(len(r.Tokens), "token"))
		}
		w.b.WriteString("\n\n")
		return
	}
	if len(r.Verdict) == 0 {
		ok, inc := 0, 0
		for _, s := range r.Flows {
			switch s.Result {
			case ResultSuccess:
				ok++
			case ResultIncomplete:
				inc++
			}
		}
		fmt.Fprintf(&w.b, "No sign-in failed in this trace (%s succeeded, %s incomplete).\n\n", plural(ok, "sign-in"), plural(inc, "sign-in"))
		return
	}
	shown := r.Verdict
	if len(shown) > maxVerdict {
		shown = shown[:maxVerdict]
	}
	for _, v := range shown[:min(len(shown), maxVerdictLines)] {
		line := fmt.Sprintf("%s — %s", v.Code, v.What)
		if v.User != "" {
			line += ", for " + v.User
		}
		if v.App != "" {
			line += " in " + v.App
		}
		if !v.Time.IsZero() {
			line += " at " + v.Time.Format("2006-01-02 15:04:05") + " UTC"
		}
		ids := caseIDLine(v.CaseIDs)
		if w.md {
			fmt.Fprintf(&w.b, "**Failed: %s**", w.t(line))
			if ids != "" {
				fmt.Fprintf(&w.b, " — %s", w.t(ids))
			}
			w.b.WriteString("\n\n")
		} else {
			fmt.Fprintf(&w.b, "FAILED  %s\n", line)
			if ids != "" {
				fmt.Fprintf(&w.b, "        %s\n", ids)
			}
			if v.Why != "" {
				fmt.Fprintf(&w.b, "        why: %s\n", v.Why)
			}
			w.b.WriteString("\n")
		}
	}
	if n := len(shown) - maxVerdictLines; n > 0 && w.md {
		fmt.Fprintf(&w.b, "%s more in the table below.\n\n", plural(n, "failure"))
	}
	if !w.md {
		if n := len(r.Verdict) - maxVerdictLines; n > 0 {
			fmt.Fprintf(&w.b, "%s not listed (see --format json).\n\n", plural(n, "more failure"))
		}
		return
	}
	w.b.WriteString("| Sign-in | What failed | Why | Who | Tenant | App | When (UTC) | Correlation ID | Request ID | Timestamp | ESTS server |\n")
	w.b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, v := range shown {
		when := ""
		if !v.Time.IsZero() {
			when = v.Time.Format("2006-01-02 15:04:05")
		}
		what := v.Code + " " + v.What
		if v.Seen > 1 {
			what += fmt.Sprintf(" (%d×)", v.Seen)
		}
		cells := []string{fmt.Sprintf("%d (flow %d)", v.SignIn, v.FlowID), what, v.Why, v.User, v.Tenant, v.App, when, v.CorrelationID, v.RequestID, v.Timestamp, v.ESTSServer}
		for i := range cells {
			cells[i] = w.t(cells[i])
		}
		fmt.Fprintf(&w.b, "| %s |\n", strings.Join(cells, " | "))
	}
	w.b.WriteString("\n")
	if n := len(r.Verdict) - len(shown); n > 0 {
		fmt.Fprintf(&w.b, "%s not listed here (see --format json).\n\n", plural(n, "more failure"))
	}
}

func caseIDLine(c CaseIDs) string {
	var parts []string
	for _, kv := range []KV{{"correlation ID", c.CorrelationID}, {"request ID", c.RequestID}, {"timestamp", c.Timestamp}, {"ESTS server", c.ESTSServer}} {
		if kv.Value != "" {
			parts = append(parts, kv.Key+" "+kv.Value)
		}
	}
	return strings.Join(parts, ", ")
}

type timelineRow struct {
	signIn int
	st     Step
}

// timeline lists every step of every sign-in by time, with the pauses.
func (w *writer) timeline(r *Report) {
	var rows []timelineRow
	for _, s := range r.Flows {
		for _, st := range s.Steps {
			rows = append(rows, timelineRow{s.ID, st})
		}
	}
	if len(rows) == 0 {
		return
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if !rows[i].st.Time.Equal(rows[j].st.Time) {
			return rows[i].st.Time.Before(rows[j].st.Time)
		}
		return rows[i].st.FlowID < rows[j].st.FlowID
	})
	w.h(2, "Timeline")
	if w.md {
		w.b.WriteString("| Time (UTC) | Gap | Sign-in | Flow | Step | Request | Status | What it showed |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	}
	var prev time.Time
	for i, row := range rows {
		if i == maxTimeline {
			fmt.Fprintf(&w.b, "%s more steps not listed.\n", fmt.Sprint(len(rows)-i))
			break
		}
		st := row.st
		tm, gap := "", ""
		if !st.Time.IsZero() {
			tm = st.Time.UTC().Format("15:04:05.000")
			if !prev.IsZero() {
				d := st.Time.Sub(prev)
				gap = "+" + d.Round(time.Millisecond).String()
				if d >= gapWorthNoting {
					gap += " (pause)"
				}
			}
			prev = st.Time
		}
		req := strings.TrimSpace(st.Method + " " + st.URL)
		status := ""
		if st.Status != 0 {
			status = fmt.Sprint(st.Status)
		}
		if w.md {
			cells := []string{tm, gap, fmt.Sprint(row.signIn), fmt.Sprint(st.FlowID), st.Kind, req, status, st.Detail}
			for i := range cells {
				cells[i] = w.t(cells[i])
			}
			fmt.Fprintf(&w.b, "| %s |\n", strings.Join(cells, " | "))
		} else {
			fmt.Fprintf(&w.b, "%-12s %-16s [%d] #%-4d %-17s %s %s", tm, gap, row.signIn, st.FlowID, st.Kind, req, status)
			if st.Detail != "" {
				fmt.Fprintf(&w.b, " — %s", st.Detail)
			}
			w.b.WriteString("\n")
		}
	}
	w.b.WriteString("\n")
}

func (w *writer) kv(k, v string) {
	if v == "" {
		return
	}
	if w.md {
		fmt.Fprintf(&w.b, "- **%s**: %s\n", k, w.t(v))
	} else {
		fmt.Fprintf(&w.b, "    %-13s %s\n", k+":", v)
	}
}

func (w *writer) signIns(r *Report) {
	w.h(2, "Sign-ins")
	if len(r.Flows) == 0 {
		w.b.WriteString("No sign-in found.\n\n")
	}
	for _, s := range r.Flows {
		head := fmt.Sprintf("[%d] %s %s — %s", s.ID, safeWord(s.Protocol), safeWord(s.Grant), resultWord(s))
		if w.md {
			fmt.Fprintf(&w.b, "### %s\n\n", strings.Join(strings.Fields(head), " "))
		} else {
			fmt.Fprintf(&w.b, "%s\n", strings.Join(strings.Fields(head), " "))
		}
		w.kv("app", appName(s.ClientID, s.ClientName))
		idp := s.IdP
		if s.B2C {
			idp += " (" + b2cLabel(s.IdP) + ")"
		}
		if s.EndpointVersion != "" {
			idp += " (" + s.EndpointVersion + " endpoint)"
		}
		if s.Protocol == "windows" {
			w.kv("server", idp)
		} else {
			w.kv("idp", idp)
		}
		w.kv("tenant", s.Tenant)
		w.kv("b2c policy", s.Policy)
		w.kv("user", s.User)
		w.kv("scopes", strings.Join(s.Scopes, " "))
		w.kv("resource", s.Resource)
		w.kv("redirect_uri", s.RedirectURI)
		w.kv("response", strings.TrimSpace(s.ResponseType+" "+s.ResponseMode))
		w.kv("client auth", s.ClientAuth)
		w.kv("pkce", s.PKCE)
		if s.Parent != 0 {
			w.kv("continues", fmt.Sprintf("sign-in %d", s.Parent))
		}
		if f := s.Federation; f != nil {
			fed := f.Host + " (" + f.Protocol + ")"
			if f.Issuer != "" {
				fed += ", token issuer " + f.Issuer
			}
			if f.Subject != "" {
				fed += ", subject " + f.Subject
			}
			if f.MFA {
				fed += ", MFA done at the federated IdP"
			}
			if f.Fault != "" {
				fed += ", fault: " + f.Fault
			}
			w.kv("federation", fed)
		}
		for _, wa := range s.WindowsAuth {
			var facts []string
			for _, kv := range wa.Facts {
				facts = append(facts, kv.Key+" "+kv.Value)
			}
			w.kv("windows auth", strings.TrimSpace(fmt.Sprintf("%s (flow %d) %s", wa.Kind, wa.FlowID, strings.Join(facts, ", "))))
		}
		if s.Result == ResultError {
			w.kv("error", s.Error)
		} else {
			w.kv("ended with", s.Error) // a user's choice (B2C signal), not a failure
		}
		var steps []string
		for _, st := range s.Steps {
			steps = append(steps, fmt.Sprintf("#%d %s", st.FlowID, st.Kind))
		}
		if s.MoreSteps > 0 {
			steps = append(steps, fmt.Sprintf("+%s", plural(s.MoreSteps, "more API call")))
		}
		w.kv("steps", strings.Join(steps, ", "))
		w.b.WriteString("\n")
		if w.md && len(s.Steps) > 0 {
			w.b.WriteString(mermaid(s))
			w.b.WriteString("\n")
		}
	}
}

func (w *writer) findings(r *Report) {
	w.h(2, "Findings")
	if len(r.Findings) == 0 {
		w.b.WriteString("No findings.\n\n")
		return
	}
	for _, f := range r.Findings {
		ids := make([]string, len(f.FlowIDs))
		for i, id := range f.FlowIDs {
			ids[i] = fmt.Sprintf("#%d", id)
		}
		flows := "flow"
		if len(ids) != 1 {
			flows = "flows"
		}
		if w.md {
			fmt.Fprintf(&w.b, "- **%s** `%s` %s (%s %s)\n  - %s\n  - Next step: %s\n", strings.ToUpper(f.Severity), f.Code, w.t(f.Title), flows, strings.Join(ids, " "), w.t(f.Detail), w.t(f.Hint))
		} else {
			fmt.Fprintf(&w.b, "%-7s %s [%s] %s %s\n        %s\n        next: %s\n", strings.ToUpper(f.Severity), f.Title, f.Code, flows, strings.Join(ids, " "), f.Detail, f.Hint)
		}
	}
	w.b.WriteString("\n")
}

func (w *writer) tokens(r *Report) {
	w.h(2, "Tokens")
	if len(r.Tokens) == 0 {
		w.b.WriteString("No token found.\n\n")
		return
	}
	for i, t := range r.Tokens {
		ver := "signature " + SignatureText(t.Verified, t.Unsigned, t.VerifyDetail)
		head := fmt.Sprintf("[%d] %s %s at flow #%d %s, seen %d× — %s", i, t.Kind, t.Fingerprint, t.FlowID, t.Where, t.Seen, ver)
		if w.md {
			fmt.Fprintf(&w.b, "- %s\n\n", w.t(head))
			if len(t.Summary) > 0 || len(t.Issues) > 0 {
				w.b.WriteString("  | claim | value |\n  | --- | --- |\n")
				for _, kv := range t.Summary {
					fmt.Fprintf(&w.b, "  | %s | %s |\n", w.t(kv.Key), w.t(kv.Value))
				}
				if len(t.Issues) > 0 {
					fmt.Fprintf(&w.b, "  | issues | %s |\n", w.t(strings.Join(t.Issues, ", ")))
				}
				w.b.WriteString("\n")
			}
			continue
		}
		fmt.Fprintf(&w.b, "%s\n", head)
		for _, kv := range t.Summary {
			fmt.Fprintf(&w.b, "      %-18s %s\n", kv.Key, kv.Value)
		}
		if len(t.Issues) > 0 {
			fmt.Fprintf(&w.b, "      %-18s %s\n", "issues", strings.Join(t.Issues, ", "))
		}
	}
	w.b.WriteString("\n")
}

func (w *writer) glossary(r *Report) {
	if w.md {
		w.h(2, "Appendix: what the claims mean")
	} else {
		w.h(2, "What the claims mean")
	}
	names := make([]string, 0, len(r.ClaimMeanings))
	for k := range r.ClaimMeanings {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if w.md {
			fmt.Fprintf(&w.b, "- `%s`: %s\n", strings.ReplaceAll(k, "`", ""), w.t(r.ClaimMeanings[k]))
		} else {
			fmt.Fprintf(&w.b, "  %-20s %s\n", k, r.ClaimMeanings[k])
		}
	}
	w.b.WriteString("\n")
}

// safeWord keeps letters, digits and _:.- of a word that may come from the
// trace (an unknown grant type), so that it cannot carry Markdown.
func safeWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_:.-", r) {
			return r
		}
		return -1
	}, s)
}
