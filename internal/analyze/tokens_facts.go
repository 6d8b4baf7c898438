package analyze

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/kb"
)

// The default member role every member user carries in wids; not worth naming.
const memberRoleTemplate = "b79fbf4d-3ef9-4689-8143-76b194e85509"

// msaTenant is the tenant of personal Microsoft accounts.
const msaTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"

// clientAuthMethods explains appidacr / azpacr.
var clientAuthMethods = map[string]string{"0": "public client (no secret)", "1": "client secret", "2": "certificate or federated credential"}

// decisionFacts adds the claims that decide most cases to a token summary:
// how the user authenticated (amr, acr), where the identity comes from
// (idp: a guest's home tenant or a personal account), admin roles (wids),
// the device, client capabilities and how the client authenticated.
func decisionFacts(c *jwt.Claims, add func(k, v string)) {
	if amr := c.Strings("amr"); len(amr) > 0 {
		v := strings.Join(amr, " ")
		if hasAny(amr, "mfa", "ngcmfa", "otp", "fido", "wiaormfa") {
			v += " (multifactor)"
		} else {
			v += " (single factor)"
		}
		add("amr", v)
	}
	add("acr", c.Str("acr"))
	if idp := c.Str("idp"); idp != "" {
		v := idp
		switch {
		case idp == "live.com" || strings.Contains(idp, msaTenant):
			v += " (personal Microsoft account)"
		case strings.HasPrefix(idp, "https://sts.windows.net/") && !strings.Contains(idp, c.TenantID()):
			v += " (guest from another Entra tenant)"
		case !strings.Contains(idp, "sts.windows.net"):
			v += " (external or federated identity provider)"
		}
		add("idp", v)
	}
	if wids := c.Strings("wids"); len(wids) > 0 {
		var names []string
		for _, w := range wids {
			if w == memberRoleTemplate {
				continue
			}
			if n, ok := kb.LookupRoleTemplate(w); ok {
				names = append(names, n+" ("+w+")")
			} else {
				names = append(names, w)
			}
		}
		if len(names) > 0 {
			add("wids", strings.Join(names, ", "))
		}
	}
	groupFacts(c, add)
	add("ipaddr", c.Str("ipaddr"))
	add("deviceid", c.Str("deviceid"))
	if cc := c.Strings("xms_cc"); len(cc) > 0 {
		add("xms_cc", strings.Join(cc, " ")+" (client capabilities: CP1 = can answer claims challenges)")
	}
	for _, k := range []string{"appidacr", "azpacr"} {
		if v := c.Str(k); v != "" {
			add(k, v+" ("+firstNonEmpty(clientAuthMethods[v], "unknown")+")")
		}
	}
	if azp := c.Str("azp"); azp != "" && c.AppID() != azp {
		add("azp", appName(azp, ""))
	}
}

// groupFacts says how many groups a token carries (the first few by
// object ID), or that it carries none because there were too many
// (overage: hasgroups, or groups named in _claim_names).
func groupFacts(c *jwt.Claims, add func(k, v string)) {
	overage := c.Has("hasgroups")
	if raw := c.Raw("_claim_names"); raw != nil && strings.Contains(string(raw), `"groups"`) {
		overage = true
	}
	if g := c.Strings("groups"); len(g) > 0 {
		const shown = 3
		v := plural(len(g), "group") + ": " + strings.Join(g[:min(len(g), shown)], ", ")
		if len(g) > shown {
			v += fmt.Sprintf(" and %d more", len(g)-shown)
		}
		add("groups", v)
	} else if overage {
		add("groups", "none listed: too many groups for the token (overage); the app must read them from Microsoft Graph")
	}
}

func hasAny(list []string, want ...string) bool {
	for _, v := range list {
		for _, w := range want {
			if strings.EqualFold(v, w) {
				return true
			}
		}
	}
	return false
}

// namedAudience names a GUID audience as every client ID is named.
func namedAudience(aud []string) string {
	out := make([]string, len(aud))
	for i, a := range aud {
		out[i] = a
		if _, ok := kb.LookupApp(a); ok {
			out[i] = appName(a, "")
		}
	}
	return strings.Join(out, " ")
}

// thirdPartyKind recognises app tokens of other products that must keep
// their own kind: Cloudflare Access (Cf-Access-Jwt-Assertion header or
// CF_Authorization cookie, issuer *.cloudflareaccess.com).
func thirdPartyKind(where, name string, c *jwt.Claims) string {
	lw := strings.ToLower(where)
	if strings.HasSuffix(lw, "cf-access-jwt-assertion") || strings.EqualFold(name, "CF_Authorization") ||
		strings.HasSuffix(strings.TrimSuffix(strings.ToLower(c.Issuer()), "/"), ".cloudflareaccess.com") {
		return "cloudflare_access"
	}
	return ""
}

// isPRTCookie reports a Windows primary refresh token cookie, whose claims
// carry an encrypted refresh token: never shown, only named.
func isPRTCookie(where, name string) bool {
	return strings.EqualFold(name, "x-ms-RefreshTokenCredential") || strings.Contains(strings.ToLower(where), "x-ms-refreshtokencredential")
}

// claimNamesOnly replaces an object's values by "(hidden)".
func claimNamesOnly(o *jwt.Object) json.RawMessage {
	m := map[string]string{}
	for k := range o.Values {
		m[k] = "(hidden)"
	}
	b, _ := json.Marshal(m)
	return b
}

// plural writes n and the noun, with an s when n is not 1.
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
