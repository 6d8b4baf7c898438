package analyze

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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
	if err := list("verdict", len(r.Verdict), func(i int) any { return &r.Verdict[i] }); err != nil {
		return err
	}
	bw.WriteString(",\n")
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
