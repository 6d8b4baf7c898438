// Package actors labels the principals of Entra audit and sign-in logs
// (Microsoft-internal account, Microsoft first-party app, sync account,
// tenant user or app, unknown, suspicious look-alike) and tells the
// multi-step stories the records form (self-service password reset,
// security-info registration, admin reset, PIM activation, consent, JIT
// provisioning, sign-ins). It also writes the same rules as KQL.
//
// Everything here streams: a Classifier and a StoryBuilder are fed one
// trace.Event at a time and keep state per actor and per open correlation,
// never per event. The package never prints; it returns values and errors.
// Only this package's owner (the logs feature) modifies it.
package actors

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/idtrace/idtrace/internal/kb"
	"github.com/idtrace/idtrace/internal/trace"
)

// Classes of actors, in the order a summary lists them (most alarming first).
const (
	ClassSuspicious        = "suspicious"
	ClassUnknown           = "unknown"
	ClassMicrosoftInternal = "microsoft-internal"
	ClassMicrosoftApp      = "microsoft-app"
	ClassSync              = "sync"
	ClassTenantUser        = "tenant-user"
	ClassTenantApp         = "tenant-app"
)

// Classes lists every class in summary order.
var Classes = []string{ClassSuspicious, ClassUnknown, ClassMicrosoftInternal, ClassMicrosoftApp, ClassSync, ClassTenantUser, ClassTenantApp}

// ClassRank returns the position of class in Classes (len(Classes) if unknown).
func ClassRank(class string) int {
	for i, c := range Classes {
		if c == class {
			return i
		}
	}
	return len(Classes)
}

// Knowledge is what the classifier knows about Microsoft. Each field may be
// nil (treated as "knows nothing"). Default returns the embedded knowledge
// base; tests may build their own.
type Knowledge struct {
	LookupApp       func(appID string) (kb.App, bool)
	AppsByName      func(name string) []kb.App
	MicrosoftTenant func(tenantID string) (string, bool)
	LookupActor     func(nameOrUPNOrAppID string) (kb.Actor, bool)
	LookupError     func(code int) (kb.ErrorCode, bool)
	// LookupGUID says what kind of GUID an ID is (app, permission, role
	// template, tenant, other).
	LookupGUID func(id string) (kb.GUIDInfo, bool)
}

// Default is the Knowledge of the embedded knowledge base (package kb).
func Default() Knowledge {
	return Knowledge{
		LookupApp:       kb.LookupApp,
		AppsByName:      kb.AppsByName,
		MicrosoftTenant: kb.MicrosoftTenant,
		LookupActor:     kb.LookupActor,
		LookupError:     kb.LookupError,
		LookupGUID:      kb.LookupGUID,
	}
}

func (k Knowledge) app(id string) (kb.App, bool) {
	if k.LookupApp == nil || id == "" {
		return kb.App{}, false
	}
	return k.LookupApp(id)
}

func (k Knowledge) appsByName(name string) []kb.App {
	if k.AppsByName == nil || name == "" {
		return nil
	}
	return k.AppsByName(name)
}

func (k Knowledge) tenant(id string) (string, bool) {
	if k.MicrosoftTenant == nil || id == "" {
		return "", false
	}
	return k.MicrosoftTenant(id)
}

func (k Knowledge) actor(s string) (kb.Actor, bool) {
	if k.LookupActor == nil || s == "" {
		return kb.Actor{}, false
	}
	return k.LookupActor(s)
}

func (k Knowledge) guid(id string) (kb.GUIDInfo, bool) {
	if k.LookupGUID == nil || id == "" {
		return kb.GUIDInfo{}, false
	}
	return k.LookupGUID(id)
}

func (k Knowledge) errorCode(code int) (kb.ErrorCode, bool) {
	if k.LookupError == nil || code == 0 {
		return kb.ErrorCode{}, false
	}
	return k.LookupError(code)
}

// Label is the verdict on one principal: its class, what matched (evidence)
// and what it means (explanation, in plain words).
type Label struct {
	Class       string
	Evidence    []string
	Explanation string
}

// Principal is what the classifier looks at: the identifying fields of a
// trace.Principal, merged over every record the principal appeared in.
type Principal struct {
	Name          string
	UPN           string
	AppID         string
	ID            string
	OwnerTenantID string
	// App is true when the principal acts as an application (service
	// principal) rather than a user.
	App bool
	// TenantID is the tenant the log belongs to, when a record says so.
	TenantID string
}

