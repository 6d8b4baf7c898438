package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/kb"
	"github.com/idtrace/idtrace/internal/trace"
)

// KBListOptions are the options of `idtrace kb apps|errors|claims|actors`.
type KBListOptions struct {
	// What is "apps", "errors", "claims" or "actors".
	What string
	// Format is "text" (a table, or labelled lines for selected entries),
	// "md", "json" (an array) or "ndjson" (one object per line).
	Format string
	// JSON is set by runKBList when Format is json or ndjson.
	JSON bool
	// Keys, when set, select entries: AADSTS codes ("50076", "AADSTS50076"),
	// claim names, app IDs or names, actor names, UPNs or app IDs. Selected
	// entries are printed in full; an unknown key is an error.
	Keys []string
}

// KBUpdateOptions are the options of `idtrace kb update`.
type KBUpdateOptions struct {
	// File is the CSV to read ("-" for stdin).
	File string
	// DryRun reports the changes without writing the user's list.
	DryRun bool
	// Yes saves without asking even when the update removes more than a
	// tenth of the list in use.
	Yes bool
}

// KBResetOptions are the options of `idtrace kb reset`.
type KBResetOptions struct {
	// Builtin goes back to the built-in list, dropping the saved previous list too.
	Builtin bool
}

func newKBCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kb",
		Short: "Show or refresh the built-in knowledge base (apps, AADSTS codes, claims, actors)",
		Long: `kb lists the facts idtrace uses to explain sign-ins and logs, and refreshes the
list of Microsoft first-party applications from a newer export.

The app list comes from merill/microsoft-info (MIT); see docs/kb.md.
The upstream list mixes applications with other GUIDs Microsoft's docs name
(Graph permissions, directory role templates, tenants, licences); idtrace sorts
them by kind and lists only applications here (idtrace whois GUID says what any
of them is). Rows read from Microsoft Graph with their owner tenant are marked
verified; rows named only in Microsoft's docs and community rows ("GitHub") are
not, and their evidence says so.

Exit codes: 0 ok, 1 error (bad CSV: file, line and column), 2 usage.`,
		Example: `  idtrace kb errors 50076
  idtrace kb apps "Azure Portal"
  idtrace kb claims amr acr
  idtrace kb update --dry-run MicrosoftApps.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	for _, w := range []struct{ what, short, example string }{
		{"apps", "List Microsoft first-party applications (app ID, name, owner tenant, source)",
			"  idtrace kb apps 89bee1f7-5e6e-4d8a-9f3d-ecd601259da7\n  idtrace kb apps \"Azure Portal\"\n  idtrace kb apps --format json > apps.json"},
		{"errors", "List AADSTS and Azure AD B2C (AADB2C) error codes with their category, meaning and next step",
			"  idtrace kb errors 50076 AADSTS53003 AADB2C90118\n  idtrace kb errors --format md"},
		{"claims", "List token claims and what they mean",
			"  idtrace kb claims scp roles\n  idtrace kb claims --format ndjson"},
		{"actors", "List Microsoft internal actors seen in Entra audit logs",
			"  idtrace kb actors fim_password_service@support.onmicrosoft.com --json\n  idtrace kb actors"},
	} {
		opts := KBListOptions{What: w.what}
		c := &cobra.Command{
			Use:   w.what + " [flags] [KEY...]",
			Short: w.short,
			Long: w.short + `.

With no KEY, every entry is listed as a table (--format md: a Markdown table,
json: an array, ndjson: one object per line). With KEYs (AADSTS or AADB2C codes
for errors, claim names, app IDs or display names, actor names, UPNs or app
IDs), those entries are printed in full; an unknown KEY is an error (exit 1).

Exit codes: 0 ok, 1 error (unknown KEY), 2 usage.`,
			Example: w.example,
			RunE: func(cmd *cobra.Command, args []string) error {
				opts.Keys = args
				return runKBList(app, opts)
			},
		}
		addFormatFlag(c, &opts.Format, "text", "md", "json", "ndjson")
		cmd.AddCommand(c)
	}
	uopts := KBUpdateOptions{}
	update := &cobra.Command{
		Use:   "update [flags] FILE.csv",
		Short: "Replace the app list with a newer MicrosoftApps.csv export",
		Long: `update reads a CSV in the shape of merill/microsoft-info's MicrosoftApps.csv
