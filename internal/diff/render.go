package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes r for a terminal: each matched pair with its first
// difference, then the sign-ins found on one side only.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "left:  %s\nright: %s\n", r.Left, r.Right)
	if len(r.Pairs)+len(r.OnlyLeft)+len(r.OnlyRight) == 0 {
		b.WriteString("\nNo sign-ins in either trace.\n")
	}
	for _, p := range r.Pairs {
		fmt.Fprintf(&b, "\nsign-in %d ↔ %d  %s\n", p.Left.ID, p.Right.ID, describe(p.Left))
		if p.Left.Result != p.Right.Result {
			fmt.Fprintf(&b, "  result: %s ↔ %s\n", p.Left.Result, p.Right.Result)
		}
		d := p.First
		if d == nil {
			b.WriteString("  same: no difference in endpoints, statuses, parameters, cookies, claims or errors\n")
			continue
		}
		where := "the sign-in as a whole"
		if d.Step > 0 {
			where = fmt.Sprintf("step %d (flow #%s ↔ #%s)", d.Step, flowNum(d.LeftFlow), flowNum(d.RightFlow))
		}
		fmt.Fprintf(&b, "  first difference at %s: %s", where, d.Kind)
		if d.Name != "" {
			fmt.Fprintf(&b, " %s", d.Name)
		}
		fmt.Fprintf(&b, "\n    %s\n    left:  %s\n    right: %s\n", d.Detail, orNone(d.Left), orNone(d.Right))
	}
	for _, s := range r.OnlyLeft {
		fmt.Fprintf(&b, "\nonly in left: sign-in %d  %s (%s)\n", s.ID, describe(s), s.Result)
	}
	for _, s := range r.OnlyRight {
		fmt.Fprintf(&b, "\nonly in right: sign-in %d  %s (%s)\n", s.ID, describe(s), s.Result)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func describe(s SignInRef) string {
	parts := []string{s.Protocol}
	if s.Grant != "" {
		parts = append(parts, s.Grant)
	}
	if s.Client != "" {
		parts = append(parts, s.Client)
	} else if s.ClientID != "" {
		parts = append(parts, s.ClientID)
	}
	if s.IdP != "" {
		parts = append(parts, "at "+s.IdP)
	}
	return strings.Join(parts, "  ")
}

func flowNum(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
