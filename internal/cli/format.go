package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// formatValue is the value of a command's --format flag: one of the
// formats the command writes. It refuses any other value when the flag is
// parsed, so every command answers a bad --format the same way: a usage
// error (exit 2) that names the formats it has.
type formatValue struct {
	p       *string
	allowed []string
	// byFormat and byJSON record which of --format and --json were given,
	// to refuse "--json --format text" whatever their order.
	byFormat, byJSON bool
}

func (v *formatValue) String() string { return *v.p }
func (v *formatValue) Type() string   { return "format" }

func (v *formatValue) Set(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "markdown" {
		s = "md"
	}
	if !slices.Contains(v.allowed, s) {
		return fmt.Errorf("want %s", orList(v.allowed))
	}
	if v.byJSON && !isJSONFormat(s) {
		return fmt.Errorf("--json asks for json, --format for %s: give one of them", s)
	}
	*v.p, v.byFormat = s, true
	return nil
}

// jsonAliasValue is --json: the same as --format json.
type jsonAliasValue struct{ v *formatValue }

func (j jsonAliasValue) String() string { return strconv.FormatBool(j.v.byJSON) }
func (j jsonAliasValue) Type() string   { return "bool" }

func (j jsonAliasValue) Set(s string) error {
	on, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	if !on {
		return nil
	}
	if j.v.byFormat && !isJSONFormat(*j.v.p) {
		return fmt.Errorf("--json asks for json, --format for %s: give one of them", *j.v.p)
	}
	if !j.v.byFormat {
		*j.v.p = "json"
	}
	j.v.byJSON = true
	return nil
}

func isJSONFormat(s string) bool { return s == "json" || s == "ndjson" }

// addFormatFlag registers --format (short -f) with the formats a command
// writes, the first being the default, and --json as an alias of
// --format json. Every command whose output is structured registers its
// format this way and reads the chosen one from *p.
func addFormatFlag(cmd *cobra.Command, p *string, formats ...string) {
	v := &formatValue{p: p, allowed: formats}
	*p = formats[0]
	f := cmd.Flags()
	f.VarP(v, "format", "f", "output `FORMAT`: "+orList(formats))
	if slices.Contains(formats, "json") {
		fl := f.VarPF(jsonAliasValue{v}, "json", "", "alias of --format json")
		fl.NoOptDefVal = "true"
	}
}

// orList writes a list of choices as "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// writeJSON writes v as indented JSON, HTML characters unescaped.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeNDJSON writes each row as one line of JSON.
func writeNDJSON[T any](w io.Writer, rows []T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// mdTable turns tab-separated lines, the first being the header, into a
// Markdown (GitHub) table: the same rows a command writes to a tabwriter
// for text output become a table for --format md.
type mdTable struct {
	w       io.Writer
	buf     []byte
	started bool
	err     error
}

func (t *mdTable) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	for {
		i := slices.Index(t.buf, '\n')
		if i < 0 {
			break
		}
		t.row(string(t.buf[:i]))
		t.buf = t.buf[i+1:]
	}
	return len(p), t.err
}

func (t *mdTable) row(line string) {
	cells := strings.Split(line, "\t")
	for i, c := range cells {
		cells[i] = mdEscape(c)
	}
	_, err := fmt.Fprintf(t.w, "| %s |\n", strings.Join(cells, " | "))
	if err == nil && !t.started {
		_, err = fmt.Fprintf(t.w, "|%s\n", strings.Repeat(" --- |", len(cells)))
	}
	t.started = true
	if t.err == nil {
		t.err = err
	}
}

// Flush writes a last line that lacks its newline.
func (t *mdTable) Flush() error {
	if len(t.buf) > 0 {
		t.row(string(t.buf))
		t.buf = nil
	}
	return t.err
}

// mdEscape keeps a value from breaking a Markdown table or list: pipes,
// backslashes, and characters that would start emphasis, code or HTML.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '|', '\\', '*', '_', '`', '<', '>', '[', ']':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
