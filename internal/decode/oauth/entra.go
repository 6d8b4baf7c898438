package oauth

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Endpoint kinds returned by ClassifyURL.
const (
	KindAuthorize         = "authorize"
	KindToken             = "token"
	KindDeviceCode        = "devicecode"
	KindDiscovery         = "discovery"
	KindJWKS              = "jwks"
	KindUserinfo          = "userinfo"
	KindLogout            = "logout"
	KindKMSI              = "kmsi"
	KindSAS               = "sas"
	KindGetCredentialType = "getcredentialtype"
	KindLogin             = "login"
	KindReprocess         = "reprocess"
	KindSAML              = "saml"
	KindWSFed             = "wsfed"
	KindFederationMeta    = "federationmetadata"
)

// Endpoint is what a URL says about the identity endpoint it targets.
type Endpoint struct {
	// Kind is one of the Kind* constants, or "" when unknown.
	Kind string `json:"kind,omitempty"`
	// Entra is true for Microsoft Entra ID (login.microsoftonline.com and
	// the sovereign clouds' login hosts).
	Entra bool `json:"entra,omitempty"`
	// Cloud names the Entra cloud: "global", "usgov", "china", "germany".
	Cloud string `json:"cloud,omitempty"`
	// Version is "v1" (/oauth2/authorize) or "v2" (/oauth2/v2.0/...) for Entra OAuth endpoints.
	Version string `json:"version,omitempty"`
	// Tenant is the first path segment on an Entra host: "common",
	// "organizations", "consumers", a tenant GUID or a domain.
	Tenant string `json:"tenant,omitempty"`
}

var entraHosts = map[string]string{
	"login.microsoftonline.com": "global", "login.microsoft.com": "global", "login.windows.net": "global",
	"sts.windows.net": "global", "login.microsoftonline.us": "usgov", "login.usgovcloudapi.net": "usgov",
	"login.partner.microsoftonline.cn": "china", "login.chinacloudapi.cn": "china",
	"login.microsoftonline.de": "germany",
}

