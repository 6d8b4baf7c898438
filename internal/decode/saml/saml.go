// Package saml decodes SAML 2.0 protocol messages (AuthnRequest, Response,
// LogoutRequest, LogoutResponse) and assertions (SAML 2.0 and 1.1), checks
// their conditions against the time of the request that carried them,
// verifies XML signatures with goxmldsig, and reads federation metadata.
//
// The package is pure: no file or network I/O, nothing internal imported.
// Every XML input goes through SafeDocument (no DTDs, no entities, capped
// size and depth). Returned values belong to the caller.
package saml

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
)

// Namespaces.
const (
	NSProtocol   = "urn:oasis:names:tc:SAML:2.0:protocol"
	NSAssertion  = "urn:oasis:names:tc:SAML:2.0:assertion"
	NSAssertion1 = "urn:oasis:names:tc:SAML:1.0:assertion"
	NSProtocol1  = "urn:oasis:names:tc:SAML:1.0:protocol"
	NSDSig       = "http://www.w3.org/2000/09/xmldsig#"
	NSXMLEnc     = "http://www.w3.org/2001/04/xmlenc#"
	NSMetadata   = "urn:oasis:names:tc:SAML:2.0:metadata"
)

// Status is a SAML status: a top-level code, nested sub-codes (outermost
// first) and an optional message.
type Status struct {
	Code     string
	SubCodes []string
	Message  string
	// Detail is the text content of StatusDetail, if any (Entra puts AADSTS
	// codes there).
	Detail string
}

// Success reports whether the top-level code is Success.
func (s *Status) Success() bool {
	return s != nil && strings.HasSuffix(s.Code, ":Success")
}

// NameID is a subject identifier.
type NameID struct {
	Value, Format, NameQualifier, SPNameQualifier string
	// Encrypted is true for an EncryptedID. Decrypted ones (ParseWithKey)
	// carry the NameID's fields; others carry a Value that says which key
	// would decrypt it, and Err says why decryption failed when a key was
	// given.
	Encrypted bool
	Err       error
}

// SubjectConfirmation is one subject confirmation with its data.
type SubjectConfirmation struct {
	Method       string
	Recipient    string
	InResponseTo string
	Address      string
	NotBefore    time.Time
	NotOnOrAfter time.Time
}

// Conditions are an assertion's validity window and audiences.
type Conditions struct {
	NotBefore    time.Time
	NotOnOrAfter time.Time
	// Audiences lists every Audience of every AudienceRestriction (SAML
	// 1.1: AudienceRestrictionCondition).
	Audiences  []string
	OneTimeUse bool
}

// AuthnStatement says how and when the subject authenticated.
type AuthnStatement struct {
	AuthnInstant        time.Time
	SessionIndex        string
	SessionNotOnOrAfter time.Time
	// ClassRef is AuthnContextClassRef (SAML 1.1: AuthenticationMethod).
	ClassRef                  string
	AuthenticatingAuthorities []string
}

// Attribute is one attribute with its values, in document order.
type Attribute struct {
	Name         string
	NameFormat   string // SAML 1.1: AttributeNamespace
	FriendlyName string
	Values       []string
}

// Assertion is a SAML 2.0 or 1.1 assertion.
type Assertion struct {
	// Version is "2.0" or "1.1" (MajorVersion.MinorVersion for SAML 1.x).
	Version      string
	ID           string // SAML 1.1: AssertionID
	IssueInstant time.Time
	Issuer       string
	// Signed is true when the assertion has its own ds:Signature child.
	// Presence only: see Verify for whether it is valid.
	Signed bool
	// Encrypted is true for an EncryptedAssertion: nothing else is readable.
	Encrypted bool
	// DecryptedFrom is the path of the EncryptedAssertion this assertion
	// was decrypted from (see ShowDecrypted), "" for one sent in clear.
	DecryptedFrom        string
	Subject              *NameID
	SubjectConfirmations []SubjectConfirmation
	Conditions           *Conditions
	AuthnStatements      []AuthnStatement
	Attributes           []Attribute
	// Path locates the element in the message ("/Response/Assertion[1]").
	Path string
}

// Attribute returns the values of the first attribute with this Name or
// FriendlyName.
func (a *Assertion) Attribute(name string) []string {
	for _, at := range a.Attributes {
		if at.Name == name || at.FriendlyName == name {
			return at.Values
		}
	}
	return nil
}

