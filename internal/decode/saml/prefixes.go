package saml

import "github.com/beevik/etree"

// knownPrefixes maps the prefixes SAML software conventionally uses to
// their namespaces.
var knownPrefixes = map[string]string{
	"saml": NSAssertion, "saml2": NSAssertion, "samlp": NSProtocol, "saml2p": NSProtocol,
	"ds": NSDSig, "xenc": NSXMLEnc, "md": NSMetadata,
}

// declareKnownPrefixes handles a message cut out of a larger document (an
// assertion copied out of its Response, a token out of a WS-Trust
// envelope) whose namespace declarations stayed on the ancestors: for each
// conventional prefix (saml, samlp, ds, ...) used in the tree but declared
// nowhere, it declares the conventional namespace on the root. Exclusive
// canonicalization renders the declarations of the prefixes an element
// uses, so this restores what the signer saw; declared prefixes are never
// changed.
func declareKnownPrefixes(root *etree.Element) {
	missing := map[string]bool{}
	var walk func(el *etree.Element, depth int)
	walk = func(el *etree.Element, depth int) {
		if depth > MaxDepth {
			return
		}
		if p := el.Space; p != "" && knownPrefixes[p] != "" && el.NamespaceURI() == "" {
			missing[p] = true
		}
		for _, c := range el.ChildElements() {
			walk(c, depth+1)
		}
	}
	walk(root, 0)
	for p := range missing {
		root.CreateAttr("xmlns:"+p, knownPrefixes[p])
	}
}
