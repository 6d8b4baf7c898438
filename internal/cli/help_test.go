package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHelp walks the command tree as a new user reads it:
// every command has a one-line summary, a description that lists its exit
// codes, examples, and a usage line that puts [flags] before the
// arguments (FILE arguments may come anywhere, but the usage line reads
// the same everywhere).
func TestEveryCommandHelp(t *testing.T) {
	app := &App{Getenv: func(string) string { return "" }, Ctx: context.Background()}
	root := NewRoot(app)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Name() == "help" || c.Name() == "completion" || c.Parent() != nil && c.Parent().Name() == "completion" {
			return // cobra's own
		}
		path := c.CommandPath()
		if c.Short == "" {
			t.Errorf("%s: no one-line summary", path)
		}
		if !c.IsAvailableCommand() && !c.IsAdditionalHelpTopicCommand() && c != root {
			return
		}
		if c.IsAdditionalHelpTopicCommand() {
			return // help topics (conventions) are prose
		}
		if !strings.Contains(c.Long, "Exit codes:") {
			t.Errorf("%s: the help lists no exit codes", path)
		}
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s: the help has no examples", path)
		}
		if !strings.Contains(c.Example, "idtrace "+strings.TrimPrefix(path, "idtrace ")) && c != root {
			t.Errorf("%s: no example runs the command itself", path)
		}
		if c.HasAvailableLocalFlags() && c != root {
			use := c.UseLine()
			if i := strings.Index(use, "[flags]"); i < 0 || strings.TrimSpace(use[i+len("[flags]"):]) == "" && strings.ContainsAny(c.Use, " ") {
				t.Errorf("%s: usage line %q: want [flags] before the arguments", path, use)
			}
		}
	}
	walk(root)
}