// Message is a decoded SAML protocol message or bare assertion.
type Message struct {
	// Kind is the root element's local name: "AuthnRequest", "Response",
	// "LogoutRequest", "LogoutResponse", "Assertion", ...
	Kind         string
	Namespace    string
	Version      string
	ID           string
	InResponseTo string
	IssueInstant time.Time
	Destination  string
	Consent      string
	Issuer       string
	// Signed is true when the root element has its own ds:Signature child
	// (for a bare Assertion, the assertion's).
	Signed bool
	Status *Status
	// Assertions holds the assertions of a Response (encrypted ones marked
	// Encrypted), or the message itself when it is a bare Assertion.
	Assertions []Assertion

	// AuthnRequest fields.
	AssertionConsumerServiceURL string
	ProtocolBinding             string
	ForceAuthn, IsPassive       string
	NameIDPolicyFormat          string
	RequestedAuthnContext       []string
	RequestedAuthnComparison    string

	// LogoutRequest fields.
	NameID         *NameID
	SessionIndexes []string
	Reason         string

	// Problems lists values that could not be read (bad timestamps, ...)
	// so nothing is dropped silently.
	Problems []string
}

// ErrNotSAML is wrapped when well-formed XML is not a SAML message.
var ErrNotSAML = errors.New("not a SAML message")

// Parse decodes a SAML message (SAML 2.0 protocol message, SAML 2.0 or 1.1
// assertion) from XML, using SafeDocument.
func Parse(xmlb []byte) (*Message, error) {
	return ParseWithKey(xmlb, nil)
}

// ParseWithKey is Parse that also decrypts every EncryptedID (encrypted
// NameID) with the service provider's private key (see DecryptNameID).
// EncryptedAssertions stay encrypted: see DecryptAssertions.
func ParseWithKey(xmlb []byte, key *rsa.PrivateKey) (*Message, error) {
	doc, err := SafeDocument(xmlb)
	if err != nil {
		return nil, err
	}
	declareKnownPrefixes(doc.Root())
	return parseElement(doc.Root(), key)
}

// ParseElement decodes a SAML message from an already parsed element (for
// example a token inside a WS-Trust response). It never modifies el.
func ParseElement(root *etree.Element) (*Message, error) {
	return parseElement(root, nil)
}

func parseElement(root *etree.Element, key *rsa.PrivateKey) (*Message, error) {
	p := &parser{key: key}
	m := &Message{Kind: root.Tag, Namespace: root.NamespaceURI()}
	switch m.Namespace {
	case NSProtocol:
	case NSAssertion, NSAssertion1:
		if root.Tag != "Assertion" {
			return nil, fmt.Errorf("saml: %w: root is %s, not an Assertion", ErrNotSAML, root.Tag)
		}
		a := p.assertion(root, "/Assertion")
		m.Version, m.ID, m.IssueInstant, m.Issuer, m.Signed = a.Version, a.ID, a.IssueInstant, a.Issuer, a.Signed
		m.Assertions = []Assertion{a}
		m.Problems = p.problems
		return m, nil
	case NSProtocol1:
		// SAML 1.1 samlp:Response: read its assertions below.
	default:
		return nil, fmt.Errorf("saml: %w: root element {%s}%s", ErrNotSAML, m.Namespace, root.Tag)
	}
	m.Version = root.SelectAttrValue("Version", "")
	m.ID = root.SelectAttrValue("ID", root.SelectAttrValue("ResponseID", root.SelectAttrValue("RequestID", "")))
	m.InResponseTo = root.SelectAttrValue("InResponseTo", "")
	m.IssueInstant = p.time(root, "IssueInstant")
	m.Destination = root.SelectAttrValue("Destination", root.SelectAttrValue("Recipient", ""))
	m.Consent = root.SelectAttrValue("Consent", "")
	m.AssertionConsumerServiceURL = root.SelectAttrValue("AssertionConsumerServiceURL", "")
	m.ProtocolBinding = root.SelectAttrValue("ProtocolBinding", "")
	m.ForceAuthn = root.SelectAttrValue("ForceAuthn", "")
	m.IsPassive = root.SelectAttrValue("IsPassive", "")
	m.Reason = root.SelectAttrValue("Reason", "")
	counts := map[string]int{}
	for _, c := range root.ChildElements() {
		ns := c.NamespaceURI()
		switch {
		case c.Tag == "Issuer" && ns == NSAssertion:
			m.Issuer = text(c)
		case c.Tag == "Signature" && ns == NSDSig:
			m.Signed = true
		case c.Tag == "Status" && (ns == NSProtocol || ns == NSProtocol1):
			m.Status = status(c)
		case c.Tag == "Assertion" && (ns == NSAssertion || ns == NSAssertion1):
			counts["Assertion"]++
			m.Assertions = append(m.Assertions, p.assertion(c, fmt.Sprintf("/%s/Assertion[%d]", root.Tag, counts["Assertion"])))
		case c.Tag == "EncryptedAssertion" && ns == NSAssertion:
			counts["EncryptedAssertion"]++
			m.Assertions = append(m.Assertions, Assertion{Encrypted: true, Version: "2.0",
				Path: fmt.Sprintf("/%s/EncryptedAssertion[%d]", root.Tag, counts["EncryptedAssertion"])})
		case c.Tag == "NameIDPolicy":
			m.NameIDPolicyFormat = c.SelectAttrValue("Format", "")
		case c.Tag == "RequestedAuthnContext":
			m.RequestedAuthnComparison = c.SelectAttrValue("Comparison", "")
			for _, r := range c.ChildElements() {
				m.RequestedAuthnContext = append(m.RequestedAuthnContext, text(r))
			}
		case c.Tag == "NameID" && ns == NSAssertion:
			m.NameID = nameID(c)
		case c.Tag == "EncryptedID":
			m.NameID = p.encryptedID(c)
		case c.Tag == "SessionIndex":
			m.SessionIndexes = append(m.SessionIndexes, text(c))
		}
	}
	m.Problems = p.problems
	return m, nil
}

