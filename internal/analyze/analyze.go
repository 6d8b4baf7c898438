package analyze

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"html"
	"mime"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/idtrace/idtrace/internal/decode/jwt"
	"github.com/idtrace/idtrace/internal/decode/oauth"
	"github.com/idtrace/idtrace/internal/kb"
	"github.com/idtrace/idtrace/internal/trace"
)

// Options tune an analysis. The zero value is usable.
type Options struct {
	// Keys are extra signing keys (from --jwks); keys found in the trace are added.
	Keys *jwt.KeySet
	// SAMLCerts are trusted SAML signing certificates (from --metadata:
	// saml.ParseMetadata(...).SigningCerts); certificates in federation
	// metadata found in the trace are added.
	SAMLCerts []*x509.Certificate
	// Skew is the clock skew allowed when checking token and SAML times; 5
	// minutes if zero (DefaultSkew).
	Skew time.Duration
	// SAMLKey is the service provider's private key: encrypted assertions
	// are decrypted with it and their own signatures checked (nil: not).
	SAMLKey *rsa.PrivateKey
	// SAMLAudience is the service provider's entity ID every SAML assertion
	// must name as its audience ("" to skip the check).
	SAMLAudience string
	// MaxBody caps how many bytes of each body are scanned; 4 MiB if zero.
	MaxBody int
	// MaxStepsPerSignIn caps the API-call steps listed per sign-in; 50 if zero.
	MaxStepsPerSignIn int
}

// Run analyses every flow of src and returns the report. It stops at the
// first error of the source and returns it with the report so far.
func Run(src trace.Source, opts Options) (*Report, error) {
	a := New(opts)
	for f, err := range src.Flows() {
		if err != nil {
			return a.Finish(), err
		}
		a.Add(f)
	}
	return a.Finish(), nil
}

// Analyzer is the streaming form of Run: Add each flow in order, then
// Finish. It keeps no reference to the flows it is given. Not safe for
// concurrent use.
type Analyzer struct {
	opts    Options
	rep     Report
	signins []*signin
	keys    *jwt.KeySet
	// stitching indexes: small keys only.
	byState    map[string]int // state -> sign-in
	byCode     map[string]int // sha(code) -> sign-in
	byRefresh  map[string]int // sha(refresh token) -> sign-in
	byAccess   map[string]int // sha(access token) -> sign-in
	byDevice   map[string]int // sha(device code) -> sign-in
	byURL      map[string]int // URL without fragment (Location targets, step URLs) -> sign-in
	byPath     map[string]int // host+path of interaction steps -> sign-in
	byRedirect map[string]int // redirect_uri -> latest sign-in that asked for it
	byWinHost  map[string]int // host -> sign-in of its Windows authentication
	byPolicy   map[string]int // B2C host|policy (lower case) -> latest sign-in of that policy
	tokIndex   map[string]int // sha(token) -> index in rep.Tokens
	endpoints  map[string]string
	lastEntra  int
	findingKey map[string]int // finding key -> index in rep.Findings
	redeemed   map[string]int // sha(code) -> flow that first redeemed it
	loops      loopState
	ssoPending map[int]int    // sign-in -> flow of an unanswered Seamless SSO challenge
	verdictKey map[string]int // sign-in|code -> index in rep.Verdict

	seenClaims   map[string]struct{}
	samlCerts    []*x509.Certificate
	pendingSAML  []pendingSAML
	pendingBytes int
}

type signin struct {
	SignIn
	state, nonce  string
	codeChallenge bool
	responded     bool
	gotToken      bool
	gotCode       bool
	gotRefresh    bool
	isPublic      bool
	tokenFlows    []int
	lastHost      string
	codeFlow      int
	codeAt        time.Time
	codeReused    bool
	polls         int
	signal        bool
	claimsIP      string
}

// fail marks the sign-in failed with a short reason, unless it already is; nil-safe.
func (s *signin) fail(reason string) {
	if s == nil || s.Result == ResultError {
		return
	}
	s.Result, s.Error = ResultError, reason
}

// New returns an Analyzer.
func New(opts Options) *Analyzer {
	if opts.Skew == 0 {
		opts.Skew = DefaultSkew
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = 4 << 20
	}
	if opts.MaxStepsPerSignIn == 0 {
		opts.MaxStepsPerSignIn = 50
	}
	a := &Analyzer{opts: opts, keys: &jwt.KeySet{},
		byState: map[string]int{}, byCode: map[string]int{}, byRefresh: map[string]int{}, byAccess: map[string]int{},
		byDevice: map[string]int{}, byURL: map[string]int{}, byPath: map[string]int{}, byRedirect: map[string]int{}, byWinHost: map[string]int{}, byPolicy: map[string]int{}, tokIndex: map[string]int{},
		endpoints: map[string]string{}, findingKey: map[string]int{}, redeemed: map[string]int{}, seenClaims: map[string]struct{}{}}
	a.loops = newLoopState()
	a.ssoPending, a.verdictKey = map[int]int{}, map[string]int{}
	if opts.Keys != nil {
		a.keys = a.keys.Merge(opts.Keys)
	}
	a.rep.Flows, a.rep.Tokens, a.rep.Findings, a.rep.Verdict = []SignIn{}, []Token{}, []Finding{}, []Failure{}
	a.addSAMLCerts(opts.SAMLCerts)
	return a
}

