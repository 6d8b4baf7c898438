package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/decode/oauth"
	"github.com/idtrace/idtrace/internal/kb"
	"github.com/idtrace/idtrace/internal/trace"
)

// scanTokens finds every JWT in the flow's URL, headers, bodies and Location.
func (a *Analyzer) scanTokens(f *trace.Flow, s *signin, _ url.Values, _ url.Values) {
	req := f.Request
	a.scanText(f, s, req.URL, "request.url", true)
	for _, h := range req.Headers {
		if strings.EqualFold(h.Name, "Cookie") {
			a.scanText(f, s, h.Value, "request.header.Cookie", true)
			continue
		}
		a.scanText(f, s, h.Value, "request.header."+h.Name, true)
	}
	if len(req.Body) > 0 && bytes.Contains(req.Body, eyJ) {
		a.scanText(f, s, bodyText(req.Body, a.opts.MaxBody), "request.body", true)
	}
	if r := f.Response; r != nil {
		for _, h := range r.Headers {
			if strings.EqualFold(h.Name, "Location") || strings.EqualFold(h.Name, "Set-Cookie") {
				a.scanText(f, s, h.Value, "response.header."+h.Name, false)
			}
		}
		if len(r.Body) > 0 && bytes.Contains(r.Body, eyJ) {
			a.scanText(f, s, bodyText(r.Body, a.opts.MaxBody), "response.body", false)
		}
	}
}

var eyJ = []byte("eyJ")

func bodyText(b []byte, max int) string {
	if len(b) > max {
		b = b[:max]
	}
	return string(b)
}

// nameBefore returns the parameter or JSON member name just before text[start]:
// `id_token=`, `"access_token":"`, `Bearer `.
func nameBefore(text string, start int) string {
	i := start
	for i > 0 && strings.IndexByte("\"': =\t\\", text[i-1]) >= 0 && start-i < 6 {
		i--
	}
	j := i
	for j > 0 {
		c := text[j-1]
		if c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			j--
			continue
		}
		break
	}
	return text[j:i]
}

// htmlInputName returns X for `<input name="X" value="<start>`, the form
// field a token sits in (the IdP's auto-posting form_post page); "value" if none.
func htmlInputName(text string, start int) string {
	from := max(0, start-300)
	tag := text[from:start]
	if i := strings.LastIndexByte(tag, '<'); i >= 0 {
		tag = tag[i:]
	} else {
		return "value"
	}
	i := strings.Index(tag, `name="`)
	if i < 0 {
		return "value"
	}
	rest := tag[i+len(`name="`):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return rest[:j]
	}
	return "value"
}

var kindByName = map[string]string{
	"id_token": "id_token", "access_token": "access_token", "refresh_token": "refresh_token",
	"client_assertion": "client_assertion", "assertion": "assertion", "bearer": "access_token",
	"logout_hint": "jwt", "id_token_hint": "id_token", "request": "request_object",
}

func (a *Analyzer) scanText(f *trace.Flow, s *signin, text, where string, inRequest bool) {
	if !strings.Contains(text, "eyJ") {
		return
	}
	for m := range jwt.All(text) {
		name := nameBefore(text, m.Start)
		if name == "value" {
			name = htmlInputName(text, m.Start)
		}
		w := where
		if name != "" && !strings.EqualFold(name, "Bearer") {
			sep := "."
			if strings.HasSuffix(where, "Location") {
				sep = "#"
			}
			w += sep + name
		}
		a.addToken(f, s, m.Token, w, strings.ToLower(name), inRequest)
	}
}

