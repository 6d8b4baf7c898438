package redact

import "strings"

// The rule table. Every name is compared in lower case. A rule's ID (the
// first word of a pseudonym and of a report line) says why a value went.

// secretParams are query, form, JSON, XML and $Config field names whose
// value is a credential or a one-time secret. Values that are JWTs follow
// the token policy (claims kept, signature dropped by default); SAML fields
// keep their XML without signature values; everything else becomes a
// pseudonym.
var secretParams = set(
	"code", "id_token", "access_token", "refresh_token", "client_secret", "client_assertion",
	"password", "passwd", "pwd", "newpassword", "oldpassword", "currentpassword", "confirmpassword",
	"assertion", "device_code", "user_code", "code_verifier", "id_token_hint",
	"flowtoken", "sft", "sftt", "ppft", "ctx", "sctx", "canary", "apicanary", "otc", "otp",
	"subject_token", "actor_token", "token", "client_key", "api_key", "apikey", "secret",
	"x-ms-refreshtokencredential", "x-ms-devicecredential", "refreshtokencredential",
	"signature", // the detached signature of a SAML redirect-binding message
)

// samlParams carry a SAML or WS-Fed message: it is kept readable and its
// signature, digest and cipher values are dropped.
var samlParams = set("samlresponse", "samlrequest", "wresult", "samlart")

// piiParams become pseudonyms only with --pii.
var piiParams = set(
	"login_hint", "username", "login", "loginfmt", "email", "upn", "user", "domain_hint",
	"preferred_username", "unique_name", "name", "given_name", "family_name", "oid", "ipaddr",
	"mail", "userprincipalname", "displayname", "givenname", "surname", "signinname", "emailaddress",
	"mobilephone", "businessphones", "onpremisessamaccountname", "objectid", "userid", "user_id",
)

// secretClaims are JWT claims dropped even when the token's claims are kept
// (the Windows PRT cookie carries its refresh token as a claim).
var secretClaims = set("refresh_token", "password", "code", "client_secret", "request_nonce_secret", "session_key")

// piiClaims become pseudonyms with --pii.
var piiClaims = set(
	"upn", "unique_name", "email", "preferred_username", "name", "given_name", "family_name",
	"oid", "sub", "ipaddr", "puid", "altsecid", "verified_primary_email", "verified_secondary_email",
	"login_hint", "onprem_sid", "samaccountname",
)

// secretCookies are cookie names that sign someone in (Entra ESTS, Microsoft
// account, ASP.NET and others). Any other cookie whose value is 16 bytes or
// longer is treated as a session identifier too; shorter ones (lang=en,
// brcap=0) are kept.
var secretCookies = set(
	"estsauth", "estsauthpersistent", "estsauthlight", "signinstatecookie", "buid", "esctx",
	"fpc", "x-ms-gateway-slice", "stsservicecookie", "ccstate", "ests_sso", "ch", "cpc",
	"x-ms-refreshtokencredential", "x-ms-devicecredential", "msisauth", "msisauthenticated",
	"msissignout", "msislooprefresh", "samlsession", ".aspnetcore.cookies", ".aspxauth",
	"asp.net_sessionid", "jsessionid", "phpsessid", "sid", "session", "connect.sid",
)

// cookieKeepBelow is the length under which a cookie not named above is kept.
const cookieKeepBelow = 16

// secretHeaders are headers whose whole value is a credential.
var secretHeaders = set(
	"x-ms-refreshtokencredential", "x-ms-devicecredential", "ocp-apim-subscription-key",
	"x-api-key", "api-key", "apikey", "x-functions-key", "x-csrf-token", "x-xsrf-token",
	"x-ms-client-certificate", "x-arr-clientcert", "x-client-cert", "ssl-client-cert", "x-ssl-client-cert",
	"x-client-certificate", "x-forwarded-client-cert", "client-cert", "x-amz-security-token",
	"x-goog-api-key", "x-ms-token-aad-id-token", "x-ms-token-aad-access-token", "x-ms-token-aad-refresh-token",
)

// authHeaders carry "Scheme credentials".
var authHeaders = set("authorization", "proxy-authorization")

// isSecretHeader applies the table and the API-key naming pattern
// (*-Key, *-Token, *-Secret, *-Password).
func isSecretHeader(lname string) bool {
	if secretHeaders[lname] {
		return true
	}
	for _, suf := range []string{"-key", "-token", "-secret", "-password", "-apikey", "ticket", "-credential", "-assertion"} {
		if strings.HasSuffix(lname, suf) {
			return true
		}
	}
	return false
}

// entropySafeHeaders are never judged by the high-entropy detector: their
// values are hashes, nonces of the page itself or protocol handshakes that
// sign no one in (see docs/sanitize.md, false-positive policy).
var entropySafeHeaders = set(
	"etag", "if-none-match", "if-match", "content-md5", "digest", "content-digest", "repr-digest",
	"content-security-policy", "content-security-policy-report-only", "sec-websocket-key",
	"sec-websocket-accept", "x-goog-hash", "x-ms-content-crc64", "x-amz-id-2", "x-amz-cf-id",
	"www-authenticate", "proxy-authenticate", "x-ms-ests-server", "report-to", "nel", "link",
	"content-type", "user-agent", "accept", "accept-language", "accept-encoding", "cache-control",
	"date", "expires", "last-modified", "server", "via", "x-cache", "alt-svc", "vary",
	"x-ms-request-id", "x-ms-correlation-id", "client-request-id", "request-id", "traceparent",
	"tracestate", "x-ms-ags-diagnostic", "x-azure-ref", "x-msedge-ref", "cf-ray", "x-request-id",
	"x-amzn-trace-id", "ms-cv", "x-ms-cv", "x-correlation-id", "x-ms-gateway-requestid",
	"sec-ch-ua", "sec-ch-ua-platform", "sec-ch-ua-mobile", "x-content-type-options", "integrity",
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}
