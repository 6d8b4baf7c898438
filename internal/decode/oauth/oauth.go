// Package oauth decodes the OAuth 2.0 and OpenID Connect messages of a sign-in
// as they appear on the wire: authorize requests and responses, token
// requests and responses, error responses, device-code responses, discovery
// and JWKS documents, and the Microsoft Entra ID endpoints and sign-in page.
//
// It is pure: no I/O, no globals that change. Every function takes the raw
// pieces of one HTTP message (URL, form body, headers, JSON) and returns a
// value the caller owns and may modify. Client secrets, passwords and client
// assertions are never stored in clear: the decoded values hold Masked text.
//
// Owned by the analysis helper (issue #3); other packages call it and must not
// edit it.
package oauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// maxJSON caps the size of a JSON document this package will decode.
const maxJSON = 4 << 20

// Mask hides a secret: it keeps no character of it, only its length, so that
// output can say a secret was sent without ever printing it.
func Mask(secret string) string {
	if secret == "" {
		return ""
	}
	return fmt.Sprintf("***(%d chars)", len(secret))
}

// Short shortens a long opaque value (a code, a refresh token) for display:
// its first 6 characters, an ellipsis and its length.
func Short(v string) string {
	if len(v) <= 12 {
		return v
	}
	return fmt.Sprintf("%s…(%d chars)", v[:6], len(v))
}

var aadstsRE = regexp.MustCompile(`AADSTS(\d{5,7})`)

// AADSTS returns the first AADSTS error code named in s (0 if none).
func AADSTS(s string) int {
	m := aadstsRE.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// AuthorizeRequest is an OAuth 2.0 / OIDC authorization request, decoded from
// its URL query (GET) or form body (POST).
type AuthorizeRequest struct {
	ResponseType        string `json:"response_type,omitempty"`
	ResponseMode        string `json:"response_mode,omitempty"`
	ClientID            string `json:"client_id,omitempty"`
	RedirectURI         string `json:"redirect_uri,omitempty"`
	Scope               string `json:"scope,omitempty"`
	Resource            string `json:"resource,omitempty"`
	Prompt              string `json:"prompt,omitempty"`
	LoginHint           string `json:"login_hint,omitempty"`
	DomainHint          string `json:"domain_hint,omitempty"`
	CodeChallenge       string `json:"code_challenge,omitempty"`
	CodeChallengeMethod string `json:"code_challenge_method,omitempty"`
	State               string `json:"state,omitempty"`
	Nonce               string `json:"nonce,omitempty"`
	Claims              string `json:"claims,omitempty"`
	// Request is a JAR request object, if any (its presence matters; it is a JWT).
	Request string `json:"request,omitempty"`
}

// IsAuthorizeRequest reports whether the parameters look like an
// authorization request: they carry response_type and client_id (or a
// request object / PAR request_uri).
func IsAuthorizeRequest(v url.Values) bool {
	return v.Get("response_type") != "" && (v.Get("client_id") != "" || v.Get("request_uri") != "")
}

// ParseAuthorizeRequest decodes the parameters of an authorization request.
func ParseAuthorizeRequest(v url.Values) AuthorizeRequest {
	return AuthorizeRequest{
		ResponseType: v.Get("response_type"), ResponseMode: v.Get("response_mode"),
		ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"),
		Scope: v.Get("scope"), Resource: v.Get("resource"), Prompt: v.Get("prompt"),
		LoginHint: v.Get("login_hint"), DomainHint: v.Get("domain_hint"),
		CodeChallenge: v.Get("code_challenge"), CodeChallengeMethod: v.Get("code_challenge_method"),
		State: v.Get("state"), Nonce: v.Get("nonce"), Claims: v.Get("claims"), Request: v.Get("request"),
	}
}

// Scopes splits a space-separated scope string.
func Scopes(s string) []string { return strings.Fields(s) }

// HasScope reports whether the scope string names s (case-insensitive),
// alone or as the last segment of a resource-qualified scope.
func HasScope(scope, s string) bool {
	for _, x := range strings.Fields(scope) {
		if strings.EqualFold(x, s) || strings.HasSuffix(strings.ToLower(x), "/"+strings.ToLower(s)) {
			return true
		}
	}
	return false
}

// Flow names the OAuth flow an authorize request starts, from its
// response_type: "code", "implicit", "hybrid" or "".
func (a AuthorizeRequest) Flow() string {
	rt := strings.Fields(a.ResponseType)
	hasCode, other := false, false
	for _, t := range rt {
		if t == "code" {
			hasCode = true
		} else if t == "id_token" || t == "token" {
			other = true
		}
	}
	switch {
	case hasCode && other:
		return "hybrid"
	case hasCode:
		return "code"
	case other:
		return "implicit"
	}
	return ""
}

// IsOIDC reports whether the request is OpenID Connect (scope openid or an
// id_token response type).
func (a AuthorizeRequest) IsOIDC() bool {
	return HasScope(a.Scope, "openid") || strings.Contains(a.ResponseType, "id_token")
}

// AuthorizeResponse is what an authorization server sends back to the
// redirect URI: in a Location query or fragment, or a form_post body.
type AuthorizeResponse struct {
	// Mode is where it was found: "query", "fragment" or "form_post".
	Mode         string `json:"mode"`
	Code         string `json:"code,omitempty"`
	State        string `json:"state,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	AccessToken  string `json:"access_token,omitempty"`
	TokenType    string `json:"token_type,omitempty"`
	ExpiresIn    string `json:"expires_in,omitempty"`
	Scope        string `json:"scope,omitempty"`
	SessionState string `json:"session_state,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
	// Error is set when the server refused; Error.AADSTS holds an Entra code.
	Error *ErrorResponse `json:"error,omitempty"`
}

// ParseAuthorizeResponse decodes the parameters of an authorization
// response. ok is false when v carries none of code, id_token,
// access_token or error.
func ParseAuthorizeResponse(v url.Values, mode string) (AuthorizeResponse, bool) {
	r := AuthorizeResponse{Mode: mode, Code: v.Get("code"), State: v.Get("state"), IDToken: v.Get("id_token"),
		AccessToken: v.Get("access_token"), TokenType: v.Get("token_type"), ExpiresIn: v.Get("expires_in"),
		Scope: v.Get("scope"), SessionState: v.Get("session_state"), ClientInfo: v.Get("client_info")}
	if e := v.Get("error"); e != "" {
		r.Error = &ErrorResponse{Error: e, Description: v.Get("error_description"), URI: v.Get("error_uri"),
			CorrelationID: v.Get("correlation_id"), TraceID: v.Get("trace_id"), SubError: v.Get("suberror")}
		r.Error.AADSTS = AADSTS(r.Error.Description)
	}
	ok := r.Code != "" || r.IDToken != "" || r.AccessToken != "" || r.Error != nil
	return r, ok
}

// ParseRedirect decodes an authorization response from a redirect target
// (a Location header): its fragment first, then its query.
func ParseRedirect(location string) (AuthorizeResponse, bool) {
	u, err := url.Parse(location)
	if err != nil {
		return AuthorizeResponse{}, false
	}
	if u.Fragment != "" {
		if v, err := url.ParseQuery(u.Fragment); err == nil {
			if r, ok := ParseAuthorizeResponse(v, "fragment"); ok {
				return r, true
			}
		}
	}
	return ParseAuthorizeResponse(u.Query(), "query")
}

// Client authentication methods of a token request.
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthSecretPost    = "client_secret_post"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthNone          = "none"
)