func (a *Analyzer) addToken(f *trace.Flow, s *signin, raw, where, name string, inRequest bool) {
	key := fp(raw)
	if i, ok := a.tokIndex[key]; ok {
		t := &a.rep.Tokens[i]
		t.Seen++
		if t.SignIn == 0 && s != nil {
			t.SignIn = s.ID
			s.Tokens = append(s.Tokens, i)
		}
		if inRequest {
			a.checkUse(f, s, t, i)
		}
		return
	}
	tok, err := jwt.Parse(raw)
	if err != nil {
		return
	}
	t := Token{FlowID: f.ID, Where: where, Fingerprint: key[:12], Seen: 1, Encrypted: tok.Encrypted,
		Header: objectJSON(&tok.Header), Claims: objectJSON(&tok.Claims.Object), raw: raw, at: f.Started}
	if s != nil {
		t.SignIn = s.ID
	}
	t.Kind = kindByName[name]
	if !tok.Encrypted {
		if k := thirdPartyKind(where, name, &tok.Claims); k != "" {
			t.Kind = k
		}
	}
	if isPRTCookie(where, name) {
		t.Kind = "prt_cookie"
		t.Claims = claimNamesOnly(&tok.Claims.Object)
		t.Summary = []KV{{"alg", tok.Alg()}, {"note", "Windows primary refresh token cookie: its contents are never shown"}}
		a.prtSeen(f, s)
	}
	if t.Kind == "" {
		t.Kind = guessKind(tok)
	}
	if jwt.IsPRTCookieName(name) {
		t.Kind = "prt_cookie"
	}
	if t.Kind == "access_token" && s != nil {
		a.byAccess[key] = s.ID
	}
	t.Summary = summary(tok)
	if t.Kind == "prt_cookie" {
		t.Summary = append([]KV{{"what", jwt.PRTLabel}}, t.Summary...)
	}
	a.explainClaims(tok)
	if !tok.Encrypted {
		if e := tok.Claims.Expiry(); e != nil {
			t.exp = *e
		}
	}
	if !f.Started.IsZero() {
		for _, is := range jwt.CheckTimes(tok, f.Started, a.opts.Skew) {
			t.Issues = append(t.Issues, is.Code)
			a.timeFinding(f, s, &t, is)
		}
	}
	idx := len(a.rep.Tokens)
	a.tokIndex[key] = idx
	a.rep.Tokens = append(a.rep.Tokens, t)
	if s != nil {
		s.Tokens = append(s.Tokens, idx)
		a.tokenFacts(f, s, tok, &a.rep.Tokens[idx])
	}
	a.claimFindings(f, s, tok, &a.rep.Tokens[idx])
}

// checkUse runs checks on a token presented again in a later request.
func (a *Analyzer) checkUse(f *trace.Flow, s *signin, t *Token, _ int) {
	if t.raw == "" || f.Started.IsZero() {
		return
	}
	if t.exp.IsZero() || f.Started.Before(t.exp.Add(a.opts.Skew)) {
		return // not expired at this request: no need to decode it again
	}
	tok, err := jwt.Parse(t.raw)
	if err != nil {
		return
	}
	for _, is := range jwt.CheckTimes(tok, f.Started, a.opts.Skew) {
		if is.Code == jwt.IssueExpired {
			a.timeFinding(f, s, t, is)
		}
	}
}

func (a *Analyzer) timeFinding(f *trace.Flow, s *signin, t *Token, is jwt.TimeIssue) {
	switch is.Code {
	case jwt.IssueExpired:
		a.finding(s, Finding{Severity: SeverityWarning, Code: "token_expired", Title: fmt.Sprintf("Expired %s used or issued", t.Kind),
			Detail:  fmt.Sprintf("Token %s (%s) had expired at %s, %s before this request. %s", t.Fingerprint, t.Kind, is.At.UTC().Format(time.RFC3339), is.By.Round(time.Second), is.Detail),
			Hint:    "Acquire a new token before calling the API (MSAL's acquireTokenSilent does this); if tokens expire right after they are issued, check the client's clock.",
			FlowIDs: []int{f.ID}})
	case jwt.IssueNotYetValid, jwt.IssueIssuedInFuture:
		a.finding(s, Finding{Severity: SeverityWarning, Code: "clock_skew", Title: "Token times are in the future: clock skew",
			Detail:  fmt.Sprintf("Token %s: %s is %s after the time of the request that carried it. %s", t.Fingerprint, is.Claim, (-is.By).Round(time.Second), is.Detail),
			Hint:    "Synchronise the clocks of the client, the server and the capturing machine (NTP); validators usually allow 5 minutes of skew.",
			FlowIDs: []int{f.ID}})
	case jwt.IssueBadTimes:
		a.finding(s, Finding{Severity: SeverityWarning, Code: "token_bad_times", Title: "Token times are invalid",
			Detail: fmt.Sprintf("Token %s: %s", t.Fingerprint, is.Detail), Hint: "The issuer produced a malformed token; report it to its owner.", FlowIDs: []int{f.ID}})
	}
}

