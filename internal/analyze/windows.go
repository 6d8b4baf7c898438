package analyze

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/idtrace/idtrace/internal/decode/ntlm"
	"github.com/idtrace/idtrace/internal/decode/spnego"
	"github.com/idtrace/idtrace/internal/trace"
)

// Windows-integrated authentication: NTLM and Kerberos (HTTP Negotiate),
// Entra Seamless SSO, and the primary refresh token cookie of joined devices.

// seamlessSSOHost is where browsers send their Kerberos ticket for Entra Seamless SSO.
const seamlessSSOHost = "autologon.microsoftazuread-sso.com"

// winScheme splits an Authorization / WWW-Authenticate value of the NTLM or
// Negotiate scheme; ok is false for other schemes.
func winScheme(v string) (scheme string, ok bool) {
	s, _, _ := strings.Cut(strings.TrimSpace(v), " ")
	switch strings.ToLower(s) {
	case "ntlm":
		return "NTLM", true
	case "negotiate":
		return "Negotiate", true
	}
	return "", false
}

// windowsAuth reads the Windows authentication headers of a flow and
// returns the sign-in they belong to (s, or one made for the host).
func (a *Analyzer) windowsAuth(f *trace.Flow, s *signin) *signin {
	req, resp := f.Request, f.Response
	u, _ := url.Parse(req.URL)
	host := req.Host()
	if u != nil {
		host = u.Host
	}
	isSSO := strings.EqualFold(strings.Split(host, ":")[0], seamlessSSOHost)
	authz := req.Headers.Get("Authorization")
	scheme, sent := winScheme(authz)
	var offered []string
	var challenge *ntlm.Message
	if resp != nil && resp.Status == 401 {
		for _, h := range resp.Headers.Values("WWW-Authenticate") {
			sc, ok := winScheme(h)
			if !ok {
				continue
			}
			offered = append(offered, sc)
			if _, tok, err := ntlm.DecodeHeader(h); err == nil && tok != nil {
				if sc == "Negotiate" {
					if nt, err := spnego.Parse(tok); err == nil {
						tok = nt.NTLM
					}
				}
				challenge, _ = ntlm.Parse(tok)
			}
		}
	}
	if !sent && len(offered) == 0 && !isSSO {
		return s
	}
	if s == nil && isSSO {
		s = a.get(a.lastEntra)
	}
	if s == nil {
		s = a.get(a.byWinHost[host])
		if s == nil {
			s = a.newSignIn("windows", "")
			s.IdP = host
			a.byWinHost[host] = s.ID
		}
	}
	if a.byWinHost[host] == 0 {
		a.byWinHost[host] = s.ID
	}
	a.addStep(s, f, "windows_auth")
	if isSSO {
		a.seamlessSSO(f, s, sent)
	}
	if len(offered) > 0 && !sent {
		stepDetail(s, f, "server asks for Windows authentication ("+strings.Join(offered, ", ")+")")
	}
	if !sent {
		return s
	}
	_, tok, err := ntlm.DecodeHeader(authz)
	if err != nil || tok == nil {
		return s
	}
	var msg *ntlm.Message
	if scheme == "Negotiate" {
		nt, err := spnego.Parse(tok)
		if err != nil {
			stepDetail(s, f, "Negotiate token not decoded")
			return s
		}
		switch nt.Mech {
		case spnego.MechKerberos:
			facts := []KV{{"message", nt.KerberosMessage}, {"realm", nt.Realm}, {"service", nt.Service}}
			a.winAuth(s, f, "kerberos", facts)
			stepDetail(s, f, strings.TrimSpace(fmt.Sprintf("Kerberos %s for %s in realm %s", nt.KerberosMessage, nt.Service, nt.Realm)))
			s.Grant = firstNonEmpty(s.Grant, "kerberos")
		case spnego.MechNTLM:
			msg, _ = ntlm.Parse(nt.NTLM)
			if msg != nil && (msg.Type == ntlm.TypeNegotiate || msg.Type == ntlm.TypeAuthenticate) {
				a.finding(s, Finding{Severity: SeverityWarning, Code: "negotiate_fell_back_to_ntlm", Title: "Negotiate fell back to NTLM (no Kerberos)",
					Detail:  fmt.Sprintf("The browser answered %s's Negotiate challenge with NTLM instead of a Kerberos ticket.", host),
					Hint:    "Kerberos needs a service principal name for the site (setspn -Q HTTP/" + strings.Split(host, ":")[0] + "), the site in the browser's Local intranet zone, and a domain controller the client can reach; fix whichever is missing (duplicate SPNs also cause this).",
					FlowIDs: []int{f.ID}})
			}
		}
	} else {
		msg, _ = ntlm.Parse(tok)
	}
	if msg != nil {
		stepDetail(s, f, msg.Describe())
	}
	if challenge != nil {
		stepDetail(s, f, "answered by "+challenge.Describe())
	}
	if msg == nil {
		return s
	}
	s.Grant = firstNonEmpty(s.Grant, "ntlm")
	if msg.Type == ntlm.TypeAuthenticate {
		facts := []KV{{"protocol", msg.Protocol}, {"user", msg.User}, {"domain", msg.Domain}, {"workstation", msg.Workstation}, {"version", msg.Version}}
		a.winAuth(s, f, "ntlm", facts)
		if s.User == "" && msg.User != "" {
			s.User = strings.Trim(msg.Domain+`\`+msg.User, `\`)
		}
		if scheme == "NTLM" {
			a.finding(s, Finding{Severity: SeverityInfo, Code: "ntlm_used", Title: "NTLM authentication, not Kerberos",
				Detail:  fmt.Sprintf("%s authenticated to %s with %s from workstation %s, through the NTLM scheme: the site offers NTLM, so Kerberos is never tried.", firstNonEmpty(s.User, "The user"), host, msg.Protocol, firstNonEmpty(msg.Workstation, "(unnamed)")),
				Hint:    "Nothing is wrong if the sign-in succeeds. To use Kerberos, configure the site for Negotiate with a service principal name HTTP/" + strings.Split(host, ":")[0] + " for its service account.",
				FlowIDs: []int{f.ID}})
		}
		if strings.HasPrefix(msg.Protocol, "NTLMv1") {
			a.finding(s, Finding{Severity: SeverityWarning, Code: "ntlm_v1", Title: "NTLMv1 used",
				Detail:  fmt.Sprintf("%s sent an %s response to %s.", firstNonEmpty(msg.Workstation, "The client"), msg.Protocol, host),
				Hint:    "NTLMv1 is weak and blocked by current Windows policies; set 'Network security: LAN Manager authentication level' to send NTLMv2 only, and prefer Kerberos.",
				FlowIDs: []int{f.ID}})
		}
		if resp != nil && resp.Status == 401 {
			a.finding(s, Finding{Severity: SeverityError, Code: "windows_auth_refused", Title: "Windows authentication refused",
				Detail:  fmt.Sprintf("%s answered 401 to the NTLM AUTHENTICATE of %s.", host, firstNonEmpty(s.User, "the user")),
				Hint:    "Wrong password, a locked or disabled account, or the account has no access to the site; check the server's Security event log (event 4625) at this time.",
				FlowIDs: []int{f.ID}})
			s.fail("HTTP 401 after NTLM AUTHENTICATE")
		} else if resp != nil && resp.Status < 400 && s.Protocol == "windows" {
			s.gotToken = true
		}
	}
	return s
}

// winAuth records a handshake's facts on s once per distinct set of facts.
func (a *Analyzer) winAuth(s *signin, f *trace.Flow, kind string, facts []KV) {
	var kept []KV
	for _, kv := range facts {
		if kv.Value != "" {
			kept = append(kept, kv)
		}
	}
	for _, w := range s.WindowsAuth {
		if w.Kind == kind && fmt.Sprint(w.Facts) == fmt.Sprint(kept) {
			return
		}
	}
	if len(s.WindowsAuth) < 20 {
		s.WindowsAuth = append(s.WindowsAuth, WindowsAuth{FlowID: f.ID, Kind: kind, Facts: kept})
	}
}

// seamlessSSO reports Entra Seamless SSO: a Kerberos ticket sent to
// autologon.microsoftazuread-sso.com, or its absence.
func (a *Analyzer) seamlessSSO(f *trace.Flow, s *signin, sent bool) {
	a.winAuth(s, f, "seamless_sso", []KV{{"host", seamlessSSOHost}})
	stepDetail(s, f, "Seamless SSO")
	if sent {
		delete(a.ssoPending, s.ID)
		return
	}
	if f.Response != nil && f.Response.Status == 401 {
		if _, ok := a.ssoPending[s.ID]; !ok {
			a.ssoPending[s.ID] = f.ID
		}
	}
}

// finishSeamlessSSO reports the sign-ins whose Seamless SSO challenge the
// browser never answered with a Kerberos ticket.
func (a *Analyzer) finishSeamlessSSO() {
	for _, s := range a.signins {
		id, ok := a.ssoPending[s.ID]
		if !ok {
			continue
		}
		a.finding(s, Finding{Severity: SeverityWarning, Code: "seamless_sso_no_ticket", Title: "Seamless SSO: the browser sent no Kerberos ticket",
			Detail:  "Entra asked the browser for a Kerberos ticket at " + seamlessSSOHost + " and got none, so the user is asked for a password.",
			Hint:    "Add https://" + seamlessSSOHost + " to the Local intranet zone (or the browser's allow list), check that the device is domain-joined with line of sight to a domain controller, and that the AZUREADSSOACC computer account's key is not stale.",
			FlowIDs: []int{id}})
	}
}

// prtSeen notes that the browser sent a Windows primary refresh token cookie.
func (a *Analyzer) prtSeen(f *trace.Flow, s *signin) {
	if s == nil {
		s = a.get(a.lastEntra)
	}
	a.finding(s, Finding{Severity: SeverityInfo, Code: "prt_cookie_sent", Title: "Windows primary refresh token cookie sent",
		Detail:  "The browser sent the device's primary refresh token cookie (x-ms-RefreshTokenCredential): single sign-on from an Entra-joined or registered Windows device, which also proves the device to Conditional Access. Its value is never shown.",
		Hint:    "If a device-based policy still fails, run dsregcmd /status on the device (AzureAdPrt : YES) and check that the browser is Edge or Chrome with the Windows accounts extension.",
		FlowIDs: []int{f.ID}})
	if s != nil {
		a.winAuth(s, f, "prt", nil)
		stepDetail(s, f, "primary refresh token cookie sent")
	}
}