// Grant types, short names used in output.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantPassword          = "password"
	GrantDeviceCode        = "device_code"
	GrantJWTBearer         = "jwt-bearer"
	GrantOnBehalfOf        = "on_behalf_of"
	GrantSAMLBearer        = "saml-bearer"
	GrantTokenExchange     = "token-exchange"
)

// TokenRequest is a token-endpoint request. Secrets are masked; codes,
// refresh tokens and device codes are shortened with Short.
type TokenRequest struct {
	// GrantType is the raw grant_type; Grant its short name (Grant* constants).
	GrantType string `json:"grant_type"`
	Grant     string `json:"grant"`
	ClientID  string `json:"client_id,omitempty"`
	// ClientAuth is one of the Auth* constants.
	ClientAuth string `json:"client_auth"`
	// ClientSecret is Masked; empty when none was sent.
	ClientSecret string `json:"client_secret,omitempty"`
	// ClientAssertion is the private_key_jwt assertion (a JWT, not a secret
	// by itself; kept so its claims can be shown).
	ClientAssertion string `json:"client_assertion,omitempty"`
	Scope           string `json:"scope,omitempty"`
	Resource        string `json:"resource,omitempty"`
	RedirectURI     string `json:"redirect_uri,omitempty"`
	// Code is the full authorization code (needed to stitch the flow); print it with Short.
	Code         string `json:"-"`
	CodeVerifier bool   `json:"code_verifier,omitempty"`
	// RefreshToken is the full refresh token presented (for stitching); print with Short.
	RefreshToken string `json:"-"`
	DeviceCode   string `json:"-"`
	Username     string `json:"username,omitempty"`
	// Password is Masked.
	Password string `json:"password,omitempty"`
	// Assertion is the jwt-bearer / saml-bearer assertion (a user's token).
	Assertion         string `json:"assertion,omitempty"`
	RequestedTokenUse string `json:"requested_token_use,omitempty"`
	ClientInfo        bool   `json:"client_info,omitempty"`
}

