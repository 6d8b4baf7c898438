package saml_test

// Tests against a real SAML peer: github.com/crewjam/saml plays the
// identity provider (served over loopback HTTP with httptest) and the
// service providers. The SP builds the AuthnRequest, a "browser" (net/http)
// carries it to the IdP in the redirect binding and carries the IdP's
// auto-posting form to the SP's assertion consumer service, exactly as a
// trace would record it. Every expectation comes from crewjam's own objects
// (request IDs, entity IDs, the assertion the IdP made), never from a copy
// of our own output.
//
// crewjam keeps its clock in a package variable (crewjam.TimeNow), so these
// tests do not run in parallel.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	crewjam "github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	idsaml "github.com/idtrace/idtrace/internal/decode/saml"
)

// lockedBuffer collects crewjam's log lines (written from server goroutines).
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newKeyCert makes an RSA key and a self-signed certificate for it.
func newKeyCert(t *testing.T, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-24 * time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// crewjamIdP is a crewjam IdentityProvider served on 127.0.0.1. It
// implements crewjam's ServiceProviderProvider, SessionProvider and
// AssertionMaker interfaces so the test knows every assertion it made.
type crewjamIdP struct {
	idp     *crewjam.IdentityProvider
	srv     *httptest.Server
	log     *lockedBuffer
	session *crewjam.Session
	// metadataXML is the IdP metadata as served over HTTP.
	metadataXML []byte
	// metadata is metadataXML as crewjam's SPs read it.
	metadata *crewjam.EntityDescriptor

	mu   sync.Mutex
	sps  map[string]*crewjam.EntityDescriptor
	made []*crewjam.Assertion
}

func (p *crewjamIdP) GetServiceProvider(_ *http.Request, id string) (*crewjam.EntityDescriptor, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if md, ok := p.sps[id]; ok {
		return md, nil
	}
	return nil, os.ErrNotExist
}

func (p *crewjamIdP) GetSession(_ http.ResponseWriter, _ *http.Request, _ *crewjam.IdpAuthnRequest) *crewjam.Session {
	s := *p.session
	s.CreateTime = crewjam.TimeNow()
	s.ExpireTime = s.CreateTime.Add(time.Hour)
	return &s
}

func (p *crewjamIdP) MakeAssertion(req *crewjam.IdpAuthnRequest, s *crewjam.Session) error {
	if err := (crewjam.DefaultAssertionMaker{}).MakeAssertion(req, s); err != nil {
		return err
	}
	p.mu.Lock()
	p.made = append(p.made, req.Assertion)
	p.mu.Unlock()
	return nil
}

func (p *crewjamIdP) lastAssertion(t *testing.T) *crewjam.Assertion {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.made) == 0 {
		t.Fatal("the IdP made no assertion")
	}
	return p.made[len(p.made)-1]
}

// newCrewjamIdP starts an IdP signing with sigMethod ("" = crewjam's
// default, RSA-SHA1) and fetches its metadata over HTTP.
func newCrewjamIdP(t *testing.T, sigMethod string) *crewjamIdP {
	t.Helper()
	key, cert := newKeyCert(t, "crewjam test IdP (synthetic)")
	p := &crewjamIdP{log: &lockedBuffer{}, sps: map[string]*crewjam.EntityDescriptor{},
		session: &crewjam.Session{
			ID:             "session-1",
			Index:          "session-index-1",
			NameID:         "alice@idp.example",
			UserName:       "alice",
			UserEmail:      "alice@idp.example",
			UserCommonName: "Alice Example",
			UserGivenName:  "Alice",
			UserSurname:    "Example",
			Groups:         []string{"staff", "admins"},
		}}
	var handler http.Handler = http.NotFoundHandler()
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(p.srv.Close)
	p.idp = &crewjam.IdentityProvider{
		Key:                     key,
		Certificate:             cert,
		Logger:                  log.New(p.log, "crewjam idp: ", 0),
		MetadataURL:             mustURL(t, p.srv.URL+"/metadata"),
		SSOURL:                  mustURL(t, p.srv.URL+"/sso"),
		LogoutURL:               mustURL(t, p.srv.URL+"/slo"),
		ServiceProviderProvider: p,
		SessionProvider:         p,
		AssertionMaker:          p,
		SignatureMethod:         sigMethod,
	}
	handler = p.idp.Handler()

	resp, err := p.srv.Client().Get(p.idp.MetadataURL.String())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p.metadataXML, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("IdP metadata: status %d, %v", resp.StatusCode, err)
	}
	p.metadata = &crewjam.EntityDescriptor{}
	if err := xml.Unmarshal(p.metadataXML, p.metadata); err != nil {
		t.Fatalf("crewjam cannot read its own IdP metadata: %v", err)
	}
	return p
}

// acsPost is what the SP's assertion consumer service received.
type acsPost struct {
	body     []byte    // the raw form body, as the browser posted it
	received time.Time // when the ACS received it: the request time
	// assertion and err are crewjam's own SP verdict on the post.
	assertion *crewjam.Assertion
	err       error
}

// crewjamSP is a crewjam ServiceProvider whose ACS runs on 127.0.0.1.
type crewjamSP struct {
	sp  *crewjam.ServiceProvider
	srv *httptest.Server

	mu      sync.Mutex
	pending []string // IDs of AuthnRequests sent
	posts   []acsPost
}

// addSP starts an SP, registers its metadata (round-tripped through XML, as
// an IdP would load it) with p. With key != nil the SP advertises its
// certificate for encryption; with sigMethod != "" it signs its requests.
func (p *crewjamIdP) addSP(t *testing.T, name string, key *rsa.PrivateKey, cert *x509.Certificate, sigMethod string) *crewjamSP {
	t.Helper()
	s := &crewjamSP{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveACS))
	t.Cleanup(s.srv.Close)
	s.sp = &crewjam.ServiceProvider{
		MetadataURL:     mustURL(t, s.srv.URL+"/"+name+"/metadata"),
		AcsURL:          mustURL(t, s.srv.URL+"/"+name+"/acs"),
		IDPMetadata:     p.metadata,
		SignatureMethod: sigMethod,
	}
	if key != nil {
		s.sp.Key, s.sp.Certificate = key, cert
	}
	spXML, err := xml.Marshal(s.sp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	md := &crewjam.EntityDescriptor{}
	if err := xml.Unmarshal(spXML, md); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.sps[md.EntityID] = md
	p.mu.Unlock()
	return s
}

