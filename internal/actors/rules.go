package actors

import (
	"fmt"
	"slices"
	"strings"

	"github.com/idtrace/idtrace/internal/kb"
)

// AuditRule is one row of the rule table that `idtrace logs --kql` turns into
// the case() of the audit-actors query. Each row has the class it gives, its
// condition in KQL (over ActorUpn, ActorName and ActorAppId, with the lists
// of the let statements KQLLets writes) and the same condition in Go over a
// Principal. The rows are in Classify's order of decision; the package tests
// run the synthetic fixtures through Classify and through this table and
// check that both give the same class.
//
// AuditLogs carries no owner tenant and the KQL carries no copy of the
// Microsoft app list, so the table covers what can be decided from UPNs,
// display names and the internal actors' app IDs; other apps fall to the
// last row (unknown: check them with `idtrace whois APPID`).
type AuditRule struct {
	ID    string
	Class string
	KQL   string
	Match func(k Knowledge, p Principal) bool
}

// kqlLists are the lists the rules refer to, built from the knowledge base.
type kqlLists struct {
	tenants, internalUpns, internalLocal, internalNames, internalNamesWithID, internalNamesNoID, internalAppIDs []string
}

func buildLists(tenants []string, list []kb.Actor) kqlLists {
	var l kqlLists
	l.tenants = slices.Clone(tenants)
	for _, a := range list {
		if a.UPN != "" {
			l.internalUpns = append(l.internalUpns, strings.ToLower(a.UPN))
			if i := strings.LastIndexByte(a.UPN, '@'); i > 0 {
				l.internalLocal = append(l.internalLocal, strings.ToLower(a.UPN[:i]))
			}
		}
		if a.Name != "" {
			l.internalNames = append(l.internalNames, a.Name)
			if a.AppID != "" && a.UPN == "" {
				l.internalNamesWithID = append(l.internalNamesWithID, a.Name)
			} else if a.AppID == "" && a.UPN == "" {
				l.internalNamesNoID = append(l.internalNamesNoID, a.Name)
			}
		}
		if a.AppID != "" {
			l.internalAppIDs = append(l.internalAppIDs, a.AppID)
		}
	}
	for _, s := range []*[]string{&l.tenants, &l.internalUpns, &l.internalLocal, &l.internalNames, &l.internalNamesWithID, &l.internalNamesNoID, &l.internalAppIDs} {
		slices.Sort(*s)
		*s = slices.Compact(*s)
	}
	return l
}

// kqlLets declares the lists for the rules.
func (l kqlLists) kqlLets() string {
	return fmt.Sprintf(`let MicrosoftTenants = dynamic([%s]);
let MicrosoftInternalActors = dynamic([%s]);
let InternalUpns = dynamic([%s]);
let InternalUpnLocalParts = dynamic([%s]);
let InternalNames = dynamic([%s]);
let InternalNamesWithAppId = dynamic([%s]);
let InternalNamesWithoutId = dynamic([%s]);
let InternalAppIds = dynamic([%s]);
`, kqlList(l.tenants), kqlList(slices.Concat(l.internalUpns, l.internalNames, l.internalAppIDs)), kqlList(l.internalUpns), kqlList(l.internalLocal),
		kqlList(l.internalNames), kqlList(l.internalNamesWithID), kqlList(l.internalNamesNoID), kqlList(l.internalAppIDs))
}

// normalizedSyncName is the sync account's display name after kb.NormalizeName;
// the KQL normalises the same way with replace_regex.
var normalizedSyncName = kb.NormalizeName(syncDisplayName)

const kqlNormName = `replace_regex(tolower(ActorName), @"[^a-z0-9]", "")`

