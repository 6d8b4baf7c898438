package saml

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// SelfAssertedNote is the caveat attached to a verification made with the
// certificate the message carries itself.
const SelfAssertedNote = "self-asserted: proves integrity, not origin"

// SignatureCheck is the result for one signed element.
type SignatureCheck struct {
	// Element is "Response", "Assertion", ... and ID its ID attribute.
	Element, ID string
	// Path locates the element ("/Response", "/Response/Assertion[1]").
	Path string
	// Verified: nil = could not be checked (no certificate for it), true =
	// valid with a trusted certificate, false = invalid.
	Verified *bool
	// Certificate is the certificate that verified it.
	Certificate *x509.Certificate
	Reason      string
}

// Verification is the result of Verify.
type Verification struct {
	// Verified is true when at least one signature verified and every
	// readable assertion is covered by a verified signature (its own or the
	// enclosing Response's); false when the message is unsigned or a
	// signature is invalid; nil when no certificate could check it.
	Verified *bool
	// SelfAsserted is true when the only certificates used came from the
	// message's own KeyInfo: see SelfAssertedNote.
	SelfAsserted bool
	// Signatures lists every enveloped signature found, in document order.
	Signatures []SignatureCheck
	// Covered lists the paths of the elements whose signature verified:
	// only their content is trustworthy (signature-wrapping guard).
	Covered []string
	// Uncovered lists paths of assertions that no verified signature covers.
	Uncovered []string
	// Warnings names structural red flags: duplicate IDs, several
	// assertions, signatures that reference an element other than their parent.
	Warnings []string
	Reason   string
}

func ptrB(b bool) *bool { return &b }

// Covers reports whether a verified signature covers the element at path
// (an Assertion.Path such as "/Response/Assertion[1]"): either its own
// signature or an enclosing element's. Use it to trust only signed content.
func (v *Verification) Covers(path string) bool {
	for _, c := range v.Covered {
		if path == c || strings.HasPrefix(path, c+"/") {
			return true
		}
	}
	return false
}

// Verify checks the enveloped XML signatures of a SAML Response and/or
// its Assertions (SAML 2.0 or 1.1) with goxmldsig.
//
// certs are the trusted signing certificates (from federation metadata via
// ParseMetadata, or given by the user). When certs is empty, the
// certificates in the message's own KeyInfo are used and the result is
// marked SelfAsserted: it proves the message was not altered after
// signing, not who signed it.
//
// Certificate validity periods are not enforced here (a trace is often
// analysed long after the certificate expired); compare
// SignatureCheck.Certificate.NotAfter with the request time if needed.
func Verify(xmlb []byte, certs []*x509.Certificate) Verification {
	var v Verification
	doc, err := SafeDocument(xmlb)
	if err != nil {
		v.Verified = ptrB(false)
		v.Reason = err.Error()
		return v
	}
	root := doc.Root()
	ids := map[string]int{}
	type cand struct {
		el   *etree.Element
		path string
	}
	var cands []cand
	var assertions []string
	var walk func(el *etree.Element, path string, depth int)
	walk = func(el *etree.Element, path string, depth int) {
		for _, a := range []string{"ID", "AssertionID", "ResponseID"} {
			if id := el.SelectAttrValue(a, ""); id != "" {
				ids[id]++
			}
		}
		ns := el.NamespaceURI()
		isAssertion := el.Tag == "Assertion" && (ns == NSAssertion || ns == NSAssertion1)
		if isAssertion {
			assertions = append(assertions, path)
		}
		if sigChild(el) != nil {
			cands = append(cands, cand{el, path})
		}
		counts := map[string]int{}
		for _, c := range el.ChildElements() {
			counts[c.Tag]++
			walk(c, fmt.Sprintf("%s/%s[%d]", path, c.Tag, counts[c.Tag]), depth+1)
		}
	}
	walk(root, "/"+root.Tag, 0)
	for id, n := range ids {
		if n > 1 {
			v.Warnings = append(v.Warnings, fmt.Sprintf("ID %q occurs %d times (signature-wrapping attempt?)", id, n))
		}
	}
	if len(assertions) > 1 {
		v.Warnings = append(v.Warnings, fmt.Sprintf("%d assertions in one message; trust only the covered ones", len(assertions)))
	}
	if len(cands) == 0 {
		v.Verified = ptrB(false)
		v.Reason = "unsigned: no XML signature on the message or its assertions"
		v.Uncovered = assertions
		return v
	}

	trusted := certs
	if len(trusted) == 0 {
		v.SelfAsserted = true
		for _, c := range cands {
			trusted = append(trusted, keyInfoCerts(sigChild(c.el))...)
		}
	}

	anyOK, anyBad := false, false
	for _, c := range cands {
		sc := checkOne(c.el, trusted)
		sc.Path = c.path
		v.Signatures = append(v.Signatures, sc)
		if sc.Verified != nil && *sc.Verified {
			anyOK = true
			v.Covered = append(v.Covered, c.path)
		} else if sc.Verified != nil {
			anyBad = true
		}
	}
	for _, a := range assertions {
		if !v.Covers(a) {
			v.Uncovered = append(v.Uncovered, a)
		}
	}
	switch {
	case anyBad:
		v.Verified = ptrB(false)
		v.Reason = "signature INVALID: the signed content was altered or the signature is malformed"
	case anyOK && len(v.Uncovered) == 0:
		v.Verified = ptrB(true)
		v.Reason = "signature verified; covers " + strings.Join(v.Covered, ", ")
		if v.SelfAsserted {
			v.Reason += " (" + SelfAssertedNote + ")"
		}
	case anyOK:
		v.Verified = ptrB(false)
		v.Reason = "some assertions are not covered by any valid signature: " + strings.Join(v.Uncovered, ", ")
	case len(trusted) == 0:
		v.Reason = "signature not verified: no certificate (give federation metadata or the signing certificate)"
	default:
		v.Reason = "signature not verified: signed with a certificate that is not among the trusted ones"
	}
	return v
}