func (s *crewjamSP) entityID() string { return s.sp.Metadata().EntityID }

func (s *crewjamSP) serveACS(w http.ResponseWriter, r *http.Request) {
	post := acsPost{received: time.Now()}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	post.body = body
	if err == nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		err = r.ParseForm()
	}
	s.mu.Lock()
	ids := slices.Clone(s.pending)
	s.mu.Unlock()
	if err == nil {
		post.assertion, err = s.sp.ParseResponse(r, ids)
	}
	if ire, ok := err.(*crewjam.InvalidResponseError); ok {
		err = fmt.Errorf("%w: %v", err, ire.PrivateErr)
	}
	post.err = err
	s.mu.Lock()
	s.posts = append(s.posts, post)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// flow is one SP-initiated sign-in through the real peers.
type flow struct {
	authn       *crewjam.AuthnRequest
	redirectURL *url.URL // the IdP SSO URL with SAMLRequest in its query
	// formValue is the SAMLResponse value as written in the IdP's HTML form
	// (HTML-escaped); postedValue is the same field in the raw form body the
	// browser posted (percent-encoded).
	formValue, postedValue string
	post                   acsPost
	made                   *crewjam.Assertion // what the IdP put in the Response
	xml                    []byte             // the Response, decoded by DecodePost
}

var (
	formAction = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
	formInput  = regexp.MustCompile(`<input[^>]*name="([^"]*)"[^>]*value="([^"]*)"`)
)

// signIn runs an SP-initiated sign-in: AuthnRequest by redirect to the IdP,
// the IdP's auto-posting form, and the POST to the SP's ACS.
func (p *crewjamIdP) signIn(t *testing.T, s *crewjamSP, relayState string) *flow {
	t.Helper()
	f := &flow{}
	var err error
	f.authn, err = s.sp.MakeAuthenticationRequest(s.sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding),
		crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	f.redirectURL, err = f.authn.Redirect(relayState, s.sp)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.pending = append(s.pending, f.authn.ID)
	s.mu.Unlock()

	// The browser follows the redirect to the IdP.
	resp, err := p.srv.Client().Get(f.redirectURL.String())
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("IdP SSO: status %d, %v; IdP log:\n%s", resp.StatusCode, err, p.log)
	}
	// ... and submits the auto-posting form.
	am := formAction.FindSubmatch(page)
	if am == nil {
		t.Fatalf("no form in the IdP page:\n%s", page)
	}
	form := url.Values{}
	for _, in := range formInput.FindAllSubmatch(page, -1) {
		name, value := html.UnescapeString(string(in[1])), string(in[2])
		if name == "SAMLResponse" {
			f.formValue = value
		}
		form.Set(name, html.UnescapeString(value))
	}
	if f.formValue == "" {
		t.Fatalf("no SAMLResponse in the IdP page:\n%s", page)
	}
	if got := form.Get("RelayState"); got != relayState {
		t.Fatalf("IdP form RelayState = %q, want %q", got, relayState)
	}
	resp, err = s.srv.Client().PostForm(html.UnescapeString(string(am[1])), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.mu.Lock()
	if len(s.posts) == 0 {
		s.mu.Unlock()
		t.Fatalf("the form did not reach the SP's ACS (status %d)", resp.StatusCode)
	}
	f.post = s.posts[len(s.posts)-1]
	s.mu.Unlock()
	for _, kv := range strings.Split(string(f.post.body), "&") {
		if v, ok := strings.CutPrefix(kv, "SAMLResponse="); ok {
			f.postedValue = v
		}
	}
	if f.postedValue == "" {
		t.Fatalf("no SAMLResponse in the posted body %q", f.post.body)
	}
	f.made = p.lastAssertion(t)
	f.xml, err = idsaml.DecodePost(f.postedValue)
	if err != nil {
		t.Fatalf("DecodePost(posted form value): %v", err)
	}
	return f
}

func mustURL(t *testing.T, s string) url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return *u
}

