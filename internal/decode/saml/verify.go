package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
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
	// Covers is the path of what a verified signature covers when it is
	// not its parent: a Reference URI="" covers the whole document.
	Covers string
	// Note is a caveat on a verified signature that some service
	// providers would still refuse (see DERNote).
	Note string
}

// DERNote is the caveat on an ECDSA signature whose SignatureValue is
// ASN.1 DER (as goxmldsig writes) rather than XML Signature's r || s.
const DERNote = "ECDSA SignatureValue in DER, not XML Signature's r || s: xmlsec-based service providers reject it"

// indexPath returns the child-element indexes leading from root to el.
func indexPath(root, el *etree.Element) []int {
	var p []int
	for e := el; e != root && e.Parent() != nil; e = e.Parent() {
		for i, c := range e.Parent().ChildElements() {
			if c == e {
				p = append([]int{i}, p...)
				break
			}
		}
	}
	return p
}

func followPath(root *etree.Element, p []int) *etree.Element {
	e := root
	for _, i := range p {
		cs := e.ChildElements()
		if i >= len(cs) {
			return nil
		}
		e = cs[i]
	}
	return e
}

// The three words of a verdict, the same in every package and format.
const (
	StatusVerified   = "verified"
	StatusInvalid    = "invalid"
	StatusNotChecked = "not checked"
)

// Verdict is a signature verdict in idtrace's one vocabulary: Status is
// StatusVerified (Covers says what the signature covers), StatusInvalid or
// StatusNotChecked, and Why says why in a few words.
type Verdict struct {
	Status string   `json:"status"`
	Why    string   `json:"why,omitempty"`
	Covers []string `json:"covers,omitempty"`
}

// String renders the verdict as "verified (covers /Response)",
// "invalid (why)" or "not checked (why)".
func (v Verdict) String() string {
	switch {
	case v.Status == StatusVerified && len(v.Covers) > 0:
		s := "verified (covers " + strings.Join(v.Covers, ", ")
		if v.Why != "" {
			s += "; " + v.Why
		}
		return s + ")"
	case v.Why != "":
		return v.Status + " (" + v.Why + ")"
	}
	return v.Status
}

// Verification is the result of Verify.
type Verification struct {
	// Verified is true when the message is verified (see Verdict), false
	// when it is invalid, nil when it could not be checked.
	Verified *bool
	// SelfAsserted is true when the only certificates used came from the
	// message's own KeyInfo: see SelfAssertedNote.
	SelfAsserted bool
	// Signatures lists every enveloped signature checked, in document order.
	Signatures []SignatureCheck
	// Covered lists the paths of the elements whose signature verified:
	// only their content is trustworthy (signature-wrapping guard).
	Covered []string
	// Uncovered lists paths of assertions that no verified signature covers.
	Uncovered []string
	// Warnings names structural red flags: duplicate IDs, several
	// assertions, signatures on unexpected elements.
	Warnings []string
	// Reason is the "why" of the verdict, in a few words.
	Reason string
	// Notes are the caveats of verified signatures (SignatureCheck.Note).
	Notes []string
	// Decrypted lists the assertions VerifyDecrypting decrypted, each
	// with its own verdict (nil from Verify).
	Decrypted []Decrypted
}

// Verdict returns the verification in the common vocabulary.
func (v Verification) Verdict() Verdict {
	switch {
	case v.Verified == nil:
		return Verdict{Status: StatusNotChecked, Why: v.Reason}
	case *v.Verified:
		var why []string
		if v.SelfAsserted {
			why = append(why, SelfAssertedNote)
		}
		why = append(why, v.Notes...)
		return Verdict{Status: StatusVerified, Why: strings.Join(why, "; "), Covers: v.Covered}
	}
	return Verdict{Status: StatusInvalid, Why: v.Reason}
}

func ptrB(b bool) *bool { return &b }

