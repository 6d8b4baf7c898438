package analyze

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSON writes the report as the JSON contract of docs/analyze.md.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes the report for a terminal: sign-ins, findings, tokens.
// It prints token claims, never raw tokens, cookies or secrets.
func WriteText(w io.Writer, r *Report) error {
	return write(w, r, false)
}

// WriteMarkdown writes the report as Markdown (for a ticket or a wiki).
func WriteMarkdown(w io.Writer, r *Report) error {
	return write(w, r, true)
}

func write(w io.Writer, r *Report, md bool) error {
	var b strings.Builder
	h := func(level int, s string) {
		if md {
			fmt.Fprintf(&b, "%s %s\n\n", strings.Repeat("#", level), s)
		} else {
			fmt.Fprintf(&b, "%s\n%s\n", s, strings.Repeat("=-"[level-1:level], len([]rune(s))))
		}
	}
	title := "Sign-in analysis"
	if r.Source != "" {
		title += " of " + r.Source
	}
	h(1, title)
	fmt.Fprintf(&b, "%d HTTP flows, %d sign-ins, %d tokens, %d findings", r.FlowsRead, len(r.Flows), len(r.Tokens), len(r.Findings))
	if r.Started != nil && r.Ended != nil {
		fmt.Fprintf(&b, " (%s to %s)", r.Started.UTC().Format("2006-01-02 15:04:05Z"), r.Ended.UTC().Format("15:04:05Z"))
	}
	b.WriteString("\n\n")

	h(2, "Sign-ins")
	if len(r.Flows) == 0 {
		b.WriteString("No sign-in found.\n\n")
	}
	li := "  "
	if md {
		li = "- "
	}
	for _, s := range r.Flows {
		head := fmt.Sprintf("[%d] %s %s — %s", s.ID, s.Protocol, s.Grant, strings.ToUpper(s.Result))
		if md {
			fmt.Fprintf(&b, "### %s\n\n", head)
		} else {
			fmt.Fprintf(&b, "%s\n", head)
		}
		kv := func(k, v string) {
			if v != "" {
				if md {
					fmt.Fprintf(&b, "- **%s**: %s\n", k, v)
				} else {
					fmt.Fprintf(&b, "    %-13s %s\n", k+":", v)
				}
			}
		}
		client := s.ClientID
		if s.ClientName != "" {
			client += " (" + s.ClientName + ")"
		}
		kv("client", client)
		idp := s.IdP
		if s.EndpointVersion != "" {
			idp += " (" + s.EndpointVersion + " endpoint)"
		}
		kv("idp", idp)
		kv("tenant", s.Tenant)
		kv("user", s.User)
		kv("scopes", strings.Join(s.Scopes, " "))
		kv("resource", s.Resource)
		kv("redirect_uri", s.RedirectURI)
		kv("response", strings.TrimSpace(s.ResponseType+" "+s.ResponseMode))
		kv("client auth", s.ClientAuth)
		kv("pkce", s.PKCE)
		if s.Parent != 0 {
			kv("continues", fmt.Sprintf("sign-in %d", s.Parent))
		}
		kv("error", s.Error)
		var steps []string
		for _, st := range s.Steps {
			steps = append(steps, fmt.Sprintf("#%d %s", st.FlowID, st.Kind))
		}
		if s.MoreSteps > 0 {
			steps = append(steps, fmt.Sprintf("+%d more API calls", s.MoreSteps))
		}
		kv("steps", strings.Join(steps, ", "))
		b.WriteString("\n")
	}

	h(2, "Findings")
	if len(r.Findings) == 0 {
		b.WriteString("No findings.\n\n")
	}
	for _, f := range r.Findings {
		ids := make([]string, len(f.FlowIDs))
		for i, id := range f.FlowIDs {
			ids[i] = fmt.Sprintf("#%d", id)
		}
		if md {
			fmt.Fprintf(&b, "- **%s** `%s` %s (flows %s)\n  - %s\n  - Next step: %s\n", strings.ToUpper(f.Severity), f.Code, f.Title, strings.Join(ids, " "), f.Detail, f.Hint)
		} else {
			fmt.Fprintf(&b, "%-7s %s [%s] flows %s\n        %s\n        next: %s\n", strings.ToUpper(f.Severity), f.Title, f.Code, strings.Join(ids, " "), f.Detail, f.Hint)
		}
	}
	b.WriteString("\n")

	h(2, "Tokens")
	if len(r.Tokens) == 0 {
		b.WriteString("No token found.\n")
	}
	for i, t := range r.Tokens {
		ver := "signature not verified"
		if t.Verified != nil {
			if *t.Verified {
				ver = "signature verified (kid " + t.KeyID + ")"
			} else {
				ver = "SIGNATURE INVALID: " + t.VerifyDetail
			}
		} else if strings.HasPrefix(t.VerifyDetail, ver) {
			ver = t.VerifyDetail
		} else if t.VerifyDetail != "" {
			ver += ": " + t.VerifyDetail
		}
		fmt.Fprintf(&b, "%s[%d] %s %s at flow #%d %s, seen %d× — %s\n", strings.TrimSpace(li), i, t.Kind, t.Fingerprint, t.FlowID, t.Where, t.Seen, ver)
		for _, kv := range t.Summary {
			fmt.Fprintf(&b, "      %-18s %s\n", kv.Key, kv.Value)
		}
		if len(t.Issues) > 0 {
			fmt.Fprintf(&b, "      %-18s %s\n", "issues", strings.Join(t.Issues, ", "))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