func mustParse(t *testing.T, b []byte) *idsaml.Message {
	t.Helper()
	m, err := idsaml.Parse(b)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// samlTime is how crewjam writes a time on the wire: its Element methods
// format with ".999", which truncates to the millisecond.
func samlTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func codes(is []idsaml.Issue) []string {
	out := make([]string, 0, len(is))
	for _, i := range is {
		out = append(out, i.Code)
	}
	return out
}

func hasCode(is []idsaml.Issue, code string) bool {
	return slices.ContainsFunc(is, func(i idsaml.Issue) bool { return i.Code == code })
}

func verified(v idsaml.Verification) string {
	if v.Verified == nil {
		return "nil"
	}
	return fmt.Sprint(*v.Verified)
}

// signingCerts reads the IdP's metadata with our ParseMetadata and checks
// it against crewjam's IdentityProvider.
func signingCerts(t *testing.T, p *crewjamIdP) []*x509.Certificate {
	t.Helper()
	md, err := idsaml.ParseMetadata(p.metadataXML)
	if err != nil {
		t.Fatalf("ParseMetadata(crewjam IdP metadata): %v", err)
	}
	if md.EntityID != p.idp.MetadataURL.String() {
		t.Errorf("metadata EntityID = %q, want %q", md.EntityID, p.idp.MetadataURL.String())
	}
	if len(md.SigningCerts) != 1 || !md.SigningCerts[0].Equal(p.idp.Certificate) {
		t.Fatalf("metadata SigningCerts = %d certs, want exactly the IdP certificate", len(md.SigningCerts))
	}
	for _, b := range []string{crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding} {
		want := idsaml.Endpoint{Kind: "SingleSignOnService", Binding: b, Location: p.idp.SSOURL.String(), Role: "IDPSSODescriptor"}
		if !slices.Contains(md.Endpoints, want) {
			t.Errorf("metadata endpoints %+v lack %+v", md.Endpoints, want)
		}
	}
	return md.SigningCerts
}

var sigMethods = []struct{ name, method string }{
	{"crewjam default (rsa-sha1)", ""},
	{"rsa-sha256", dsig.RSASHA256SignatureMethod},
}

// TestCrewjamValidResponse: a signed Response for an SP-initiated sign-in,
// taken from the POST binding as the browser sent it.
func TestCrewjamValidResponse(t *testing.T) {
	for _, sm := range sigMethods {
		t.Run(sm.name, func(t *testing.T) {
			p := newCrewjamIdP(t, sm.method)
			certs := signingCerts(t, p)
			s := p.addSP(t, "app", nil, nil, "")
			f := p.signIn(t, s, "relay-1")
			if f.post.err != nil {
				t.Fatalf("crewjam's own SP rejected the Response: %v", f.post.err)
			}

			// The same bytes, however a trace holds the form value.
			if plain := mustFormValue(t, f.post.body); f.formValue == plain || f.postedValue == plain {
				t.Errorf("the HTML form value and the posted value should be escaped forms of the base64, got the plain value")
			}
			for name, v := range map[string]string{
				"posted body (percent-encoded)": f.postedValue,
				"HTML form value (escaped)":     f.formValue,
				"form value as the SP read it":  mustFormValue(t, f.post.body),
				"form value, line-wrapped":      wrap76(mustFormValue(t, f.post.body)),
			} {
				b, err := idsaml.DecodePost(v)
				if err != nil || !bytes.Equal(b, f.xml) {
					t.Errorf("DecodePost(%s): %d bytes, %v; want the %d bytes of the posted Response", name, len(b), err, len(f.xml))
				}
			}

			m := mustParse(t, f.xml)
			made := f.made
			checks := []struct {
				what      string
				got, want any
			}{
				{"Kind", m.Kind, "Response"},
				{"Issuer", m.Issuer, p.idp.MetadataURL.String()},
				{"Destination", m.Destination, s.sp.AcsURL.String()},
				{"InResponseTo", m.InResponseTo, f.authn.ID},
				{"Signed", m.Signed, true},
				{"Status success", m.Status.Success(), true},
				{"assertions", len(m.Assertions), 1},
				{"Problems", len(m.Problems), 0},
			}
			for _, c := range checks {
				if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			if len(m.Assertions) != 1 {
				t.FailNow()
			}
			a := m.Assertions[0]
			if a.ID != made.ID || a.ID != f.post.assertion.ID {
				t.Errorf("assertion ID = %q, IdP made %q, crewjam SP read %q", a.ID, made.ID, f.post.assertion.ID)
			}
			if a.Issuer != made.Issuer.Value || !a.Signed || a.Encrypted {
				t.Errorf("assertion Issuer %q Signed %v Encrypted %v; want %q, signed, clear", a.Issuer, a.Signed, a.Encrypted, made.Issuer.Value)
			}
			if !a.IssueInstant.Equal(samlTime(made.IssueInstant)) {
				t.Errorf("assertion IssueInstant = %v, want %v", a.IssueInstant, samlTime(made.IssueInstant))
			}
			if a.Subject == nil || a.Subject.Value != made.Subject.NameID.Value || a.Subject.Format != made.Subject.NameID.Format ||
				a.Subject.SPNameQualifier != made.Subject.NameID.SPNameQualifier {
				t.Errorf("Subject = %+v, want %+v", a.Subject, made.Subject.NameID)
			}
			if len(a.SubjectConfirmations) != 1 {
				t.Fatalf("SubjectConfirmations = %+v", a.SubjectConfirmations)
			}
			sc, msc := a.SubjectConfirmations[0], made.Subject.SubjectConfirmations[0]
			if sc.Method != msc.Method || sc.InResponseTo != f.authn.ID || sc.Recipient != msc.SubjectConfirmationData.Recipient ||
				!sc.NotOnOrAfter.Equal(samlTime(msc.SubjectConfirmationData.NotOnOrAfter)) {
				t.Errorf("SubjectConfirmation = %+v, want %+v", sc, msc.SubjectConfirmationData)
			}
			c := a.Conditions
			if c == nil {
				t.Fatal("no Conditions")
			}
			if !slices.Equal(c.Audiences, []string{made.Conditions.AudienceRestrictions[0].Audience.Value}) || c.Audiences[0] != s.entityID() {
				t.Errorf("Audiences = %q, want [%q] (the SP entity ID)", c.Audiences, s.entityID())
			}
			if !c.NotBefore.Equal(samlTime(made.Conditions.NotBefore)) || !c.NotOnOrAfter.Equal(samlTime(made.Conditions.NotOnOrAfter)) {
				t.Errorf("Conditions window %v..%v, want %v..%v", c.NotBefore, c.NotOnOrAfter, made.Conditions.NotBefore, made.Conditions.NotOnOrAfter)
			}
			if len(a.AuthnStatements) != 1 || a.AuthnStatements[0].SessionIndex != made.AuthnStatements[0].SessionIndex ||
				a.AuthnStatements[0].ClassRef != made.AuthnStatements[0].AuthnContext.AuthnContextClassRef.Value {
				t.Errorf("AuthnStatements = %+v, want %+v", a.AuthnStatements, made.AuthnStatements)
			}
			// Every attribute, with every value, in the IdP's order.
			var want []idsaml.Attribute
			for _, st := range made.AttributeStatements {
				for _, at := range st.Attributes {
					w := idsaml.Attribute{Name: at.Name, NameFormat: at.NameFormat, FriendlyName: at.FriendlyName}
					for _, v := range at.Values {
						w.Values = append(w.Values, v.Value)
					}
					want = append(want, w)
				}
			}
			if len(want) == 0 {
				t.Fatal("the IdP made no attributes: nothing to compare")
			}
			if !slices.EqualFunc(a.Attributes, want, func(x, y idsaml.Attribute) bool {
				return x.Name == y.Name && x.NameFormat == y.NameFormat && x.FriendlyName == y.FriendlyName && slices.Equal(x.Values, y.Values)
			}) {
				t.Errorf("Attributes =\n%+v\nwant\n%+v", a.Attributes, want)
			}
			// The crewjam SP read the same values.
			for _, st := range f.post.assertion.AttributeStatements {
				for _, at := range st.Attributes {
					var vs []string
					for _, v := range at.Values {
						vs = append(vs, v.Value)
					}
					if got := a.Attribute(at.Name); !slices.Equal(got, vs) {
						t.Errorf("Attribute(%q) = %q, crewjam SP read %q", at.Name, got, vs)
					}
				}
			}

			// Conditions: at the time the ACS received the post (the request
			// that carried it) with no skew, and at the Response's own
			// IssueInstant with the analyzer's default skew.
			if is := idsaml.CheckConditions(m, f.post.received, 0); len(is) != 0 {
				t.Errorf("CheckConditions at ACS receipt = %v (%+v)", codes(is), is)
			}
			if m.IssueInstant.After(f.post.received) {
				t.Errorf("Response IssueInstant %v after the ACS received it (%v)", m.IssueInstant, f.post.received)
			}
			if is := idsaml.CheckConditions(m, m.IssueInstant, 5*time.Minute); len(is) != 0 {
				t.Errorf("CheckConditions at IssueInstant = %v (%+v)", codes(is), is)
			}
			if is := idsaml.CheckAudience(m, s.entityID()); len(is) != 0 {
				t.Errorf("CheckAudience(own SP) = %v", codes(is))
			}

			// Signatures, against the certificate from the IdP's metadata.
			v := idsaml.Verify(f.xml, certs)
			if v.Verified == nil || !*v.Verified || v.SelfAsserted {
				t.Fatalf("Verify = %s (self-asserted %v): %s", verified(v), v.SelfAsserted, v.Reason)
			}
			if !v.Covers(a.Path) {
				t.Errorf("Verify does not cover %s (covered %v)", a.Path, v.Covered)
			}
			if len(v.Signatures) != 2 || len(v.Warnings) != 0 || len(v.Uncovered) != 0 {
				t.Errorf("Signatures %d (want Response + Assertion), warnings %v, uncovered %v", len(v.Signatures), v.Warnings, v.Uncovered)
			}
			for _, sig := range v.Signatures {
				if sig.Certificate == nil || !sig.Certificate.Equal(p.idp.Certificate) {
					t.Errorf("signature on %s not verified with the IdP certificate: %s", sig.Path, sig.Reason)
				}
			}
			wantIDs := []string{m.ID, made.ID}
			gotIDs := []string{}
			for _, sig := range v.Signatures {
				gotIDs = append(gotIDs, sig.ID)
			}
			if !slices.Equal(gotIDs, wantIDs) {
				t.Errorf("signed element IDs = %q, want %q", gotIDs, wantIDs)
			}
			// Without metadata: the certificate in KeyInfo, marked self-asserted.
			if sv := idsaml.Verify(f.xml, nil); sv.Verified == nil || !*sv.Verified || !sv.SelfAsserted {
				t.Errorf("Verify(no certs) = %s self-asserted %v: %s", verified(sv), sv.SelfAsserted, sv.Reason)
			}
		})
	}
}

// wrap76 breaks a value into 76-character lines, as MIME-style encoders and
// some trace viewers do.
func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s
}

func mustFormValue(t *testing.T, body []byte) string {
	t.Helper()
	q, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	return q.Get("SAMLResponse")
}

// TestCrewjamAuthnRequestRedirect: the SP's AuthnRequest in the redirect
// binding, unsigned and signed.
func TestCrewjamAuthnRequestRedirect(t *testing.T) {
	p := newCrewjamIdP(t, dsig.RSASHA256SignatureMethod)
	spKey, spCert := newKeyCert(t, "crewjam test SP (synthetic)")
	_, otherCert := newKeyCert(t, "unrelated (synthetic)")
	tests := []struct {
		name   string
		sp     *crewjamSP
		signed bool
	}{
		{"unsigned", p.addSP(t, "plain", nil, nil, ""), false},
		{"signed rsa-sha256", p.addSP(t, "signing", spKey, spCert, dsig.RSASHA256SignatureMethod), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := p.signIn(t, tt.sp, "state-"+strings.ReplaceAll(tt.name, " ", "-"))
			if f.post.err != nil {
				t.Fatalf("the sign-in this request started failed at crewjam's SP: %v", f.post.err)
			}
			// The parameter as it stands in the URL (percent-encoded) and as
			// a query parser returns it.
			raw := ""
			for _, kv := range strings.Split(f.redirectURL.RawQuery, "&") {
				if v, ok := strings.CutPrefix(kv, "SAMLRequest="); ok {
					raw = v
				}
			}
			for name, param := range map[string]string{"raw query": raw, "query value": f.redirectURL.Query().Get("SAMLRequest")} {
				b, err := idsaml.DecodeRedirect(param)
				if err != nil {
					t.Fatalf("DecodeRedirect(%s): %v", name, err)
				}
				m := mustParse(t, b)
				a := f.authn
				checks := []struct {
					what      string
					got, want any
				}{
					{"Kind", m.Kind, "AuthnRequest"},
					{"ID", m.ID, a.ID},
					{"Version", m.Version, a.Version},
					{"Issuer", m.Issuer, a.Issuer.Value},
					{"Issuer is the SP", m.Issuer, tt.sp.entityID()},
					{"Destination", m.Destination, a.Destination},
					{"Destination is the IdP SSO URL", m.Destination, p.idp.SSOURL.String()},
					{"AssertionConsumerServiceURL", m.AssertionConsumerServiceURL, a.AssertionConsumerServiceURL},
					{"ACS is the SP's", m.AssertionConsumerServiceURL, tt.sp.sp.AcsURL.String()},
					{"ProtocolBinding", m.ProtocolBinding, a.ProtocolBinding},
					{"NameIDPolicyFormat", m.NameIDPolicyFormat, *a.NameIDPolicy.Format},
					{"IssueInstant", m.IssueInstant, samlTime(a.IssueInstant)},
					{"InResponseTo of the Response", f.authn.ID, mustParse(t, f.xml).InResponseTo},
				}
				for _, c := range checks {
					if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
						t.Errorf("%s: %s = %v, want %v", name, c.what, c.got, c.want)
					}
				}
			}

			// A redirect signature signs the query string, not the XML.
			v := idsaml.VerifyRedirect(f.redirectURL.RawQuery, []*x509.Certificate{spCert})
			other := idsaml.VerifyRedirect(f.redirectURL.RawQuery, []*x509.Certificate{otherCert})
			if !tt.signed {
				if v.Verified != nil || other.Verified != nil {
					t.Errorf("unsigned redirect: Verified = %s / %s, want nil", verified(v), verified(other))
				}
				return
			}
			if !strings.Contains(f.redirectURL.RawQuery, "&Signature=") {
				t.Fatalf("crewjam did not sign the redirect: %s", f.redirectURL.RawQuery)
			}
			if v.Verified == nil || !*v.Verified {
				t.Errorf("VerifyRedirect(SP cert) = %s: %s", verified(v), v.Reason)
			}
			if other.Verified == nil || *other.Verified {
				t.Errorf("VerifyRedirect(other cert) = %s, want false: %s", verified(other), other.Reason)
			}
		})
	}
}