// Covers reports whether a verified signature covers the element at path
// (an Assertion.Path such as "/Response/Assertion[1]"): either its own
// signature or an enclosing element's. Use it to trust only signed content.
func (v *Verification) Covers(path string) bool {
	if v.Verified == nil || !*v.Verified {
		return false
	}
	for _, c := range v.Covered {
		if path == c || strings.HasPrefix(path, c+"/") {
			return true
		}
	}
	return false
}

// sanitizedSignature is the SignatureValue (and DigestValue) that
// `idtrace sanitize` writes in place of the real one. It is the same text
// as the JWT signature placeholder of the jwt package, repeated here so
// that this package imports nothing internal.
const sanitizedSignature = "REDACTED_by_idtrace_sanitize"

// SanitizedReason is the "why" of a signature that sanitize removed: it
// is not checked, never invalid.
const SanitizedReason = "signature removed by sanitize"

// NoCertHint says which options give a certificate to check SAML
// signatures with.
const NoCertHint = "give the IdP's federation metadata (--metadata FILE) or its signing certificate (--cert FILE)"

// Verify checks the enveloped XML signatures of a SAML Response, a bare
// Assertion (SAML 2.0 or 1.1) or any other signed root (federation
// metadata), with goxmldsig, and holds the message to the rules a careful
// service provider applies, so that nothing unsigned can pass for signed:
//
//   - at most one Assertion or EncryptedAssertion in the whole document,
//     and it must be the root or a direct child of the root;
//   - in a SAML message, signatures only on the root and on that
//     assertion, one each, each with exactly one Reference naming its own
//     parent (by ID, or URI="" for the whole document);
//   - no ID value used twice;
//   - every assertion covered by a verified signature (its own or the
//     root's); an EncryptedAssertion under an unsigned root cannot be
//     checked without the service provider's key.
//
// Any breach makes the message invalid, whatever the signatures say.
//
// certs are the trusted signing certificates (from federation metadata via
// ParseMetadata, or given by the user). When certs is empty, the
// certificates in the message's own KeyInfo are used and the result is
// marked SelfAsserted: it proves the message was not altered after
// signing, not who signed it. A signature made with a certificate that is
// not among non-empty certs is invalid (wrong key).
//
// Certificate validity periods are not enforced here (a trace is often
// analysed long after the certificate expired); compare
// SignatureCheck.Certificate.NotAfter with the request time if needed.
func Verify(xmlb []byte, certs []*x509.Certificate) Verification {
	var v Verification
	invalid := func(why string) Verification {
		v.Verified = ptrB(false)
		v.Reason = why
		v.Covered = nil
		return v
	}
	doc, err := SafeDocument(xmlb)
	if err != nil {
		return invalid("malformed: " + err.Error())
	}
	root := doc.Root()
	declareKnownPrefixes(root)
	ids := map[string]int{}
	type cand struct {
		el   *etree.Element
		path string
	}
	var sigParents []cand // elements holding a ds:Signature child
	var assertions []cand // Assertion and EncryptedAssertion elements
	var problems []string
	var walk func(el *etree.Element, path string)
	walk = func(el *etree.Element, path string) {
		for _, a := range []string{"ID", "AssertionID", "ResponseID"} {
			if id := el.SelectAttrValue(a, ""); id != "" {
				ids[id]++
			}
		}
		if isAssertionEl(el) {
			assertions = append(assertions, cand{el, path})
		}
		nsig := 0
		for _, c := range el.ChildElements() {
			if c.Tag == "Signature" && c.NamespaceURI() == NSDSig {
				nsig++
			}
		}
		if nsig > 1 {
			problems = append(problems, fmt.Sprintf("wrapped: %d signatures on %s", nsig, path))
		}
		if nsig > 0 {
			sigParents = append(sigParents, cand{el, path})
		}
		counts := map[string]int{}
		for _, c := range el.ChildElements() {
			counts[c.Tag]++
			walk(c, fmt.Sprintf("%s/%s[%d]", path, c.Tag, counts[c.Tag]))
		}
	}
	walk(root, "/"+root.Tag)
	for id, n := range ids {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("wrapped: ID %q occurs %d times", id, n))
		}
	}
	if len(assertions) > 1 {
		problems = append(problems, fmt.Sprintf("more than one assertion (%d)", len(assertions)))
	}
	for _, a := range assertions {
		if a.el != root && a.el.Parent() != root {
			problems = append(problems, fmt.Sprintf("wrapped: assertion at %s, not a direct child of the %s", a.path, root.Tag))
		}
	}
	// In a SAML message only the root and its assertion may be signed.
	// Other documents (federation metadata) may sign nested entities.
	rns := root.NamespaceURI()
	samlMsg := rns == NSProtocol || rns == NSProtocol1 || rns == NSAssertion || rns == NSAssertion1
	for _, s := range sigParents {
		if samlMsg && (s.el != root && !isAssertionEl(s.el) || s.el != root && s.el.Parent() != root) {
			problems = append(problems, fmt.Sprintf("wrapped: signature on unexpected element %s", s.path))
		}
	}
	for _, a := range assertions {
		v.Uncovered = append(v.Uncovered, a.path)
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		v.Warnings = problems
		return invalid(strings.Join(problems, "; "))
	}
	if len(sigParents) == 0 {
		if len(assertions) == 1 && assertions[0].el.Tag == "EncryptedAssertion" {
			v.Reason = "encrypted assertion under an unsigned " + root.Tag + ": its signature, if any, is inside the encryption (decrypting needs the service provider's private key)"
			return v
		}
		return invalid("unsigned: no XML signature on the message or its assertions")
	}

	trusted := certs
	if len(trusted) == 0 {
		v.SelfAsserted = true
		for _, c := range sigParents {
			trusted = append(trusted, keyInfoCerts(sigChild(c.el))...)
		}
	}

	var bad, unchecked []string
	for _, c := range sigParents {
		sc := checkOne(c.el, trusted, len(certs) > 0)
		sc.Path = c.path
		v.Signatures = append(v.Signatures, sc)
		switch {
		case sc.Verified == nil:
			unchecked = append(unchecked, sc.Reason)
		case *sc.Verified:
			if sc.Note != "" && !slices.Contains(v.Notes, sc.Note) {
				v.Notes = append(v.Notes, sc.Note)
			}
			if sc.Covers != "" {
				v.Covered = append(v.Covered, sc.Covers)
			} else {
				v.Covered = append(v.Covered, c.path)
			}
		default:
			bad = append(bad, sc.Path+": "+sc.Reason)
		}
	}
	v.Uncovered = nil
	for _, a := range assertions {
		if !coveredBy(v.Covered, a.path) {
			v.Uncovered = append(v.Uncovered, a.path)
		}
	}
	switch {
	case len(bad) > 0:
		return invalid(strings.Join(bad, "; "))
	case len(unchecked) > 0:
		v.Reason = unchecked[0]
		v.Covered = nil
		return v
	case len(v.Uncovered) == 0:
		v.Verified = ptrB(true)
		v.Reason = "covers " + strings.Join(v.Covered, ", ")
		if v.SelfAsserted {
			v.Reason += " (" + SelfAssertedNote + ")"
		}
		for _, n := range v.Notes {
			v.Reason += "; " + n
		}
		return v
	case len(v.Uncovered) == 1 && strings.Contains(v.Uncovered[0], "EncryptedAssertion"):
		v.Reason = "encrypted assertion: its own signature is inside the encryption (decrypting needs the service provider's private key)"
		v.Covered = nil
		return v
	}
	return invalid("unsigned: assertion " + strings.Join(v.Uncovered, ", ") + " is not covered by any signature")
}