(columns AppId, AppDisplayName, AppOwnerOrganizationId, Source), reports how
many apps it read and how it differs from the built-in list, and saves it as
the user's app list, which idtrace then uses instead of the built-in one:

  ` + userAppsPathHelp() + `

It compares the file with the list in use (a saved one, else the built-in
one) and names the apps it would remove. When it would remove more than a
tenth of that list (the wrong file, a truncated download), it asks on a
terminal, and otherwise saves nothing unless --yes is given.

A malformed row stops the update with its line and column; nothing is written.
The list it replaces is kept: 'idtrace kb reset' goes back to it ('kb reset
--builtin' to the built-in list).

Exit codes: 0 ok (or nothing saved after "no"), 1 error (unreadable or
malformed file), 2 usage (it would remove more than a tenth without --yes).`,
		Example: `  curl -sLO https://raw.githubusercontent.com/merill/microsoft-info/main/_info/MicrosoftApps.csv
  idtrace kb update MicrosoftApps.csv
  idtrace kb update --dry-run MicrosoftApps.csv
  idtrace kb update --yes MicrosoftApps.csv`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			uopts.File = args[0]
			return runKBUpdate(app, uopts)
		},
	}
	update.Flags().BoolVar(&uopts.DryRun, "dry-run", false, "report the changes without saving")
	update.Flags().BoolVarP(&uopts.Yes, "yes", "y", false, "save without asking, even when it removes more than a tenth of the list")
	cmd.AddCommand(update)
	ropts := KBResetOptions{}
	reset := &cobra.Command{
		Use:   "reset",
		Short: "Go back to the app list used before the last update",
		Long: `reset undoes the last 'idtrace kb update': it restores the list that update
replaced (the built-in list if there was none saved). --builtin goes back to
the built-in list and drops every saved list.

Exit codes: 0 ok, 1 error, 2 usage.`,
		Example: `  idtrace kb reset
  idtrace kb reset --builtin`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKBReset(app, ropts)
		},
	}
	reset.Flags().BoolVar(&ropts.Builtin, "builtin", false, "go back to the built-in list, dropping every saved list")
	cmd.AddCommand(reset)
	return cmd
}

func userAppsPathHelp() string {
	p, err := kb.UserAppsPath()
	if err != nil {
		return "(your user config directory)/idtrace/apps.csv"
	}
	return p
}

type kbAppJSON struct {
	AppID         string `json:"app_id"`
	Name          string `json:"name"`
	OwnerTenantID string `json:"owner_tenant_id"`
	Source        string `json:"source"`
	Verified      bool   `json:"verified"`
}

type kbErrorJSON struct {
	// ID is the code as services print it: "AADSTS50076", "AADB2C90118".
	ID       string `json:"id"`
	Code     int    `json:"code"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Meaning  string `json:"meaning"`
	Action   string `json:"action"`
}

func errorJSON(prefix string, e kb.ErrorCode) kbErrorJSON {
	return kbErrorJSON{ID: fmt.Sprintf("%s%d", prefix, e.Code), Code: e.Code, Name: e.Name, Category: e.Category, Meaning: e.Meaning, Action: e.Action}
}

type kbClaimJSON struct {
	Name    string `json:"name"`
	Tokens  string `json:"tokens"`
	Meaning string `json:"meaning"`
}

type kbActorJSON struct {
	Name        string `json:"name"`
	UPN         string `json:"upn"`
	AppID       string `json:"app_id"`
	Kind        string `json:"kind"`
	Explanation string `json:"explanation"`
	Activities  string `json:"activities"`
	Source      string `json:"source"`
}