func (p *parser) encryptedID(el *etree.Element) *NameID {
	n := DecryptNameID(el, p.key)
	if n.Err != nil {
		p.problems = append(p.problems, n.Err.Error())
	}
	return n
}

type parser struct {
	problems []string
	key      *rsa.PrivateKey
}

func (p *parser) time(el *etree.Element, attr string) time.Time {
	v := el.SelectAttrValue(attr, "")
	if v == "" {
		return time.Time{}
	}
	t, err := ParseTime(v)
	if err != nil {
		p.problems = append(p.problems, fmt.Sprintf("%s/@%s: %v", el.Tag, attr, err))
	}
	return t
}

// ParseTime reads an xs:dateTime as SAML uses it (UTC, optional fraction).
// A time without a zone is taken as UTC, as SAML requires.
func ParseTime(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad xs:dateTime %q", v)
}

func text(el *etree.Element) string { return strings.TrimSpace(el.Text()) }

// allText concatenates the text of el and its descendants.
func allText(el *etree.Element) string {
	var b strings.Builder
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		for _, t := range e.Child {
			switch x := t.(type) {
			case *etree.CharData:
				b.WriteString(x.Data)
			case *etree.Element:
				walk(x)
			}
		}
	}
	walk(el)
	return strings.TrimSpace(b.String())
}

func status(el *etree.Element) *Status {
	s := &Status{}
	for _, c := range el.ChildElements() {
		switch c.Tag {
		case "StatusCode":
			s.Code = c.SelectAttrValue("Value", "")
			for sub := child(c, "StatusCode"); sub != nil; sub = child(sub, "StatusCode") {
				s.SubCodes = append(s.SubCodes, sub.SelectAttrValue("Value", ""))
				if len(s.SubCodes) > MaxDepth {
					break
				}
			}
		case "StatusMessage":
			s.Message = text(c)
		case "StatusDetail":
			s.Detail = allText(c)
		}
	}
	return s
}