// withCrewjamClock makes crewjam (SP and IdP alike) believe it is now+shift
// for the rest of the test.
func withCrewjamClock(t *testing.T, shift time.Duration) {
	prev := crewjam.TimeNow
	crewjam.TimeNow = func() time.Time { return time.Now().UTC().Add(shift) }
	t.Cleanup(func() { crewjam.TimeNow = prev })
}

// TestCrewjamExpired: a Response checked after its NotOnOrAfter, and one
// that crewjam issued two hours ago (its clock set back), checked now.
func TestCrewjamExpired(t *testing.T) {
	tests := []struct {
		name  string
		shift time.Duration // crewjam's clock relative to ours
		// at returns the request time to check at.
		at func(f *flow) time.Time
	}{
		{"at NotOnOrAfter", 0, func(f *flow) time.Time { return f.made.Conditions.NotOnOrAfter }},
		{"one second after NotOnOrAfter", 0, func(f *flow) time.Time { return f.made.Conditions.NotOnOrAfter.Add(time.Second) }},
		{"issued two hours ago", -2 * time.Hour, func(*flow) time.Time { return time.Now() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			withCrewjamClock(t, tt.shift)
			p := newCrewjamIdP(t, dsig.RSASHA256SignatureMethod)
			s := p.addSP(t, "app", nil, nil, "")
			f := p.signIn(t, s, "")
			if f.post.err != nil {
				t.Fatalf("crewjam's SP (same clock) rejected it: %v", f.post.err)
			}
			m := mustParse(t, f.xml)
			at := tt.at(f)
			is := idsaml.CheckConditions(m, at, 0)
			var exp *idsaml.Issue
			for i := range is {
				if is[i].Code == idsaml.IssueExpired {
					exp = &is[i]
				}
			}
			if exp == nil {
				t.Fatalf("CheckConditions at %v = %v, want %s (NotOnOrAfter %v)", at, codes(is), idsaml.IssueExpired, f.made.Conditions.NotOnOrAfter)
			}
			nooa := samlTime(f.made.Conditions.NotOnOrAfter)
			if exp.AssertionID != f.made.ID || !exp.At.Equal(nooa) || exp.By != at.Sub(nooa) {
				t.Errorf("expired issue = %+v; want assertion %s, At %v, By %v", *exp, f.made.ID, nooa, at.Sub(nooa))
			}
			// SubjectConfirmationData has its own NotOnOrAfter (crewjam sets
			// it from its clock, the Conditions one from the request's
			// IssueInstant): expired or not by that value.
			scd := f.made.Subject.SubjectConfirmations[0].SubjectConfirmationData
			wantConf := !at.Before(samlTime(scd.NotOnOrAfter))
			if got := hasCode(is, idsaml.IssueConfirmationExpired); got != wantConf {
				t.Errorf("confirmation_expired reported = %v, want %v (confirmation NotOnOrAfter %v; %v)", got, wantConf, scd.NotOnOrAfter, codes(is))
			}
			// The same message was fine when the ACS received it by crewjam's clock.
			if is := idsaml.CheckConditions(m, crewjamReceipt(f, tt.shift), 0); len(is) != 0 {
				t.Errorf("CheckConditions at receipt (crewjam clock) = %v", codes(is))
			}
			// Within the skew it is not expired.
			if is := idsaml.CheckConditions(m, at, at.Sub(nooa)+time.Second); hasCode(is, idsaml.IssueExpired) {
				t.Errorf("expired despite a skew covering the gap: %v", codes(is))
			}
			// Expiry says nothing about the signature.
			if v := idsaml.Verify(f.xml, []*x509.Certificate{p.idp.Certificate}); v.Verified == nil || !*v.Verified {
				t.Errorf("Verify = %s: %s", verified(v), v.Reason)
			}
		})
	}
}