// tokenFacts fills sign-in facts from a token and checks it against the request.
func (a *Analyzer) tokenFacts(f *trace.Flow, s *signin, tok *jwt.Token, t *Token) {
	if tok.Encrypted {
		return
	}
	c := &tok.Claims
	if tid := c.TenantID(); tid != "" {
		switch strings.ToLower(s.Tenant) {
		case "", "common", "organizations", "consumers":
			s.Tenant = tid
		default:
			if oauth.IsGUID(s.Tenant) && !strings.EqualFold(s.Tenant, tid) && (t.Kind == "id_token" || t.Kind == "access_token") {
				a.finding(s, Finding{Severity: SeverityWarning, Code: "wrong_tenant", Title: "Token from another tenant",
					Detail: fmt.Sprintf("The sign-in went to tenant %s but token %s names tenant %s.", s.Tenant, t.Fingerprint, tid),
					Hint:   "Check the authority the app uses; a guest or multi-tenant sign-in must use the resource tenant's authority.", FlowIDs: []int{f.ID}})
			}
		}
	}
	if s.ClientID == "" && t.Kind == "access_token" && !strings.HasPrefix(t.Where, "request.") {
		a.setClient(s, c.AppID())
	}
	if s.User == "" {
		for _, k := range []string{"preferred_username", "upn", "unique_name", "email"} {
			if v := c.Str(k); v != "" {
				s.User = v
				break
			}
		}
		if e := c.Strings("emails"); s.User == "" && len(e) > 0 && (s.B2C || b2cTokenPolicy(c) != "") {
			s.User = e[0] // B2C puts a local account's addresses in emails
		}
	}
	if p := b2cTokenPolicy(c); p != "" && !strings.HasPrefix(t.Where, "request.") {
		s.B2C = true
		if s.Policy == "" {
			s.Policy = p
		}
	}
	if t.Kind == "id_token" && strings.HasSuffix(t.Where, "id_token") {
		if s.nonce != "" && c.Has("nonce") && c.Str("nonce") != s.nonce {
			a.finding(s, Finding{Severity: SeverityError, Code: "nonce_mismatch", Title: "ID token nonce does not match the request",
				Detail: fmt.Sprintf("The authorize request sent nonce %q but ID token %s carries %q.", oauth.Short(s.nonce), t.Fingerprint, oauth.Short(c.Str("nonce"))),
				Hint:   "The client must reject this ID token: it belongs to another request (or is replayed). Check that the app keeps the nonce per sign-in attempt.", FlowIDs: []int{f.ID}})
		}
		if s.ClientID != "" && len(c.Audience()) > 0 && !slices.Contains(c.Audience(), s.ClientID) {
			a.finding(s, Finding{Severity: SeverityError, Code: "wrong_audience", Title: "ID token for another client",
				Detail: fmt.Sprintf("ID token %s has audience %s, not the client %s.", t.Fingerprint, strings.Join(c.Audience(), ","), appName(s.ClientID, s.ClientName)),
				Hint:   "The client must reject an ID token whose aud is not its own client ID; check the client_id the app sends.", FlowIDs: []int{f.ID}})
		}
	}
	ver := c.Version()
	if (t.Kind == "access_token") && s.EndpointVersion != "" && ver != "" && !isMicrosoftResource(c.Audience()) {
		want := map[string]string{"v1": "1.0", "v2": "2.0"}[s.EndpointVersion]
		if want != "" && ver != want {
			a.finding(s, Finding{Severity: SeverityWarning, Code: "token_version_mismatch", Title: "Access token version differs from the endpoint version",
				Detail: fmt.Sprintf("The sign-in used the %s endpoint but access token %s for %s is version %s (issuer %s).", s.EndpointVersion, t.Fingerprint, strings.Join(c.Audience(), ","), ver, c.Issuer()),
				Hint:   "The token's version follows the API's registration (accessTokenAcceptedVersion in its manifest), not the endpoint: make the API accept this issuer, or set accessTokenAcceptedVersion to 2 for v2 tokens.", FlowIDs: []int{f.ID}})
		}
	}
}

func isMicrosoftResource(aud []string) bool {
	for _, a := range aud {
		if strings.HasSuffix(strings.TrimSuffix(a, "/"), ".microsoft.com") || strings.Contains(a, ".windows.net") || strings.Contains(a, ".azure.com") ||
			strings.Contains(a, ".office.com") || strings.Contains(a, "sharepoint.com") || strings.Contains(a, ".office365.com") {
			return true
		}
		if app, ok := kb.LookupApp(a); ok && app.Verified {
			return true
		}
	}
	return false
}

func (a *Analyzer) claimFindings(f *trace.Flow, s *signin, tok *jwt.Token, t *Token) {
	c := &tok.Claims
	if tok.Encrypted {
		return
	}
	overage := c.Has("hasgroups")
	if raw := c.Raw("_claim_names"); raw != nil && bytes.Contains(raw, []byte(`"groups"`)) {
		overage = true
	}
	if overage {
		a.finding(s, Finding{Severity: SeverityInfo, Code: "groups_overage", Title: "Groups overage: the token lists no groups",
			Detail: fmt.Sprintf("Token %s (%s) has too many groups to carry them; it points to Microsoft Graph instead (_claim_names/hasgroups).", t.Fingerprint, t.Kind),
			Hint:   "Have the app read the groups from Microsoft Graph (getMemberObjects), or emit only groups assigned to the application in the token configuration.", FlowIDs: []int{f.ID}})
	}
}

