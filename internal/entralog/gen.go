package entralog

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

// Generate writes n synthetic records of the given kind in the given export
// shape to w, for benchmarks and load tests. The output is deterministic for
// a seed. Shapes: "portal-csv", "portal-json", "graph-json",
// "diagnostic-ndjson"; kinds: the trace.Kind* values (portal-csv writes the
// non-interactive kind with the interactive columns, as the portal does, and
// does not write managed-identity sign-ins). Audit records come in realistic
// multi-record stories: self-service password reset (the user's steps, then
// fim_password_service@support.onmicrosoft.com resetting the password),
// security-info registration, admin updates, group changes and app updates.
// Everything in the output is invented except Microsoft's well-known
// first-party app IDs and tenant ID.
func Generate(w io.Writer, shape string, kind string, n int, seed int64) error {
	switch kind {
	case trace.KindAudit, trace.KindSignIn, trace.KindSignInNonInteractive, trace.KindSignInServicePrincipal, trace.KindSignInManagedIdentity:
	default:
		return fmt.Errorf("entralog: Generate: unknown kind %q", kind)
	}
	g := &generator{rnd: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)), kind: kind,
		t: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)}
	bw := bufio.NewWriterSize(w, 256<<10)
	var err error
	switch shape {
	case ShapePortalCSV:
		err = g.portalCSV(bw, n)
	case ShapeDiagnostic:
		err = g.jsonOut(bw, n, "", "\n", "", true)
	case ShapePortalJSON:
		err = g.jsonOut(bw, n, "[\n", ",\n", "\n]\n", false)
	case ShapeGraphJSON:
		ctx := "signIns"
		if kind == trace.KindAudit {
			ctx = "directoryAudits"
		}
		err = g.jsonOut(bw, n, `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#auditLogs/`+ctx+`","value":[`+"\n", ",\n", "\n]}\n", false)
	default:
		return fmt.Errorf("entralog: Generate: unsupported shape %q", shape)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

const (
	genTenant = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
	msTenant  = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
	fimUPN    = "fim_password_service@support.onmicrosoft.com"
)

type genApp struct{ name, id, owner string }

var genApps = []genApp{
	{"Office 365 Shell WCSS-Client", "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", msTenant},
	{"Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264", msTenant},
	{"Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", msTenant},
	{"Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c", msTenant},
	{"My Signins", "19db86c3-b2b9-44cc-b339-36da233a3be2", msTenant},
	{"Microsoft Authentication Broker", "29d9ed98-a469-4536-ade2-f981bc1d605e", msTenant},
	{"Microsoft Edge", "ecd6b820-32c2-49b6-98a6-444530e5a77a", msTenant},
	{"Contoso Expenses", "6b1f2e3d-0000-4c5b-9a8e-000000000e01", genTenant},
	{"Contoso HR Portal", "6b1f2e3d-0000-4c5b-9a8e-000000000e02", genTenant},
	{"Fabrikam CRM", "6b1f2e3d-0000-4c5b-9a8e-000000000e03", "3c2b1a09-0000-4000-8000-00000000fab0"},
}

var genResources = []genApp{
	{"Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000", msTenant},
	{"Microsoft Graph", "00000003-0000-0000-c000-000000000000", msTenant},
	{"Windows Azure Service Management API", "797f4846-ba00-4fd7-ba43-dac1f8f63013", msTenant},
	{"Office 365 SharePoint Online", "00000003-0000-0ff1-ce00-000000000000", msTenant},
	{"Azure Key Vault", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093", msTenant},
}

var genErrors = []struct {
	code   int
	status string
	reason string
}{
	{50140, "Interrupted", "This error occurred due to 'Keep me signed in' interrupt when the user was signing in."},
	{50126, "Failure", "Error validating credentials due to invalid username or password."},
	{50074, "Interrupted", "Strong Authentication is required."},
	{50058, "Interrupted", "Session information is not sufficient for single-sign-on."},
	{70044, "Failure", "The session has expired or is invalid due to sign-in frequency checks by conditional access."},
	{16000, "Interrupted", "Either multiple user identities are available for the current request or selected account is not supported for the scenario."},
	{7000215, "Failure", "Invalid client secret provided."},
}

var genUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	"Windows-AzureAD-Authentication-Provider/1.0",
}

type generator struct {
	rnd   *rand.Rand
	kind  string
	t     time.Time
	seq   int
	queue []genRecord
}

// genRecord is one generated record in a shape-neutral form.
type genRecord struct {
	t                                   time.Time
	id, corr                            string
	kind                                string
	service, category, activity, optype string
	result, reason                      string
	actorType                           string // "user" or "app"
	userID, userName, upn, ip, ua       string
	app                                 genApp
	spID, spName                        string
	res                                 genApp
	code                                int
	status                              string
	client                              string
	targets                             []trace.Target
	details                             []trace.KV
}

func (g *generator) guid(prefix uint32) string {
	a, b := g.rnd.Uint64(), g.rnd.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", prefix^uint32(a>>32), uint16(a>>16), uint16(a)&0xfff, 0x8000|uint16(b>>48)&0x3fff, b&0xffffffffffff)
}

func (g *generator) user() (id, name, upn string) {
	u := g.rnd.IntN(5000)
	return fmt.Sprintf("5f1c2a9e-%04x-4000-8000-%012x", u, u), fmt.Sprintf("User %04d", u), fmt.Sprintf("user%04d@contoso.example", u)
}

func (g *generator) ip() string {
	return fmt.Sprintf("203.0.113.%d", 1+g.rnd.IntN(250))
}

func (g *generator) tick() time.Time {
	g.t = g.t.Add(time.Duration(200+g.rnd.IntN(3000)) * time.Millisecond)
	return g.t
}

func (g *generator) next() genRecord {
	if g.kind != trace.KindAudit {
		return g.signIn()
	}
	if len(g.queue) == 0 {
		g.queue = g.auditStory()
	}
	r := g.queue[0]
	g.queue = g.queue[1:]
	g.seq++
	r.id = fmt.Sprintf("Directory_%s_%d", r.corr, g.seq)
	return r
}

func (g *generator) signIn() genRecord {
	g.seq++
	r := genRecord{t: g.tick(), kind: g.kind, id: g.guid(0), corr: g.guid(1), ip: g.ip(),
		app: genApps[g.rnd.IntN(len(genApps))], res: genResources[g.rnd.IntN(len(genResources))],
		ua: genUAs[g.rnd.IntN(len(genUAs))], status: "Success", client: "Browser"}
	if g.rnd.IntN(4) == 0 {
		r.client = "Mobile Apps and Desktop clients"
	}
	switch g.kind {
	case trace.KindSignInServicePrincipal, trace.KindSignInManagedIdentity:
		k := g.rnd.IntN(40)
		r.actorType = "app"
		r.spID = fmt.Sprintf("dddddddd-%04x-4000-8000-%012x", k, k)
		r.spName = fmt.Sprintf("contoso-automation-%02d", k)
		r.app = genApp{r.spName, fmt.Sprintf("12121212-%04x-4000-8000-%012x", k, k), genTenant}
		r.client, r.ua = "", ""
	default:
		r.actorType = "user"
		r.userID, r.userName, r.upn = g.user()
	}
	if g.rnd.IntN(100) < 15 {
		e := genErrors[g.rnd.IntN(len(genErrors))]
		r.code, r.status, r.reason = e.code, e.status, e.reason
	}
	return r
}

// auditStory returns the records of one generated operation.
func (g *generator) auditStory() []genRecord {
	uid, uname, upn := g.user()
	ip := g.ip()
	corr := g.guid(2)
	user := trace.Target{Type: "User", ID: uid, DisplayName: uname, UPN: upn}
	base := func(service, category, activity, optype string) genRecord {
		return genRecord{t: g.tick(), corr: corr, kind: trace.KindAudit, service: service, category: category,
			activity: activity, optype: optype, result: "success", ua: genUAs[0]}
	}
	asUser := func(r genRecord) genRecord {
		r.actorType, r.userID, r.userName, r.upn, r.ip = "user", uid, uname, upn, ip
		return r
	}
	asFIM := func(r genRecord) genRecord {
		r.actorType, r.upn, r.ua = "user", fimUPN, ""
		return r
	}
	switch p := g.rnd.IntN(100); {
	case p < 30: // self-service password reset
		var out []genRecord
		for _, reason := range []string{"User started the password reset process", "User successfully verified their identity with Mobile app notification", "User selected a new password"} {
			r := asUser(base("Self-service Password Management", "UserManagement", "Self-service password reset flow activity progress", "Update"))
			r.reason, r.targets = reason, []trace.Target{user}
			out = append(out, r)
		}
		r := asUser(base("Self-service Password Management", "UserManagement", "Reset password (self-service)", "Update"))
		r.reason, r.targets = "Successfully completed reset.", []trace.Target{user}
		f := asFIM(base("Core Directory", "UserManagement", "Reset user password", "Update"))
		f.targets, f.details = []trace.Target{user}, []trace.KV{{Key: "TargetId.UserType", Value: "Member"}}
		return append(out, r, f)
	case p < 50: // security info registration
		r1 := asUser(base("Authentication Methods", "UserManagement", "User started security info registration", "Add"))
		r1.reason, r1.targets = "User started the registration for Mobile app notification", []trace.Target{user}
		r2 := asUser(base("Authentication Methods", "UserManagement", "User registered security info", "Add"))
		r2.reason, r2.targets = "User registered Mobile app notification", []trace.Target{user}
		f := asFIM(base("Core Directory", "UserManagement", "Update user", "Update"))
		tg := user
		tg.Modified = []trace.ModifiedProperty{
			{Name: "StrongAuthenticationPhoneAppDetail", Old: "[]", New: `[{"DeviceName":"Phone","NotificationType":"FCM"}]`},
			{Name: "Included Updated Properties", New: `"StrongAuthenticationPhoneAppDetail"`},
		}
		f.targets = []trace.Target{tg}
		return []genRecord{r1, r2, f}
	case p < 75: // admin changes a user or a group
		aid, aname, aupn := g.user()
		r := base("Core Directory", "UserManagement", "Update user", "Update")
		r.actorType, r.userID, r.userName, r.upn, r.ip = "user", aid, aname, aupn, g.ip()
		tg := user
		tg.Modified = []trace.ModifiedProperty{{Name: "JobTitle", Old: `["Analyst"]`, New: `["Senior Analyst"]`}}
		r.targets = []trace.Target{tg}
		if p >= 60 {
			r.category, r.activity, r.optype = "GroupManagement", "Add member to group", "Assign"
			r.targets = []trace.Target{{Type: "Group", ID: g.guid(3), DisplayName: "Sales Team"}, user}
		}
		return []genRecord{r}
	default: // an app updates a service principal
		r := base("Core Directory", "ApplicationManagement", "Update service principal", "Update")
		a := genApps[7+g.rnd.IntN(3)]
		r.actorType, r.app, r.spID = "app", a, g.guid(4)
		r.targets = []trace.Target{{Type: "ServicePrincipal", ID: g.guid(5), DisplayName: a.name,
			Modified: []trace.ModifiedProperty{{Name: "AppRoleAssignmentRequired", Old: "[false]", New: "[true]"}}}}
		r.details = []trace.KV{{Key: "User-Agent", Value: "Microsoft Azure Graph Client Library 2.1.17-internal"}, {Key: "AppId", Value: a.id}}
		return []genRecord{r}
	}
}

func sn(v string) node { return node{kind: 's', s: v} }

// el is an array element.
func el(v node) member { return member{val: v} }
func nn(v int) node    { return node{kind: 'n', s: strconv.Itoa(v)} }
func bn(v bool) node {
	if v {
		return node{kind: 't'}
	}
	return node{kind: 'f'}
}
func on(ms ...member) node       { return node{kind: 'o', mem: ms} }
func mm(k string, v node) member { return member{key: k, val: v} }
func orNull(v string) node {
	if v == "" {
		return node{kind: 'z'}
	}
	return sn(v)
}

// graphNode renders r as a Graph directoryAudit or signIn object.
func (r *genRecord) graphNode() node {
	ts := r.t.Format("2006-01-02T15:04:05.0000000Z")
	if r.kind == trace.KindAudit {
		var ib node
		if r.actorType == "app" {
			ib = on(mm("app", on(mm("appId", sn(r.app.id)), mm("displayName", sn(r.app.name)), mm("servicePrincipalId", sn(r.spID)), mm("servicePrincipalName", node{kind: 'z'}))))
		} else {
			ib = on(mm("user", on(mm("id", sn(r.userID)), mm("displayName", orNull(r.userName)), mm("userPrincipalName", sn(r.upn)), mm("ipAddress", sn(r.ip)))))
		}
		tgs := node{kind: 'a'}
		for _, t := range r.targets {
			mods := node{kind: 'a'}
			for _, m := range t.Modified {
				mods.mem = append(mods.mem, el(on(mm("displayName", sn(m.Name)), mm("oldValue", orNull(m.Old)), mm("newValue", sn(m.New)))))
			}
			tgs.mem = append(tgs.mem, el(on(mm("id", sn(t.ID)), mm("displayName", orNull(t.DisplayName)), mm("type", sn(t.Type)),
				mm("userPrincipalName", orNull(t.UPN)), mm("modifiedProperties", mods))))
		}
		ds := node{kind: 'a'}
		for _, d := range r.details {
			ds.mem = append(ds.mem, el(on(mm("key", sn(d.Key)), mm("value", sn(d.Value)))))
		}
		return on(mm("id", sn(r.id)), mm("category", sn(r.category)), mm("correlationId", sn(r.corr)), mm("result", sn(r.result)),
			mm("resultReason", sn(r.reason)), mm("activityDisplayName", sn(r.activity)), mm("activityDateTime", sn(ts)),
			mm("loggedByService", sn(r.service)), mm("operationType", sn(r.optype)), mm("initiatedBy", ib),
			mm("targetResources", tgs), mm("additionalDetails", ds))
	}
	st := on(mm("errorCode", nn(r.code)), mm("failureReason", sn(orOther(r.reason))), mm("additionalDetails", node{kind: 'z'}))
	et := map[string]string{trace.KindSignIn: "interactiveUser", trace.KindSignInNonInteractive: "nonInteractiveUser",
		trace.KindSignInServicePrincipal: "servicePrincipal", trace.KindSignInManagedIdentity: "managedIdentity"}[r.kind]
	msi := "none"
	if r.kind == trace.KindSignInManagedIdentity {
		msi = "systemAssigned"
	}
	return on(mm("id", sn(r.id)), mm("createdDateTime", sn(ts)), mm("userDisplayName", orNull(r.userName)),
		mm("userPrincipalName", orNull(r.upn)), mm("userId", orNull(r.userID)), mm("appId", sn(r.app.id)),
		mm("appDisplayName", sn(r.app.name)), mm("appOwnerTenantId", sn(r.app.owner)), mm("ipAddress", sn(r.ip)),
		mm("clientAppUsed", sn(r.client)), mm("userAgent", sn(r.ua)), mm("correlationId", sn(r.corr)),
		mm("conditionalAccessStatus", sn("notApplied")), mm("isInteractive", bn(r.kind == trace.KindSignIn)),
		mm("resourceDisplayName", sn(r.res.name)), mm("resourceId", sn(r.res.id)),
		mm("servicePrincipalId", sn(r.spID)), mm("servicePrincipalName", sn(r.spName)), mm("status", st),
		mm("deviceDetail", on(mm("deviceId", sn("")), mm("operatingSystem", sn("Windows10")), mm("browser", sn("Edge 124.0.0")))),
		mm("location", on(mm("city", sn("Seattle")), mm("state", sn("Washington")), mm("countryOrRegion", sn("US")))),
		mm("signInEventTypes", node{kind: 'a', mem: []member{el(sn(et))}}),
		mm("managedServiceIdentity", on(mm("msiType", sn(msi)))))
}

func orOther(s string) string {
	if s == "" {
		return "Other."
	}
	return s
}

func (g *generator) jsonOut(w *bufio.Writer, n int, head, sep, tail string, envelope bool) error {
	var buf []byte
	w.WriteString(head)
	for i := 0; i < n; i++ {
		r := g.next()
		p := r.graphNode()
		if envelope {
			cat := "AuditLogs"
			op := r.activity
			if r.kind != trace.KindAudit {
				cat, op = defaultCategory(r.kind), "Sign-in activity"
			}
			identity := r.userName
			if r.actorType == "app" {
				identity = r.app.name
			}
			if r.upn == fimUPN {
				identity = ""
			}
			p = on(mm("time", sn(r.t.Format("2006-01-02T15:04:05.0000000Z"))), mm("resourceId", sn("/tenants/"+genTenant+"/providers/Microsoft.aadiam")),
				mm("operationName", sn(op)), mm("operationVersion", sn("1.0")), mm("category", sn(cat)), mm("tenantId", sn(genTenant)),
				mm("resultType", sn(strconv.Itoa(r.code))), mm("resultSignature", sn("None")), mm("durationMs", nn(0)),
				mm("callerIpAddress", sn(r.ip)), mm("correlationId", sn(r.corr)), mm("identity", sn(identity)),
				mm("Level", sn("4")), mm("location", sn("US")), mm("properties", p))
		}
		if i > 0 {
			w.WriteString(sep)
		}
		buf = p.appendJSON(buf[:0])
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	if envelope && n > 0 {
		tail = "\n"
	}
	_, err := w.WriteString(tail)
	return err
}

var portalSignInHeader = []string{"Date (UTC)", "Request ID", "User agent", "Correlation ID", "User ID", "User", "Username", "User type",
	"Cross tenant access type", "Incoming token type", "Authentication Protocol", "Unique token identifier", "Original transfer method",
	"Client credential type", "Token Protection - Sign In Session", "Token Protection - Sign In Session StatusCode", "Application",
	"Application ID ", "App owner tenant ID", "Resource", "Resource ID ", "Resource tenant ID", "Resource owner tenant ID",
	"Home tenant ID", "Home tenant name", "IP address", "Location", "Status", "Sign-in error code", "Failure reason", "Client app",
	"Device ID", "Browser", "Operating System", "Compliant", "Managed", "Join Type", "Multifactor authentication result",
	"Multifactor authentication auth method", "Multifactor authentication auth detail", "Authentication requirement",
	"Sign-in identifier", "Session ID", "IP address (seen by resource)", "Through Global Secure Access",
	"Global Secure Access IP address", "Autonomous system  number", "Flagged for review", "Token issuer type",
	"Incoming token type", "Token issuer name", "Latency", "Conditional Access", "Managed Identity type",
	"Associated Resource Id", "Federated Token Id", "Federated Token Issuer"}

var portalSPHeader = []string{"Date (UTC)", "Request ID", "Correlation ID", "Service principal ID", "Service principal name",
	"Credential key ID", "Credential thumbprint", "Application", "Application ID ", "App owner tenant ID", "Resource",
	"Resource ID ", "Resource tenant ID", "Resource owner tenant ID", "Home tenant ID", "Home tenant name", "IP address",
	"Location", "Status", "Sign-in error code", "Failure reason", "Conditional Access"}

func portalAuditHeader() []string {
	h := []string{"Date (UTC)", "CorrelationId", "Service", "Category", "Activity", "Result", "ResultReason", "UserAgent", "ActorType",
		"ActorDisplayName", "ActorObjectId", "ActorUserPrincipalName", "IPAddress", "ActorHomeTenantId", "ActorHomeTenantName",
		"ActorServicePrincipalId", "ActorServicePrincipalName"}
	for t := 1; t <= 2; t++ {
		p := "Target" + strconv.Itoa(t)
		h = append(h, p+"Type", p+"DisplayName", p+"ObjectId", p+"UserPrincipalName")
		for m := 1; m <= 3; m++ {
			q := p + "ModifiedProperty" + strconv.Itoa(m)
			h = append(h, q+"Name", q+"OldValue", q+"NewValue")
		}
	}
	return append(h, "AdditionalDetail1Key", "AdditionalDetail1Value", "AdditionalDetail2Key", "AdditionalDetail2Value")
}

func (g *generator) portalCSV(w *bufio.Writer, n int) error {
	if g.kind == trace.KindSignInManagedIdentity {
		return fmt.Errorf("entralog: Generate: portal-csv has no managed-identity download in this generator")
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	w.WriteString("\ufeff")
	var header []string
	switch g.kind {
	case trace.KindAudit:
		header = portalAuditHeader()
	case trace.KindSignInServicePrincipal:
		header = portalSPHeader
	default:
		header = portalSignInHeader
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	row := make([]string, len(header))
	for i := 0; i < n; i++ {
		r := g.next()
		for j := range row {
			row[j] = ""
		}
		ts := r.t.Format("2006-01-02T15:04:05Z")
		switch g.kind {
		case trace.KindAudit:
			actorType := "User"
			if r.actorType == "app" {
				actorType = "Application"
			}
			copy(row, []string{ts, r.corr, r.service, r.category, r.activity, r.result, r.reason, r.ua, actorType})
			if r.actorType == "app" {
				row[9], row[15] = r.app.name, r.spID
			} else {
				row[9], row[10], row[11], row[12] = r.userName, r.userID, r.upn, r.ip
			}
			c := 17
			for t := 0; t < 2; t++ {
				if t < len(r.targets) {
					tg := r.targets[t]
					row[c], row[c+1], row[c+2], row[c+3] = tg.Type, tg.DisplayName, tg.ID, tg.UPN
					for m := 0; m < 3 && m < len(tg.Modified); m++ {
						row[c+4+3*m], row[c+5+3*m], row[c+6+3*m] = tg.Modified[m].Name, tg.Modified[m].Old, tg.Modified[m].New
					}
				}
				c += 13
			}
			for d := 0; d < 2 && d < len(r.details); d++ {
				row[c+2*d], row[c+2*d+1] = r.details[d].Key, r.details[d].Value
			}
		case trace.KindSignInServicePrincipal:
			copy(row, []string{ts, r.id, r.corr, r.spID, r.spName, g.guid(6), "", r.app.name, r.app.id, r.app.owner,
				r.res.name, r.res.id, genTenant, r.res.owner, genTenant, "Contoso", r.ip, "Seattle, Washington, US",
				r.status, strconv.Itoa(r.code), r.reason, "Not Applied"})
		default:
			copy(row, []string{ts, r.id, r.ua, r.corr, r.userID, r.userName, r.upn, "Member", "None", "none", "none", "",
				"None", "None", "", "", r.app.name, r.app.id, r.app.owner, r.res.name, r.res.id, genTenant, r.res.owner,
				genTenant, "Contoso", r.ip, "Seattle, Washington, US", r.status, strconv.Itoa(r.code), r.reason, r.client})
			row[40], row[41], row[48], row[49], row[52] = "Single-factor authentication", r.upn, "AzureAD", "none", "Not Applied"
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