func coveredBy(covered []string, path string) bool {
	for _, c := range covered {
		if path == c || strings.HasPrefix(path, c+"/") {
			return true
		}
	}
	return false
}

func isAssertionEl(el *etree.Element) bool {
	ns := el.NamespaceURI()
	return el.Tag == "Assertion" && (ns == NSAssertion || ns == NSAssertion1) ||
		el.Tag == "EncryptedAssertion" && ns == NSAssertion
}

// Algorithms goxmldsig checks. Others (RSA-PSS, HMAC, DSA, ...) are
// reported as not checked, never as altered.
var (
	sigMethods = map[string]bool{
		dsig.RSASHA1SignatureMethod: true, dsig.RSASHA256SignatureMethod: true, dsig.RSASHA384SignatureMethod: true,
		dsig.RSASHA512SignatureMethod: true, dsig.ECDSASHA1SignatureMethod: true, dsig.ECDSASHA256SignatureMethod: true,
		dsig.ECDSASHA384SignatureMethod: true, dsig.ECDSASHA512SignatureMethod: true,
	}
	digestMethods = map[string]bool{
		"http://www.w3.org/2000/09/xmldsig#sha1": true, "http://www.w3.org/2001/04/xmlenc#sha256": true,
		"http://www.w3.org/2001/04/xmldsig-more#sha384": true, "http://www.w3.org/2001/04/xmlenc#sha512": true,
	}
	transforms = map[string]bool{
		string(dsig.EnvelopedSignatureAltorithmId): true, string(dsig.CanonicalXML10ExclusiveAlgorithmId): true,
		string(dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId): true, string(dsig.CanonicalXML11AlgorithmId): true,
		string(dsig.CanonicalXML11WithCommentsAlgorithmId): true, string(dsig.CanonicalXML10RecAlgorithmId): true,
		string(dsig.CanonicalXML10WithCommentsAlgorithmId): true,
	}
)

