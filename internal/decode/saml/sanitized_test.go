package saml_test

import (
	"crypto/x509"
	"strings"
	"testing"

	crewjam "github.com/crewjam/saml"

	"github.com/idtrace/idtrace/internal/analyze"
	idsaml "github.com/idtrace/idtrace/internal/decode/saml"
	"github.com/idtrace/idtrace/internal/redact"
	"github.com/idtrace/idtrace/internal/trace"
)

// TestCrewjamSanitized: a Response made and accepted by crewjam verifies
// before `idtrace sanitize`; after it, its signature is "not checked
// (signature removed by sanitize)", never invalid, and the analysis has no
// bad_signature finding.
func TestCrewjamSanitized(t *testing.T) {
	p := newCrewjamIdP(t, "")
	certs := signingCerts(t, p)
	s := p.addSP(t, "app", nil, nil, "")
	f := p.signIn(t, s, "")
	if f.post.err != nil {
		t.Fatalf("crewjam's SP rejected the Response: %v", f.post.err)
	}
	body := "SAMLResponse=" + f.postedValue
	flow := &trace.Flow{ID: 1, Started: crewjam.TimeNow(),
		Request: &trace.Request{Method: "POST", URL: s.sp.AcsURL.String(), Proto: "HTTP/1.1", Body: []byte(body), HasBody: true,
			BodySize: int64(len(body)), HeadersSize: trace.Unknown, MimeType: "application/x-www-form-urlencoded",
			Headers: trace.Headers{{Name: "Content-Type", Value: "application/x-www-form-urlencoded"}}},
		Response: &trace.Response{Status: 204, Proto: "HTTP/1.1", Size: 0, HeadersSize: trace.Unknown}}
	clean := redact.New(redact.Options{}).Flow(flow)
	if string(clean.Request.Body) == body {
		t.Fatal("sanitize left the SAMLResponse as it was")
	}

	// The verifier itself.
	if v := idsaml.Verify(f.xml, certs).Verdict(); v.Status != idsaml.StatusVerified {
		t.Fatalf("before sanitize: %s", v)
	}
	var posted string
	for _, kv := range strings.Split(string(clean.Request.Body), "&") {
		if v, ok := strings.CutPrefix(kv, "SAMLResponse="); ok {
			posted = v
		}
	}
	xmlb, err := idsaml.DecodePost(posted)
	if err != nil {
		t.Fatalf("sanitized SAMLResponse does not decode: %v", err)
	}
	if !strings.Contains(string(xmlb), "REDACTED_by_idtrace_sanitize") {
		t.Fatal("the sanitized Response has no sanitized SignatureValue")
	}
	for _, trusted := range [][]*x509.Certificate{nil, certs} { // nil: the message's own KeyInfo
		v := idsaml.Verify(xmlb, trusted).Verdict()
		if v.Status != idsaml.StatusNotChecked || v.Why != idsaml.SanitizedReason {
			t.Errorf("after sanitize (%d trusted certs): %s, want %s (%s)", len(trusted), v, idsaml.StatusNotChecked, idsaml.SanitizedReason)
		}
	}

	// The analyzer, before and after.
	analyzeOne := func(fl *trace.Flow) *analyze.Report {
		a := analyze.New(analyze.Options{SAMLCerts: certs})
		a.Add(fl)
		return a.Finish()
	}
	samlToken := func(rep *analyze.Report) *analyze.Token {
		for i := range rep.Tokens {
			if strings.Contains(strings.ToLower(rep.Tokens[i].Kind), "saml") {
				return &rep.Tokens[i]
			}
		}
		t.Fatalf("no SAML message in the analysis (%d tokens)", len(rep.Tokens))
		return nil
	}
	before, after := analyzeOne(flow), analyzeOne(clean)
	if tk := samlToken(before); tk.Verified == nil || !*tk.Verified {
		t.Fatalf("before sanitize the analysis says %s", analyze.VerdictText(tk.Verified, tk.VerifyDetail))
	}
	tk := samlToken(after)
	if tk.Verified != nil || !strings.Contains(tk.VerifyDetail, idsaml.SanitizedReason) {
		t.Errorf("after sanitize the analysis says %s, want not checked (%s)", analyze.VerdictText(tk.Verified, tk.VerifyDetail), idsaml.SanitizedReason)
	}
	for _, fd := range after.Findings {
		if fd.Code == "bad_signature" {
			t.Errorf("bad_signature finding after sanitize: %s", fd.Detail)
		}
	}
}