// FromTrace turns a trace.Principal into a Principal.
func FromTrace(p trace.Principal) Principal {
	return Principal{
		Name:          strings.TrimSpace(p.DisplayName),
		UPN:           strings.TrimSpace(p.UPN),
		AppID:         strings.ToLower(strings.TrimSpace(p.AppID)),
		ID:            strings.TrimSpace(firstNonEmpty(p.ID, p.ServicePrincipalID)),
		OwnerTenantID: strings.ToLower(strings.TrimSpace(p.OwnerTenantID)),
		App:           p.Type == "app" || (p.AppID != "" && p.UPN == "" && p.Type != "user"),
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Classify labels one principal. It is pure: the same principal and
// knowledge always give the same label. The order of evidence is: the app's
// owner tenant, the app ID, the documented Microsoft-internal actors, sync
// accounts, the tenant's own users and apps, unknown; look-alikes of
// Microsoft names are suspicious whatever else matched.
func (k Knowledge) Classify(p Principal) Label {
	upn := strings.ToLower(p.UPN)
	// 1. The owner tenant of the app, when the export has it.
	if p.OwnerTenantID != "" {
		if tname, ok := k.tenant(p.OwnerTenantID); ok {
			ev := []string{fmt.Sprintf("appOwnerTenantId %s is %s", p.OwnerTenantID, tname)}
			if a, ok := k.app(p.AppID); ok {
				ev = append(ev, appEvidence(a))
			}
			if ia, ok := k.internalActor(p); ok {
				ev = append(ev, fmt.Sprintf("documented Microsoft-internal actor %q (source: %s)", actorName(ia), ia.Source))
				return Label{ClassMicrosoftInternal, ev, ia.Explanation}
			}
			return Label{ClassMicrosoftApp, ev, fmt.Sprintf("An application owned by Microsoft (%s): Microsoft publishes and runs it; it is not something this tenant registered.", tname)}
		}
		// Owned by someone else: a Microsoft app ID or name here is a look-alike.
		if a, ok := k.app(p.AppID); ok {
			return Label{ClassSuspicious, []string{
				fmt.Sprintf("app ID %s belongs to Microsoft's %q in the knowledge base", p.AppID, a.Name),
				fmt.Sprintf("but appOwnerTenantId %s is not a Microsoft tenant", p.OwnerTenantID)},
				"The log says this app is owned by a non-Microsoft tenant although its ID is a Microsoft first-party app ID. That does not happen for genuine Microsoft apps: treat it as a look-alike and investigate."}
		}
		if ms := k.appsByName(p.Name); len(ms) > 0 {
			return Label{ClassSuspicious, []string{
				fmt.Sprintf("display name %q is the name of Microsoft app %s", p.Name, ms[0].AppID),
				fmt.Sprintf("but appOwnerTenantId %s is not a Microsoft tenant", p.OwnerTenantID)},
				"An app from another tenant is using the display name of a Microsoft first-party app. Display names are free text; only the app ID and owner tenant identify an app. Treat it as a look-alike."}
		}
		if p.TenantID != "" && strings.EqualFold(p.TenantID, p.OwnerTenantID) {
			return Label{ClassTenantApp, []string{fmt.Sprintf("appOwnerTenantId %s is this log's own tenant", p.OwnerTenantID)},
				"An application registered in this tenant: your own organisation created it."}
		}
		if p.TenantID == "" {
			return Label{ClassUnknown, []string{fmt.Sprintf("appOwnerTenantId %s is not a Microsoft tenant, and the records do not say which tenant they belong to", p.OwnerTenantID)},
				"An application owned by a tenant other than Microsoft's: your own app registration if that tenant is yours, otherwise a third-party app. Compare the owner tenant ID with your tenant ID."}
		}
		return Label{ClassUnknown, []string{fmt.Sprintf("appOwnerTenantId %s is neither a Microsoft tenant nor this log's tenant", p.OwnerTenantID)},
			"A multi-tenant application published by another organisation. It is not Microsoft's; check who publishes it and who consented to it."}
	}
	// 2. The app ID against the knowledge base.
	if a, ok := k.app(p.AppID); ok {
		ev := []string{appEvidence(a)}
		if ia, ok := k.internalActor(p); ok {
			ev = append(ev, fmt.Sprintf("documented Microsoft-internal actor %q (source: %s)", actorName(ia), ia.Source))
			return Label{ClassMicrosoftInternal, ev, ia.Explanation}
		}
		if p.Name != "" && a.Name != "" && !sameName(p.Name, a.Name) && k.nameIsOtherMicrosoftApp(p.Name, p.AppID) {
			return Label{ClassSuspicious, append(ev, fmt.Sprintf("but display name %q belongs to a different Microsoft app", p.Name)),
				"The app ID and the display name point to two different Microsoft apps. Something renamed an app to borrow a Microsoft name; investigate."}
		}
		expl := fmt.Sprintf("%s is a Microsoft first-party application: Microsoft publishes it and it exists in every tenant that uses the service; this tenant did not register it.", quoteOr(kb.DisplayName(a.Name), "This app"))
		switch a.Provenance() {
		case kb.ProvenanceDocs:
			expl += " The ID is named in Microsoft's documentation, which gives no owner tenant: confirm with the service principal's appOwnerOrganizationId in your tenant (idtrace whois APPID shows how)."
		case kb.ProvenanceCommunity, kb.ProvenanceUser:
			expl += " The ID comes from a community list, not from Microsoft: treat the match as likely, not proven, and confirm the owner tenant in your tenant (idtrace whois APPID shows how)."
		}
		return Label{ClassMicrosoftApp, ev, expl}
	}
	if g, ok := k.guid(p.AppID); ok && g.Kind != kb.GUIDApp {
		return Label{ClassUnknown, []string{fmt.Sprintf("%s is not an application ID: the knowledge base knows it as %s", p.AppID, DescribeGUID(g))},
			"The record puts a GUID in the app ID field that is not an application's. Nothing here identifies the actor; look at the raw record."}
	}
	// Look-alikes of Microsoft's internal support domain.
	if dom, ok := domainOf(upn); ok && strings.HasPrefix(dom, "support.onmicrosoft.") {
		if ia, ok := k.actor(upn); ok && strings.EqualFold(ia.UPN, p.UPN) {
			return Label{ClassMicrosoftInternal, []string{fmt.Sprintf("UPN %s is a documented Microsoft-internal account (source: %s)", upn, ia.Source)}, ia.Explanation}
		}
		return Label{ClassSuspicious, []string{fmt.Sprintf("UPN %s is in the %s domain but is not one of Microsoft's documented internal accounts", p.UPN, dom)},
			"Only a handful of Microsoft-run accounts live in support.onmicrosoft.com, and this is not one of them (or the domain itself is a look-alike). An account made to look like a Microsoft service account deserves an investigation."}
	}
	// A user account whose UPN borrows the local part of an internal account.
	if ev, ok := k.internalLocalPartLookAlike(p); ok {
		return Label{ClassSuspicious, []string{ev},
			"Microsoft's internal service accounts live only in support.onmicrosoft.com; an account elsewhere with the same name is made to look like one. Investigate it."}
	}
	// 3. The documented Microsoft-internal actors.
	if ia, ok := k.internalActor(p); ok {
		ev := fmt.Sprintf("documented Microsoft-internal actor %q (source: %s)", actorName(ia), ia.Source)
		// A user account wearing an internal service's name is a look-alike.
		if p.UPN != "" && ia.UPN == "" || ia.UPN != "" && p.UPN != "" && !strings.EqualFold(ia.UPN, p.UPN) {
			return Label{ClassSuspicious, []string{fmt.Sprintf("display name %q is the name of a Microsoft-internal actor", p.Name), fmt.Sprintf("but the account is %s", p.UPN)},
				"A user account carries the name of a Microsoft-internal service. Microsoft's own services never sign in as accounts of your tenant: treat it as a look-alike."}
		}
		if ia.AppID != "" && p.AppID != "" && !strings.EqualFold(ia.AppID, p.AppID) {
			return Label{ClassSuspicious, []string{fmt.Sprintf("display name %q is a Microsoft-internal actor", p.Name), fmt.Sprintf("but app ID %s is not its documented app ID %s", p.AppID, ia.AppID)},
				"An app carries the name of a Microsoft-internal service with a different app ID: a look-alike."}
		}
		if ia.AppID != "" && p.AppID == "" && ia.UPN == "" {
			// A name alone is never evidence when the actor has a documented ID.
			return Label{ClassUnknown, []string{fmt.Sprintf("display name %q is the name of Microsoft-internal actor %q, whose app ID is %s, but the record carries no app ID: a name alone proves nothing", p.Name, actorName(ia), ia.AppID)},
				fmt.Sprintf("Probably %s, but only the name says so. Confirm by the service principal's app ID (%s) in your tenant before trusting it.", actorName(ia), ia.AppID)}
		}
		if ia.AppID == "" && ia.UPN == "" {
			ev += "; Microsoft logs this actor by display name only, with no app ID, so the name is all a record can show"
		}
		return Label{ClassMicrosoftInternal, []string{ev}, ia.Explanation}
	}
	// A Microsoft app's display name with a non-Microsoft app ID, or on a user.
	if ms := k.appsByName(p.Name); len(ms) > 0 {
		switch {
		case p.AppID != "":
			return Label{ClassSuspicious, []string{fmt.Sprintf("display name %q is the name of Microsoft app %s", p.Name, ms[0].AppID), fmt.Sprintf("but app ID %s is not a Microsoft app ID", p.AppID)},
				"This app borrows the display name of a Microsoft first-party app but has another app ID. Display names are free text; only the app ID and owner tenant identify an app. Treat it as a look-alike."}
		case p.UPN != "" || !p.App && p.ID != "":
			return Label{ClassSuspicious, []string{fmt.Sprintf("display name %q is the name of Microsoft app %s", p.Name, ms[0].AppID), fmt.Sprintf("but the actor is the user account %s", firstNonEmpty(p.UPN, p.ID))},
				"A user account carries the display name of a Microsoft first-party app. Microsoft's apps never act as user accounts of your tenant: treat it as a look-alike."}
		}
		return Label{ClassUnknown, []string{fmt.Sprintf("display name %q is the name of Microsoft app %s, but the record carries no app ID: a name alone proves nothing", p.Name, ms[0].AppID)},
			"The name matches a Microsoft first-party app, but nothing else in the record does, and anyone can give an app any name. Find the app ID before trusting it."}
	}
	// 4. Sync accounts.
	if ev, suspicious, ok := syncVerdict(p); ok {
		if suspicious {
			return Label{ClassSuspicious, []string{ev},
				"An account made to look like the directory synchronization account. The real one is created by Entra Connect or cloud sync with an exact name; this one is not it. Investigate who created it."}
		}
		return Label{ClassSync, []string{ev},
			"The account Microsoft Entra Connect (or Cloud Sync) uses to write your on-premises directory into Entra ID and, with password writeback, back again. It is created in your tenant when sync is set up."}
	}
	if kb.NormalizeName(p.Name) == normalizedSyncName {
		return Label{ClassUnknown, []string{fmt.Sprintf("display name %q is the sync account's, but the record carries no UPN: a name alone proves nothing", p.Name)},
			"Probably the directory synchronization account, but only the name says so. Check its UPN (Sync_<server>_<hex>@<tenant>.onmicrosoft.com) in your tenant."}
	}
	// 5. The tenant's own users and apps.
	if p.App || (p.AppID != "" && p.UPN == "") {
		if p.TenantID != "" && p.OwnerTenantID != "" && strings.EqualFold(p.TenantID, p.OwnerTenantID) {
			return Label{ClassTenantApp, []string{"owner tenant is this log's tenant"}, "An application registered in this tenant."}
		}
		ev := "an application with no match in the knowledge base"
		if p.AppID != "" {
			ev = fmt.Sprintf("app ID %s is not a Microsoft app in the knowledge base and the record gives no owner tenant", p.AppID)
		}
		return Label{ClassUnknown, []string{ev},
			"An application that is neither a known Microsoft app nor shown to be owned by this tenant. It may be your own app registration or a third-party app someone consented to: look it up under Enterprise applications."}
	}
	if p.UPN != "" || p.ID != "" {
		ev := "a user account named by the log, matching no Microsoft or sync account"
		if p.UPN != "" {
			ev = fmt.Sprintf("user %s matches no Microsoft or sync account", p.UPN)
		}
		expl := "A user account of this tenant."
		if strings.Contains(upn, "#ext#") {
			expl = "A guest (B2B) user account invited into this tenant."
		}
		return Label{ClassTenantUser, []string{ev}, expl}
	}
	return Label{ClassUnknown, []string{"the record names this principal only by display name, which matches nothing known"},
		"Nothing in the record identifies this principal beyond its name. Find it by name in the tenant before trusting it."}
}

func (k Knowledge) internalActor(p Principal) (kb.Actor, bool) {
	for _, s := range []string{p.UPN, p.AppID, p.Name} {
		if a, ok := k.actor(s); ok {
			return a, true
		}
	}
	return kb.Actor{}, false
}

// nameIsOtherMicrosoftApp reports whether name belongs to a Microsoft app
// other than appID.
func (k Knowledge) nameIsOtherMicrosoftApp(name, appID string) bool {
	ms := k.appsByName(name)
	if len(ms) == 0 {
		return false
	}
	for _, m := range ms {
		if strings.EqualFold(m.AppID, appID) {
			return false
		}
	}
	return true
}

func appEvidence(a kb.App) string {
	src := a.Source
	if src == "" {
		src = "knowledge base"
	}
	prov := map[string]string{
		kb.ProvenanceGraph:     "verified: read from Microsoft Graph with its owner tenant",
		kb.ProvenanceDocs:      "named in Microsoft's documentation, owner tenant not given",
		kb.ProvenanceCommunity: "community list, unverified",
		kb.ProvenanceUser:      "your app list",
	}[a.Provenance()]
	if a.Name != "" {
		return fmt.Sprintf("app ID %s is Microsoft's %q in the knowledge base (source: %s; %s)", a.AppID, kb.DisplayName(a.Name), src, prov)
	}
	return fmt.Sprintf("app ID %s is in the knowledge base (source: %s; %s)", a.AppID, src, prov)
}

func actorName(a kb.Actor) string { return firstNonEmpty(a.UPN, a.Name, a.AppID) }

func sameName(a, b string) bool {
	return kb.NormalizeName(a) == kb.NormalizeName(b)
}

func quoteOr(s, def string) string {
	if s == "" {
		return def
	}
	return fmt.Sprintf("%q", s)
}

func domainOf(upn string) (string, bool) {
	i := strings.LastIndexByte(upn, '@')
	if i < 0 || i == len(upn)-1 {
		return "", false
	}
	return upn[i+1:], true
}

// Sync account patterns. Entra Connect creates Sync_<server>_<12 hex>@<tenant>.onmicrosoft.com
// (the server's NetBIOS name: letters, digits and hyphens, at most 15);
// cloud sync uses ADToAADSyncServiceAccount@<tenant>.onmicrosoft.com.
var (
	syncConnectRe = regexp.MustCompile(`^(?i)sync_[a-z0-9-]{1,15}_[0-9a-f]{12}@[a-z0-9-]+\.onmicrosoft\.com$`)
	syncCloudRe   = regexp.MustCompile(`^(?i)adtoaadsyncserviceaccount@[a-z0-9-]+\.onmicrosoft\.com$`)
	// What looks like a sync account without being one.
	syncLikeRe = regexp.MustCompile(`^(?i)(sync_|adtoaadsync|on-?premises ?directory ?synchroni[sz]ation)`)
)

const syncDisplayName = "On-Premises Directory Synchronization Service Account"

// syncVerdict recognises the directory-synchronization accounts by their
// exact UPN patterns. A UPN or display name that imitates them without
// matching is a look-alike (ok true, suspicious true).
func syncVerdict(p Principal) (ev string, suspicious, ok bool) {
	// The patterns match an ASCII UPN only from an s, a or o, in either
	// case: the regular expressions are not run on the others.
	u := p.UPN
	try := u != "" && (u[0] >= utf8.RuneSelf || strings.IndexByte("sSaAoO", u[0]) >= 0)
	switch {
	case try && syncConnectRe.MatchString(p.UPN):
		return fmt.Sprintf("UPN %s has the exact form Sync_<server>_<12 hex digits>@<tenant>.onmicrosoft.com that Entra Connect gives its sync account", p.UPN), false, true
	case try && syncCloudRe.MatchString(p.UPN):
		return fmt.Sprintf("UPN %s is the cloud sync account (ADToAADSyncServiceAccount@<tenant>.onmicrosoft.com)", p.UPN), false, true
	case try && syncLikeRe.MatchString(p.UPN):
		return fmt.Sprintf("UPN %s looks like a directory sync account but does not have the exact form Sync_<server>_<12 hex digits>@<tenant>.onmicrosoft.com or ADToAADSyncServiceAccount@<tenant>.onmicrosoft.com", p.UPN), true, true
	case p.UPN != "" && kb.NormalizeName(p.Name) == normalizedSyncName:
		return fmt.Sprintf("display name %q is the sync account's, but UPN %s is not a sync account's", p.Name, p.UPN), true, true
	}
	return "", false, false
}

// internalLocalPartLookAlike reports a UPN whose local part is that of a
// documented internal account but whose domain is not support.onmicrosoft.com.
func (k Knowledge) internalLocalPartLookAlike(p Principal) (string, bool) {
	at := strings.LastIndexByte(p.UPN, '@')
	if at <= 0 || k.LookupActor == nil {
		return "", false
	}
	local := p.UPN[:at]
	for _, dom := range []string{"support.onmicrosoft.com"} {
		if ia, ok := k.actor(local + "@" + dom); ok && !strings.EqualFold(ia.UPN, p.UPN) {
			return fmt.Sprintf("UPN %s borrows the name of Microsoft's internal account %s", p.UPN, ia.UPN), true
		}
	}
	return "", false
}

var (
	kbActors  = kb.Actors
	kbTenants = kb.MicrosoftTenants
)
