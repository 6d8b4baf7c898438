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
	cmd := &cobra.Command{
		Use:   "whois [flags] UPN|APPID|NAME",
		Short: "Say who a principal from an Entra log is: Microsoft, sync, yours, or unknown",
		Long: `Look up one principal — a user principal name, a GUID or a display name — in
idtrace's knowledge base and say what it really is:

  - a GUID: an application (with its owner tenant, whether the row is verified,
    named in Microsoft's docs or community-contributed, and what the app does),
    a Microsoft Graph permission, a directory role template, a tenant, or
    unknown; for apps, the Graph request and PowerShell line that check the
    owner tenant in your own tenant;
  - a UPN: a Microsoft-internal account, a sync account (exact patterns only),
    a look-alike of either, or a user of the tenant;
  - a display name: the app IDs that carry it. A name alone is never evidence,
    so a record carrying only a Microsoft name is unknown.

Classes: microsoft-internal, microsoft-app, sync, tenant-user, tenant-app,
unknown, suspicious. Works offline. --format json prints one object (see
docs/logs.md).

Exit codes: 0 ok, 2 usage.`,
		Example: `  idtrace whois fim_password_service@support.onmicrosoft.com
  idtrace whois 89bee1f7-5e6e-4d8a-9f3d-ecd601259da7
  idtrace whois 62e90394-69f5-4237-9190-012177145e10
  idtrace whois "Office 365 Shell WCSS-Client" --format json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Query = args[0]
			return runWhois(app, opts)
		},
	}
	addFormatFlag(cmd, &opts.Format, "text", "md", "json")
	return cmd
}

var guidRe = regexp.MustCompile(`^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$`)

// whoisAnswer is what whois prints: the actor object of `logs --json`
// (class, evidence, explanation) plus what the query really is.
type whoisAnswer struct {
	actors.Actor
	Query string `json:"query"`
	// Kind is what the query names: app, permission, role-template, tenant,
	// other, internal-account, sync-account, user, name, unknown.
	Kind string `json:"kind"`
	// What says it in words ("a Microsoft Graph permission: User.Read, delegated").
	What            string   `json:"what"`
	OwnerTenant     string   `json:"owner_tenant,omitempty"`
	OwnerTenantName string   `json:"owner_tenant_name,omitempty"`
	Provenance      string   `json:"provenance,omitempty"`
	Does            string   `json:"does,omitempty"`
	AppIDsWithName  []string `json:"app_ids_with_name,omitempty"`
	Verify          *verify  `json:"verify,omitempty"`
	SeenDoing       string   `json:"seen_doing,omitempty"`
	Source          string   `json:"source,omitempty"`
}

// verify is the recipe to check an app in the user's own tenant.
type verify struct {
	Graph            string   `json:"graph"`
	PowerShell       string   `json:"powershell"`
	MicrosoftTenants []string `json:"microsoft_tenants"`
}

func verifyRecipe(appID string) *verify {
	return &verify{
		Graph:            fmt.Sprintf("GET https://graph.microsoft.com/v1.0/servicePrincipals(appId='%s')?$select=appOwnerOrganizationId,publisherName,verifiedPublisher", appID),
		PowerShell:       fmt.Sprintf(`Get-MgServicePrincipal -Filter "appId eq '%s'" | Select-Object AppOwnerOrganizationId, PublisherName, VerifiedPublisher`, appID),
		MicrosoftTenants: kb.MicrosoftTenants(),
	}
}

// whois answers one query: a GUID, a UPN or a display name.
func whois(q string) whoisAnswer {
	q = strings.TrimSpace(q)
	k := actors.Default()
	ans := whoisAnswer{Query: q}
	switch {
	case guidRe.MatchString(q):
		id := strings.ToLower(strings.Trim(q, "{}"))
		g, found := kb.LookupGUID(id)
		p := actors.Principal{AppID: id, App: true}
		if ia, ok := kb.LookupActor(id); ok && !found {
			p.Name = ia.Name
		}
		if found && g.Kind == kb.GUIDApp {
			p.Name = g.Name
		}
		switch {
		case found && g.Kind != kb.GUIDApp:
			ans.Actor = actors.Actor{Name: firstNonEmptyStr(g.Name, id), AppID: "", Class: actors.ClassUnknown,
				Evidence:    []string{fmt.Sprintf("%s is %s in the knowledge base (source: %s)", id, actors.DescribeGUID(g), g.Source)},
				Explanation: "This GUID does not identify a user or an application, so it cannot be the actor of a log record. It appears in logs as a target or a property (a permission granted, a role assigned, a tenant)."}
			ans.Kind, ans.What = g.Kind, actors.DescribeGUID(g)
			if g.Kind == kb.GUIDTenant {
				ans.Explanation = "A tenant (directory) ID, not a user or an application. An app whose owner tenant (appOwnerOrganizationId) is one of Microsoft's tenants is Microsoft's."
				if g.ID == kb.ConsumerTenantID {
					ans.Explanation = "The tenant of personal Microsoft accounts. Anyone can register an app there, so an app owned by it is not thereby Microsoft's."
				}
			}
			return ans
		case found:
			ans.Actor = k.Describe(p)
			ans.Kind, ans.What = kb.GUIDApp, actors.DescribeGUID(g)
			ans.Provenance = g.Detail
			ans.OwnerTenant = g.OwnerTenantID
			if t, ok := kb.MicrosoftTenant(g.OwnerTenantID); ok {
				ans.OwnerTenantName = t
			}
			ans.Does = kb.AppDoes(id)
		default:
			ans.Actor = k.Describe(p)
			ans.Kind, ans.What = "unknown", "a GUID the knowledge base does not know"
		}
		ans.Verify = verifyRecipe(id)
	case strings.Contains(q, "@"):
		p := actors.Principal{UPN: q}
		if ia, ok := kb.LookupActor(q); ok {
			p.Name = ia.Name
		}
		ans.Actor = k.Describe(p)
		ans.Kind, ans.What = "user", "a user principal name"
		switch ans.Class {
		case actors.ClassMicrosoftInternal:
			ans.Kind, ans.What = "internal-account", "a Microsoft-internal service account"
		case actors.ClassSync:
			ans.Kind, ans.What = "sync-account", "a directory synchronization account"
		}
	default:
		// A display name: what a record carrying only this name would be,
		// and the identities that carry it.
		ans.Actor = k.Describe(actors.Principal{Name: q})
		ans.Kind, ans.What = "name", "a display name, which alone identifies nothing"
		if id, ok := kb.RoleTemplateByName(q); ok {
			ans.What = fmt.Sprintf("the name of a Microsoft Entra directory role (template ID %s)", id)
		}
		if ps := kb.PermissionsByName(q); len(ps) > 0 {
			var ids []string
			for _, p := range ps {
				ids = append(ids, fmt.Sprintf("%s %s", p.ID, firstNonEmptyStr(p.Detail, "permission")))
			}
			ans.What = "the name of a Microsoft Graph permission: " + strings.Join(ids, ", ")
		}
		apps := kb.AppsByName(q)
		for _, a := range apps {
			ans.AppIDsWithName = append(ans.AppIDsWithName, a.AppID)
		}
		if len(apps) > 0 {
			ans.What = fmt.Sprintf("the name of %d Microsoft app(s): a record with this name is one of them only if its app ID is listed here", len(apps))
			ans.Does = kb.AppDoes(apps[0].AppID)
			if len(apps) == 1 {
				ans.Verify = verifyRecipe(apps[0].AppID)
			}
		}
	}
	for _, s := range []string{ans.UPN, ans.AppID, ans.Query} {
		if ia, ok := kb.LookupActor(s); ok && s != "" {
			if ans.Class == actors.ClassMicrosoftInternal || ans.Kind == "name" {
				ans.SeenDoing, ans.Source = ia.Activities, ia.Source
				if ans.Kind == "name" && ia.AppID != "" {
					ans.AppIDsWithName = appendUnique(ans.AppIDsWithName, ia.AppID)
				}
			}
			break
		}
	}
	return ans
}

func appendUnique(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

func firstNonEmptyStr(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// describeName is the actor object whois prints for q.
func describeName(q string) actors.Actor { return whois(q).Actor }

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
	if len(opts.Query) > 1024 {
		return usageErr("whois: query longer than 1024 bytes")
	}
	a := whois(opts.Query)
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
	type field struct{ k, v string }
	fs := []field{{"is", a.What}, {"class", a.Class}, {"evidence", strings.Join(a.Evidence, "; ")}, {"what it is", a.Explanation}}
	if a.OwnerTenant != "" {
		v := a.OwnerTenant
		if a.OwnerTenantName != "" {
			v += " (" + a.OwnerTenantName + ")"
		} else {
			v += " (not a Microsoft tenant)"
		}
		fs = append(fs, field{"owner", v + ", per the knowledge base"})
	} else if a.Kind == kb.GUIDApp {
		fs = append(fs, field{"owner", "not known to the knowledge base: check it in your tenant"})
	}
	if a.Provenance != "" {
		fs = append(fs, field{"listed by", map[string]string{
			kb.ProvenanceGraph: "Microsoft Graph (verified)", kb.ProvenanceDocs: "Microsoft's documentation (owner tenant not given)",
			kb.ProvenanceCommunity: "a community list (unverified)", kb.ProvenanceUser: "your app list"}[a.Provenance]})
	}
	if len(a.AppIDsWithName) > 0 {
		fs = append(fs, field{"app IDs", strings.Join(a.AppIDsWithName, ", ")})
	}
	if a.Does != "" {
		fs = append(fs, field{"does", a.Does})
	}
	if a.SeenDoing != "" {
		fs = append(fs, field{"seen doing", a.SeenDoing}, field{"source", a.Source})
	}
	if a.Verify != nil {
		fs = append(fs, field{"verify", a.Verify.Graph}, field{"", a.Verify.PowerShell},
			field{"", "Microsoft's apps have appOwnerOrganizationId " + strings.Join(a.Verify.MicrosoftTenants, ", ")})
	}
	if opts.Format == "md" {
		fmt.Fprintf(w, "## %s\n\n", mdEsc(actorTitle(a.Actor)))
		for _, f := range fs {
			if f.k == "" {
				fmt.Fprintf(w, "  - `%s`\n", f.v)
				continue
			}
			if f.k == "verify" {
				fmt.Fprintf(w, "- **verify:**\n  - `%s`\n", f.v)
				continue
			}
			fmt.Fprintf(w, "- **%s:** %s\n", f.k, mdEsc(f.v))
		}
		return nil
	}
	fmt.Fprintf(w, "%s\n", actorTitle(a.Actor))
	for _, f := range fs {
		k := f.k
		if k != "" {
			k += ":"
		}
		fmt.Fprintf(w, "  %-11s %s\n", k, f.v)
	}
	return nil
}