func privateErr(err error) error {
	if ire, ok := err.(*crewjam.InvalidResponseError); ok {
		return ire.PrivateErr
	}
	return err
}

func crewjamReceipt(f *flow, shift time.Duration) time.Time { return f.post.received.Add(shift) }

// TestCrewjamWrongAudience: the IdP issues a Response for SP "other"; the
// app checks it against its own entity ID.
func TestCrewjamWrongAudience(t *testing.T) {
	p := newCrewjamIdP(t, dsig.RSASHA256SignatureMethod)
	app := p.addSP(t, "app", nil, nil, "")
	other := p.addSP(t, "other", nil, nil, "")
	if app.entityID() == other.entityID() {
		t.Fatal("the two SPs share an entity ID")
	}
	f := p.signIn(t, other, "")
	if f.post.err != nil {
		t.Fatalf("crewjam's SP rejected its own Response: %v", f.post.err)
	}
	m := mustParse(t, f.xml)
	tests := []struct {
		name, audience string
		want           []string
	}{
		{"checked by the app", app.entityID(), []string{idsaml.IssueWrongAudience}},
		{"checked by the SP it was issued for", other.entityID(), []string{}},
		{"trailing slash ignored", other.entityID() + "/", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			is := idsaml.CheckAudience(m, tt.audience)
			if !slices.Equal(codes(is), tt.want) {
				t.Fatalf("CheckAudience(%q) = %v, want %v", tt.audience, codes(is), tt.want)
			}
			if len(is) == 1 {
				if is[0].AssertionID != f.made.ID || !strings.Contains(is[0].Detail, other.entityID()) {
					t.Errorf("issue = %+v; want assertion %s naming audience %s", is[0], f.made.ID, other.entityID())
				}
			}
		})
	}
	// crewjam's own app SP agrees: it refuses the Response meant for
	// "other" (it checks the confirmation Recipient before the audience).
	if _, err := app.sp.ParseXMLResponse(f.xml, []string{f.authn.ID}, other.sp.AcsURL); err == nil {
		t.Error("crewjam's app SP accepted a Response issued for another SP")
	} else {
		t.Logf("crewjam's app SP refuses it: %v", privateErr(err))
	}
	// A wrong audience is still a valid signature.
	if v := idsaml.Verify(f.xml, []*x509.Certificate{p.idp.Certificate}); v.Verified == nil || !*v.Verified {
		t.Errorf("Verify = %s: %s", verified(v), v.Reason)
	}
}