// AuditRules is the rule table, in order of decision.
var AuditRules = []AuditRule{
	{"internal-account", ClassMicrosoftInternal, `ActorUpn in~ (InternalUpns)`,
		func(k Knowledge, p Principal) bool {
			ia, ok := k.actor(p.UPN)
			return ok && strings.EqualFold(ia.UPN, p.UPN)
		}},
	{"support-domain-look-alike", ClassSuspicious, `ActorUpn matches regex @"(?i)@support\.onmicrosoft\."`,
		func(k Knowledge, p Principal) bool {
			d, ok := domainOf(strings.ToLower(p.UPN))
			return ok && strings.HasPrefix(d, "support.onmicrosoft.")
		}},
	{"internal-account-look-alike", ClassSuspicious, `isnotempty(ActorUpn) and tolower(tostring(split(ActorUpn, "@")[0])) in (InternalUpnLocalParts)`,
		func(k Knowledge, p Principal) bool { _, ok := k.internalLocalPartLookAlike(p); return ok }},
	{"internal-name-on-user", ClassSuspicious, `isnotempty(ActorUpn) and ActorName in~ (InternalNames)`,
		func(k Knowledge, p Principal) bool { _, ok := k.actor(p.Name); return p.UPN != "" && ok }},
	{"internal-app", ClassMicrosoftInternal, `isnotempty(ActorAppId) and ActorAppId in~ (InternalAppIds)`,
		func(k Knowledge, p Principal) bool { _, ok := k.actor(p.AppID); return ok }},
	{"internal-name-other-app-id", ClassSuspicious, `isnotempty(ActorAppId) and ActorName in~ (InternalNamesWithAppId)`,
		func(k Knowledge, p Principal) bool {
			ia, ok := k.actor(p.Name)
			return ok && p.AppID != "" && ia.AppID != "" && ia.UPN == ""
		}},
	{"internal-name-only", ClassUnknown, `isempty(ActorAppId) and ActorName in~ (InternalNamesWithAppId)`,
		func(k Knowledge, p Principal) bool {
			ia, ok := k.actor(p.Name)
			return ok && p.AppID == "" && ia.AppID != "" && ia.UPN == ""
		}},
	{"internal-logged-by-name", ClassMicrosoftInternal, `ActorName in~ (InternalNamesWithoutId)`,
		func(k Knowledge, p Principal) bool {
			ia, ok := k.actor(p.Name)
			return ok && ia.AppID == "" && ia.UPN == ""
		}},
	{"entra-connect-sync", ClassSync, `ActorUpn matches regex @"` + syncConnectRe.String() + `"`,
		func(k Knowledge, p Principal) bool { return syncConnectRe.MatchString(p.UPN) }},
	{"cloud-sync", ClassSync, `ActorUpn matches regex @"` + syncCloudRe.String() + `"`,
		func(k Knowledge, p Principal) bool { return syncCloudRe.MatchString(p.UPN) }},
	{"sync-look-alike", ClassSuspicious, `ActorUpn matches regex @"` + syncLikeRe.String() + `"`,
		func(k Knowledge, p Principal) bool { return p.UPN != "" && syncLikeRe.MatchString(p.UPN) }},
	{"sync-name-on-other-account", ClassSuspicious, `isnotempty(ActorUpn) and ` + kqlNormName + ` == "` + normalizedSyncName + `"`,
		func(k Knowledge, p Principal) bool {
			return p.UPN != "" && kb.NormalizeName(p.Name) == normalizedSyncName
		}},
	{"sync-name-only", ClassUnknown, kqlNormName + ` == "` + normalizedSyncName + `"`,
		func(k Knowledge, p Principal) bool { return kb.NormalizeName(p.Name) == normalizedSyncName }},
	{"tenant-user", ClassTenantUser, `isnotempty(ActorUpn)`,
		func(k Knowledge, p Principal) bool { return p.UPN != "" }},
	{"other", ClassUnknown, `true`,
		func(k Knowledge, p Principal) bool { return true }},
}

// auditCase is the case() expression of the rule table.
func auditCase() string {
	var b strings.Builder
	b.WriteString("| extend Class = case(\n")
	for _, r := range AuditRules[:len(AuditRules)-1] {
		fmt.Fprintf(&b, "    %s, %s, // %s\n", r.KQL, kqlString(r.Class), r.ID)
	}
	fmt.Fprintf(&b, "    %s) // %s", kqlString(AuditRules[len(AuditRules)-1].Class), AuditRules[len(AuditRules)-1].ID)
	return b.String()
}

// ApplyAuditRules returns the first rule of the table that matches p.
func (k Knowledge) ApplyAuditRules(p Principal) AuditRule {
	for _, r := range AuditRules {
		if r.Match(k, p) {
			return r
		}
	}
	return AuditRules[len(AuditRules)-1]
}