func child(el *etree.Element, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

func nameID(el *etree.Element) *NameID {
	return &NameID{Value: text(el), Format: el.SelectAttrValue("Format", ""),
		NameQualifier: el.SelectAttrValue("NameQualifier", ""), SPNameQualifier: el.SelectAttrValue("SPNameQualifier", "")}
}

func (p *parser) assertion(el *etree.Element, path string) Assertion {
	if el.NamespaceURI() == NSAssertion1 {
		return p.assertion11(el, path)
	}
	a := Assertion{Version: el.SelectAttrValue("Version", "2.0"), ID: el.SelectAttrValue("ID", ""),
		IssueInstant: p.time(el, "IssueInstant"), Path: path}
	for _, c := range el.ChildElements() {
		switch c.Tag {
		case "Issuer":
			a.Issuer = text(c)
		case "Signature":
			a.Signed = a.Signed || c.NamespaceURI() == NSDSig
		case "Subject":
			for _, s := range c.ChildElements() {
				switch s.Tag {
				case "NameID":
					a.Subject = nameID(s)
				case "EncryptedID":
					a.Subject = p.encryptedID(s)
				case "SubjectConfirmation":
					sc := SubjectConfirmation{Method: s.SelectAttrValue("Method", "")}
					if d := child(s, "SubjectConfirmationData"); d != nil {
						sc.Recipient = d.SelectAttrValue("Recipient", "")
						sc.InResponseTo = d.SelectAttrValue("InResponseTo", "")
						sc.Address = d.SelectAttrValue("Address", "")
						sc.NotBefore = p.time(d, "NotBefore")
						sc.NotOnOrAfter = p.time(d, "NotOnOrAfter")
					}
					a.SubjectConfirmations = append(a.SubjectConfirmations, sc)
				}
			}
		case "Conditions":
			cd := &Conditions{NotBefore: p.time(c, "NotBefore"), NotOnOrAfter: p.time(c, "NotOnOrAfter")}
			for _, r := range c.ChildElements() {
				switch r.Tag {
				case "AudienceRestriction":
					for _, au := range r.ChildElements() {
						if au.Tag == "Audience" {
							cd.Audiences = append(cd.Audiences, text(au))
						}
					}
				case "OneTimeUse":
					cd.OneTimeUse = true
				}
			}
			a.Conditions = cd
		case "AuthnStatement":
			st := AuthnStatement{AuthnInstant: p.time(c, "AuthnInstant"), SessionIndex: c.SelectAttrValue("SessionIndex", ""),
				SessionNotOnOrAfter: p.time(c, "SessionNotOnOrAfter")}
			if ac := child(c, "AuthnContext"); ac != nil {
				for _, x := range ac.ChildElements() {
					switch x.Tag {
					case "AuthnContextClassRef":
						st.ClassRef = text(x)
					case "AuthenticatingAuthority":
						st.AuthenticatingAuthorities = append(st.AuthenticatingAuthorities, text(x))
					}
				}
			}
			a.AuthnStatements = append(a.AuthnStatements, st)
		case "AttributeStatement":
			for _, at := range c.ChildElements() {
				switch at.Tag {
				case "Attribute":
					attr := Attribute{Name: at.SelectAttrValue("Name", ""), NameFormat: at.SelectAttrValue("NameFormat", ""),
						FriendlyName: at.SelectAttrValue("FriendlyName", "")}
					for _, v := range at.ChildElements() {
						if v.Tag == "AttributeValue" {
							attr.Values = append(attr.Values, allText(v))
						}
					}
					a.Attributes = append(a.Attributes, attr)
				case "EncryptedAttribute":
					a.Attributes = append(a.Attributes, Attribute{Name: "(encrypted attribute)"})
				}
			}
		}
	}
	return a
}

// assertion11 reads a SAML 1.1 assertion (what WS-Federation often carries).
func (p *parser) assertion11(el *etree.Element, path string) Assertion {
	a := Assertion{
		Version:      el.SelectAttrValue("MajorVersion", "1") + "." + el.SelectAttrValue("MinorVersion", "1"),
		ID:           el.SelectAttrValue("AssertionID", ""),
		IssueInstant: p.time(el, "IssueInstant"),
		Issuer:       el.SelectAttrValue("Issuer", ""),
		Path:         path,
	}
	subject := func(s *etree.Element) {
		if s == nil || a.Subject != nil {
			return
		}
		if n := child(s, "NameIdentifier"); n != nil {
			a.Subject = &NameID{Value: text(n), Format: n.SelectAttrValue("Format", ""), NameQualifier: n.SelectAttrValue("NameQualifier", "")}
		}
		if sc := child(s, "SubjectConfirmation"); sc != nil {
			for _, m := range sc.ChildElements() {
				if m.Tag == "ConfirmationMethod" {
					a.SubjectConfirmations = append(a.SubjectConfirmations, SubjectConfirmation{Method: text(m)})
				}
			}
		}
	}
	for _, c := range el.ChildElements() {
		switch c.Tag {
		case "Signature":
			a.Signed = a.Signed || c.NamespaceURI() == NSDSig
		case "Conditions":
			cd := &Conditions{NotBefore: p.time(c, "NotBefore"), NotOnOrAfter: p.time(c, "NotOnOrAfter")}
			for _, r := range c.ChildElements() {
				if r.Tag == "AudienceRestrictionCondition" {
					for _, au := range r.ChildElements() {
						if au.Tag == "Audience" {
							cd.Audiences = append(cd.Audiences, text(au))
						}
					}
				}
			}
			a.Conditions = cd
		case "AttributeStatement":
			subject(child(c, "Subject"))
			for _, at := range c.ChildElements() {
				if at.Tag != "Attribute" {
					continue
				}
				attr := Attribute{Name: at.SelectAttrValue("AttributeName", ""), NameFormat: at.SelectAttrValue("AttributeNamespace", "")}
				for _, v := range at.ChildElements() {
					if v.Tag == "AttributeValue" {
						attr.Values = append(attr.Values, allText(v))
					}
				}
				a.Attributes = append(a.Attributes, attr)
			}
		case "AuthenticationStatement":
			subject(child(c, "Subject"))
			a.AuthnStatements = append(a.AuthnStatements, AuthnStatement{
				AuthnInstant: p.time(c, "AuthenticationInstant"),
				ClassRef:     c.SelectAttrValue("AuthenticationMethod", ""),
			})
		}
	}
	return a
}
