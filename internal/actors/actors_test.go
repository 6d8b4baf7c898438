package actors

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idtrace/idtrace/internal/trace"
)

func TestClassify(t *testing.T) {
	k := Default()
	tests := []struct {
		name     string
		p        Principal
		class    string
		evidence string // substring of one evidence line
	}{
		{"owner tenant Microsoft Services", Principal{Name: "Office365 Shell WCSS-Client", AppID: "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", OwnerTenantID: "f8cdef31-a31e-4b4a-93e4-5f571e91255a", App: true}, ClassMicrosoftApp, "appOwnerTenantId f8cdef31-a31e-4b4a-93e4-5f571e91255a is Microsoft Services"},
		{"app id in kb", Principal{Name: "Azure Portal", AppID: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", App: true}, ClassMicrosoftApp, "(source: Graph; verified"},
		{"fim_password_service", Principal{Name: "fim_password_service", UPN: "fim_password_service@support.onmicrosoft.com"}, ClassMicrosoftInternal, "fim_password_service@support.onmicrosoft.com"},
		{"spo_service", Principal{UPN: "SPO_SERVICE@support.onmicrosoft.com"}, ClassMicrosoftInternal, "documented"},
		// a name alone is never evidence when the actor has a documented app ID
		{"MS-PIM by name", Principal{Name: "MS-PIM", App: true}, ClassUnknown, "a name alone proves nothing"},
		{"MS-PIM by app id", Principal{Name: "MS-PIM", AppID: "01fc33a7-78ba-4d2f-a4b7-768e336e890e", App: true}, ClassMicrosoftInternal, "MS-PIM"},
		{"jit", Principal{Name: "Microsoft Azure AD Internal - Jit Provisioning", App: true}, ClassMicrosoftInternal, "Jit Provisioning"},
		{"look-alike zero for o", Principal{UPN: "fim_passw0rd_service@support.onmicrosoft.com"}, ClassSuspicious, "not one of Microsoft's documented internal accounts"},
		{"look-alike tld", Principal{UPN: "anything@support.onmicrosoft.net"}, ClassSuspicious, "support.onmicrosoft.net"},
		{"look-alike of real name on other tld", Principal{UPN: "fim_password_service@support.onmicrosoft.net"}, ClassSuspicious, "support.onmicrosoft.net"},
		{"Microsoft app name with other app id", Principal{Name: "Azure Portal", AppID: "11111111-2222-3333-4444-555555555555", App: true}, ClassSuspicious, "not a Microsoft app ID"},
		{"Microsoft app id owned elsewhere", Principal{Name: "Azure Portal", AppID: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", OwnerTenantID: "0d2c3f4e-1111-2222-3333-444455556666", App: true}, ClassSuspicious, "is not a Microsoft tenant"},
		{"Microsoft app name owned elsewhere", Principal{Name: "Azure Portal", AppID: "11111111-2222-3333-4444-555555555555", OwnerTenantID: "0d2c3f4e-1111-2222-3333-444455556666", App: true}, ClassSuspicious, "is not a Microsoft tenant"},
		{"user named like an internal app", Principal{Name: "MS-PIM", UPN: "ms-pim@contoso.com"}, ClassSuspicious, "but the account is ms-pim@contoso.com"},
		{"internal app name with other app id", Principal{Name: "MS-PIM", AppID: "11111111-2222-3333-4444-555555555555", App: true}, ClassSuspicious, "not its documented app ID"},
		{"sync upn", Principal{UPN: "Sync_DC01_1a2b3c4d5e6f@contoso.onmicrosoft.com"}, ClassSync, "Sync_"},
		{"cloud sync", Principal{UPN: "ADToAADSyncServiceAccount@contoso.onmicrosoft.com"}, ClassSync, "ADToAADSyncServiceAccount"},
		{"sync display name only", Principal{Name: "On-Premises Directory Synchronization Service Account"}, ClassUnknown, "a name alone proves nothing"},
		{"sync display name with sync upn", Principal{Name: "On-Premises Directory Synchronization Service Account", UPN: "Sync_AAD-CONNECT01_0123456789ab@contoso.onmicrosoft.com"}, ClassSync, "exact form"},
		{"sync look-alike on gmail", Principal{UPN: "Sync_evil@gmail.com"}, ClassSuspicious, "does not have the exact form"},
		{"sync look-alike in tenant domain", Principal{UPN: "sync_x@contoso.com"}, ClassSuspicious, "does not have the exact form"},
		{"sync look-alike short hex", Principal{UPN: "Sync_DC01_1a2b3c@contoso.onmicrosoft.com"}, ClassSuspicious, "does not have the exact form"},
		{"sync display name on another upn", Principal{Name: "On-Premises Directory Synchronization Service Account", UPN: "helpdesk@contoso.com"}, ClassSuspicious, "not a sync account's"},
		{"internal account name on other domain", Principal{UPN: "fim_password_service@contoso.com"}, ClassSuspicious, "borrows the name"},
		{"Microsoft app name with spacing variant and other app id", Principal{Name: "Office 365 Shell WCSS-Client", AppID: "11111111-2222-3333-4444-555555555555", App: true}, ClassSuspicious, "not a Microsoft app ID"},
		{"user named like a Microsoft app", Principal{Name: "Azure Portal", UPN: "azureportal@contoso.com"}, ClassSuspicious, "user account azureportal@contoso.com"},
		{"Microsoft app name only", Principal{Name: "Azure Portal", App: true}, ClassUnknown, "a name alone proves nothing"},
		{"permission GUID as app ID", Principal{AppID: "e1fe6dd8-ba31-4d61-89e7-88639da4683d", App: true}, ClassUnknown, "permission: User.Read, delegated"},
		{"role template GUID as app ID", Principal{AppID: "62e90394-69f5-4237-9190-012177145e10", App: true}, ClassUnknown, "role template: Global Administrator"},
		{"docs app", Principal{AppID: "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7", App: true}, ClassMicrosoftApp, "owner tenant not given"},
		{"tenant user", Principal{Name: "Alice", UPN: "alice@contoso.com"}, ClassTenantUser, "alice@contoso.com"},
		{"guest user", Principal{UPN: "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com"}, ClassTenantUser, "bob_fabrikam.com"},
		{"tenant app by owner", Principal{Name: "HR Portal", AppID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", OwnerTenantID: "12345678-1234-1234-1234-123456789abc", TenantID: "12345678-1234-1234-1234-123456789abc", App: true}, ClassTenantApp, "this log's own tenant"},
		{"third-party app", Principal{Name: "Some SaaS", AppID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", OwnerTenantID: "99999999-1234-1234-1234-123456789abc", TenantID: "12345678-1234-1234-1234-123456789abc", App: true}, ClassUnknown, "neither a Microsoft tenant"},
		{"unknown app", Principal{Name: "Backup Robot", AppID: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", App: true}, ClassUnknown, "not a Microsoft app"},
		{"name only", Principal{Name: "Mystery"}, ClassUnknown, "display name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := k.Classify(tc.p)
			if l.Class != tc.class {
				t.Fatalf("class = %s, want %s (evidence %q)", l.Class, tc.class, l.Evidence)
			}
			if !strings.Contains(strings.Join(l.Evidence, " | "), tc.evidence) {
				t.Errorf("evidence %q lacks %q", l.Evidence, tc.evidence)
			}
			if l.Explanation == "" {
				t.Error("no explanation")
			}
		})
	}
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func user(upn string) trace.Principal {
	return trace.Principal{Type: "user", UPN: upn, DisplayName: upn}
}

var (
	fim   = trace.Principal{Type: "user", UPN: "fim_password_service@support.onmicrosoft.com", DisplayName: "fim_password_service"}
	sync_ = trace.Principal{Type: "user", UPN: "Sync_DC01_0123456789ab@contoso.onmicrosoft.com"}
	alice = "alice@contoso.com"
)

func audit(sec int, corr, activity, service string, actor trace.Principal, target string, result, reason string) *trace.Event {
	return &trace.Event{File: "t.json", Line: sec, LineKind: "record", Kind: trace.KindAudit, Time: t0.Add(time.Duration(sec) * time.Second),
		CorrelationID: corr, Activity: activity, Service: service, Result: result, ResultReason: reason, Actor: actor,
		Targets: []trace.Target{{Type: "User", UPN: target, ID: "0000-" + target}}}
}

// ssprEvents is a synthetic self-service password reset: verification
// steps, the reset by fim_password_service, then writeback by the sync
// account under another correlation ID.
func ssprEvents() []*trace.Event {
	sp := "Self-service Password Management"
	prog := "Self-service password reset flow activity progress"
	return []*trace.Event{
		audit(1, "c1", prog, sp, user(alice), alice, "success", "User submitted their user ID"),
		audit(20, "c1", prog, sp, user(alice), alice, "success", "User started the mobile SMS verification option"),
		audit(60, "c1", prog, sp, user(alice), alice, "success", "User completed the mobile SMS verification option"),
		audit(90, "c1", "Reset password (self-service)", sp, user(alice), alice, "success", ""),
		audit(91, "c1", "Reset user password", "Core Directory", fim, alice, "success", ""),
		audit(95, "c2", "Change user password", "Core Directory", sync_, alice, "success", ""),
	}
}

func run(t *testing.T, evs []*trace.Event) (*Classifier, []*Story) {
	t.Helper()
	c := NewClassifier(Default())
	var out []*Story
	b := NewStoryBuilder(c, func(s *Story) error { out = append(out, s); return nil })
	for _, e := range evs {
		c.Add(e)
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	return c, out
}

func reversed(evs []*trace.Event) []*trace.Event {
	out := make([]*trace.Event, len(evs))
	for i, e := range evs {
		out[len(evs)-1-i] = e
	}
	return out
}

func TestSSPRStory(t *testing.T) {
	for _, order := range []string{"ascending", "descending"} {
		t.Run(order, func(t *testing.T) {
			evs := ssprEvents()
			if order == "descending" {
				evs = reversed(evs)
			}
			c, stories := run(t, evs)
			if len(stories) != 1 {
				t.Fatalf("%d stories, want 1: %+v", len(stories), stories)
			}
			s := stories[0]
			if s.Kind != StorySSPR || s.CorrelationID != "c1" || s.Target != alice || s.Actor != fim.UPN {
				t.Errorf("story = %s %s %s %s", s.Kind, s.CorrelationID, s.Target, s.Actor)
			}
			if len(s.Steps) != 6 || s.Steps[0].Role != "verification" || s.Steps[5].Role != "writeback" {
				t.Errorf("steps = %+v", s.Steps)
			}
			if len(s.Related) != 1 || s.Related[0] != "c2" {
				t.Errorf("related = %v", s.Related)
			}
			for _, want := range []string{
				"Microsoft's password-reset service (fim_password_service@support.onmicrosoft.com) reset the password of alice@contoso.com at the user's own request",
				"User completed the mobile SMS verification option",
				"written back to on-premises Active Directory by the sync account Sync_DC01_0123456789ab@contoso.onmicrosoft.com",
			} {
				if !strings.Contains(s.Summary, want) {
					t.Errorf("summary lacks %q:\n%s", want, s.Summary)
				}
			}
			if len(s.Flags) != 0 {
				t.Errorf("flags = %v", s.Flags)
			}
			classes := map[string]string{}
			for _, a := range c.Actors() {
				classes[a.Name] = a.Class
			}
			if classes["fim_password_service"] != ClassMicrosoftInternal || classes[alice] != ClassTenantUser || classes[sync_.UPN] != ClassSync {
				t.Errorf("classes = %v", classes)
			}
		})
	}
}

func TestStories(t *testing.T) {
	sp := "Self-service Password Management"
	admin := user("helpdesk@contoso.com")
	lookalike := trace.Principal{Type: "user", UPN: "fim_passw0rd_service@support.onmicrosoft.com"}
	pim := trace.Principal{Type: "app", DisplayName: "MS-PIM", AppID: "01fc33a7-78ba-4d2f-a4b7-768e336e890e"}
	jit := trace.Principal{Type: "app", DisplayName: "Microsoft Azure AD Internal - Jit Provisioning"}
	strong := audit(5, "s1", "Update user", "Core Directory", fim, alice, "success", "")
	strong.Targets[0].Modified = []trace.ModifiedProperty{{Name: "StrongAuthenticationMethod", Old: "[]", New: "[{\"MethodType\":6}]"}, {Name: "Included Updated Properties", New: "StrongAuthenticationMethod"}}
	roleEv := func(sec int, activity string, actor trace.Principal) *trace.Event {
		e := audit(sec, "p1", activity, "PIM", actor, alice, "success", "")
		e.Targets = append(e.Targets, trace.Target{Type: "Role", DisplayName: "Global Administrator"})
		return e
	}
	consent := audit(3, "k1", "Consent to application", "Core Directory", user(alice), "", "success", "")
	consent.Targets = []trace.Target{{Type: "ServicePrincipal", DisplayName: "Contoso Expenses", ID: "sp-1"}}
	signin := func(sec int, corr string, code int) *trace.Event {
		return &trace.Event{File: "s.csv", Line: sec, Kind: trace.KindSignIn, Time: t0.Add(time.Duration(sec) * time.Second), CorrelationID: corr,
			Activity: "Sign-in activity", Actor: user(alice), Interactive: true, ErrorCode: code,
			App: trace.Principal{Type: "app", DisplayName: "Azure Portal", AppID: "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"}}
	}
	tests := []struct {
		name    string
		evs     []*trace.Event
		kind    string
		summary []string
		flag    string
	}{
		{"security info with fim", []*trace.Event{
			audit(1, "s1", "User registered security info", "Authentication Methods", user(alice), alice, "success", "User registered Mobile Phone SMS"),
			strong,
		}, StorySecurityInfo, []string{"alice@contoso.com changed their sign-in methods", "User registered security info (User registered Mobile Phone SMS)", "wrote the change into the user's StrongAuthentication properties", "not an administrator"}, ""},
		{"fim strong auth alone is flagged", []*trace.Event{strong}, StorySecurityInfo, []string{"StrongAuthenticationMethod"}, "registration records are not in these logs"},
		{"admin reset with writeback", []*trace.Event{
			audit(1, "a1", "Reset user password", "Core Directory", admin, alice, "success", ""),
			audit(4, "a2", "Change user password", "Core Directory", sync_, alice, "success", ""),
		}, StoryAdminReset, []string{"helpdesk@contoso.com reset the password of alice@contoso.com", "written back"}, ""},
		{"look-alike resetting a password", []*trace.Event{
			audit(1, "l1", "Reset user password", "Core Directory", lookalike, alice, "success", ""),
		}, StoryAdminReset, []string{"fim_passw0rd_service@support.onmicrosoft.com reset the password"}, "flagged suspicious"},
		{"fim reset without verification", []*trace.Event{
			audit(1, "f1", "Reset user password", "Core Directory", fim, alice, "success", ""),
		}, StorySSPR, []string{"at the user's own request"}, "verification steps"},
		{"sspr failed", []*trace.Event{
			audit(1, "f2", "Self-service password reset flow activity progress", sp, user(alice), alice, "failure", "User failed the mobile SMS verification option"),
			audit(2, "f2", "Reset password (self-service)", sp, user(alice), alice, "failure", "User's account is locked"),
		}, StorySSPR, []string{"FAILED (User's account is locked)"}, "failed"},
		{"sspr blocked", []*trace.Event{
			audit(1, "b1", "Blocked from self-service password reset", sp, user(alice), alice, "failure", ""),
		}, StorySSPR, []string{"was blocked"}, "blocked"},
		{"self-service unlock", []*trace.Event{
			audit(1, "u1", "Self-service password reset flow activity progress", sp, user(alice), alice, "success", "User completed the email verification option"),
			audit(2, "u1", "Unlock user account (self-service)", sp, user(alice), alice, "success", ""),
		}, StorySSPR, []string{"unlocked their own account", "User completed the email verification option"}, ""},
		{"writeback alone", []*trace.Event{
			audit(1, "w1", "Change user password", "Core Directory", sync_, alice, "success", ""),
		}, StoryWriteback, []string{"The sync account"}, "no password reset or change"},
		{"pim", []*trace.Event{
			roleEv(1, "Add member to role requested (PIM activation)", user(alice)),
			roleEv(2, "Add member to role completed (PIM activation)", pim),
		}, StoryPIM, []string{"activated the role Global Administrator", "MS-PIM"}, ""},
		{"consent", []*trace.Event{consent}, StoryConsent, []string{"alice@contoso.com consented to the application Contoso Expenses"}, ""},
		{"jit", []*trace.Event{audit(1, "j1", "Add service principal", "Core Directory", jit, "", "success", "")}, StoryJIT, []string{"created or refreshed"}, ""},
		{"sign-in with mfa interrupt", []*trace.Event{signin(1, "g1", 50074), signin(30, "g1", 0)}, StorySignIn, []string{"alice@contoso.com to Azure Portal (microsoft-app): interrupted to ask for multifactor authentication, then succeeded"}, ""},
		{"sign-in failed", []*trace.Event{signin(1, "g2", 50126)}, StorySignIn, []string{"failed with AADSTS50126"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stories := run(t, tc.evs)
			if len(stories) != 1 {
				t.Fatalf("%d stories: %+v", len(stories), stories)
			}
			s := stories[0]
			if s.Kind != tc.kind {
				t.Fatalf("kind = %s, want %s (%s)", s.Kind, tc.kind, s.Summary)
			}
			for _, w := range tc.summary {
				if !strings.Contains(s.Summary, w) {
					t.Errorf("summary lacks %q:\n%s", w, s.Summary)
				}
			}
			flags := strings.Join(s.Flags, " | ")
			if tc.flag == "" && flags != "" {
				t.Errorf("unexpected flags %q", flags)
			}
			if tc.flag != "" && !strings.Contains(flags, tc.flag) {
				t.Errorf("flags %q lack %q", flags, tc.flag)
			}
			if len(s.Steps) != len(tc.evs) {
				t.Errorf("%d steps for %d records", len(s.Steps), len(tc.evs))
			}
		})
	}
}

// TestBoundedState feeds many correlations over a long time and checks that
// old ones are closed as time moves on.
func TestBoundedState(t *testing.T) {
	c := NewClassifier(Default())
	n := 0
	b := NewStoryBuilder(c, func(*Story) error { n++; return nil })
	const total = 20000
	maxOpen := 0
	for i := range total {
		e := &trace.Event{Kind: trace.KindSignIn, Time: t0.Add(time.Duration(i) * time.Second), CorrelationID: "c" + time.Duration(i).String(), Actor: user(alice)}
		c.Add(e)
		if err := b.Add(e); err != nil {
			t.Fatal(err)
		}
		maxOpen = max(maxOpen, len(b.open))
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if n != total {
		t.Errorf("%d stories, want %d", n, total)
	}
	if limit := int(DefaultWindow/time.Second) + 2; maxOpen > limit {
		t.Errorf("open correlations peaked at %d, want <= %d", maxOpen, limit)
	}
	if c.Events() != total || len(c.Actors()) != 1 || c.Actors()[0].Count != total {
		t.Errorf("classifier: %d events, actors %+v", c.Events(), c.Actors())
	}
}

// TestActorCap: past MaxActors distinct actors, records are counted, never
// dropped silently.
func TestActorCap(t *testing.T) {
	c := NewClassifier(Knowledge{})
	extra := 5
	for i := range MaxActors + extra {
		c.Add(&trace.Event{Kind: trace.KindAudit, Actor: trace.Principal{Type: "user", UPN: "u" + strconv.Itoa(i) + "@contoso.example"}})
	}
	c.Add(&trace.Event{Kind: trace.KindAudit, Actor: trace.Principal{Type: "user", UPN: "u0@contoso.example"}})
	if c.Events() != MaxActors+extra+1 || len(c.actors) != MaxActors || c.Overflow != extra {
		t.Errorf("events %d, actors %d, overflow %d", c.Events(), len(c.actors), c.Overflow)
	}
}

// TestTenantAppFromRecord: a sign-in's app owned by the log's own tenant
// (the record's TenantId column) is the tenant's app.
func TestTenantAppFromRecord(t *testing.T) {
	c := NewClassifier(Default())
	tid := "9f8e7d6c-0000-4000-8000-00000000c0de"
	c.Add(&trace.Event{Kind: trace.KindSignIn, Actor: user(alice), Extra: []trace.KV{{Key: "TenantId", Value: tid}},
		App: trace.Principal{Type: "app", DisplayName: "Contoso HR", AppID: "aaaaaaaa-0000-4000-8000-000000000001", OwnerTenantID: tid}})
	for _, a := range c.Actors() {
		if a.Name == "Contoso HR" && (a.Class != ClassTenantApp || !slices.Equal(a.Roles, []string{"client-app"})) {
			t.Errorf("%+v", a)
		}
	}
	if len(c.Actors()) != 2 {
		t.Errorf("actors %+v", c.Actors())
	}
}