func runKBList(app *App, opts KBListOptions) error {
	if err := kb.Check(); err != nil {
		return err
	}
	if err := kb.CheckErrors(); err != nil {
		return err
	}
	opts.JSON = isJSONFormat(opts.Format)
	if len(opts.Keys) > 0 {
		return runKBShow(app, opts)
	}
	w := app.IO.Out
	var rows []any
	var tw interface {
		io.Writer
		Flush() error
	} = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if opts.Format == "md" {
		tw = &mdTable{w: w}
	}
	switch opts.What {
	case "apps":
		if !opts.JSON {
			fmt.Fprintln(tw, "APP ID\tNAME\tOWNER TENANT\tSOURCE\tVERIFIED")
		}
		for _, a := range kb.Apps() {
			if opts.JSON {
				rows = append(rows, kbAppJSON(a))
				continue
			}
			v := "no"
			if a.Verified {
				v = "yes"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.AppID, cell(a.Name), cell(a.OwnerTenantID), cell(a.Source), v)
		}
	case "errors":
		if !opts.JSON {
			fmt.Fprintln(tw, "CODE\tNAME\tCATEGORY\tMEANING")
		}
		for _, l := range []struct {
			prefix string
			codes  []kb.ErrorCode
		}{{"AADSTS", kb.Errors()}, {"AADB2C", kb.B2CErrors()}} {
			for _, e := range l.codes {
				if opts.JSON {
					rows = append(rows, errorJSON(l.prefix, e))
					continue
				}
				fmt.Fprintf(tw, "%s%d\t%s\t%s\t%s\n", l.prefix, e.Code, cell(e.Name), e.Category, oneLine(e.Meaning))
			}
		}
	case "claims":
		if !opts.JSON {
			fmt.Fprintln(tw, "CLAIM\tIN\tMEANING")
		}
		for _, c := range kb.Claims() {
			if opts.JSON {
				rows = append(rows, kbClaimJSON{Name: c.Name, Tokens: c.Tokens, Meaning: c.Meaning})
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Tokens, oneLine(c.Meaning))
		}
	case "actors":
		if !opts.JSON {
			fmt.Fprintln(tw, "NAME OR UPN\tAPP ID\tKIND\tWHAT IT IS")
		}
		for _, a := range kb.Actors() {
			if opts.JSON {
				rows = append(rows, kbActorJSON(a))
				continue
			}
			name := a.Name
			if name == "" {
				name = a.UPN
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, cell(a.AppID), a.Kind, oneLine(a.Explanation))
		}
	default:
		return usageErr("kb: unknown list %q (want apps, errors, claims or actors)", opts.What)
	}
	if opts.Format == "ndjson" {
		return writeNDJSON(w, rows)
	}
	if opts.JSON {
		if rows == nil {
			rows = []any{}
		}
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	return tw.Flush()
}

// cell keeps a table cell on one line and shows "-" for empty values.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return oneLine(s)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// appDiff counts how apps differs from base, by app ID.
type appDiff struct {
	Added, Removed, Changed, Same int
	// removedApps are the removed apps, in base's order.
	removedApps []kb.App
}

func diffApps(base, apps []kb.App) appDiff {
	old := make(map[string]kb.App, len(base))
	for _, a := range base {
		if _, dup := old[a.AppID]; !dup {
			old[a.AppID] = a
		}
	}
	var d appDiff
	seen := make(map[string]bool, len(apps))
	for _, a := range apps {
		if seen[a.AppID] {
			continue
		}
		seen[a.AppID] = true
		o, ok := old[a.AppID]
		switch {
		case !ok:
			d.Added++
		case o != a:
			d.Changed++
		default:
			d.Same++
		}
	}
	for _, a := range base {
		if !seen[a.AppID] {
			seen[a.AppID] = true
			d.Removed++
			d.removedApps = append(d.removedApps, a)
		}
	}
	return d
}

func runKBUpdate(app *App, opts KBUpdateOptions) error {
	var r io.Reader
	name := opts.File
	if opts.File == "-" {
		r, name = app.IO.In, "stdin"
	} else {
		f, _, err := openInput(opts.File, "a CSV file")
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	apps, err := kb.LoadApps(r)
	if err != nil {
		var ie *trace.InputError
		if errors.As(err, &ie) && ie.File == "" {
			ie.File = name
		}
		return err
	}
	if len(apps) == 0 {
		return fmt.Errorf("%s: no apps in the file; the app list was not changed", name)
	}
	p, err := kb.UserAppsPath()
	if err != nil {
		return err
	}
	base, what, err := appsInUse(p)
	if err != nil {
		return err
	}
	verified, ids := 0, map[string]bool{}
	for _, a := range apps {
		if a.Verified {
			verified++
		}
		ids[a.AppID] = true
	}
	d := diffApps(base, apps)
	w := app.IO.Out
	fmt.Fprintf(w, "read %d apps from %s (%d verified, %d unverified", len(apps), name, verified, len(apps)-verified)
	if dups := len(apps) - len(ids); dups > 0 {
		fmt.Fprintf(w, ", %d repeated app IDs: first row wins", dups)
	}
	fmt.Fprintf(w, ")\ncompared with the %s of %d: %d added, %d removed, %d changed, %d unchanged\n",
		what, len(base), d.Added, d.Removed, d.Changed, d.Same)
	const shown = 10
	for i, a := range d.removedApps {
		if i == shown {
			fmt.Fprintf(w, "  … and %d more removed\n", len(d.removedApps)-shown)
			break
		}
		fmt.Fprintf(w, "  - %s  %s\n", a.AppID, oneLine(a.Name))
	}
	if opts.DryRun {
		fmt.Fprintln(w, "dry run: nothing saved")
		return nil
	}
	if d.Removed*10 > len(base) && !opts.Yes {
		msg := fmt.Sprintf("%s would remove %d of the %d apps of the %s (more than a tenth)", name, d.Removed, len(base), what)
		if !app.IO.InTTY || opts.File == "-" {
			return usageErr("kb update: %s: check the file, or run again with --yes to save it anyway", msg)
		}
		fmt.Fprintf(app.IO.ErrOut, "%s. Save it anyway? [y/N] ", msg)
		ans, _ := bufio.NewReader(app.IO.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(ans)); a != "y" && a != "yes" {
			fmt.Fprintln(w, "nothing saved")
			return nil
		}
	}
	prev, err := kb.PreviousAppsPath()
	if err != nil {
		return err
	}
	if err := writeUserApps(p, prev, apps); err != nil {
		return err
	}
	fmt.Fprintf(w, "saved to %s; idtrace now uses it instead of the %s ('idtrace kb reset' goes back to it)\n", p, what)
	return nil
}

// appsInUse reads the user's saved list at p, else the built-in one, and
// says which it is.
func appsInUse(p string) ([]kb.App, string, error) {
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		base, err := kb.EmbeddedApps()
		return base, "built-in list", err
	}
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	apps, err := kb.LoadApps(f)
	if err != nil {
		var ie *trace.InputError
		if errors.As(err, &ie) && ie.File == "" {
			ie.File = p
		}
		return nil, "", fmt.Errorf("the saved app list: %w ('idtrace kb reset --builtin' drops it)", err)
	}
	return apps, "saved list", nil
}

// writeUserApps writes apps to path atomically (a private temp file in a
// 0700 directory, then a rename), first moving the list it replaces to prev;
// with no list at path, it removes prev (the previous list is then the
// built-in one).
func writeUserApps(path, prev string, apps []kb.App) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".apps-*.csv")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := kb.WriteApps(tmp, apps); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	err = os.Rename(path, prev)
	if errors.Is(err, os.ErrNotExist) {
		err = os.Remove(prev)
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("keep the previous list: %w", err)
	}
	return os.Rename(tmp.Name(), path)
}

