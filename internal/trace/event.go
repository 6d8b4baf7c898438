package trace

import "time"

// Event is one record of an Entra ID (Azure AD) log: an audit entry or a
// sign-in, whatever export shape it was read from (portal CSV or JSON, Graph
// JSON, Log Analytics, diagnostic-settings NDJSON). The entralog readers
// produce Events; the log analyzers read them and must not modify them.
type Event struct {
	// File and Line locate the record in its source: the 1-based line where it
	// starts (CSV, NDJSON) or the 1-based record number in a JSON array, with
	// LineKind saying which ("line" or "record").
	File     string
	Line     int
	LineKind string
	// Kind is the log the record belongs to; one of the Kind* constants.
	Kind string
	// Shape names the export shape it was read from ("portal-csv",
	// "portal-json", "graph-json", "la-csv", "la-json", "diagnostic-ndjson").
	Shape string
	Time  time.Time
	ID    string
	// CorrelationID ties together the records of one operation.
	CorrelationID string
	// Category is the audit category ("UserManagement") or the sign-in log
	// category ("SignInLogs", "NonInteractiveUserSignInLogs", ...).
	Category string
	// Activity is the audit activity display name ("Reset password (self-service)");
	// for sign-ins it is "Sign-in activity".
	Activity string
	// OperationType is the audit operation type ("Update", "Add", ...).
	OperationType string
	// Service is the audit loggedByService ("Self-service Password Management").
	Service string
	// Result is "success", "failure", "interrupted", ... as written, lower-cased.
	Result       string
	ResultReason string
	// Actor is who did it: for audit records, initiatedBy; for sign-ins, the
	// user or service principal that signed in.
	Actor Principal
	// App is, for sign-ins, the client application; for audit records initiated
	// by an app, the same as Actor.
	App Principal
	// Resource is, for sign-ins, the resource (API) the token was for.
	Resource Principal
	Targets  []Target
	// ErrorCode is the sign-in status error code (an AADSTS number); 0 is success.
	ErrorCode     int
	FailureReason string
	IPAddress     string
	ClientApp     string
	UserAgent     string
	// Interactive is true for interactive user sign-ins.
	Interactive bool
	// Details is additionalDetails (audit) or authenticationDetails summaries, in order.
	Details []KV
	// Extra keeps every column or key the reader did not map, in order.
	Extra []KV
}

// Kinds of Entra log records.
const (
	KindAudit                  = "audit"
	KindSignIn                 = "signin"
	KindSignInNonInteractive   = "signin-noninteractive"
	KindSignInServicePrincipal = "signin-serviceprincipal"
	KindSignInManagedIdentity  = "signin-managedidentity"
)

// Principal is a user, an application or a service principal as a log names it.
// Any field may be empty.
type Principal struct {
	// Type is "user", "app" (service principal / application) or "".
	Type        string
	ID          string
	DisplayName string
	UPN         string
	// AppID is the application (client) ID.
	AppID string
	// ServicePrincipalID is the object ID of the service principal.
	ServicePrincipalID   string
	ServicePrincipalName string
	// OwnerTenantID is the tenant that owns the app (sign-in appOwnerTenantId).
	OwnerTenantID string
	IPAddress     string
}

// Target is one audit targetResource.
type Target struct {
	Type        string
	ID          string
	DisplayName string
	UPN         string
	Modified    []ModifiedProperty
}

// ModifiedProperty is one changed property of an audit target.
type ModifiedProperty struct {
	Name, Old, New string
}

// KV is one name/value pair kept in order.
type KV struct{ Key, Value string }
