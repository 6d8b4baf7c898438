// Package analyze reconstructs the sign-ins in a trace and explains them:
// it stitches HTTP flows into OAuth 2.0 / OpenID Connect / SAML / WS-Fed
// sign-ins, decodes every token it meets, verifies signatures against keys
// found in the trace (or given by the caller) and reports findings with a
// next step.
//
// It streams: Run reads a trace.Source flow by flow and keeps only the
// small facts needed to stitch (states, code and token fingerprints, token
// claims), never whole bodies, so a trace of any size analyses in bounded
// memory apart from the report itself.
//
// Owned by the analysis helper (issue #3). The Report types are the JSON
// contract documented in docs/analyze.md: add fields, never rename them.
package analyze

import (
	"encoding/json"
	"time"
)

// Severities of a Finding, in increasing order.
const (
	SeverityInfo    = "info"
	SeverityWarning = "warning"
	SeverityError   = "error"
)

// SeverityRank orders severities: info 1, warning 2, error 3, anything else 0.
func SeverityRank(s string) int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityError:
		return 3
	}
	return 0
}

// Results of a sign-in.
const (
	ResultSuccess    = "success"
	ResultError      = "error"
	ResultIncomplete = "incomplete"
)

// Report is the whole analysis of one trace. Callers own it.
type Report struct {
	// Source names the analysed file ("" for an unnamed stream).
	Source string `json:"source,omitempty"`
	// FlowsRead counts the HTTP flows read.
	FlowsRead int `json:"flows_read"`
	// Verdict has one row per failure (a sign-in and an error code), with
	// the case identifiers Microsoft support asks for; empty when nothing failed.
	Verdict  []Failure `json:"verdict"`
	Flows    []SignIn  `json:"flows"`
	Tokens   []Token   `json:"tokens"`
	Findings []Finding `json:"findings"`
	Keys     []KeyInfo `json:"keys,omitempty"`
	// ClaimMeanings explains, once, every JWT claim name seen in the tokens
	// (from the knowledge base); names it does not know are left out.
	ClaimMeanings map[string]string `json:"claim_meanings,omitempty"`
	Started       *time.Time        `json:"started,omitempty"`
	Ended         *time.Time        `json:"ended,omitempty"`
}