func fp(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:16]
}

// stripURL keeps scheme, host and path.
func stripURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			return raw[:i]
		}
		return raw
	}
	return u.Scheme + "://" + u.Host + u.Path
}

// noFragment drops the fragment.
func noFragment(raw string) string {
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		return raw[:i]
	}
	return raw
}

func (a *Analyzer) get(id int) *signin {
	if id <= 0 || id > len(a.signins) {
		return nil
	}
	return a.signins[id-1]
}

func (a *Analyzer) newSignIn(protocol, grant string) *signin {
	s := &signin{SignIn: SignIn{ID: len(a.signins) + 1, Protocol: protocol, Grant: grant, Steps: []Step{}}}
	a.signins = append(a.signins, s)
	return s
}

func (a *Analyzer) addStep(s *signin, f *trace.Flow, kind string) {
	if s == nil {
		return
	}
	if n := len(s.Steps); n > 0 && s.Steps[n-1].FlowID == f.ID {
		if kind != "page" && s.Steps[n-1].Kind == "page" {
			s.Steps[n-1].Kind = kind
		}
		return
	}
	if kind == "api" {
		apis := 0
		for _, st := range s.Steps {
			if st.Kind == "api" {
				apis++
			}
		}
		if apis >= a.opts.MaxStepsPerSignIn {
			s.MoreSteps++
			return
		}
	}
	st := Step{FlowID: f.ID, Kind: kind, Time: f.Started}
	if f.Request != nil {
		st.Method, st.URL = f.Request.Method, stripURL(f.Request.URL)
		a.byURL[noFragment(f.Request.URL)] = s.ID
		if u, err := url.Parse(f.Request.URL); err == nil && kind != "api" {
			a.byPath[u.Host+u.Path] = s.ID
		}
	}
	if f.Response != nil {
		st.Status = f.Response.Status
	}
	s.Steps = append(s.Steps, st)
}

// finding adds a finding once per (code, sign-in, detail).
func (a *Analyzer) finding(s *signin, f Finding) {
	if s != nil {
		f.SignIn = s.ID
	}
	k := fmt.Sprintf("%s|%d|%s", f.Code, f.SignIn, f.Detail)
	if i, ok := a.findingKey[k]; ok {
		g := &a.rep.Findings[i]
		for _, id := range f.FlowIDs {
			if !slices.Contains(g.FlowIDs, id) && len(g.FlowIDs) < 100 {
				g.FlowIDs = append(g.FlowIDs, id)
			}
		}
		return
	}
	a.findingKey[k] = len(a.rep.Findings)
	if f.FlowIDs == nil {
		f.FlowIDs = []int{}
	}
	a.rep.Findings = append(a.rep.Findings, f)
}

