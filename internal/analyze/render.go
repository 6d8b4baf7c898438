package analyze

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// WriteJSON writes the report as the JSON contract of docs/analyze.md. It
// encodes one element at a time, so a large report is never held twice.
func WriteJSON(w io.Writer, r *Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	var elem bytes.Buffer
	enc := json.NewEncoder(&elem)
	enc.SetEscapeHTML(false)
	enc.SetIndent("    ", "  ")
	bw.WriteString("{\n")
	if r.Source != "" {
		sb, _ := json.Marshal(r.Source)
		fmt.Fprintf(bw, "  \"source\": %s,\n", sb)
	}
	fmt.Fprintf(bw, "  \"flows_read\": %d,\n", r.FlowsRead)
	list := func(name string, n int, item func(i int) any) error {
		fmt.Fprintf(bw, "  %q: [", name)
		for i := 0; i < n; i++ {
			if i > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n    ")
			elem.Reset()
			if err := enc.Encode(item(i)); err != nil {
				return err
			}
			bw.Write(bytes.TrimRight(elem.Bytes(), "\n"))
		}
		if n > 0 {
			bw.WriteString("\n  ")
		}
		bw.WriteString("]")
		return nil
	}
	if err := list("flows", len(r.Flows), func(i int) any { return &r.Flows[i] }); err != nil {
		return err
	}
	bw.WriteString(",\n")
	if err := list("tokens", len(r.Tokens), func(i int) any { return &r.Tokens[i] }); err != nil {
		return err
	}
	bw.WriteString(",\n")
	if err := list("findings", len(r.Findings), func(i int) any { return &r.Findings[i] }); err != nil {
		return err
	}
	tail := struct {
		Keys          []KeyInfo         `json:"keys,omitempty"`
		Started       *time.Time        `json:"started,omitempty"`
		Ended         *time.Time        `json:"ended,omitempty"`
		ClaimMeanings map[string]string `json:"claim_meanings,omitempty"`
	}{r.Keys, r.Started, r.Ended, r.ClaimMeanings}
	tb, err := json.MarshalIndent(tail, "", "  ")
	if err != nil {
		return err
	}
	if inner := bytes.TrimSpace(tb[1 : len(tb)-1]); len(inner) > 0 {
		bw.WriteString(",\n  ")
		bw.Write(inner)
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
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
		ver := "signature " + VerdictText(t.Verified, t.VerifyDetail)
		fmt.Fprintf(&b, "%s[%d] %s %s at flow #%d %s, seen %d× — %s\n", strings.TrimSpace(li), i, t.Kind, t.Fingerprint, t.FlowID, t.Where, t.Seen, ver)
		for _, kv := range t.Summary {
			fmt.Fprintf(&b, "      %-18s %s\n", kv.Key, kv.Value)
		}
		if len(t.Issues) > 0 {
			fmt.Fprintf(&b, "      %-18s %s\n", "issues", strings.Join(t.Issues, ", "))
		}
	}
	if len(r.ClaimMeanings) > 0 {
		b.WriteString("\n")
		h(2, "What the claims mean")
		names := make([]string, 0, len(r.ClaimMeanings))
		for k := range r.ClaimMeanings {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if md {
				fmt.Fprintf(&b, "- `%s`: %s\n", k, r.ClaimMeanings[k])
			} else {
				fmt.Fprintf(&b, "  %-20s %s\n", k, r.ClaimMeanings[k])
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
