package cli

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/idtrace/idtrace/internal/decode/oauth"
	"github.com/idtrace/idtrace/internal/trace"
)

// secretParams are query, form and JSON field names whose values are
// credentials: shown masked unless the user asks for them (--reveal).
var secretParams = map[string]bool{
	"password": true, "passwd": true, "pwd": true, "new_password": true, "newpassword": true,
	"client_secret": true, "client_assertion": true, "assertion": true,
	"code": true, "code_verifier": true, "device_code": true,
	"access_token": true, "id_token": true, "refresh_token": true, "token": true,
	"accesstoken": true, "idtoken": true, "refreshtoken": true,
	"samlresponse": true, "samlart": true, "wresult": true,
	"secret": true, "api_key": true, "apikey": true, "otc": true,
	"primary_refresh_token": true, "session_key": true,
}

// secretHeaders are header names whose whole value is a credential.
var secretHeaders = map[string]bool{
	"authorization": true, "proxy-authorization": true,
	"x-ms-refreshtokencredential": true, "x-ms-devicecredential": true,
	"x-api-key": true, "api-key": true, "ocp-apim-subscription-key": true,
	"x-csrf-token": true, "x-xsrf-token": true,
}

// jwtRe finds JSON Web Tokens (and JWE) in free text.
var jwtRe = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_.-]*`)

// hiddenInputRe finds HTML form fields (auto-posting sign-in forms) and
// their value attribute, in either order.
var hiddenInputRe = regexp.MustCompile(`(?i)(name=["']?)([A-Za-z_]+)(["']?[^>]*?value=["'])([^"']*)`)

// masker hides secrets in what `show` prints unless reveal is set.
type masker struct{ reveal bool }

// isSecretParam reports whether a parameter of this name holds a credential.
func isSecretParam(name string) bool { return secretParams[strings.ToLower(name)] }

// value masks v when the parameter named name is a secret; any JWT in v
// is masked too.
func (m masker) value(name, v string) string {
	if m.reveal || v == "" {
		return v
	}
	if isSecretParam(name) {
		return oauth.Mask(v)
	}
	return m.text(v)
}

// text masks tokens found anywhere in free text.
func (m masker) text(s string) string {
	if m.reveal {
		return s
	}
	return jwtRe.ReplaceAllStringFunc(s, oauth.Mask)
}

// header masks one header value.
func (m masker) header(name, v string) string {
	if m.reveal {
		return v
	}
	ln := strings.ToLower(name)
	switch {
	case ln == "cookie":
		return maskCookieHeader(v)
	case ln == "set-cookie":
		return maskSetCookie(v)
	case secretHeaders[ln]:
		// Keep the scheme (Bearer, Basic, Negotiate): it tells the story.
		if scheme, cred, ok := strings.Cut(v, " "); ok && !strings.ContainsAny(scheme, "=,") {
			return scheme + " " + oauth.Mask(strings.TrimSpace(cred))
		}
		return oauth.Mask(v)
	case strings.Contains(ln, "token") || strings.Contains(ln, "secret") || strings.Contains(ln, "password"):
		return oauth.Mask(v)
	case ln == "location" || ln == "referer" || ln == "content-location" || ln == ":path" || ln == "refresh":
		return m.url(v)
	}
	return m.text(v)
}

// maskCookieHeader keeps cookie names and masks every value.
func maskCookieHeader(v string) string {
	parts := strings.Split(v, ";")
	for i, p := range parts {
		name, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		parts[i] = name + "=" + oauth.Mask(val)
	}
	return strings.Join(parts, ";")
}

// maskSetCookie masks the cookie's value and keeps its attributes.
func maskSetCookie(v string) string {
	first, attrs, hasAttrs := strings.Cut(v, ";")
	if name, val, ok := strings.Cut(first, "="); ok {
		first = name + "=" + oauth.Mask(val)
	}
	if hasAttrs {
		return first + ";" + attrs
	}
	return first
}

// url masks secret query and fragment parameters of a URL, keeping the rest
// byte for byte.
func (m masker) url(u string) string {
	if m.reveal {
		return u
	}
	base, frag, hasFrag := strings.Cut(u, "#")
	path, query, hasQuery := strings.Cut(base, "?")
	out := path
	if hasQuery {
		out += "?" + m.query(query)
	}
	if hasFrag {
		out += "#" + m.query(frag)
	}
	return out
}

// query masks the secret values of an application/x-www-form-urlencoded
// string, keeping its order and the encoding of everything else (the mask
// itself is left unescaped, for people to read).
func (m masker) query(q string) string {
	if m.reveal {
		return q
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if isSecretParam(name) && v != "" {
			parts[i] = k + "=" + oauth.Mask(v)
		} else {
			parts[i] = k + "=" + m.text(v)
		}
	}
	return strings.Join(parts, "&")
}

// html masks the values of secret fields of HTML forms and any token.
func (m masker) html(s string) string {
	if m.reveal {
		return s
	}
	s = hiddenInputRe.ReplaceAllStringFunc(s, func(match string) string {
		sm := hiddenInputRe.FindStringSubmatch(match)
		if !isSecretParam(sm[2]) || sm[4] == "" {
			return match
		}
		return sm[1] + sm[2] + sm[3] + oauth.Mask(sm[4])
	})
	return m.text(s)
}

// headers returns hs with secret values masked.
func (m masker) headers(hs trace.Headers) trace.Headers {
	out := make(trace.Headers, len(hs))
	for i, h := range hs {
		out[i] = trace.Header{Name: h.Name, Value: m.header(h.Name, h.Value)}
	}
	return out
}
