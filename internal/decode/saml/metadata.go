package saml

import (
	"crypto/x509"
	"fmt"

	"github.com/beevik/etree"
)

// Endpoint is a single sign-on, logout or assertion consumer endpoint.
type Endpoint struct {
	// Kind is the element name: "SingleSignOnService",
	// "SingleLogoutService", "AssertionConsumerService", or for WS-Fed
	// "PassiveRequestorEndpoint".
	Kind     string
	Binding  string
	Location string
	// Role is the descriptor the endpoint belongs to ("IDPSSODescriptor", ...).
	Role string
}

// Metadata is the part of SAML/WS-Federation metadata (an EntityDescriptor,
// or the first one of an EntitiesDescriptor) the analyzer uses.
type Metadata struct {
	EntityID string
	// SigningCerts are the certificates of KeyDescriptors with use
	// "signing" or no use, from every role, without duplicates.
	SigningCerts []*x509.Certificate
	Endpoints    []Endpoint
	// Signed is true when the metadata document itself carries a signature.
	Signed bool
	// Problems lists certificates or values that could not be read.
	Problems []string
}

// ParseMetadata reads federation metadata (for Entra:
// federationmetadata/2007-06/federationmetadata.xml) with the same XML
// hardening as Parse, and a larger size cap (MaxMetadataSize).
func ParseMetadata(xmlb []byte) (*Metadata, error) {
	doc, err := safeDocument(xmlb, MaxMetadataSize)
	if err != nil {
		return nil, err
	}
	root := doc.Root()
	if root.Tag == "EntitiesDescriptor" {
		for _, c := range root.ChildElements() {
			if c.Tag == "EntityDescriptor" {
				root = c
				break
			}
		}
	}
	if root.Tag != "EntityDescriptor" || root.NamespaceURI() != NSMetadata {
		return nil, fmt.Errorf("saml: metadata: %w: root is {%s}%s, not an EntityDescriptor", ErrNotSAML, root.NamespaceURI(), root.Tag)
	}
	md := &Metadata{EntityID: root.SelectAttrValue("entityID", ""), Signed: sigChild(root) != nil}
	for _, role := range root.ChildElements() {
		if role.Tag == "Signature" || role.Tag == "Extensions" {
			continue
		}
		for _, c := range role.ChildElements() {
			switch c.Tag {
			case "KeyDescriptor":
				if use := c.SelectAttrValue("use", ""); use != "" && use != "signing" {
					continue
				}
				for _, x := range findAll(c, "X509Certificate") {
					cert, err := ParseCertificate(x.Text())
					if err != nil {
						md.Problems = append(md.Problems, fmt.Sprintf("%s KeyDescriptor: %v", role.Tag, err))
						continue
					}
					if !containsCert(md.SigningCerts, cert) {
						md.SigningCerts = append(md.SigningCerts, cert)
					}
				}
			case "SingleSignOnService", "SingleLogoutService", "AssertionConsumerService":
				md.Endpoints = append(md.Endpoints, Endpoint{Kind: c.Tag, Role: role.Tag,
					Binding: c.SelectAttrValue("Binding", ""), Location: c.SelectAttrValue("Location", "")})
			case "PassiveRequestorEndpoint", "SecurityTokenServiceEndpoint":
				for _, a := range findAll(c, "Address") {
					md.Endpoints = append(md.Endpoints, Endpoint{Kind: c.Tag, Role: role.Tag, Location: text(a)})
				}
			}
		}
	}
	return md, nil
}

// findAll returns descendants of el with the local name tag.
func findAll(el *etree.Element, tag string) []*etree.Element {
	var out []*etree.Element
	var walk func(*etree.Element)
	walk = func(e *etree.Element) {
		for _, c := range e.ChildElements() {
			if c.Tag == tag {
				out = append(out, c)
			}
			walk(c)
		}
	}
	walk(el)
	return out
}

func containsCert(list []*x509.Certificate, c *x509.Certificate) bool {
	for _, x := range list {
		if x.Equal(c) {
			return true
		}
	}
	return false
}