// checkOne validates the enveloped signature of el against each trusted
// certificate in turn. userCerts says the trusted certificates were given
// (not taken from the message), so a signature by another certificate is
// a wrong key.
func checkOne(el *etree.Element, trusted []*x509.Certificate, userCerts bool) SignatureCheck {
	idAttr := "ID"
	if el.NamespaceURI() == NSAssertion1 {
		idAttr = "AssertionID"
	} else if el.SelectAttr("ID") == nil && el.SelectAttr("ResponseID") != nil {
		idAttr = "ResponseID"
	}
	sc := SignatureCheck{Element: el.Tag, ID: el.SelectAttrValue(idAttr, "")}
	sig := sigChild(el)
	if sv := child(sig, "SignatureValue"); sv != nil && strings.TrimSpace(sv.Text()) == sanitizedSignature {
		sc.Reason = SanitizedReason
		return sc
	}
	si := child(sig, "SignedInfo")
	if si == nil {
		sc.Verified = ptrB(false)
		sc.Reason = "malformed: signature without SignedInfo"
		return sc
	}
	var refs []*etree.Element
	for _, c := range si.ChildElements() {
		if c.Tag == "Reference" {
			refs = append(refs, c)
		}
	}
	if len(refs) != 1 {
		sc.Verified = ptrB(false)
		sc.Reason = fmt.Sprintf("wrapped: the signature has %d references, a SAML signature has exactly one", len(refs))
		return sc
	}
	ref := refs[0].SelectAttrValue("URI", "")
	if ref != "" && (sc.ID == "" || ref != "#"+sc.ID) {
		sc.Verified = ptrB(false)
		sc.Reason = fmt.Sprintf("wrapped: the signature references %q, not its parent element %q", ref, sc.ID)
		return sc
	}
	sm, dm := child(si, "SignatureMethod"), child(refs[0], "DigestMethod")
	if sm == nil || dm == nil || child(sig, "SignatureValue") == nil {
		sc.Verified = ptrB(false)
		sc.Reason = "malformed: the signature lacks SignatureMethod, DigestMethod or SignatureValue"
		return sc
	}
	if alg := sm.SelectAttrValue("Algorithm", ""); !sigMethods[alg] {
		sc.Reason = fmt.Sprintf("unsupported signature algorithm %q", alg)
		return sc
	}
	if alg := dm.SelectAttrValue("Algorithm", ""); !digestMethods[alg] {
		sc.Reason = fmt.Sprintf("unsupported digest algorithm %q", alg)
		return sc
	}
	if ts := child(refs[0], "Transforms"); ts != nil {
		for _, tr := range ts.ChildElements() {
			if a := tr.SelectAttrValue("Algorithm", ""); !transforms[a] {
				sc.Reason = fmt.Sprintf("unsupported transform %q", a)
				return sc
			}
		}
	}
	if len(trusted) == 0 {
		sc.Reason = "no certificate: " + NoCertHint
		return sc
	}
	// The forms to validate: a copy of el carrying the namespace
	// declarations in scope from its ancestors (IdPs often declare saml:
	// on the Response only); for URI="" inside the document, first the
	// whole document (see below).
	type form struct {
		el     *etree.Element
		idAttr string
		covers string
	}
	var forms []form
	if ref == "" && el.Parent() != nil {
		// URI="" is the whole document less this enveloped signature
		// (xmldsig §4.4.3.2), even on a signature inside the assertion:
		// validate a copy of the root holding this signature as its own.
		// A signature of the root itself, made after this one, is not part
		// of what this one signed. Some signers meant the assertion alone:
		// that form is tried next and covers the assertion only.
		root := el
		for root.Parent() != nil && root.Parent().Tag != "" {
			root = root.Parent()
		}
		rc := root.Copy()
		if ec := followPath(rc, indexPath(root, el)); ec != nil {
			s := sigChild(ec)
			ec.RemoveChild(s)
			if rs := sigChild(rc); rs != nil {
				rc.RemoveChild(rs)
			}
			rc.InsertChildAt(0, s)
			rid := "ID"
			if root.SelectAttr("ID") == nil && root.SelectAttr("ResponseID") != nil {
				rid = "ResponseID"
			}
			forms = append(forms, form{rc, rid, "/" + root.Tag})
		}
	}
	detached := el.Copy()
	if el.Parent() != nil {
		nsctx, err := etreeutils.NSBuildParentContext(el)
		if err == nil {
			detached, err = etreeutils.NSDetatch(nsctx, el)
		}
		if err != nil {
			sc.Verified = ptrB(false)
			sc.Reason = fmt.Sprintf("malformed: namespaces: %v", err)
			return sc
		}
	}
	forms = append(forms, form{detached, idAttr, ""})
	embedded := keyInfoCerts(sig)
	var lastErr error
	matchedCert := false
	for _, fm := range forms {
		ds := sigChild(fm.el)
		// Line breaks and spaces inside SignatureValue (pretty-printed IdP
		// output) are not part of the value. SignatureValue lies outside
		// SignedInfo, so removing them changes nothing that is signed.
		if sv := child(ds, "SignatureValue"); sv != nil {
			sv.SetText(strings.Join(strings.Fields(sv.Text()), ""))
		}
		// The trusted certificate, not the one in KeyInfo, does the
		// checking: drop KeyInfo from the copy so goxmldsig uses the
		// trusted one (a certificate in KeyInfo only selects which trusted
		// key to try). KeyInfo is inside the Signature, which the
		// enveloped transform removes, so the signed content is unchanged.
		if ki := child(ds, "KeyInfo"); ki != nil {
			ds.RemoveChild(ki)
		}
		for _, cert := range trusted {
			if len(embedded) > 0 && !containsKey(embedded, cert) {
				continue
			}
			matchedCert = true
			ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
			ctx.IdAttribute = fm.idAttr
			// Certificate lifetimes are reported, not enforced: see Verify.
			ctx.Clock = dsig.NewFakeClockAt(cert.NotBefore.Add(cert.NotAfter.Sub(cert.NotBefore) / 2))
			_, err := ctx.Validate(fm.el)
			derAsWritten := err == nil
			if c := ecdsaSignatureAsDER(fm.el, cert); c != nil && err != nil {
				// r || s rewritten as DER; a DER value that happens to
				// have r || s's length was checked as it is just above.
				_, err = ctx.Validate(c)
			}
			if err != nil {
				// A DigestValue with spaces or tabs (base64Binary allows
				// them) fails goxmldsig's decoding only after the trusted
				// key's signature over SignedInfo checked out; the digest
				// itself is then checked as described in digestws.go.
				if isDigestDecodeError(err) && digestHasSpaces(ds) {
					err = checkDigestsWithoutSpaces(fm.el, fm.idAttr)
				}
				if err != nil {
					if lastErr == nil {
						lastErr = err
					}
					continue
				}
			}
			sc.Verified = ptrB(true)
			sc.Certificate = cert
			sc.Reason = "valid"
			sc.Covers = fm.covers
			if _, ec := cert.PublicKey.(*ecdsa.PublicKey); ec && derAsWritten {
				sc.Note = DERNote
			}
			return sc
		}
	}
	if !matchedCert {
		sc.Verified = ptrB(false)
		if !userCerts {
			sc.Reason = "malformed: the certificate in KeyInfo cannot be read"
			return sc
		}
		sc.Reason = fmt.Sprintf("wrong key: signed with a certificate (in KeyInfo) that is not among the %d trusted one(s)", len(trusted))
		return sc
	}
	sc.Verified = ptrB(false)
	switch msg := lastErr.Error(); {
	case strings.Contains(msg, "Could not decode signature"):
		sc.Reason = "malformed: SignatureValue is not base64"
	case strings.Contains(msg, "verification error"), strings.Contains(msg, "verification failure"), strings.Contains(msg, "Signature could not be verified"), errors.Is(lastErr, dsig.ErrInvalidSignature):
		if len(embedded) == 0 && len(trusted) > 0 {
			sc.Reason = fmt.Sprintf("altered or wrong key: %v", lastErr)
		} else {
			sc.Reason = fmt.Sprintf("altered: %v", lastErr)
		}
	default:
		sc.Reason = fmt.Sprintf("malformed: %v", lastErr)
	}
	return sc
}