// checkOne validates the enveloped signature of el against each trusted
// certificate in turn.
func checkOne(el *etree.Element, trusted []*x509.Certificate) SignatureCheck {
	idAttr := "ID"
	if el.NamespaceURI() == NSAssertion1 {
		idAttr = "AssertionID"
	} else if el.SelectAttr("ID") == nil && el.SelectAttr("ResponseID") != nil {
		idAttr = "ResponseID"
	}
	sc := SignatureCheck{Element: el.Tag, ID: el.SelectAttrValue(idAttr, "")}
	sig := sigChild(el)
	if ref := referenceURI(sig); ref != "" && ref != "#"+sc.ID {
		sc.Verified = ptrB(false)
		sc.Reason = fmt.Sprintf("signature references %q, not its parent element %q", ref, sc.ID)
		return sc
	}
	if len(trusted) == 0 {
		sc.Reason = "no certificate to check it with"
		return sc
	}
	// Validate a copy that carries the namespace declarations in scope
	// from its ancestors (IdPs often declare saml: on the Response only).
	detached := el
	if el.Parent() != nil {
		nsctx, err := etreeutils.NSBuildParentContext(el)
		if err == nil {
			detached, err = etreeutils.NSDetatch(nsctx, el)
		}
		if err != nil {
			sc.Verified = ptrB(false)
			sc.Reason = fmt.Sprintf("invalid: namespaces: %v", err)
			return sc
		}
	}
	embedded := keyInfoCerts(sig)
	if len(embedded) == 0 {
		// KeyInfo without a certificate (a KeyName, or nothing): drop it from
		// the copy so goxmldsig tries the trusted certificate. KeyInfo is
		// inside the Signature, which the enveloped transform removes, so the
		// signed content is unchanged.
		detached = detached.Copy()
		if ds := sigChild(detached); ds != nil {
			if ki := child(ds, "KeyInfo"); ki != nil {
				ds.RemoveChild(ki)
			}
		}
	}
	var lastErr error
	matchedCert := false
	for _, cert := range trusted {
		if len(embedded) > 0 && !containsCert(embedded, cert) {
			continue
		}
		matchedCert = true
		ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
		ctx.IdAttribute = idAttr
		// Certificate lifetimes are reported, not enforced: see Verify.
		ctx.Clock = dsig.NewFakeClockAt(cert.NotBefore.Add(cert.NotAfter.Sub(cert.NotBefore) / 2))
		if _, err := ctx.Validate(detached); err != nil {
			lastErr = err
			continue
		}
		sc.Verified = ptrB(true)
		sc.Certificate = cert
		sc.Reason = "valid"
		return sc
	}
	if !matchedCert {
		sc.Reason = "signed with a certificate (in KeyInfo) that is not among the trusted ones"
		return sc
	}
	sc.Verified = ptrB(false)
	sc.Reason = fmt.Sprintf("invalid: %v", lastErr)
	return sc
}

func sigChild(el *etree.Element) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == NSDSig {
			return c
		}
	}
	return nil
}

func referenceURI(sig *etree.Element) string {
	if si := child(sig, "SignedInfo"); si != nil {
		if r := child(si, "Reference"); r != nil {
			return r.SelectAttrValue("URI", "")
		}
	}
	return ""
}

// keyInfoCerts returns the X509Certificates in a Signature's KeyInfo.
func keyInfoCerts(sig *etree.Element) []*x509.Certificate {
	if sig == nil {
		return nil
	}
	ki := child(sig, "KeyInfo")
	if ki == nil {
		return nil
	}
	var out []*x509.Certificate
	for _, xd := range ki.ChildElements() {
		if xd.Tag != "X509Data" {
			continue
		}
		for _, c := range xd.ChildElements() {
			if c.Tag == "X509Certificate" {
				if cert, err := ParseCertificate(c.Text()); err == nil {
					out = append(out, cert)
				}
			}
		}
	}
	return out
}

// ParseCertificate reads a base64 DER certificate as found in
// X509Certificate elements (whitespace tolerated) or a PEM block.
func ParseCertificate(s string) (*x509.Certificate, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "-----BEGIN CERTIFICATE-----")
	s = strings.TrimSuffix(s, "-----END CERTIFICATE-----")
	s = strings.Join(strings.Fields(s), "")
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("saml: certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if x.Equal(c) {
			return true
		}
	}
	return false
}