func runKBReset(app *App, opts KBResetOptions) error {
	p, err := kb.UserAppsPath()
	if err != nil {
		return err
	}
	prev, err := kb.PreviousAppsPath()
	if err != nil {
		return err
	}
	if !opts.Builtin {
		if _, err := os.Stat(prev); err == nil {
			f, err := os.Open(prev)
			if err != nil {
				return err
			}
			apps, err := kb.LoadApps(f)
			f.Close()
			if err != nil {
				return fmt.Errorf("%s: %w ('idtrace kb reset --builtin' drops it)", prev, err)
			}
			if err := os.Rename(prev, p); err != nil {
				return err
			}
			kb.SetAppOverride(apps)
			fmt.Fprintf(app.IO.Out, "restored the list of %d apps in use before the last update (%s); 'idtrace kb reset' again goes back to the built-in list\n", len(apps), p)
			return nil
		}
	}
	removed := false
	for _, f := range []string{p, prev} {
		switch err := os.Remove(f); {
		case err == nil:
			removed = true
		case !errors.Is(err, os.ErrNotExist):
			return err
		}
	}
	kb.SetAppOverride(nil)
	if !removed {
		fmt.Fprintf(app.IO.Out, "no saved app list at %s; the built-in list is in use\n", p)
		return nil
	}
	fmt.Fprintf(app.IO.Out, "removed %s; the built-in list is in use\n", p)
	return nil
}