// Add analyses one flow. It does not keep f.
func (a *Analyzer) Add(f *trace.Flow) {
	if f == nil || f.Request == nil {
		return
	}
	a.rep.FlowsRead++
	if !f.Started.IsZero() {
		t := f.Started
		if a.rep.Started == nil || t.Before(*a.rep.Started) {
			a.rep.Started = &t
		}
		if a.rep.Ended == nil || t.After(*a.rep.Ended) {
			a.rep.Ended = &t
		}
	}
	req, resp := f.Request, f.Response
	ep := a.endpoint(req.URL)
	u, _ := url.Parse(req.URL)
	var query url.Values
	if u != nil {
		query = u.Query()
	}
	var form url.Values
	if isForm(req) {
		if len(req.Body) <= a.opts.MaxBody {
			form, _ = url.ParseQuery(string(req.Body))
		}
	}
	var s *signin
	kind := ""

	// 1. Which sign-in does this flow belong to?
	switch {
	case oauth.IsAuthorizeRequest(query) && (ep.Kind == oauth.KindAuthorize || ep.Kind == "" || ep.Entra):
		s = a.authorize(f, query, ep)
		kind = "authorize"
		defer a.noteAuthorize(f, s, query)
	case req.Method == "POST" && form != nil && oauth.IsAuthorizeRequest(form) && ep.Kind == oauth.KindAuthorize:
		s = a.authorize(f, form, ep)
		kind = "authorize"
		defer a.noteAuthorize(f, s, form)
	case req.Method == "POST" && form != nil && oauth.IsTokenRequest(form):
		s = a.tokenRequest(f, form, ep)
		kind = "token"
	case req.Method == "POST" && form != nil && isAuthzResponse(form):
		s = a.callback(f, form, "form_post")
		kind = "callback"
	case ep.Kind == oauth.KindDeviceCode && req.Method == "POST":
		s = a.newSignIn("oauth2", oauth.GrantDeviceCode)
		a.fillFromEndpoint(s, ep, req.URL)
		if form != nil {
			a.setClient(s, form.Get("client_id"))
			a.setScope(s, form.Get("scope"), form.Get("resource"))
		}
		kind = "device_code"
	}
	if s == nil {
		// A redirect callback with the response in the query (fragment never reaches the server).
		if r, ok := oauth.ParseAuthorizeResponse(query, "query"); ok && !oauth.IsAuthorizeRequest(query) && ep.Kind == "" {
			if id := a.byURL[noFragment(req.URL)]; id > 0 || a.byState[r.State] > 0 {
				s = a.callback(f, query, "query")
				kind = "callback"
			}
		}
	}
	if s == nil {
		s = a.get(a.byURL[noFragment(req.URL)])
		if s == nil {
			s = a.get(a.byURL[noFragment(req.Headers.Get("Referer"))])
			if s != nil && (u == nil || s.lastHost != u.Host) {
				s = nil // a page the sign-in's page linked to elsewhere (CDN, app) is not a step
			}
		}
		if s == nil && u != nil {
			s = a.byPathPrefix(u)
		}
		b2cPage := false
		if s == nil && u != nil {
			// A page of a B2C policy (SelfAsserted, api/...) names its policy.
			if p, _ := b2cEvidence(f, u, query, form); p != "" {
				s = a.get(a.byPolicy[policyKey(u.Host, p)])
				b2cPage = s != nil
			}
		}
		if s == nil && ep.Entra && ep.Kind != "" && ep.Kind != oauth.KindDiscovery && ep.Kind != oauth.KindJWKS {
			s = a.get(a.lastEntra)
		}
		if s != nil {
			kind = "page"
			switch ep.Kind {
			case oauth.KindLogin, oauth.KindKMSI, oauth.KindSAS, oauth.KindGetCredentialType, oauth.KindReprocess:
				kind = "login"
			}
			if b2cPage {
				kind = "login"
			}
		}
	}
	if ep.Kind == oauth.KindDiscovery || ep.Kind == oauth.KindJWKS {
		kind = ep.Kind
	}
	// API call bearing a token this trace issued.
	if s == nil {
		if tok := bearer(req.Headers.Get("Authorization")); tok != "" {
			if id := a.byAccess[fp(tok)]; id > 0 {
				s = a.get(id)
				kind = "api"
			}
		}
	}
	if s != nil && u != nil {
		s.lastHost = u.Host
	}
	if s != nil && kind != "" {
		a.addStep(s, f, kind)
	}
	a.noteB2C(f, s, u, query, form)
	if ep.Entra && ep.Kind == oauth.KindSAS {
		a.processAuth(f, s, form)
	}
	if ep.Entra && ep.Kind == oauth.KindKMSI {
		a.kmsiAnswer(f, s, form)
	}
	if s == nil || s.Federation != nil {
		if fs := a.federationHop(f, query); fs != nil {
			s = fs
			a.addStep(s, f, "federation")
		}
	}
	s = a.windowsAuth(f, s)
	a.wsTrustFault(f, s)
	if ep.Entra {
		a.noteCookies(f, s)
		defer a.estsSetCookies(f, s) // after what the page showed, in the step's detail
	}

	// 2. The response.
	if resp != nil {
		a.response(f, s, ep, kind)
	}

	// 3. SAML and WS-Fed messages, federation metadata.
	if !a.samlFederation(f, s, query, form) {
		a.samlFlow(f, s, query, form)
	}
	a.metadataFlow(f)

	// 4. Every token wherever it is.
	a.scanTokens(f, s, query, form)

	// 5. Generic checks.
	a.thirdPartyCookies(f, s, query, ep)
}

func (a *Analyzer) endpoint(raw string) oauth.Endpoint {
	ep := oauth.ClassifyURL(raw)
	if k, ok := a.endpoints[stripURL(raw)]; ok {
		ep.Kind = k
	}
	return ep
}

func (a *Analyzer) byPathPrefix(u *url.URL) *signin {
	p := u.Path
	for p != "" && p != "/" {
		i := strings.LastIndexByte(p, '/')
		if i <= 0 {
			break
		}
		p = p[:i]
		if id, ok := a.byPath[u.Host+p]; ok && strings.Count(p, "/") >= 2 {
			return a.get(id)
		}
	}
	return nil
}

func isForm(r *trace.Request) bool {
	if !r.HasBody && len(r.Body) == 0 {
		return false
	}
	ct := r.MimeType
	if ct == "" {
		ct = r.Headers.Get("Content-Type")
	}
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == "application/x-www-form-urlencoded"
}

func isAuthzResponse(v url.Values) bool {
	return (v.Get("code") != "" || v.Get("id_token") != "" || v.Get("access_token") != "" || v.Get("error") != "") &&
		v.Get("grant_type") == "" && v.Get("client_id") == ""
}