// ecdsaSignatureAsDER returns a copy of el whose ECDSA SignatureValue is
// rewritten from the r || s form XML Signature prescribes (RFC 4051 §3.3,
// what xmlsec, Shibboleth and Santuario write) into the ASN.1 DER form
// goxmldsig checks, when the signature uses ECDSA, cert holds an EC key and
// the value has exactly the length of r || s for its curve; nil otherwise
// (a DER value, as goxmldsig itself writes, is then checked as it is).
// SignatureValue lies outside SignedInfo: nothing signed changes.
func ecdsaSignatureAsDER(el *etree.Element, cert *x509.Certificate) *etree.Element {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil
	}
	sig := sigChild(el)
	if sig == nil || child(sig, "SignedInfo") == nil {
		return nil
	}
	if sm := child(child(sig, "SignedInfo"), "SignatureMethod"); sm == nil || !strings.Contains(sm.SelectAttrValue("Algorithm", ""), "#ecdsa-") {
		return nil
	}
	sv := child(sig, "SignatureValue")
	if sv == nil {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(sv.Text()), ""))
	size := (pub.Curve.Params().BitSize + 7) / 8
	if err != nil || len(raw) != 2*size {
		return nil
	}
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:size]), new(big.Int).SetBytes(raw[size:])})
	if err != nil {
		return nil
	}
	c := el.Copy()
	child(sigChild(c), "SignatureValue").SetText(base64.StdEncoding.EncodeToString(der))
	return c
}

func sigChild(el *etree.Element) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == NSDSig {
			return c
		}
	}
	return nil
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

// containsKey reports whether a certificate of list carries c's public
// key (a bare key given with --cert matches the certificate holding it).
func containsKey(list []*x509.Certificate, c *x509.Certificate) bool {
	type eq interface{ Equal(crypto.PublicKey) bool }
	for _, x := range list {
		if k, ok := x.PublicKey.(eq); ok && k.Equal(c.PublicKey) {
			return true
		}
	}
	return false
}