// TestCrewjamTamperedAndWrongCert: one attribute value changed after
// signing, and a certificate that is not the IdP's.
func TestCrewjamTamperedAndWrongCert(t *testing.T) {
	p := newCrewjamIdP(t, "")
	s := p.addSP(t, "app", nil, nil, "")
	f := p.signIn(t, s, "")
	if f.post.err != nil {
		t.Fatalf("crewjam's SP rejected the Response: %v", f.post.err)
	}
	var mailName, mail string
	for _, at := range f.made.AttributeStatements[0].Attributes {
		if at.FriendlyName == "mail" {
			mailName, mail = at.Name, at.Values[0].Value
		}
	}
	if mail == "" {
		t.Fatal("the IdP issued no mail attribute")
	}
	forged := "mallory@evil.example"
	// Change the value of the mail attribute (the first occurrence of the
	// address after its FriendlyName) in the serialized Response.
	at := bytes.Index(f.xml, []byte(`FriendlyName="mail"`))
	if at < 0 {
		t.Fatal("no mail attribute in the Response")
	}
	tampered := slices.Concat(f.xml[:at], bytes.Replace(f.xml[at:], []byte(">"+mail+"<"), []byte(">"+forged+"<"), 1))
	if bytes.Equal(tampered, f.xml) {
		t.Fatal("tampering did not change the message")
	}
	if got := mustParse(t, tampered).Assertions[0].Attribute(mailName); !slices.Equal(got, []string{forged}) {
		t.Fatalf("tampered mail = %q: the edit did not land in the mail attribute", got)
	}
	_, otherCert := newKeyCert(t, "not the IdP (synthetic)")
	tests := []struct {
		name  string
		xml   []byte
		certs []*x509.Certificate
		// want is the expected Verified: nil = could not be checked.
		want *bool
	}{
		{"tampered, IdP cert", tampered, []*x509.Certificate{p.idp.Certificate}, new(false)},
		{"tampered, no cert (KeyInfo)", tampered, nil, new(false)},
		// A certificate was given and the message is signed with another:
		// an SP holding that certificate rejects it (wrong key).
		{"intact, other cert", f.xml, []*x509.Certificate{otherCert}, new(false)},
		{"tampered, other cert", tampered, []*x509.Certificate{otherCert}, new(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := idsaml.Verify(tt.xml, tt.certs)
			t.Logf("Verify: %s", v.Reason)
			if verified(v) != verified(idsaml.Verification{Verified: tt.want}) {
				t.Errorf("Verified = %s, want %s: %s", verified(v), verified(idsaml.Verification{Verified: tt.want}), v.Reason)
			}
			if len(v.Covered) != 0 {
				t.Errorf("Covered = %v, want nothing", v.Covered)
			}
			if v.Covers(mustParse(t, tt.xml).Assertions[0].Path) {
				t.Error("the assertion counts as covered")
			}
		})
	}
	// crewjam's SP rejects the tampered Response too.
	if _, err := s.sp.ParseXMLResponse(tampered, []string{f.authn.ID}, s.sp.AcsURL); err == nil {
		t.Error("crewjam's SP accepted the tampered Response")
	}
}

