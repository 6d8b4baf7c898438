package actors

import (
	"strings"

	"github.com/idtrace/idtrace/internal/kb"
)

// Query is one KQL query for Log Analytics / Microsoft Sentinel that applies
// the same rules as this package, over the AuditLogs and SigninLogs tables.
type Query struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Text        string `json:"query"`
}

func kqlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func kqlList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = kqlString(x)
	}
	return strings.Join(q, ", ")
}

// Queries returns the classification and story rules as KQL. The audit
// actors' classes come from the AuditRules table; the lists of Microsoft
// tenants and internal actors are the ones given.
func Queries(tenants []string, internal []kb.Actor) []Query {
	l := buildLists(tenants, internal)
	lets := l.kqlLets()
	classify := auditCase()
	return []Query{
		{
			Name:        "audit-actors",
			Description: "Every audit actor with its class and count (owner tenant is not in AuditLogs, so apps are classed by name and ID only; check unknown apps with `idtrace whois APPID`).",
			Text: lets + `AuditLogs
| extend ActorUpn = tostring(InitiatedBy.user.userPrincipalName),
         ActorName = coalesce(tostring(InitiatedBy.user.displayName), tostring(InitiatedBy.app.displayName)),
         ActorAppId = tostring(InitiatedBy.app.appId),
         OwnerTenant = ""
` + classify + `
| summarize Count = count(), Activities = make_set(OperationName, 20), First = min(TimeGenerated), Last = max(TimeGenerated)
    by ActorUpn, ActorName, ActorAppId, Class
| sort by Class asc, Count desc`,
		},
		{
			Name:        "signin-apps",
			Description: "Every client app of the sign-ins with its class: Microsoft-owned by AppOwnerTenantId, look-alikes (a Microsoft app's name under a non-Microsoft owner) flagged suspicious.",
			Text: lets + `let MicrosoftAppNames = SigninLogs
    | where tostring(column_ifexists("AppOwnerTenantId", "")) in~ (MicrosoftTenants)
    | distinct AppDisplayName;
union isfuzzy=true SigninLogs, AADNonInteractiveUserSignInLogs
| extend OwnerTenant = tostring(column_ifexists("AppOwnerTenantId", ""))
| extend Class = case(
    OwnerTenant in~ (MicrosoftTenants), "microsoft-app",
    AppDisplayName in~ (MicrosoftAppNames), "suspicious",
    isnotempty(OwnerTenant) and OwnerTenant =~ AADTenantId, "tenant-app",
    "unknown")
| summarize SignIns = count(), Users = dcount(UserPrincipalName), Failures = countif(ResultType != "0")
    by AppDisplayName, AppId, OwnerTenant, Class
| sort by Class desc, SignIns desc`,
		},
		{
			Name:        "lookalike-actors",
			Description: "Audit actors that look like Microsoft's internal accounts but are not on the documented list.",
			Text: lets + `AuditLogs
| extend ActorUpn = tostring(InitiatedBy.user.userPrincipalName), ActorName = tostring(InitiatedBy.user.displayName)
| where ActorUpn matches regex @"(?i)@support\.onmicrosoft\." or ActorName has_any ("fim_password_service", "spo_service", "cxpweb_service")
| where not(ActorUpn in~ (MicrosoftInternalActors))
| project TimeGenerated, ActorUpn, ActorName, OperationName, Result, CorrelationId, TargetResources`,
		},
		{
			Name:        "sspr-stories",
			Description: "Self-service password resets: the user's verification steps and fim_password_service's reset under one correlation ID, joined by target user to the writeback by the sync account within 10 minutes.",
			Text: `let Window = 10m;
let Sspr = AuditLogs
    | where LoggedByService =~ "Self-service Password Management"
        or tostring(InitiatedBy.user.userPrincipalName) =~ "fim_password_service@support.onmicrosoft.com" and OperationName has "password"
    | extend Target = tolower(tostring(TargetResources[0].userPrincipalName)), Actor = coalesce(tostring(InitiatedBy.user.userPrincipalName), tostring(InitiatedBy.app.displayName))
    | extend Step = strcat(format_datetime(TimeGenerated, "HH:mm:ss"), " ", Actor, ": ", OperationName, iff(isnotempty(ResultReason), strcat(" - ", ResultReason), ""), " [", Result, "]")
    | summarize Start = min(TimeGenerated), End = max(TimeGenerated), Steps = make_list(Step, 100),
        ResetBy = make_set_if(Actor, OperationName in~ ("Reset user password", "Reset password (self-service)")),
        Verified = countif(OperationName =~ "Self-service password reset flow activity progress"),
        Failed = countif(Result =~ "failure")
        by CorrelationId, Target;
let Writeback = AuditLogs
    | extend Actor = tostring(InitiatedBy.user.userPrincipalName)
    | where Actor matches regex @"` + syncConnectRe.String() + `" or Actor matches regex @"` + syncCloudRe.String() + `"
    | where OperationName has "password"
    | project WritebackTime = TimeGenerated, WritebackBy = Actor, WritebackResult = Result, WritebackCorrelationId = CorrelationId,
        Target = tolower(tostring(TargetResources[0].userPrincipalName));
Sspr
| join kind=leftouter Writeback on Target
| where isempty(WritebackTime) or WritebackTime between ((Start - Window) .. (End + Window))
| extend Summary = iff(ResetBy has "fim_password_service",
    strcat("Microsoft's password-reset service reset the password of ", Target, " at the user's own request after ", Verified, " verification step(s)"),
    strcat(Target, ": self-service password reset activity, no reset recorded"))
| project Start, CorrelationId, Target, Summary, Steps, Failed, WritebackBy, WritebackResult, WritebackCorrelationId
| sort by Start asc`,
		},
		{
			Name:        "security-info-stories",
			Description: "Security-info registration: the user's own registration records and fim_password_service updating StrongAuthentication* properties, per correlation.",
			Text: `AuditLogs
| where OperationName has "security info"
    or OperationName =~ "Update user" and tostring(TargetResources[0].modifiedProperties) has "StrongAuthentication"
| extend Target = tolower(tostring(TargetResources[0].userPrincipalName)),
         Actor = coalesce(tostring(InitiatedBy.user.userPrincipalName), tostring(InitiatedBy.app.displayName))
| summarize Start = min(TimeGenerated), Steps = make_list(strcat(Actor, ": ", OperationName, " ", ResultReason), 100),
    ByService = countif(Actor =~ "fim_password_service@support.onmicrosoft.com"),
    ByUser = countif(OperationName has "security info")
    by CorrelationId, Target
| extend Flag = iff(ByUser == 0 and ByService > 0, "StrongAuthentication changed with no registration record from the user", "")
| sort by Start asc`,
		},
		{
			Name:        "admin-password-resets",
			Description: "Password resets by administrators (not self-service, not the sync account), with any writeback.",
			Text: lets + `AuditLogs
| where OperationName in~ ("Reset user password", "Reset password (by admin)")
| extend Actor = coalesce(tostring(InitiatedBy.user.userPrincipalName), tostring(InitiatedBy.app.displayName)),
         Target = tostring(TargetResources[0].userPrincipalName)
| where not(Actor in~ (MicrosoftInternalActors)) and not(Actor matches regex @"` + syncConnectRe.String() + `")
| project TimeGenerated, CorrelationId, Actor, Target, Result, ResultReason`,
		},
		{
			Name:        "pim-activations",
			Description: "PIM role activations: the request by the user and the role membership added by MS-PIM.",
			Text: `AuditLogs
| where OperationName has "PIM activation" or (tostring(InitiatedBy.app.displayName) =~ "MS-PIM" and OperationName has "role")
| extend Role = tostring(TargetResources[0].displayName), Actor = coalesce(tostring(InitiatedBy.user.userPrincipalName), tostring(InitiatedBy.app.displayName))
| summarize Start = min(TimeGenerated), Steps = make_list(strcat(Actor, ": ", OperationName, " [", Result, "]"), 50), Roles = make_set(Role, 10)
    by CorrelationId
| sort by Start asc`,
		},
		{
			Name:        "consents",
			Description: "Consent to applications: who consented to which app.",
			Text: `AuditLogs
| where OperationName =~ "Consent to application"
| extend Actor = coalesce(tostring(InitiatedBy.user.userPrincipalName), tostring(InitiatedBy.app.displayName)),
         App = tostring(TargetResources[0].displayName), AppObjectId = tostring(TargetResources[0].id)
| project TimeGenerated, CorrelationId, Actor, App, AppObjectId, Result, ResultReason`,
		},
		{
			Name:        "jit-provisioning",
			Description: "Just-in-time provisioning by Entra's internal service.",
			Text: `AuditLogs
| where tostring(InitiatedBy.app.displayName) has "Jit Provisioning" or tostring(InitiatedBy.user.displayName) has "Jit Provisioning"
| project TimeGenerated, CorrelationId, OperationName, Target = tostring(TargetResources[0].displayName), Result`,
		},
		{
			Name:        "signin-stories",
			Description: "One story per sign-in correlation: interactive attempts, MFA interrupts (50074, 50076) and the final outcome.",
			Text: `SigninLogs
| extend Code = toint(ResultType)
| summarize arg_max(TimeGenerated, Code), Start = min(TimeGenerated), Attempts = count(),
    MfaInterrupts = countif(Code in (50074, 50076, 50079)), Codes = make_list(Code, 20)
    by CorrelationId, UserPrincipalName, AppDisplayName, AppId
| extend LastCode = Code
| extend Outcome = case(
    LastCode == 0 and MfaInterrupts > 0, "interrupted for MFA, then succeeded",
    LastCode == 0, "succeeded",
    MfaInterrupts > 0 and LastCode in (50074, 50076, 50079), "stopped at the MFA prompt",
    strcat("failed with AADSTS", tostring(LastCode)))
| project Start, CorrelationId, UserPrincipalName, AppDisplayName, AppId, Attempts, Outcome, Codes
| sort by Start asc`,
		},
	}
}

// DefaultQueries returns Queries over the embedded knowledge base's
// Microsoft tenants and internal actors.
func DefaultQueries() []Query {
	return Queries(kbTenants(), kbActors())
}