// EntraCloud returns the cloud of an Entra login host ("" if host is not one).
func EntraCloud(host string) string {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return entraHosts[h]
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsGUID reports whether s is a GUID in its usual textual form.
func IsGUID(s string) bool { return guidRE.MatchString(s) }

// ClassifyURL recognises identity endpoints: every Entra ID endpoint by
// host and path, and common OAuth/OIDC endpoint paths elsewhere.
// Endpoints learned from a discovery document are more reliable; the
// analyzer checks those first.
func ClassifyURL(raw string) Endpoint {
	u, err := url.Parse(raw)
	if err != nil {
		return Endpoint{}
	}
	p := strings.ToLower(u.Path)
	var e Endpoint
	if c := EntraCloud(u.Host); c != "" {
		e.Entra, e.Cloud = true, c
		segs := strings.Split(strings.Trim(u.Path, "/"), "/")
		rest := p
		if len(segs) > 0 && segs[0] != "" {
			first := strings.ToLower(segs[0])
			switch {
			case first == "common" || first == "organizations" || first == "consumers" || IsGUID(segs[0]) ||
				(strings.Contains(first, ".") && first != "favicon.ico"):
				e.Tenant = segs[0]
				rest = strings.ToLower("/" + strings.Join(segs[1:], "/"))
			}
		}
		switch {
		case strings.HasPrefix(rest, "/oauth2/v2.0/"):
			e.Version = "v2"
			e.Kind = oauthKind(strings.TrimPrefix(rest, "/oauth2/v2.0/"))
		case strings.HasPrefix(rest, "/oauth2/"):
			e.Version = "v1"
			e.Kind = oauthKind(strings.TrimPrefix(rest, "/oauth2/"))
		case strings.HasSuffix(rest, "/.well-known/openid-configuration"):
			e.Kind = KindDiscovery
			if strings.Contains(rest, "/v2.0/") {
				e.Version = "v2"
			} else {
				e.Version = "v1"
			}
		case strings.HasPrefix(rest, "/discovery/") && strings.HasSuffix(rest, "/keys"), rest == "/discovery/keys":
			e.Kind = KindJWKS
		case strings.HasPrefix(rest, "/federationmetadata/"):
			e.Kind = KindFederationMeta
		case rest == "/kmsi":
			e.Kind = KindKMSI
		case strings.HasPrefix(rest, "/sas/"), strings.HasPrefix(rest, "/common/sas/"):
			e.Kind = KindSAS
		case strings.HasSuffix(rest, "/getcredentialtype"):
			e.Kind = KindGetCredentialType
		case rest == "/login":
			e.Kind = KindLogin
		case rest == "/reprocess":
			e.Kind = KindReprocess
		case rest == "/saml2":
			e.Kind = KindSAML
		case rest == "/wsfed":
			e.Kind = KindWSFed
		}
		return e
	}
	switch {
	case strings.HasSuffix(p, "/.well-known/openid-configuration"), strings.HasSuffix(p, "/.well-known/oauth-authorization-server"):
		e.Kind = KindDiscovery
	case strings.HasSuffix(p, "/jwks"), strings.HasSuffix(p, "/jwks.json"), strings.HasSuffix(p, "/certs"), strings.HasSuffix(p, "/discovery/keys"):
		e.Kind = KindJWKS
	case strings.HasSuffix(p, "/token"), strings.HasSuffix(p, "/oauth2/v4/token"):
		e.Kind = KindToken
	case strings.HasSuffix(p, "/device/auth"), strings.HasSuffix(p, "/device/code"), strings.HasSuffix(p, "/devicecode"), strings.HasSuffix(p, "/device_authorization"):
		e.Kind = KindDeviceCode
	case strings.HasSuffix(p, "/authorize"), strings.HasSuffix(p, "/oauth2/auth"), strings.HasSuffix(p, "/oauth2/v2/auth"), p == "/auth":
		e.Kind = KindAuthorize
	case strings.HasSuffix(p, "/userinfo"):
		e.Kind = KindUserinfo
	case strings.HasSuffix(p, "/logout"), strings.HasSuffix(p, "/session/end"):
		e.Kind = KindLogout
	}
	return e
}

func oauthKind(rest string) string {
	switch strings.Trim(rest, "/") {
	case "authorize":
		return KindAuthorize
	case "token":
		return KindToken
	case "devicecode", "deviceauth":
		return KindDeviceCode
	case "logout":
		return KindLogout
	case "userinfo":
		return KindUserinfo
	}
	return ""
}

// estsCookies are the Entra sign-in service's cookie names (session and
// state): their presence in a request says the browser carried an ESTS session.
var estsCookies = []string{"ESTSAUTH", "ESTSAUTHPERSISTENT", "ESTSAUTHLIGHT", "ESTSSC", "ESTSWCTXFLOWTOKEN",
	"buid", "fpc", "esctx", "ch", "CCState", "stsservicecookie", "x-ms-gateway-slice", "brcap", "wlidperf", "SignInStateCookie"}

// ESTSCookies returns the names (never the values) of Entra sign-in cookies
// in a Cookie request header, in header order.
func ESTSCookies(cookieHeader string) []string {
	var out []string
	for _, part := range strings.Split(cookieHeader, ";") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		for _, c := range estsCookies {
			if strings.EqualFold(name, c) || strings.HasPrefix(name, "esctx-") {
				out = append(out, name)
				break
			}
		}
	}
	return out
}