// TestCrewjamEncryptedAssertion: an SP that publishes an encryption
// certificate gets an EncryptedAssertion.
func TestCrewjamEncryptedAssertion(t *testing.T) {
	p := newCrewjamIdP(t, dsig.RSASHA256SignatureMethod)
	spKey, spCert := newKeyCert(t, "crewjam test SP encryption (synthetic)")
	s := p.addSP(t, "secure", spKey, spCert, "")

	spMD, err := xml.Marshal(s.sp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	md, err := idsaml.ParseMetadata(spMD)
	if err != nil {
		t.Fatalf("ParseMetadata(crewjam SP metadata): %v", err)
	}
	if md.EntityID != s.entityID() || len(md.SigningCerts) != 0 {
		t.Errorf("SP metadata: EntityID %q, %d signing certs; want %q and none (its only key is for encryption)", md.EntityID, len(md.SigningCerts), s.entityID())
	}
	acs := idsaml.Endpoint{Kind: "AssertionConsumerService", Binding: crewjam.HTTPPostBinding, Location: s.sp.AcsURL.String(), Role: "SPSSODescriptor"}
	if !slices.Contains(md.Endpoints, acs) {
		t.Errorf("SP metadata endpoints %+v lack %+v", md.Endpoints, acs)
	}

	f := p.signIn(t, s, "")
	if f.post.err != nil {
		t.Fatalf("crewjam's SP could not read its encrypted Response: %v", f.post.err)
	}
	if f.post.assertion.ID != f.made.ID {
		t.Fatalf("the SP decrypted assertion %q, the IdP made %q", f.post.assertion.ID, f.made.ID)
	}
	if bytes.Contains(f.xml, []byte(f.made.ID)) {
		t.Fatal("the assertion ID is readable in the Response: not encrypted")
	}
	m := mustParse(t, f.xml)
	if m.InResponseTo != f.authn.ID || m.Destination != s.sp.AcsURL.String() {
		t.Errorf("InResponseTo %q Destination %q; want %q %q", m.InResponseTo, m.Destination, f.authn.ID, s.sp.AcsURL.String())
	}
	if len(m.Assertions) != 1 || !m.Assertions[0].Encrypted || m.Assertions[0].ID != "" {
		t.Fatalf("Assertions = %+v, want one encrypted", m.Assertions)
	}
	is := idsaml.CheckConditions(m, f.post.received, 0)
	if !slices.Equal(codes(is), []string{idsaml.IssueEncrypted}) {
		t.Errorf("CheckConditions = %v, want only %s", codes(is), idsaml.IssueEncrypted)
	}
	if is := idsaml.CheckAudience(m, "https://unrelated.example"); len(is) != 0 {
		t.Errorf("CheckAudience on an encrypted assertion = %v, want nothing (unreadable)", codes(is))
	}
	// The Response signature (over the encrypted content) verifies.
	v := idsaml.Verify(f.xml, []*x509.Certificate{p.idp.Certificate})
	if v.Verified == nil || !*v.Verified || !slices.Equal(v.Covered, []string{"/Response"}) {
		t.Errorf("Verify = %s covered %v: %s", verified(v), v.Covered, v.Reason)
	}
	// With the SP's key, the plaintext is the assertion crewjam's IdP made
	// and crewjam's SP decrypted, and its own signature verifies too.
	v, pts, err := idsaml.VerifyDecrypting(f.xml, []*x509.Certificate{p.idp.Certificate}, spKey)
	if err != nil {
		t.Fatalf("VerifyDecrypting: %v", err)
	}
	if len(pts) != 1 {
		t.Fatalf("%d plaintexts", len(pts))
	}
	dm := mustParse(t, pts[0])
	if dm.Kind != "Assertion" || dm.ID != f.made.ID || dm.Assertions[0].Subject == nil || dm.Assertions[0].Subject.Value != f.made.Subject.NameID.Value {
		t.Errorf("decrypted assertion %q (subject %+v), crewjam made %q", dm.ID, dm.Assertions[0].Subject, f.made.ID)
	}
	if v.Verified == nil || !*v.Verified || !slices.Contains(v.Covered, "/Response/EncryptedAssertion[1] (decrypted)") {
		t.Errorf("VerifyDecrypting = %s covered %v: %s", verified(v), v.Covered, v.Reason)
	}
	// Another key cannot decrypt: an error, and the message's own verdict.
	otherKey, _ := newKeyCert(t, "not the SP (synthetic)")
	if _, _, err := idsaml.VerifyDecrypting(f.xml, []*x509.Certificate{p.idp.Certificate}, otherKey); !errors.Is(err, idsaml.ErrDecrypt) {
		t.Errorf("wrong key: err %v, want ErrDecrypt", err)
	}
}

// TestCrewjamSignedPostRequests: an SP that signs its messages sends a
// signed AuthnRequest in the POST binding (through the IdP, which answers
// it) and a signed LogoutRequest in the redirect binding.
func TestCrewjamSignedPostRequests(t *testing.T) {
	p := newCrewjamIdP(t, dsig.RSASHA256SignatureMethod)
	spKey, spCert := newKeyCert(t, "crewjam test SP signing (synthetic)")
	_, otherCert := newKeyCert(t, "unrelated (synthetic)")
	s := p.addSP(t, "signer", spKey, spCert, dsig.RSASHA256SignatureMethod)

	authn, err := s.sp.MakeAuthenticationRequest(s.sp.GetSSOBindingLocation(crewjam.HTTPPostBinding), crewjam.HTTPPostBinding, crewjam.HTTPPostBinding)
	if err != nil {
		t.Fatal(err)
	}
	page := authn.Post("post-state")
	var formValue string
	for _, in := range formInput.FindAllSubmatch(page, -1) {
		if string(in[1]) == "SAMLRequest" {
			formValue = string(in[2])
		}
	}
	if formValue == "" {
		t.Fatalf("no SAMLRequest in crewjam's form:\n%s", page)
	}
	// The browser posts the form to the IdP, which answers with a Response.
	resp, err := p.srv.Client().PostForm(authn.Destination, url.Values{"SAMLRequest": {html.UnescapeString(formValue)}, "RelayState": {"post-state"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IdP refused the POSTed AuthnRequest: %d; log:\n%s", resp.StatusCode, p.log)
	}
	if got := p.lastAssertion(t).Subject.SubjectConfirmations[0].SubjectConfirmationData.InResponseTo; got != authn.ID {
		t.Fatalf("the IdP answered request %q, want %q", got, authn.ID)
	}

	lr, err := s.sp.MakeLogoutRequest(s.sp.GetSLOBindingLocation(crewjam.HTTPRedirectBinding), "alice@idp.example")
	if err != nil {
		t.Fatal(err)
	}
	lu := lr.Redirect("logout-state")

	type message struct {
		name           string
		decode         func() ([]byte, error)
		kind, id, dest string
		issuer         string
		nameID         *crewjam.NameID
	}
	msgs := []message{
		{"AuthnRequest, POST binding", func() ([]byte, error) { return idsaml.DecodePost(formValue) },
			"AuthnRequest", authn.ID, authn.Destination, authn.Issuer.Value, nil},
		{"LogoutRequest, redirect binding", func() ([]byte, error) { return idsaml.DecodeRedirect(lu.Query().Get("SAMLRequest")) },
			"LogoutRequest", lr.ID, lr.Destination, lr.Issuer.Value, lr.NameID},
	}
	if lr.Destination != p.idp.LogoutURL.String() || authn.Destination != p.idp.SSOURL.String() {
		t.Fatalf("crewjam addressed its requests to %q and %q", authn.Destination, lr.Destination)
	}
	for _, mm := range msgs {
		t.Run(mm.name, func(t *testing.T) {
			b, err := mm.decode()
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			m := mustParse(t, b)
			if m.Kind != mm.kind || m.ID != mm.id || m.Destination != mm.dest || m.Issuer != mm.issuer || m.Issuer != s.entityID() || !m.Signed {
				t.Errorf("got %s %q to %q from %q signed %v; want %s %q to %q from %q signed", m.Kind, m.ID, m.Destination, m.Issuer, m.Signed,
					mm.kind, mm.id, mm.dest, mm.issuer)
			}
			if mm.nameID != nil && (m.NameID == nil || m.NameID.Value != mm.nameID.Value || m.NameID.Format != mm.nameID.Format ||
				m.NameID.SPNameQualifier != mm.nameID.SPNameQualifier) {
				t.Errorf("NameID = %+v, want %+v", m.NameID, mm.nameID)
			}
			v := idsaml.Verify(b, []*x509.Certificate{spCert})
			if v.Verified == nil || !*v.Verified || !slices.Equal(v.Covered, []string{"/" + mm.kind}) {
				t.Errorf("Verify(SP cert) = %s covered %v: %s", verified(v), v.Covered, v.Reason)
			}
			if v := idsaml.Verify(b, []*x509.Certificate{otherCert}); v.Verified != nil && *v.Verified {
				t.Errorf("Verify(other cert) = true: %s", v.Reason)
			}
			if v := idsaml.Verify(b, []*x509.Certificate{p.idp.Certificate}); v.Verified != nil && *v.Verified {
				t.Errorf("Verify(IdP cert) of an SP-signed request = true: %s", v.Reason)
			}
		})
	}
}

// TestCrewjamSignatureWrapping: the Response signature is stripped and a
// forged, unsigned copy of crewjam's signed assertion (other mail value) is
// put in front of it. Only the original stays trustworthy.
func TestCrewjamSignatureWrapping(t *testing.T) {
	p := newCrewjamIdP(t, dsig.RSASHA256SignatureMethod)
	s := p.addSP(t, "app", nil, nil, "")
	f := p.signIn(t, s, "")
	if f.post.err != nil {
		t.Fatalf("crewjam's SP rejected the Response: %v", f.post.err)
	}
	tests := []struct {
		name     string
		forgedID string // "" keeps the original's ID
	}{
		{"forged copy with the same ID", ""},
		{"forged copy with its own ID", "id-forged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(f.xml); err != nil {
				t.Fatal(err)
			}
			root := doc.Root()
			var orig *etree.Element
			for _, c := range root.ChildElements() {
				switch c.Tag {
				case "Signature":
					root.RemoveChild(c)
				case "Assertion":
					orig = c
				}
			}
			if orig == nil {
				t.Fatal("no Assertion in crewjam's Response")
			}
			forged := orig.Copy()
			for _, c := range forged.ChildElements() {
				if c.Tag == "Signature" {
					forged.RemoveChild(c)
				}
			}
			if tt.forgedID != "" {
				forged.CreateAttr("ID", tt.forgedID)
			}
			changed := false
			for _, v := range forged.FindElements(".//AttributeValue") {
				if v.Text() == p.session.UserEmail {
					v.SetText("mallory@evil.example")
					changed = true
				}
			}
			if !changed {
				t.Fatal("no mail value to forge")
			}
			root.InsertChildAt(orig.Index(), forged)
			b, err := doc.WriteToBytes()
			if err != nil {
				t.Fatal(err)
			}

			m := mustParse(t, b)
			if len(m.Assertions) != 2 || m.Signed || m.Assertions[0].Signed || !m.Assertions[1].Signed {
				t.Fatalf("parsed %d assertions (Response signed %v); want forged unsigned then original signed", len(m.Assertions), m.Signed)
			}
			v := idsaml.Verify(b, []*x509.Certificate{p.idp.Certificate})
			if v.Verified == nil || *v.Verified {
				t.Errorf("Verified = %s, want false: %s", verified(v), v.Reason)
			}
			// Stricter than crewjam (below), as python3-saml and node-saml
			// are: two assertions in one Response make the whole message
			// invalid, and nothing in it counts as covered.
			if v.Covers(m.Assertions[0].Path) || v.Covers(m.Assertions[1].Path) {
				t.Errorf("covered %v: want nothing", v.Covered)
			}
			if !slices.Equal(v.Uncovered, []string{m.Assertions[0].Path, m.Assertions[1].Path}) {
				t.Errorf("Uncovered = %v, want both assertions", v.Uncovered)
			}
			if !strings.Contains(v.Reason, "more than one assertion") {
				t.Errorf("Reason = %q, want it to name more than one assertion", v.Reason)
			}
			dup := slices.ContainsFunc(v.Warnings, func(w string) bool { return strings.Contains(w, f.made.ID) })
			if dup != (tt.forgedID == "") {
				t.Errorf("duplicate-ID warning = %v, want %v: %v", dup, tt.forgedID == "", v.Warnings)
			}
			// crewjam's SP, like Covers, trusts only the signed original: it
			// skips the forged assertion and returns the original's values.
			got, err := s.sp.ParseXMLResponse(b, []string{f.authn.ID}, s.sp.AcsURL)
			if err != nil {
				t.Fatalf("crewjam's SP: %v", privateErr(err))
			}
			for _, st := range got.AttributeStatements {
				for _, at := range st.Attributes {
					for _, v := range at.Values {
						if v.Value == "mallory@evil.example" {
							t.Errorf("crewjam's SP returned the forged value in %s", at.Name)
						}
					}
				}
			}
		})
	}
}
