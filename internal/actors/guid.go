package actors

import (
	"fmt"

	"github.com/idtrace/idtrace/internal/kb"
)

// DescribeGUID says in a few words what a GUID of the knowledge base is:
// "a Graph permission: User.Read, delegated", "a directory role template:
// Global Administrator", "Microsoft's corporate tenant".
func DescribeGUID(g kb.GUIDInfo) string {
	switch g.Kind {
	case kb.GUIDApp:
		return fmt.Sprintf("an application: %s", quoteOr(g.Name, "(no name)"))
	case kb.GUIDPermission:
		if g.Detail != "" {
			return fmt.Sprintf("a Microsoft Graph permission: %s, %s", g.Name, g.Detail)
		}
		return fmt.Sprintf("a Microsoft Graph permission: %s", g.Name)
	case kb.GUIDRoleTemplate:
		return fmt.Sprintf("a Microsoft Entra directory role template: %s", g.Name)
	case kb.GUIDTenant:
		return fmt.Sprintf("a tenant: %s", g.Name)
	}
	if g.Name != "" {
		return fmt.Sprintf("%s (%q)", g.Detail, g.Name)
	}
	return g.Detail
}
