package analyze

import (
	"fmt"
	"net/url"
	"strings"
)

// mermaid draws a sign-in as a Mermaid sequence diagram: the browser or
// client, then each host in the order it appears, named by its role (app,
// identity provider, federated identity provider, API).
func mermaid(s SignIn) string {
	var b strings.Builder
	b.WriteString("```mermaid\nsequenceDiagram\n    participant C as Browser or client\n")
	alias := map[string]string{}
	role := func(st Step, host string) string {
		switch {
		case s.Federation != nil && host == s.Federation.Host:
			return "federated IdP"
		case host == s.IdP:
			if s.Protocol == "windows" {
				return "server"
			}
			if s.B2C {
				return "Azure AD B2C identity provider"
			}
			return "identity provider"
		case st.Kind == "api":
			return "API"
		case st.Kind == "callback" || st.Kind == "saml_response":
			return "app"
		case st.Kind == "windows_auth":
			return "Windows auth"
		}
		return "site"
	}
	var lines []string
	for _, st := range s.Steps {
		host := st.URL
		if u, err := url.Parse(st.URL); err == nil && u.Host != "" {
			host = u.Host
		}
		p, ok := alias[host]
		if !ok {
			p = fmt.Sprintf("P%d", len(alias)+1)
			alias[host] = p
			fmt.Fprintf(&b, "    participant %s as %s (%s)\n", p, mermaidText(host), role(st, host))
		}
		path := st.URL
		if u, err := url.Parse(st.URL); err == nil {
			path = u.Path
		}
		path = truncRunes(path, 48)
		lines = append(lines, fmt.Sprintf("    C->>%s: %s %s %s", p, mermaidText(st.Kind), st.Method, mermaidText(path)))
		reply := ""
		if st.Status != 0 {
			reply = fmt.Sprint(st.Status)
		}
		if st.Detail != "" {
			reply = strings.TrimSpace(reply + " " + truncRunes(st.Detail, 70))
		}
		if reply != "" {
			lines = append(lines, fmt.Sprintf("    %s-->>C: %s", p, mermaidText(reply)))
		}
	}
	b.WriteString(strings.Join(lines, "\n"))
	b.WriteString("\n```\n")
	return b.String()
}

// mermaidText keeps a label inside Mermaid's syntax: no line breaks,
// semicolons, hashes, angle brackets, quotes or backticks.
func mermaidText(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', '\t':
			return ' '
		case ';', '#', '<', '>', '"', '`', '{', '}', '%':
			return -1
		}
		return r
	}, s)
}

// truncRunes shortens s to at most n runes, ending with "..." when cut.
func truncRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}