func bearer(h string) string {
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func (a *Analyzer) fillFromEndpoint(s *signin, ep oauth.Endpoint, raw string) {
	if u, err := url.Parse(raw); err == nil {
		s.IdP = u.Host
	}
	if ep.Entra {
		s.Cloud, s.EndpointVersion = ep.Cloud, ep.Version
		if ep.Tenant != "" && s.Tenant == "" {
			s.Tenant = ep.Tenant
		}
		a.lastEntra = s.ID
	}
}

func (a *Analyzer) setClient(s *signin, id string) {
	if id == "" || s.ClientID != "" {
		return
	}
	s.ClientID = id
	if app, ok := kb.LookupApp(id); ok {
		s.ClientName = app.Name
	}
}

func (a *Analyzer) setScope(s *signin, scope, resource string) {
	if scope != "" && len(s.Scopes) == 0 {
		s.Scopes = oauth.Scopes(scope)
	}
	if resource != "" && s.Resource == "" {
		s.Resource = resource
	}
}

func (a *Analyzer) authorize(f *trace.Flow, v url.Values, ep oauth.Endpoint) *signin {
	ar := oauth.ParseAuthorizeRequest(v)
	// A repeat of the same authorize request (same state) continues its sign-in.
	if ar.State != "" {
		if s := a.get(a.byState[ar.State]); s != nil && s.ClientID == ar.ClientID && !s.responded {
			return s
		}
	}
	proto := "oauth2"
	if ar.IsOIDC() {
		proto = "oidc"
	}
	grant := map[string]string{"code": oauth.GrantAuthorizationCode, "implicit": "implicit", "hybrid": "hybrid"}[ar.Flow()]
	s := a.newSignIn(proto, grant)
	a.fillFromEndpoint(s, ep, f.Request.URL)
	a.setClient(s, ar.ClientID)
	a.setScope(s, ar.Scope, ar.Resource)
	s.User = ar.LoginHint
	s.RedirectURI, s.ResponseType, s.ResponseMode = ar.RedirectURI, ar.ResponseType, ar.ResponseMode
	s.state, s.nonce = ar.State, ar.Nonce
	if ar.CodeChallenge != "" {
		s.codeChallenge = true
		s.PKCE = ar.CodeChallengeMethod
		if s.PKCE == "" {
			s.PKCE = "plain"
		}
	}
	if ar.State != "" {
		a.byState[ar.State] = s.ID
	}
	if ar.RedirectURI != "" {
		a.byRedirect[stripURL(ar.RedirectURI)] = s.ID
	}
	if ar.Flow() == "implicit" || ar.Flow() == "hybrid" {
		s.isPublic = ar.Flow() == "implicit"
	}
	return s
}

// callback handles an authorization response delivered to the client
// (form_post body or redirect query).
func (a *Analyzer) callback(f *trace.Flow, v url.Values, mode string) *signin {
	r, _ := oauth.ParseAuthorizeResponse(v, mode)
	s := a.get(a.byState[r.State])
	if s == nil {
		s = a.get(a.byURL[noFragment(f.Request.URL)])
		if s == nil {
			s = a.get(a.byURL[noFragment(f.Request.Headers.Get("Referer"))])
		}
		if s == nil {
			if r := a.get(a.byRedirect[stripURL(f.Request.URL)]); r != nil && !r.responded {
				s = r
			}
		}
	}
	if s == nil {
		s = a.newSignIn("oauth2", "")
		s.RedirectURI = stripURL(f.Request.URL)
	}
	a.authzResponse(f, s, r)
	return s
}

// authzResponse records an authorization response for s.
func (a *Analyzer) authzResponse(f *trace.Flow, s *signin, r oauth.AuthorizeResponse) {
	s.responded = true
	if s.ResponseMode == "" && r.Mode != "" && r.Mode != "query" {
		s.ResponseMode = r.Mode
	}
	if s.state != "" && r.State != s.state {
		a.finding(s, Finding{Severity: SeverityError, Code: "state_mismatch", Title: "State does not match the request",
			Detail:  fmt.Sprintf("The authorization response carried state %q but the request sent %q.", oauth.Short(r.State), oauth.Short(s.state)),
			Hint:    "The client must send back exactly the state it generated; a mismatch means a mixed-up session, a replay or a forged response (CSRF). Check that the app keeps state per browser tab and does not lose its session cookie across the redirect.",
			FlowIDs: []int{f.ID}})
	}
	if r.Code != "" {
		s.gotCode = true
		s.codeFlow, s.codeAt = f.ID, f.Started
		a.byCode[fp(r.Code)] = s.ID
	}
	if r.IDToken != "" || r.AccessToken != "" {
		s.gotToken = true
	}
	if r.AccessToken != "" {
		a.byAccess[fp(r.AccessToken)] = s.ID
	}
	if r.Error != nil {
		a.oauthError(f, s, r.Error, "authorize")
	}
}

func (a *Analyzer) tokenRequest(f *trace.Flow, v url.Values, ep oauth.Endpoint) *signin {
	tr := oauth.ParseTokenRequest(v, f.Request.Headers.Get("Authorization"))
	var s *signin
	switch tr.Grant {
	case oauth.GrantAuthorizationCode:
		s = a.get(a.byCode[fp(tr.Code)])
		if first, ok := a.redeemed[fp(tr.Code)]; ok && tr.Code != "" {
			a.finding(s, Finding{Severity: SeverityError, Code: "code_reused", Title: "Authorization code redeemed twice",
				Detail:  fmt.Sprintf("The code presented in flow %d was already redeemed in flow %d; servers refuse a second redemption (and may revoke the tokens of the first).", f.ID, first),
				Hint:    "Redeem each code exactly once: look for a retry, a double submit or two components (a library and the app) both exchanging it.",
				FlowIDs: []int{first, f.ID}})
			orig := s
			s = a.newSignIn("oauth2", tr.Grant)
			s.codeReused = true
			if orig != nil {
				s.Parent, s.Protocol, s.User, s.Tenant, s.RedirectURI = orig.ID, orig.Protocol, orig.User, orig.Tenant, orig.RedirectURI
			}
		} else if tr.Code != "" {
			a.redeemed[fp(tr.Code)] = f.ID
		}
	case oauth.GrantDeviceCode:
		s = a.get(a.byDevice[fp(tr.DeviceCode)])
	case oauth.GrantRefreshToken:
		parent := a.get(a.byRefresh[fp(tr.RefreshToken)])
		s = a.newSignIn("oauth2", oauth.GrantRefreshToken)
		if parent != nil {
			s.Parent = parent.ID
			s.Protocol = parent.Protocol
			s.User = parent.User
			s.Tenant = parent.Tenant
		}
	}
	if s == nil {
		proto := "oauth2"
		if oauth.HasScope(tr.Scope, "openid") {
			proto = "oidc"
		}
		s = a.newSignIn(proto, tr.Grant)
		if tr.Grant == oauth.GrantAuthorizationCode {
			s.RedirectURI = tr.RedirectURI
		}
	}
	if s.Grant == "" {
		s.Grant = tr.Grant
	}
	if tr.Assertion != "" && s.Parent == 0 {
		// On-behalf-of / jwt-bearer: the assertion is a token an earlier sign-in got.
		if p := a.get(a.byAccess[fp(tr.Assertion)]); p != nil && p != s {
			s.Parent = p.ID
			if s.User == "" {
				s.User = p.User
			}
		}
	}
	if s.IdP == "" {
		a.fillFromEndpoint(s, ep, f.Request.URL)
	} else if ep.Entra {
		a.lastEntra = s.ID
		if s.EndpointVersion == "" {
			s.EndpointVersion = ep.Version
		}
	}
	a.setClient(s, tr.ClientID)
	a.setScope(s, tr.Scope, tr.Resource)
	if s.User == "" {
		s.User = tr.Username
	}
	if s.ClientAuth == "" || s.ClientAuth == oauth.AuthNone {
		s.ClientAuth = tr.ClientAuth
	}
	s.tokenFlows = append(s.tokenFlows, f.ID)
	if tr.Grant == oauth.GrantAuthorizationCode {
		public := tr.ClientAuth == oauth.AuthNone || f.Request.Headers.Get("Origin") != ""
		if public && !s.codeChallenge && !tr.CodeVerifier {
			a.finding(s, Finding{Severity: SeverityWarning, Code: "pkce_missing", Title: "Public client without PKCE",
				Detail:  fmt.Sprintf("Client %s redeemed an authorization code without client authentication and without a PKCE code_verifier.", appName(tr.ClientID, "")),
				Hint:    "Send code_challenge (S256) on the authorize request and code_verifier on the token request; Entra requires PKCE for single-page apps and recommends it for every public client.",
				FlowIDs: []int{f.ID}})
		}
		if s.codeChallenge && !tr.CodeVerifier {
			a.finding(s, Finding{Severity: SeverityError, Code: "pkce_verifier_missing", Title: "code_verifier missing",
				Detail: "The authorize request sent a code_challenge but the token request has no code_verifier.",
				Hint:   "Send the code_verifier that produced the code_challenge; the server will refuse the code otherwise.", FlowIDs: []int{f.ID}})
		}
		if s.PKCE == "plain" {
			a.finding(s, Finding{Severity: SeverityWarning, Code: "pkce_plain", Title: "PKCE with the plain method",
				Detail: "code_challenge_method is plain (or missing): the challenge is the verifier itself.",
				Hint:   "Use code_challenge_method=S256.", FlowIDs: []int{f.ID}})
		}
	}
	return s
}

func (a *Analyzer) response(f *trace.Flow, s *signin, ep oauth.Endpoint, kind string) {
	resp := f.Response
	loc := resp.Headers.Get("Location")
	if loc == "" {
		loc = resp.RedirectURL
	}
	if loc != "" {
		if u, err := url.Parse(f.Request.URL); err == nil {
			if lu, err := u.Parse(loc); err == nil {
				loc = lu.String()
			}
		}
		if s != nil {
			a.byURL[noFragment(loc)] = s.ID
		}
		if r, ok := oauth.ParseRedirect(loc); ok && s == nil && r.State != "" && (r.Error != nil || r.Code != "") {
			// A redirect from a page of the IdP the trace did not tie to a
			// sign-in (a B2C policy's own pages): its state says whose it is.
			if s = a.get(a.byState[r.State]); s != nil {
				kind = "login"
				a.addStep(s, f, kind)
			}
		}
		if r, ok := oauth.ParseRedirect(loc); ok && s != nil && (kind == "authorize" || kind == "page" || kind == "login") {
			a.authzResponse(f, s, r)
			if r.Mode == "fragment" && r.Code != "" {
				s.isPublic = true
			}
		}
	}
	body := resp.Body
	if len(body) > a.opts.MaxBody {
		body = body[:a.opts.MaxBody]
	}
	mt := strings.ToLower(resp.MimeType)
	if mt == "" {
		mt = strings.ToLower(resp.Headers.Get("Content-Type"))
	}
	isJSON := strings.Contains(mt, "json") || (len(body) > 0 && body[0] == '{')
	if isJSON && len(body) > 0 {
		d, _ := oauth.ParseJSON(body)
		switch d.Kind {
		case "discovery":
			for u, k := range d.Discovery.Endpoints() {
				a.endpoints[stripURL(u)] = k
			}
		case "jwks":
			if ks, err := jwt.ParseJWKSFrom(body, fmt.Sprintf("flow %d", f.ID)); err == nil {
				a.keys = a.keys.Merge(ks)
			}
		case "device_code":
			if s != nil {
				a.byDevice[fp(d.Device.DeviceCode)] = s.ID
				if d.Device.VerificationURI != "" {
					a.byURL[d.Device.VerificationURI] = s.ID
				}
			}
		case "token":
			if s != nil {
				a.tokenResponse(f, s, d.Token)
			}
		case "error":
			if kind != "api" && (s != nil || kind == "token" || ep.Kind == oauth.KindToken || ep.Entra) {
				a.oauthError(f, s, d.Error, kind)
			}
		}
		if d.Kind != "error" && (kind == "token" || ep.Kind == oauth.KindToken) && resp.Status >= 400 {
			a.httpError(f, s)
		}
	} else if (kind == "token" || ep.Kind == oauth.KindToken) && resp.Status >= 400 {
		a.httpError(f, s)
	}
	// An API refusing a bearer token says why in WWW-Authenticate (RFC 6750).
	if resp.Status == 401 || resp.Status == 403 {
		a.bearerChallenge(f, s)
	}
	// An OAuth error rendered as an HTML page by the authorization server
	// (wrong redirect_uri: the server must not redirect back).
	if kind == "authorize" && resp.Status >= 400 && !isJSON && s != nil {
		if e, ok := htmlOAuthError(body); ok {
			a.oauthError(f, s, e, "error page")
		}
	}
	// The Entra sign-in page's embedded configuration and the MFA service's answers.
	if ep.Entra && (strings.Contains(mt, "html") || (len(body) > 0 && !isJSON)) {
		a.signInPage(f, s, body)
	}
	if ep.Entra && isJSON && ep.Kind == oauth.KindSAS {
		a.sasAnswer(f, s, body)
	}
	if ep.Entra && isJSON && ep.Kind == oauth.KindGetCredentialType {
		a.credentialType(f, s, body)
	}
}

func kbName(code int) string {
	if e, ok := kb.LookupError(code); ok && e.Name != "" {
		return " (" + e.Name + ")"
	}
	return ""
}

func kbMeaning(code int) string {
	if e, ok := kb.LookupError(code); ok {
		return e.Meaning
	}
	return ""
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 240 {
		s = s[:240] + "…"
	}
	return s
}

func (a *Analyzer) httpError(f *trace.Flow, s *signin) {
	sev := SeverityError
	a.finding(s, Finding{Severity: sev, Code: "token_endpoint_http_error", Title: fmt.Sprintf("Token endpoint answered HTTP %d", f.Response.Status),
		Detail:  fmt.Sprintf("%s %s returned %d without an OAuth error body.", f.Request.Method, stripURL(f.Request.URL), f.Response.Status),
		Hint:    "A 4xx without an OAuth error often means a wrong URL or method; a 5xx is the server's fault: retry later and quote the response's request ID.",
		FlowIDs: []int{f.ID}})
	if s != nil && s.Result == "" {
		s.Result = ResultError
		s.Error = fmt.Sprintf("HTTP %d from the token endpoint", f.Response.Status)
	}
}

func (a *Analyzer) tokenResponse(f *trace.Flow, s *signin, t *oauth.TokenResponse) {
	s.gotToken = true
	if s.Result == ResultError {
		// a later success (device polling, retry) wins
		s.Result, s.Error = "", ""
	}
	if t.AccessToken != "" {
		a.byAccess[fp(t.AccessToken)] = s.ID
	}
	if t.RefreshToken != "" {
		s.gotRefresh = true
		a.byRefresh[fp(t.RefreshToken)] = s.ID
	}
	if t.Scope != "" && len(s.Scopes) == 0 {
		s.Scopes = oauth.Scopes(t.Scope)
	}
	if t.RefreshToken == "" && (s.Grant == oauth.GrantAuthorizationCode || s.Grant == oauth.GrantDeviceCode || s.Grant == "hybrid") {
		asked := false
		for _, sc := range s.Scopes {
			if strings.EqualFold(sc, "offline_access") {
				asked = true
			}
		}
		if !asked {
			a.finding(s, Finding{Severity: SeverityInfo, Code: "no_refresh_token", Title: "No refresh token issued",
				Detail: "The token response has no refresh_token and the request did not ask for the offline_access scope.",
				Hint:   "Add offline_access to the requested scopes if the app needs to renew tokens without the user.", FlowIDs: []int{f.ID}})
		}
	}
	if t.ClientInfo != "" {
		if ci, ok := oauth.ParseClientInfo(t.ClientInfo); ok && s.Tenant == "" {
			s.Tenant = ci.UTID
		}
	}
}

// Finish verifies signatures with every key seen, settles each sign-in's
// result, and returns the report. The Analyzer must not be used after.
func (a *Analyzer) Finish() *Report {
	for i := range a.rep.Tokens {
		a.verify(&a.rep.Tokens[i])
	}
	a.finishSAML()
	a.finishLoops()
	a.finishSeamlessSSO()
	a.rep.setVerdicts()
	for _, s := range a.signins {
		if s.Result == "" {
			switch {
			case s.gotToken || (s.gotCode && len(s.tokenFlows) == 0):
				s.Result = ResultSuccess
			default:
				s.Result = ResultIncomplete
			}
		}
		if s.Result == ResultIncomplete && !s.signal && (s.Grant != "" || s.Protocol == "saml") {
			a.finding(s, Finding{Severity: SeverityInfo, Code: "incomplete_signin", Title: "Sign-in did not finish in this trace",
				Detail:  fmt.Sprintf("Sign-in %d (%s %s) has no token, code or assertion in the trace.", s.ID, s.Protocol, s.Grant),
				Hint:    "The capture may have stopped too early, or the user abandoned the sign-in; capture again through to the app's page.",
				FlowIDs: firstStep(s)})
		}
		sort.Ints(s.Tokens)
		a.rep.Flows = append(a.rep.Flows, s.SignIn)
	}
	a.finishVerdict()
	for _, k := range a.keys.Keys {
		a.rep.Keys = append(a.rep.Keys, KeyInfo{KeyID: firstNonEmpty(k.KeyID, k.X5t), Source: k.Source})
	}
	sort.SliceStable(a.rep.Findings, func(i, j int) bool {
		fi, fj := a.rep.Findings[i], a.rep.Findings[j]
		if SeverityRank(fi.Severity) != SeverityRank(fj.Severity) {
			return SeverityRank(fi.Severity) > SeverityRank(fj.Severity)
		}
		return minID(fi.FlowIDs) < minID(fj.FlowIDs)
	})
	r := a.rep
	return &r
}

func firstStep(s *signin) []int {
	if len(s.Steps) > 0 {
		return []int{s.Steps[0].FlowID}
	}
	return []int{}
}

func minID(ids []int) int {
	m := 1 << 30
	for _, id := range ids {
		m = min(m, id)
	}
	return m
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// thirdPartyCookies flags a silent authorize request from a cross-site
// iframe that carried no cookie and failed for lack of a session.
func (a *Analyzer) thirdPartyCookies(f *trace.Flow, s *signin, q url.Values, ep oauth.Endpoint) {
	if q.Get("prompt") != "none" || f.Response == nil {
		return
	}
	h := f.Request.Headers
	if !strings.EqualFold(h.Get("Sec-Fetch-Dest"), "iframe") || !strings.EqualFold(h.Get("Sec-Fetch-Site"), "cross-site") {
		return
	}
	hasSession := len(oauth.ESTSCookies(h.Get("Cookie"))) > 0 || (!ep.Entra && h.Get("Cookie") != "")
	if hasSession {
		return
	}
	loc := f.Response.Headers.Get("Location")
	r, ok := oauth.ParseRedirect(loc)
	failed := ok && r.Error != nil && (r.Error.Error == "login_required" || r.Error.Error == "interaction_required" || r.Error.AADSTS == 50058)
	if !failed {
		return
	}
	a.finding(s, Finding{Severity: SeverityWarning, Code: "third_party_cookies_blocked",
		Title:   "Silent sign-in in an iframe sent no session cookie",
		Detail:  fmt.Sprintf("A prompt=none authorize request from a cross-site iframe to %s carried no sign-in cookie and failed with %s: the browser is most likely blocking third-party cookies.", f.Request.Host(), r.Error.Error),
		Hint:    "Do not rely on iframes for silent renewal: use refresh tokens (MSAL.js 2+ with the code flow does), or a redirect/popup; or allow third-party cookies for the identity provider.",
		FlowIDs: []int{f.ID}})
}

var htmlErrRE = regexp.MustCompile(`\b(invalid_redirect_uri|redirect_uri_mismatch|invalid_request|invalid_client|unauthorized_client|access_denied|unsupported_response_type|invalid_scope|server_error)\b`)
var tagRE = regexp.MustCompile(`<[^>]*>`)

// htmlOAuthError finds an OAuth error code and its description in an HTML
// error page (oidc-provider, Google and others render them as text).
func htmlOAuthError(body []byte) (*oauth.ErrorResponse, bool) {
	if len(body) > 1<<20 {
		body = body[:1<<20]
	}
	text := html.UnescapeString(tagRE.ReplaceAllString(string(body), " "))
	loc := htmlErrRE.FindStringIndex(text)
	if loc == nil {
		return nil, false
	}
	e := &oauth.ErrorResponse{Error: text[loc[0]:loc[1]]}
	rest := text[loc[1]:]
	if i := strings.Index(rest, "error_description"); i >= 0 && i < 400 {
		rest = rest[i+len("error_description"):]
	}
	rest = strings.TrimLeft(rest, " :\n\t")
	if i := strings.IndexAny(rest, "\n"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.Index(rest, "   "); i >= 0 {
		rest = rest[:i]
	}
	e.Description = strings.TrimSpace(rest)
	if len(e.Description) > 300 {
		e.Description = e.Description[:300]
	}
	e.AADSTS = oauth.AADSTS(text)
	return e, true
}

var challengeParamRE = regexp.MustCompile(`(\w+)="([^"]*)"`)

// bearerChallenge reports an API's refusal of a bearer token: a claims
// challenge (Conditional Access / continuous access evaluation) or an
// invalid_token / insufficient_scope error.
func (a *Analyzer) bearerChallenge(f *trace.Flow, s *signin) {
	if bearer(f.Request.Headers.Get("Authorization")) == "" {
		return
	}
	for _, h := range f.Response.Headers.Values("WWW-Authenticate") {
		if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(h)), "bearer") {
			continue
		}
		params := map[string]string{}
		for _, m := range challengeParamRE.FindAllStringSubmatch(h, 20) {
			params[strings.ToLower(m[1])] = m[2]
		}
		host := f.Request.Host()
		switch {
		case params["error"] == "insufficient_claims" || params["claims"] != "":
			why := "Conditional Access or continuous access evaluation needs a new token"
			desc := params["error_description"]
			switch {
			case strings.Contains(desc, "TokenCreatedWithOutdatedPolicies"):
				why = "the token was issued under Conditional Access policies that have changed since (continuous access evaluation)"
			case strings.Contains(desc, "TokenIssuedBeforeRevocationTimestamp") || strings.Contains(desc, "revoked"):
				why = "the user's sessions were revoked (password change, admin revocation, user disabled) after the token was issued (continuous access evaluation)"
			case strings.Contains(strings.ToLower(desc), "ip") || strings.Contains(desc, "Location"):
				why = "the request comes from an IP address or location the policy does not allow for this token (continuous access evaluation, strict location enforcement)"
			}
			detail := fmt.Sprintf("%s refused the token with a claims challenge (HTTP %d): %s.", host, f.Response.Status, why)
			if c, err := oauth.ParseClaimsRequest(params["claims"]); err == nil && params["claims"] != "" {
				var asks []string
				for _, ask := range c.Asks {
					asks = append(asks, ask.Name+" ("+ask.Explain(f.Started)+")")
				}
				detail += " The challenge asks for " + strings.Join(asks, "; ") + "."
			}
			if desc != "" {
				detail += " Description: " + firstLine(desc)
			}
			a.finding(s, Finding{Severity: SeverityWarning, Code: "api_claims_challenge", Title: "API sent a claims challenge",
				Detail:  detail,
				Hint:    "The client must request a new token interactively, passing the challenge's claims parameter to the authorize request (MSAL: WithClaims / claims in the request); retrying with the cached token will keep failing. Only clients that declare the CP1 capability (xms_cc) get such challenges instead of short-lived tokens.",
				FlowIDs: []int{f.ID}})
		case params["error"] == "invalid_token":
			a.finding(s, Finding{Severity: SeverityWarning, Code: "api_invalid_token", Title: "API rejected the access token",
				Detail:  fmt.Sprintf("%s answered %d invalid_token: %s", host, f.Response.Status, params["error_description"]),
				Hint:    "Compare the token's aud, iss, scp/roles and exp (see Tokens) with what the API expects; an expired or wrong-audience token is the usual cause.",
				FlowIDs: []int{f.ID}})
		case params["error"] == "insufficient_scope":
			a.finding(s, Finding{Severity: SeverityWarning, Code: "api_insufficient_scope", Title: "Token lacks a required permission",
				Detail:  fmt.Sprintf("%s answered %d insufficient_scope (needs %q).", host, f.Response.Status, params["scope"]),
				Hint:    "Request the missing scope (and get consent for it), or assign the app role the API requires.",
				FlowIDs: []int{f.ID}})
		}
	}
}