// IsTokenRequest reports whether a form body is a token request (it has grant_type).
func IsTokenRequest(v url.Values) bool { return v.Get("grant_type") != "" }

// ParseTokenRequest decodes a token request from its form body and its
// Authorization header (for client_secret_basic).
func ParseTokenRequest(v url.Values, authorization string) TokenRequest {
	t := TokenRequest{GrantType: v.Get("grant_type"), ClientID: v.Get("client_id"), Scope: v.Get("scope"),
		Resource: v.Get("resource"), RedirectURI: v.Get("redirect_uri"), Code: v.Get("code"),
		CodeVerifier: v.Get("code_verifier") != "", RefreshToken: v.Get("refresh_token"),
		DeviceCode: v.Get("device_code"), Username: v.Get("username"), Password: Mask(v.Get("password")),
		Assertion: v.Get("assertion"), RequestedTokenUse: v.Get("requested_token_use"),
		ClientInfo: v.Get("client_info") == "1"}
	if t.DeviceCode == "" {
		t.DeviceCode = v.Get("code") // Entra v1 device flow sends the device code as "code"
	}
	switch gt := t.GrantType; {
	case gt == "authorization_code":
		t.Grant = GrantAuthorizationCode
	case gt == "refresh_token":
		t.Grant = GrantRefreshToken
	case gt == "client_credentials":
		t.Grant = GrantClientCredentials
	case gt == "password":
		t.Grant = GrantPassword
	case gt == "urn:ietf:params:oauth:grant-type:device_code" || gt == "device_code":
		t.Grant = GrantDeviceCode
	case gt == "urn:ietf:params:oauth:grant-type:jwt-bearer":
		t.Grant = GrantJWTBearer
		if t.RequestedTokenUse == "on_behalf_of" {
			t.Grant = GrantOnBehalfOf
		}
	case strings.HasPrefix(gt, "urn:ietf:params:oauth:grant-type:saml"):
		t.Grant = GrantSAMLBearer
	case gt == "urn:ietf:params:oauth:grant-type:token-exchange":
		t.Grant = GrantTokenExchange
	default:
		t.Grant = gt
	}
	if t.Grant != GrantDeviceCode {
		t.DeviceCode = ""
	} else if v.Get("device_code") == "" {
		t.Code = ""
	}
	switch {
	case v.Get("client_assertion") != "":
		t.ClientAuth = AuthPrivateKeyJWT
		t.ClientAssertion = v.Get("client_assertion")
	case strings.HasPrefix(strings.ToLower(authorization), "basic "):
		t.ClientAuth = AuthSecretBasic
		if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(authorization[6:])); err == nil {
			id, sec, _ := strings.Cut(string(raw), ":")
			if uid, err := url.QueryUnescape(id); err == nil {
				id = uid
			}
			if t.ClientID == "" {
				t.ClientID = id
			}
			if usec, err := url.QueryUnescape(sec); err == nil {
				sec = usec
			}
			t.ClientSecret = Mask(sec)
		}
	case v.Get("client_secret") != "":
		t.ClientAuth = AuthSecretPost
		t.ClientSecret = Mask(v.Get("client_secret"))
	default:
		t.ClientAuth = AuthNone
	}
	return t
}