// kbField is one labelled line of a detailed entry.
type kbField struct{ label, value string }

// runKBShow prints the selected entries in full.
func runKBShow(app *App, opts KBListOptions) error {
	var rows []any
	var blocks [][]kbField
	for _, key := range opts.Keys {
		switch opts.What {
		case "apps":
			apps := kb.AppsByName(key)
			if a, ok := kb.LookupApp(key); ok {
				apps = []kb.App{a}
			}
			if len(apps) == 0 {
				return fmt.Errorf("kb apps: %q is not a known Microsoft app ID or name", key)
			}
			for _, a := range apps {
				rows = append(rows, kbAppJSON(a))
				owner := a.OwnerTenantID
				if n, ok := kb.MicrosoftTenant(owner); ok {
					owner += " (" + n + ")"
				}
				v := map[string]string{
					kb.ProvenanceGraph:     "yes (read from Microsoft Graph with its owner tenant)",
					kb.ProvenanceDocs:      "no (named in Microsoft's documentation, which gives no owner tenant)",
					kb.ProvenanceCommunity: "no (community-contributed row: not proof that the app is Microsoft's)",
					kb.ProvenanceUser:      "no (a row of your own list with no known source)",
				}[a.Provenance()]
				blocks = append(blocks, []kbField{{"app ID", a.AppID}, {"name", a.Name}, {"owner tenant", owner}, {"source", a.Source}, {"verified", v}})
			}
		case "errors":
			if b2c := kb.FindB2CCode(key); b2c != 0 {
				e, ok := kb.LookupB2CError(b2c)
				if !ok {
					return fmt.Errorf("kb errors: AADB2C%d is not in the knowledge base", b2c)
				}
				rows = append(rows, errorJSON("AADB2C", e))
				blocks = append(blocks, []kbField{{"code", fmt.Sprintf("AADB2C%d", e.Code)}, {"category", e.Category + " (" + e.Severity() + ")"}, {"meaning", e.Meaning}, {"next step", e.Action}})
				continue
			}
			code, ok := kb.ParseErrorCode(key)
			if !ok {
				return usageErr("kb errors: %q is not an AADSTS code", key)
			}
			e, ok := kb.LookupError(code)
			if !ok {
				return fmt.Errorf("kb errors: AADSTS%d is not in the knowledge base", code)
			}
			rows = append(rows, errorJSON("AADSTS", e))
			blocks = append(blocks, []kbField{{"code", fmt.Sprintf("AADSTS%d", e.Code)}, {"name", e.Name}, {"category", e.Category + " (" + e.Severity() + ")"}, {"meaning", e.Meaning}, {"next step", e.Action}})
		case "claims":
			c, ok := kb.LookupClaim(key)
			if !ok {
				return fmt.Errorf("kb claims: %q is not a claim the knowledge base explains", key)
			}
			rows = append(rows, kbClaimJSON{Name: c.Name, Tokens: c.Tokens, Meaning: c.Meaning})
			blocks = append(blocks, []kbField{{"claim", c.Name}, {"in", c.Tokens}, {"meaning", c.Meaning}})
		case "actors":
			a, ok := kb.LookupActor(key)
			if !ok {
				return fmt.Errorf("kb actors: %q is not a known Microsoft internal actor (try 'idtrace whois')", key)
			}
			rows = append(rows, kbActorJSON(a))
			blocks = append(blocks, []kbField{{"name", a.Name}, {"UPN", a.UPN}, {"app ID", a.AppID}, {"kind", a.Kind}, {"what it is", a.Explanation}, {"seen doing", a.Activities}, {"source", a.Source}})
		default:
			return usageErr("kb: unknown list %q (want apps, errors, claims or actors)", opts.What)
		}
	}
	w := app.IO.Out
	if opts.Format == "ndjson" {
		return writeNDJSON(w, rows)
	}
	if opts.JSON {
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	for i, bl := range blocks {
		if i > 0 {
			fmt.Fprintln(w)
		}
		for _, f := range bl {
			switch {
			case f.value == "":
			case opts.Format == "md":
				fmt.Fprintf(w, "- **%s**: %s\n", f.label, mdEscape(oneLine(f.value)))
			default:
				fmt.Fprintf(w, "%-13s %s\n", f.label+":", oneLine(f.value))
			}
		}
	}
	return nil
}