// SignIn is one reconstructed sign-in ("flow" in the JSON contract).
type SignIn struct {
	// ID numbers sign-ins from 1 in the order they started.
	ID int `json:"id"`
	// Protocol is "oauth2", "oidc", "saml" or "wsfed".
	Protocol string `json:"protocol"`
	// Grant is the OAuth grant or flow: "authorization_code", "implicit",
	// "hybrid", "refresh_token", "client_credentials", "password",
	// "device_code", "on_behalf_of", "jwt-bearer", "saml-bearer"; for SAML
	// "sp-initiated" or "idp-initiated"; for WS-Fed "passive".
	Grant      string `json:"grant,omitempty"`
	ClientID   string `json:"client_id,omitempty"`
	ClientName string `json:"client_name,omitempty"`
	// Tenant is the tenant in the endpoint path (GUID, domain, common...) or
	// the token's tid.
	Tenant string `json:"tenant,omitempty"`
	// Cloud is the Entra cloud ("global", "usgov", ...) when Entra is the IdP.
	Cloud string `json:"cloud,omitempty"`
	// EndpointVersion is "v1" or "v2" for Entra OAuth endpoints.
	EndpointVersion string `json:"endpoint_version,omitempty"`
	// IdP is the host of the identity provider.
	IdP string `json:"idp,omitempty"`
	// User is a user hint: login_hint, username, the token's upn/preferred_username.
	User     string   `json:"user,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
	Resource string   `json:"resource,omitempty"`
	// RedirectURI is the redirect_uri (OAuth) or AssertionConsumerServiceURL (SAML).
	RedirectURI  string `json:"redirect_uri,omitempty"`
	ResponseType string `json:"response_type,omitempty"`
	ResponseMode string `json:"response_mode,omitempty"`
	// ClientAuth is how the client authenticated at the token endpoint.
	ClientAuth string `json:"client_auth,omitempty"`
	PKCE       string `json:"pkce,omitempty"`
	// Parent is the sign-in whose refresh token or device code this one used (0 if none).
	Parent int    `json:"parent,omitempty"`
	Steps  []Step `json:"steps"`
	// MoreSteps counts API calls not listed because of the per-sign-in cap.
	MoreSteps int    `json:"more_steps,omitempty"`
	Result    string `json:"result"`
	// Error is the error that ended it ("invalid_grant: AADSTS70008 ..."), short.
	Error string `json:"error,omitempty"`
	// Tokens lists the indexes (in Report.Tokens) of tokens issued or used in it.
	Tokens []int `json:"tokens,omitempty"`
	// B2C is set when the sign-in is Azure AD B2C's: a b2clogin host, or on
	// any host (custom domains included) a policy ID in the URL, the /tfp/
	// authority form or B2C's x-ms-cpim-* cookies.
	B2C bool `json:"b2c,omitempty"`
	// Policy is the Azure AD B2C policy (user flow or custom policy) of a B2C sign-in.
	Policy string `json:"policy,omitempty"`
	// Federation is the federated identity provider (AD FS or another) the
	// sign-in went through, with what it returned.
	Federation *Federation `json:"federation,omitempty"`
	// WindowsAuth lists the Windows authentication handshakes (NTLM,
	// Kerberos, Seamless SSO, primary refresh token) seen in it.
	WindowsAuth []WindowsAuth `json:"windows_auth,omitempty"`
}

// Failure is one row of the verdict: what failed, why, for whom, when, and
// the identifiers to quote to Microsoft support.
type Failure struct {
	SignIn int `json:"signin,omitempty"`
	// FlowID is the first flow that showed it; Seen counts the flows.
	FlowID int `json:"flow_id"`
	Seen   int `json:"seen"`
	// Code is "AADSTS50196", "AADB2C90006", or an OAuth error ("invalid_grant").
	Code     string `json:"code"`
	Category string `json:"category,omitempty"`
	What     string `json:"what"`
	Why      string `json:"why,omitempty"`
	User     string `json:"user,omitempty"`
	Tenant   string `json:"tenant,omitempty"`
	// App is the client ID with its name when known.
	App  string    `json:"app,omitempty"`
	Time time.Time `json:"time"`
	CaseIDs
}

// Federation is the hop of a sign-in to a federated identity provider.
type Federation struct {
	// Host is the federated IdP's host (sts.contoso.com).
	Host string `json:"host"`
	// Protocol is "wsfed", "saml" or "oidc".
	Protocol string `json:"protocol"`
	// Issuer of the token the IdP returned, and its subject (ImmutableID / NameID).
	Issuer  string `json:"issuer,omitempty"`
	Subject string `json:"subject,omitempty"`
	// MFA is true when the returned token says the IdP did multifactor authentication.
	MFA   bool   `json:"mfa,omitempty"`
	Fault string `json:"fault,omitempty"`
	Flows []int  `json:"flows"`
}

// WindowsAuth is one Windows-integrated authentication seen in a sign-in.
type WindowsAuth struct {
	FlowID int `json:"flow_id"`
	// Kind is "ntlm", "kerberos", "negotiate", "seamless_sso" or "prt".
	Kind string `json:"kind"`
	// Facts are the decoded, non-secret facts (user, domain, workstation, NTLM version).
	Facts []KV `json:"facts,omitempty"`
}

// Step is one HTTP flow of a sign-in.
type Step struct {
	FlowID int `json:"flow_id"`
	// Kind says what the step did: "discovery", "jwks", "authorize",
	// "login", "redirect", "callback", "token", "device_code", "api",
	// "saml_request", "saml_response", "wsfed", "page".
	Kind   string `json:"kind"`
	Method string `json:"method"`
	// URL is scheme, host and path only: queries carry codes and tokens.
	URL    string    `json:"url"`
	Status int       `json:"status"`
	Time   time.Time `json:"time"`
	// Detail says what the step showed or decided, when known ("sign-in
	// page ConvergedSignIn", "MFA PhoneAppNotification: PhoneAppDenied").
	Detail string `json:"detail,omitempty"`
}

// Token is one decoded token (JWT or SAML assertion/message), listed once
// however often it was seen.
type Token struct {
	// FlowID is the HTTP flow where it was first seen; SignIn the sign-in (0 if none).
	FlowID int `json:"flow_id"`
	SignIn int `json:"signin,omitempty"`
	// Where says where in that flow: "request.header.Authorization",
	// "response.body.access_token", "response.header.Location#id_token",
	// "request.body.SAMLResponse", ...
	Where string `json:"where"`
	// Kind is "id_token", "access_token", "refresh_token", "client_assertion",
	// "assertion", "jwt", "saml_response", "saml_request", "saml_assertion", "wsfed_token".
	Kind string `json:"kind"`
	// Fingerprint is the first 12 hex digits of the SHA-256 of the raw
	// token: it identifies the token without revealing it.
	Fingerprint string `json:"fingerprint"`
	// Seen counts the flows that carried it.
	Seen      int             `json:"seen"`
	Encrypted bool            `json:"encrypted,omitempty"`
	Header    json.RawMessage `json:"header"`
	Claims    json.RawMessage `json:"claims"`
	// Verified is true/false when the signature was checked, null when it
	// could not be (no key in the trace and none given).
	Verified *bool `json:"verified"`
	// Verdict is Verified in words: "verified", "invalid", "not checked" or "unsigned"
	// (see VerdictText); VerifyDetail says why.
	Verdict      string `json:"verdict"`
	VerifyDetail string `json:"verify_detail,omitempty"`
	// Unsigned is set when the token has no signature at all (alg "none",
	// a SAML response without one): Verdict is then "unsigned".
	Unsigned bool `json:"-"`
	// KeyID is the key that verified it (or the one it names).
	KeyID string `json:"kid,omitempty"`
	// Issues are time problems relative to the carrying request's time.
	Issues []string `json:"issues,omitempty"`
	// Summary holds a few decoded facts for text output (issuer, audience,
	// subject, expiry...), in order.
	Summary []KV `json:"summary,omitempty"`

	raw string
	at  time.Time
	exp time.Time
}

// KV is one name/value pair.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Finding is one thing the analysis noticed.
type Finding struct {
	Severity string `json:"severity"`
	// Code is stable and machine-readable ("aadsts_50076", "redirect_uri_mismatch").
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	// Hint is the next step.
	Hint    string `json:"hint"`
	FlowIDs []int  `json:"flow_ids"`
	// SignIn is the sign-in it belongs to (0 if none).
	SignIn int `json:"signin,omitempty"`
}

// KeyInfo describes a signing key the analysis knew (from the trace or options).
type KeyInfo struct {
	KeyID  string `json:"kid"`
	Source string `json:"source"`
}