// PageConfig is the part of the Entra sign-in page's embedded `$Config={...}`
// JSON that explains what the page is showing.
type PageConfig struct {
	// ErrorCode is the AADSTS code of the error the page shows (iErrorCode,
	// sErrorCode or the one in strServiceExceptionMessage); 0 when none.
	ErrorCode int `json:"error_code,omitempty"`
	// Message is strServiceExceptionMessage (or sErrTxt / strMainMessage).
	Message       string `json:"message,omitempty"`
	CorrelationID string `json:"correlation_id,omitempty"`
	SessionID     string `json:"session_id,omitempty"`
	// PageID is pgid: which screen it is ("ConvergedSignIn", "ConvergedError", "KmsiInterrupt", ...).
	PageID string `json:"page_id,omitempty"`
	// URLPost is where the page posts the credentials.
	URLPost string `json:"url_post,omitempty"`
	// Username is sPOST_Username, the user the page is signing in.
	Username string `json:"username,omitempty"`
	// ClientID, when the page carries it (sClientId).
	ClientID string `json:"client_id,omitempty"`
	// ErrorShown is true when the page displays the error (iErrorCode, an
	// error message, or an error page ID). A bare sErrorCode on a sign-in
	// page only records why Entra showed the page (for example 50058: the
	// silent sign-in found no session, so the user is asked to sign in).
	ErrorShown bool `json:"error_shown,omitempty"`
	// ServerTime is serverDetails.rt: when the ESTS server rendered the page (UTC, as written).
	ServerTime string `json:"server_time,omitempty"`
	// DataCenter and ServerInstance are serverDetails.dc and .ri: the
	// region and (masked) machine of the ESTS server.
	DataCenter     string `json:"data_center,omitempty"`
	ServerInstance string `json:"server_instance,omitempty"`
	// ProofMethods are the MFA methods the user has registered
	// (arrUserProofs[].authMethodId), in page order; default first when marked.
	ProofMethods []string `json:"proof_methods,omitempty"`
}

// maxConfig caps how much of an HTML page ParseSignInPage scans.
const maxConfig = 8 << 20

// ParseSignInPage finds the `$Config={...};` object in an Entra sign-in page
// and decodes it. ok is false when the page has none or it does not parse.
func ParseSignInPage(html []byte) (PageConfig, bool) {
	if len(html) > maxConfig {
		html = html[:maxConfig]
	}
	i := bytes.Index(html, []byte("$Config="))
	if i < 0 {
		return PageConfig{}, false
	}
	dec := json.NewDecoder(bytes.NewReader(html[i+len("$Config="):]))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return PageConfig{}, false
	}
	str := func(keys ...string) string {
		for _, k := range keys {
			switch v := m[k].(type) {
			case string:
				if v != "" {
					return v
				}
			case json.Number:
				return v.String()
			}
		}
		return ""
	}
	c := PageConfig{Message: str("strServiceExceptionMessage", "sErrTxt", "strMainMessage"),
		CorrelationID: str("correlationId"), SessionID: str("sessionId"), PageID: str("pgid"),
		URLPost: str("urlPost"), Username: str("sPOST_Username"), ClientID: str("sClientId", "clientId")}
	if n, err := strconv.Atoi(str("iErrorCode")); err == nil && n != 0 {
		c.ErrorCode, c.ErrorShown = n, true
	} else if n, err := strconv.Atoi(str("sErrorCode")); err == nil {
		c.ErrorCode = n
	}
	if c.ErrorCode == 0 {
		c.ErrorCode = AADSTS(c.Message)
	}
	if sd, ok := m["serverDetails"].(map[string]any); ok {
		c.ServerTime, _ = sd["rt"].(string)
		c.DataCenter, _ = sd["dc"].(string)
		c.ServerInstance, _ = sd["ri"].(string)
	}
	if proofs, ok := m["arrUserProofs"].([]any); ok {
		for _, p := range proofs {
			if pm, ok := p.(map[string]any); ok {
				if id, _ := pm["authMethodId"].(string); id != "" && len(c.ProofMethods) < 20 {
					if def, _ := pm["isDefault"].(bool); def {
						c.ProofMethods = append([]string{id}, c.ProofMethods...)
					} else {
						c.ProofMethods = append(c.ProofMethods, id)
					}
				}
			}
		}
	}
	if c.Message != "" || strings.Contains(strings.ToLower(c.PageID), "error") {
		c.ErrorShown = true
	}
	return c, true
}

// ClientInfo is Entra's client_info: base64url JSON of the user's object
// ID and home tenant ID.
type ClientInfo struct {
	UID  string `json:"uid"`
	UTID string `json:"utid"`
}

// ParseClientInfo decodes a client_info value.
func ParseClientInfo(s string) (ClientInfo, bool) {
	raw, err := decodeB64URL(s)
	if err != nil {
		return ClientInfo{}, false
	}
	var c ClientInfo
	if json.Unmarshal(raw, &c) != nil {
		return ClientInfo{}, false
	}
	return c, c.UID != "" || c.UTID != ""
}
