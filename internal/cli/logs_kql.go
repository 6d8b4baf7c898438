package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/idtrace/idtrace/internal/actors"
)

// writeKQL prints the rules of `idtrace logs` as KQL queries.
func writeKQL(w io.Writer, format string) error {
	qs := actors.DefaultQueries()
	switch format {
	case "json":
		b, err := json.MarshalIndent(qs, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "md":
		fmt.Fprintf(w, "# idtrace rules as KQL (Log Analytics / Microsoft Sentinel)\n\n")
		for _, q := range qs {
			fmt.Fprintf(w, "## %s\n\n%s\n\n```kusto\n%s\n```\n\n", q.Name, q.Description, q.Text)
		}
		return nil
	case "csv":
		return usageErr("logs --kql: --format csv is not supported; use text, md or json")
	}
	for i, q := range qs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "// ---- %s ----\n// %s\n%s\n", q.Name, strings.ReplaceAll(q.Description, "\n", "\n// "), q.Text)
	}
	return nil
}
