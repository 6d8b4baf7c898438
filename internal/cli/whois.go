package cli

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/idtrace/idtrace/internal/actors"
	"github.com/idtrace/idtrace/internal/kb"
	"github.com/spf13/cobra"
)

// WhoisOptions are the flags and argument of `idtrace whois`.
type WhoisOptions struct {
	Query  string
	Format string // text, md, json
}

func newWhoisCmd(app *App) *cobra.Command {
	opts := &WhoisOptions{}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "whois UPN|APPID|NAME",
		Short: "Say who a principal from an Entra log is: Microsoft, sync, yours, or unknown",
		Long: `Look up one principal — a user principal name, an application (client) ID or a
display name — in idtrace's knowledge base of Microsoft first-party apps and
Microsoft-internal actors, and print its class (microsoft-internal, microsoft-app,
sync, tenant-user, tenant-app, unknown, suspicious), the evidence that matched
and what it means. Look-alikes of Microsoft names are flagged suspicious.
Works offline. --format json prints one actor object (see docs/logs.md).

Exit codes: 0 ok, 2 usage.`,
		Example: `  idtrace whois fim_password_service@support.onmicrosoft.com
  idtrace whois 89bee1f7-5e6e-4d8a-9f3d-ecd601259da7
  idtrace whois "MS-PIM" --format json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Query = args[0]
			if asJSON {
				opts.Format = "json"
			}
			return runWhois(app, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "text", "output format: text, md or json")
	cmd.Flags().BoolVar(&asJSON, "json", false, "shorthand for --format json")
	return cmd
}

var guidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// whoisPrincipal builds the principal a query names, filling what the
// knowledge base knows about it.
func whoisPrincipal(q string) (actors.Principal, string) {
	q = strings.TrimSpace(q)
	var note string
	switch {
	case guidRe.MatchString(q):
		p := actors.Principal{AppID: strings.ToLower(q), App: true}
		if a, ok := kb.LookupApp(q); ok {
			p.Name = a.Name
		} else if ia, ok := kb.LookupActor(q); ok {
			p.Name = ia.Name
		}
		if t, ok := kb.MicrosoftTenant(q); ok {
			note = fmt.Sprintf("%s is also the ID of a Microsoft tenant (%s): an app whose owner tenant is this ID is Microsoft's.", q, t)
		}
		return p, note
	case strings.Contains(q, "@"):
		p := actors.Principal{UPN: q}
		if ia, ok := kb.LookupActor(q); ok {
			p.Name = ia.Name
		}
		return p, ""
	}
	p := actors.Principal{Name: q}
	if ia, ok := kb.LookupActor(q); ok {
		p.AppID, p.UPN = ia.AppID, ia.UPN
		p.App = ia.Kind == kb.KindInternalApp
		return p, ""
	}
	if apps := kb.AppsByName(q); len(apps) > 0 {
		p.AppID, p.App = apps[0].AppID, true
		note = fmt.Sprintf("found by display name. A log record with this name is Microsoft's app only if its app ID is %s (or its owner tenant is a Microsoft tenant); the same name with another app ID is a look-alike.", apps[0].AppID)
		if len(apps) > 1 {
			ids := make([]string, 0, len(apps))
			for _, a := range apps {
				ids = append(ids, a.AppID)
			}
			note = fmt.Sprintf("%d Microsoft apps share this name (%s); the first is shown. In a log, trust the app ID, not the name.", len(apps), strings.Join(ids, ", "))
		}
	}
	return p, note
}

// describeName is the actor object whois prints for q.
func describeName(q string) actors.Actor {
	p, _ := whoisPrincipal(q)
	return actors.Default().Describe(p)
}

func runWhois(app *App, opts *WhoisOptions) error {
	switch opts.Format {
	case "text", "md", "json":
	case "markdown":
		opts.Format = "md"
	default:
		return usageErr("whois: unknown --format %q (want text, md or json)", opts.Format)
	}
	if strings.TrimSpace(opts.Query) == "" {
		return usageErr("whois: empty name")
	}
	p, note := whoisPrincipal(opts.Query)
	a := actors.Default().Describe(p)
	w := app.IO.Out
	if opts.Format == "json" {
		if a.Evidence == nil {
			a.Evidence = []string{}
		}
		b, err := json.MarshalIndent(a, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var activities, source string
	for _, s := range []string{p.UPN, p.AppID, p.Name} {
		if ia, ok := kb.LookupActor(s); ok && s != "" && (a.Class == actors.ClassMicrosoftInternal) {
			activities, source = ia.Activities, ia.Source
			break
		}
	}
	md := opts.Format == "md"
	if md {
		fmt.Fprintf(w, "## %s\n\n- **class:** %s\n- **evidence:** %s\n- **what it is:** %s\n", mdEsc(actorTitle(a)), a.Class, mdEsc(strings.Join(a.Evidence, "; ")), mdEsc(a.Explanation))
		if activities != "" {
			fmt.Fprintf(w, "- **seen doing:** %s\n- **source:** %s\n", mdEsc(activities), mdEsc(source))
		}
		if note != "" {
			fmt.Fprintf(w, "- **note:** %s\n", mdEsc(note))
		}
		return nil
	}
	fmt.Fprintf(w, "%s\n  class:      %s\n  evidence:   %s\n  what it is: %s\n", actorTitle(a), a.Class, strings.Join(a.Evidence, "; "), a.Explanation)
	if activities != "" {
		fmt.Fprintf(w, "  seen doing: %s\n  source:     %s\n", activities, source)
	}
	if note != "" {
		fmt.Fprintf(w, "  note:       %s\n", note)
	}
	return nil
}