// TokenResponse is a successful token-endpoint response. Tokens are kept in
// full: they are what the user asked to see (the caller decides how to print).
type TokenResponse struct {
	TokenType    string `json:"token_type,omitempty"`
	ExpiresIn    int64  `json:"expires_in,omitempty"`
	Scope        string `json:"scope,omitempty"`
	Resource     string `json:"resource,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	AccessToken  string `json:"access_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// ErrorResponse is an OAuth error (RFC 6749 §5.2) with Entra's additions.
type ErrorResponse struct {
	Error         string `json:"error"`
	Description   string `json:"error_description,omitempty"`
	URI           string `json:"error_uri,omitempty"`
	Codes         []int  `json:"error_codes,omitempty"`
	Timestamp     string `json:"timestamp,omitempty"`
	TraceID       string `json:"trace_id,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	SubError      string `json:"suberror,omitempty"`
	// AADSTS is the Entra error code: error_codes[0], else the AADSTS number in the description.
	AADSTS int `json:"aadsts,omitempty"`
}

// DeviceCodeResponse is a device authorization response (RFC 8628 §3.2).
type DeviceCodeResponse struct {
	DeviceCode      string `json:"-"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int64  `json:"expires_in,omitempty"`
	Interval        int64  `json:"interval,omitempty"`
	Message         string `json:"message,omitempty"`
}

// Discovery is the part of an OIDC discovery (or RFC 8414) document that
// matters for a trace.
type Discovery struct {
	Issuer                      string `json:"issuer"`
	AuthorizationEndpoint       string `json:"authorization_endpoint,omitempty"`
	TokenEndpoint               string `json:"token_endpoint,omitempty"`
	JWKSURI                     string `json:"jwks_uri,omitempty"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint,omitempty"`
	UserinfoEndpoint            string `json:"userinfo_endpoint,omitempty"`
	EndSessionEndpoint          string `json:"end_session_endpoint,omitempty"`
	TenantRegionScope           string `json:"tenant_region_scope,omitempty"`
}

// Endpoints returns the discovery document's endpoint URLs with their kinds.
func (d Discovery) Endpoints() map[string]string {
	m := map[string]string{}
	for k, v := range map[string]string{KindAuthorize: d.AuthorizationEndpoint, KindToken: d.TokenEndpoint,
		KindJWKS: d.JWKSURI, KindDeviceCode: d.DeviceAuthorizationEndpoint, KindUserinfo: d.UserinfoEndpoint,
		KindLogout: d.EndSessionEndpoint} {
		if v != "" {
			m[v] = k
		}
	}
	return m
}

// JSONDoc is a token-endpoint (or discovery, JWKS, device) JSON body
// classified: exactly one of its pointers is set when Kind is not "".
type JSONDoc struct {
	// Kind is "token", "error", "device_code", "discovery", "jwks" or "".
	Kind      string
	Token     *TokenResponse
	Error     *ErrorResponse
	Device    *DeviceCodeResponse
	Discovery *Discovery
}

// ParseJSON classifies and decodes an OAuth-related JSON body. It returns
// Kind "" (and no error) for JSON that is none of those, and an error only
// for a body over the size cap.
func ParseJSON(body []byte) (JSONDoc, error) {
	if len(body) > maxJSON {
		return JSONDoc{}, fmt.Errorf("oauth: JSON body of %d bytes exceeds the %d-byte cap", len(body), maxJSON)
	}
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // a UTF-8 BOM, as some tools write
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return JSONDoc{}, nil
	}
	str := func(k string) string {
		var s string
		if raw, ok := m[k]; ok {
			if json.Unmarshal(raw, &s) != nil {
				var n json.Number
				if json.Unmarshal(raw, &n) == nil {
					s = n.String()
				}
			}
		}
		return s
	}
	num := func(k string) int64 {
		n, _ := strconv.ParseInt(str(k), 10, 64)
		return n
	}
	switch {
	case m["error"] != nil && str("error") != "":
		e := &ErrorResponse{Error: str("error"), Description: str("error_description"), URI: str("error_uri"),
			Timestamp: str("timestamp"), TraceID: str("trace_id"), CorrelationID: str("correlation_id"), SubError: str("suberror")}
		if raw, ok := m["error_codes"]; ok {
			_ = json.Unmarshal(raw, &e.Codes)
		}
		if len(e.Codes) > 0 {
			e.AADSTS = e.Codes[0]
		} else {
			e.AADSTS = AADSTS(e.Description)
		}
		return JSONDoc{Kind: "error", Error: e}, nil
	case str("access_token") != "" || str("id_token") != "":
		return JSONDoc{Kind: "token", Token: &TokenResponse{TokenType: str("token_type"), ExpiresIn: num("expires_in"),
			Scope: str("scope"), Resource: str("resource"), IDToken: str("id_token"), AccessToken: str("access_token"),
			RefreshToken: str("refresh_token"), ClientInfo: str("client_info")}}, nil
	case str("device_code") != "" && str("user_code") != "":
		vu := str("verification_uri")
		if vu == "" {
			vu = str("verification_url")
		}
		return JSONDoc{Kind: "device_code", Device: &DeviceCodeResponse{DeviceCode: str("device_code"), UserCode: str("user_code"),
			VerificationURI: vu, ExpiresIn: num("expires_in"), Interval: num("interval"), Message: str("message")}}, nil
	case str("issuer") != "" && (str("authorization_endpoint") != "" || str("token_endpoint") != "" || str("jwks_uri") != ""):
		return JSONDoc{Kind: "discovery", Discovery: &Discovery{Issuer: str("issuer"), AuthorizationEndpoint: str("authorization_endpoint"),
			TokenEndpoint: str("token_endpoint"), JWKSURI: str("jwks_uri"), DeviceAuthorizationEndpoint: str("device_authorization_endpoint"),
			UserinfoEndpoint: str("userinfo_endpoint"), EndSessionEndpoint: str("end_session_endpoint"), TenantRegionScope: str("tenant_region_scope")}}, nil
	case m["keys"] != nil:
		var keys []map[string]json.RawMessage
		if json.Unmarshal(m["keys"], &keys) == nil && len(keys) > 0 && keys[0]["kty"] != nil {
			return JSONDoc{Kind: "jwks"}, nil
		}
	}
	return JSONDoc{}, nil
}

func decodeB64URL(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	return base64.RawURLEncoding.DecodeString(s)
}
