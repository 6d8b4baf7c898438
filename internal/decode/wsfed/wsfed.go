// Package wsfed decodes WS-Federation passive requests and responses: the
// wa=wsignin1.0 sign-in request (wtrealm, wreply, wctx, whr, ...), its
// response (wresult holding a WS-Trust RequestSecurityTokenResponse with a
// SAML 1.1 or 2.0 token) and wa=wsignout1.0 / wsignoutcleanup1.0.
//
// The package is pure (no I/O) and imports nothing internal except its
// sibling decoder saml, whose hardened XML reader (no DTDs, no entities,
// capped size and depth) it uses for wresult. Returned values belong to
// the caller.
package wsfed

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/idtrace/idtrace/internal/decode/saml"
)

// Actions (the wa parameter).
const (
	SignIn         = "wsignin1.0"
	SignOut        = "wsignout1.0"
	SignOutCleanup = "wsignoutcleanup1.0"
	Attribute      = "wattr1.0"
)

// ErrNotWSFed is wrapped when the form has no wa parameter or an unknown one.
var ErrNotWSFed = errors.New("not a WS-Federation message")

// FieldError names the form field at fault.
type FieldError struct {
	Field string // "wa", "wresult", ...
	Err   error
}

func (e *FieldError) Error() string { return "wsfed: " + e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// Message is a decoded WS-Federation passive message.
type Message struct {
	// Action is wa.
	Action string
	// Realm is wtrealm: the relying party's identifier (for Entra as the
	// IdP, the app's identifier URI; for Entra as the RP,
	// urn:federation:MicrosoftOnline).
	Realm string
	// Reply is wreply: where the response should be posted.
	Reply string
	// Context is wctx: opaque RP state echoed back (like RelayState).
	Context string
	// HomeRealm is whr: the home realm hint.
	HomeRealm string
	// Freshness (wfresh), AuthMethod (wauth), CurrentTime (wct), Request
	// (wreq) and Policy (wp) are the other request parameters.
	Freshness, AuthMethod, CurrentTime, Request, Policy string
	// Response is true when the form carries a wresult.
	Response bool
	// Result is the decoded wresult, nil for requests.
	Result *Result
}

// Result is a WS-Trust RequestSecurityTokenResponse.
type Result struct {
	// TrustVersion is "2005/02" or "1.3" (OASIS 200512).
	TrustVersion string
	TokenType    string
	// AppliesTo is the address of wsp:AppliesTo: the realm the token is for.
	AppliesTo string
	// Created and Expires are wst:Lifetime.
	Created, Expires time.Time
	// TokenXML is the token element serialised on its own, with the
	// namespace declarations it inherits: pass it to saml.Verify.
	TokenXML []byte
	// Token is the parsed token (SAML 2.0 or 1.1 assertion); nil when the
	// token is of another type or encrypted (see TokenType, Encrypted).
	Token *saml.Message
	// Encrypted is true when the requested token is an EncryptedData.
	Encrypted bool
	// Problems lists values that could not be read.
	Problems []string
}

// Parse decodes a WS-Federation form (query parameters or POST body, as
// url.Values). It requires wa; for a sign-in response it decodes wresult
// with saml's hardened XML reader and parses the SAML token inside.
func Parse(form url.Values) (*Message, error) {
	m := &Message{
		Action:      strings.TrimSpace(form.Get("wa")),
		Realm:       form.Get("wtrealm"),
		Reply:       form.Get("wreply"),
		Context:     form.Get("wctx"),
		HomeRealm:   form.Get("whr"),
		Freshness:   form.Get("wfresh"),
		AuthMethod:  form.Get("wauth"),
		CurrentTime: form.Get("wct"),
		Request:     form.Get("wreq"),
		Policy:      form.Get("wp"),
	}
	switch m.Action {
	case SignIn, SignOut, SignOutCleanup, Attribute:
	case "":
		return nil, &FieldError{Field: "wa", Err: fmt.Errorf("%w: no wa parameter", ErrNotWSFed)}
	default:
		return nil, &FieldError{Field: "wa", Err: fmt.Errorf("%w: unknown action %q", ErrNotWSFed, m.Action)}
	}
	wres := form.Get("wresult")
	if wres == "" {
		return m, nil
	}
	m.Response = true
	r, err := ParseResult([]byte(wres))
	if err != nil {
		return nil, &FieldError{Field: "wresult", Err: err}
	}
	m.Result = r
	return m, nil
}

// ParseResult decodes a wresult value: a RequestSecurityTokenResponse (WS-Trust
// 2005/02) or a RequestSecurityTokenResponseCollection (WS-Trust 1.3) whose
// first response is used.
func ParseResult(b []byte) (*Result, error) {
	doc, err := saml.SafeDocument(b)
	if err != nil {
		return nil, err
	}
	root := doc.Root()
	if root.Tag == "RequestSecurityTokenResponseCollection" {
		if c := child(root, "RequestSecurityTokenResponse"); c != nil {
			root = c
		}
	}
	if root.Tag != "RequestSecurityTokenResponse" {
		return nil, fmt.Errorf("%w: root element is %s, not a RequestSecurityTokenResponse", ErrNotWSFed, root.Tag)
	}
	r := &Result{TrustVersion: "2005/02"}
	if strings.Contains(root.NamespaceURI(), "oasis-open.org/ws-sx/ws-trust/200512") {
		r.TrustVersion = "1.3"
	}
	for _, c := range root.ChildElements() {
		switch c.Tag {
		case "TokenType":
			r.TokenType = strings.TrimSpace(c.Text())
		case "AppliesTo":
			for _, a := range descendants(c, "Address") {
				r.AppliesTo = strings.TrimSpace(a.Text())
			}
		case "Lifetime":
			for _, t := range c.ChildElements() {
				v := strings.TrimSpace(t.Text())
				ts, err := saml.ParseTime(v)
				if err != nil {
					r.Problems = append(r.Problems, fmt.Sprintf("Lifetime/%s: %v", t.Tag, err))
					continue
				}
				switch t.Tag {
				case "Created":
					r.Created = ts
				case "Expires":
					r.Expires = ts
				}
			}
		case "RequestedSecurityToken":
			tok := firstChildElement(c)
			if tok == nil {
				r.Problems = append(r.Problems, "RequestedSecurityToken is empty")
				continue
			}
			if tok.Tag == "EncryptedAssertion" || tok.Tag == "EncryptedData" {
				r.Encrypted = true
			}
			ctx, err := etreeutils.NSBuildParentContext(tok)
			var det *etree.Element
			if err == nil {
				det, err = etreeutils.NSDetatch(ctx, tok)
			}
			if err != nil {
				r.Problems = append(r.Problems, fmt.Sprintf("token namespaces: %v", err))
				continue
			}
			d := etree.NewDocument()
			d.SetRoot(det)
			if r.TokenXML, err = d.WriteToBytes(); err != nil {
				r.Problems = append(r.Problems, fmt.Sprintf("token: %v", err))
				continue
			}
			if r.Encrypted {
				continue
			}
			tm, err := saml.ParseElement(det)
			if err != nil {
				r.Problems = append(r.Problems, fmt.Sprintf("token: %v", err))
				continue
			}
			r.Token = tm
		}
	}
	if r.TokenXML == nil && len(r.Problems) == 0 {
		r.Problems = append(r.Problems, "no RequestedSecurityToken")
	}
	return r, nil
}

func child(el *etree.Element, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			return c
		}
	}
	return nil
}

func firstChildElement(el *etree.Element) *etree.Element {
	if cs := el.ChildElements(); len(cs) > 0 {
		return cs[0]
	}
	return nil
}

func descendants(el *etree.Element, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			out = append(out, c)
		}
		out = append(out, descendants(c, tag)...)
	}
	return out
}