func guessKind(tok *jwt.Token) string {
	if tok.Encrypted {
		return "jwe"
	}
	if tok.IsPRT() {
		return "prt_cookie"
	}
	typ := strings.ToLower(tok.Header.Str("typ"))
	c := &tok.Claims
	switch {
	case typ == "at+jwt" || c.Has("scp") || c.Has("roles") && !c.Has("nonce"):
		return "access_token"
	case c.Has("nonce") || c.Has("at_hash") || c.Has("c_hash"):
		return "id_token"
	case c.Has("appid") || c.Has("azp") && c.Has("tid"):
		return "access_token"
	case c.Has("aud") && c.Has("sub") && c.Has("iss"):
		return "id_token"
	}
	return "jwt"
}

// summary picks the facts a reader looks at first.
func summary(tok *jwt.Token) []KV {
	var out []KV
	add := func(k, v string) {
		if v != "" {
			out = append(out, KV{k, v})
		}
	}
	add("alg", tok.Alg())
	if tok.Encrypted {
		add("enc", tok.Header.Str("enc"))
		return out
	}
	c := &tok.Claims
	add("iss", c.Issuer())
	add("aud", namedAudience(c.Audience()))
	add("ver", c.Version())
	add("tid", namedTenant(c.TenantID()))
	if app := c.AppID(); app != "" {
		add("app", appName(app, ""))
	}
	add("tfp", c.Str("tfp")) // the B2C policy that issued it
	for _, k := range []string{"upn", "preferred_username", "unique_name", "email", "sub", "oid"} {
		add(k, c.Str(k))
	}
	add("emails", strings.Join(c.Strings("emails"), " "))
	decisionFacts(c, add)
	add("scp", strings.Join(c.Scopes(), " "))
	add("roles", strings.Join(c.Roles(), " "))
	for _, k := range []string{"iat", "nbf", "exp"} {
		if tm := c.Time(k); tm != nil {
			add(k, tm.UTC().Format(time.RFC3339))
		}
	}
	return out
}

// objectJSON renders an Object as JSON in document order.
func objectJSON(o *jwt.Object) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.Keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		v := o.Values[k]
		var c bytes.Buffer
		if json.Compact(&c, v) == nil {
			b.Write(c.Bytes())
		} else {
			b.WriteString("null")
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

func (a *Analyzer) verify(t *Token) {
	if t.raw == "" {
		return
	}
	defer func() { t.raw = "" }()
	if strings.HasPrefix(t.Kind, "saml") || t.Kind == "wsfed_token" {
		return
	}
	tok, err := jwt.Parse(t.raw)
	if err != nil {
		return
	}
	v := jwt.Verify(tok, a.keys)
	t.Verified, t.Unsigned = v.Verified, v.Unsigned
	t.KeyID = v.KeyID
	t.VerifyDetail = v.Reason
	if v.Verified == nil && t.VerifyDetail == "" {
		t.VerifyDetail = "no keys"
	}
	if v.Verified != nil && !*v.Verified && t.Kind != "client_assertion" {
		a.get(t.SignIn).fail("token signature invalid")
		a.finding(a.get(t.SignIn), Finding{Severity: SeverityError, Code: "bad_signature", Title: "Token signature does not verify",
			Detail: fmt.Sprintf("Token %s (%s): %s", t.Fingerprint, t.Kind, v.Reason),
			Hint:   "A relying party must reject this token. Check that it was not altered, and that the keys used are the issuer's current ones.", FlowIDs: []int{t.FlowID}})
	}
}

// explainClaims records the kb meaning of each claim name not seen before.
func (a *Analyzer) explainClaims(tok *jwt.Token) {
	for _, k := range tok.Claims.Keys {
		if _, done := a.seenClaims[k]; done {
			continue
		}
		a.seenClaims[k] = struct{}{}
		if c, ok := lookupClaim(k); ok && c.Meaning != "" {
			if a.rep.ClaimMeanings == nil {
				a.rep.ClaimMeanings = map[string]string{}
			}
			a.rep.ClaimMeanings[k] = c.Meaning
		}
	}
}

// namedTenant names a tenant ID the knowledge base knows (Microsoft's own
// tenants) and the tenant of personal Microsoft accounts.
func namedTenant(tid string) string {
	if tid == msaTenant {
		return tid + " (personal Microsoft accounts)"
	}
	if n, ok := kb.MicrosoftTenant(tid); ok {
		return tid + " (" + n + ")"
	}
	return tid
}
