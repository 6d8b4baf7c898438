package saml

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/idtrace/idtrace/internal/testutil"
)

// ECDSA-signed SAML, with xmlsec1 (the XML Security Library, what
// Shibboleth, SimpleSAMLphp and python3-saml's xmlsec binding use) as the
// signer and as the peer whose verdict idtrace's must match.

// ecIdP is a P-256 signing key, its self-signed certificate, and both as
// PEM files for xmlsec1.
type ecIdP struct {
	key               *ecdsa.PrivateKey
	cert              *x509.Certificate
	keyFile, certFile string
}

func newECIdP(t testing.TB, dir, name string) *ecIdP {
	t.Helper()
	return newECIdPOn(t, dir, name, elliptic.P256())
}

func newECIdPOn(t testing.TB, dir, name string, curve elliptic.Curve) *ecIdP {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(11), Subject: pkix.Name{CommonName: "synthetic ECDSA IdP " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		BasicConstraintsValid: true, IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	p := &ecIdP{key: k, cert: cert, keyFile: filepath.Join(dir, name+"-key.pem"), certFile: filepath.Join(dir, name+"-cert.pem")}
	if err := os.WriteFile(p.keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ecTemplate is a Response whose assertion carries an ecdsa-sha256
// signature template for xmlsec1 to fill in.
const ecTemplate = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_resp1" Version="2.0" IssueInstant="2026-01-02T10:00:00.000Z" Destination="https://sp.example/acs" InResponseTo="id-req-1">` +
	`<saml:Issuer>https://idp.example</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
	`<saml:Assertion ID="_assert1" Version="2.0" IssueInstant="2026-01-02T10:00:00.000Z"><saml:Issuer>https://idp.example</saml:Issuer>` +
	`<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
	`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
	`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/>` +
	`<ds:Reference URI="#_assert1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
	`<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>` +
	`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>` +
	`<ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate></ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>` +
	`<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.com</saml:NameID>` +
	`<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="id-req-1" NotOnOrAfter="2026-01-02T10:05:00.000Z" Recipient="https://sp.example/acs"/></saml:SubjectConfirmation></saml:Subject>` +
	`<saml:Conditions NotBefore="2026-01-02T09:59:00.000Z" NotOnOrAfter="2026-01-02T11:00:00.000Z"><saml:AudienceRestriction><saml:Audience>https://sp.example</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
	`<saml:AuthnStatement AuthnInstant="2026-01-02T10:00:00.000Z" SessionIndex="_sess1"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
	`</saml:Assertion></samlp:Response>`

const xmlsecIDAttr = "--id-attr:ID"
const xmlsecAssertion = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"

// xmlsec1Sign has xmlsec1 sign the template with p's key, putting p's
// certificate in KeyInfo.
func xmlsec1Sign(t *testing.T, bin, dir string, p *ecIdP) []byte {
	t.Helper()
	return xmlsec1SignTemplate(t, bin, dir, p, ecTemplate)
}

func xmlsec1SignTemplate(t *testing.T, bin, dir string, p *ecIdP, template string) []byte {
	t.Helper()
	in, out := filepath.Join(dir, "template.xml"), filepath.Join(dir, "signed.xml")
	if err := os.WriteFile(in, []byte(template), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--sign", "--privkey-pem", p.keyFile+","+p.certFile, xmlsecIDAttr, xmlsecAssertion, "--output", out, in)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// xmlsec1Verifies reports xmlsec1's verdict on msg with trusted as the
// only trusted certificate.
func xmlsec1Verifies(t *testing.T, bin, dir string, msg []byte, trusted *ecIdP) bool {
	t.Helper()
	f := filepath.Join(dir, "check.xml")
	if err := os.WriteFile(f, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	return exec.Command(bin, "--verify", "--trusted-pem", trusted.certFile, xmlsecIDAttr, xmlsecAssertion, f).Run() == nil
}

// spread breaks a base64 value with the whitespace a pretty-printing IdP
// writes: line breaks, indentation, a space and a tab.
func spread(s string) string {
	return "\n        " + s[:12] + " " + s[12:24] + "\t" + s[24:40] + "\n        " + s[40:] + "\n      "
}

// reshape edits the message's signature: digest (when not nil) replaces
// the DigestValue; digestWS spreads it; signer (when not nil) signs the
// resulting SignedInfo again with r || s as XML Signature prescribes;
// der writes that signature in ASN.1 DER instead (goxmldsig's form);
// sigWS spreads the SignatureValue; keyInfo (when not nil) replaces the
// certificate in KeyInfo.
type reshape struct {
	digest           []byte
	digestWS, sigWS  bool
	signer           *ecdsa.PrivateKey
	der              bool
	keyInfo          *x509.Certificate
	replaceOld, repl string
}

func (r reshape) apply(t testing.TB, msg []byte) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(msg); err != nil {
		t.Fatal(err)
	}
	sig := doc.FindElement("//Signature")
	dv := sig.FindElement("SignedInfo/Reference/DigestValue")
	d := strings.Join(strings.Fields(dv.Text()), "")
	if r.digest != nil {
		d = base64.StdEncoding.EncodeToString(r.digest)
	}
	if r.digestWS {
		d = spread(d)
	}
	dv.SetText(d)
	if r.keyInfo != nil {
		sig.FindElement("KeyInfo/X509Data/X509Certificate").SetText(base64.StdEncoding.EncodeToString(r.keyInfo.Raw))
	}
	if r.signer != nil {
		// Sign what a reader of the written message sees.
		b, err := doc.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		doc = etree.NewDocument()
		if err := doc.ReadFromBytes(b); err != nil {
			t.Fatal(err)
		}
		sig = doc.FindElement("//Signature")
		si := sig.SelectElement("SignedInfo")
		nsctx, err := etreeutils.NSBuildParentContext(si)
		if err != nil {
			t.Fatal(err)
		}
		det, err := etreeutils.NSDetatch(nsctx, si)
		if err != nil {
			t.Fatal(err)
		}
		c, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(det)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(c)
		rr, ss, err := ecdsa.Sign(rand.Reader, r.signer, h[:])
		if err != nil {
			t.Fatal(err)
		}
		var v []byte
		if r.der {
			v, err = asn1.Marshal(struct{ R, S *big.Int }{rr, ss})
			if err != nil {
				t.Fatal(err)
			}
		} else {
			v = append(rr.FillBytes(make([]byte, 32)), ss.FillBytes(make([]byte, 32))...)
		}
		sig.SelectElement("SignatureValue").SetText(base64.StdEncoding.EncodeToString(v))
	}
	if r.sigWS {
		sv := sig.SelectElement("SignatureValue")
		sv.SetText(spread(strings.Join(strings.Fields(sv.Text()), "")))
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	if r.replaceOld != "" {
		if !bytes.Contains(out, []byte(r.replaceOld)) {
			t.Fatalf("%q not in the message", r.replaceOld)
		}
		out = bytes.Replace(out, []byte(r.replaceOld), []byte(r.repl), 1)
	}
	return out
}

// TestECDSASignedSAMLWithXmlsec1: a response signed by xmlsec1 with an
// ECDSA P-256 key (ecdsa-sha256, SignatureValue as r || s), then
// pretty-printed — whitespace inside DigestValue (signed so by the IdP)
// and SignatureValue — verifies, as it does for xmlsec1; altered content,
// a digest of other content and untrusted signers are invalid, as they
// are for xmlsec1.
func TestECDSASignedSAMLWithXmlsec1(t *testing.T) {
	bin := testutil.Tool(t, "xmlsec1")
	dir := t.TempDir()
	idp := newECIdP(t, dir, "idp")
	other := newECIdP(t, dir, "other")
	signed := xmlsec1Sign(t, bin, dir, idp)
	if !bytes.Contains(signed, []byte("ecdsa-sha256")) {
		t.Fatal("xmlsec1 did not sign with ecdsa-sha256")
	}
	pretty := reshape{digestWS: true, sigWS: true, signer: idp.key}.apply(t, signed)
	if !bytes.Contains(pretty, []byte("\t")) {
		t.Fatal("DigestValue not pretty-printed")
	}
	otherDigest := sha256.Sum256([]byte("another assertion"))
	cases := []struct {
		name    string
		msg     []byte
		trusted *ecIdP
		want    bool // verified (idtrace) and OK (xmlsec1)
		why     string
	}{
		{"xmlsec1-signed, as written", signed, idp, true, ""},
		{"SignatureValue spread over lines, spaces and a tab", reshape{sigWS: true}.apply(t, signed), idp, true, ""},
		{"DigestValue and SignatureValue pretty-printed, signed so by the IdP", pretty, idp, true, ""},
		{"altered NameID", reshape{digestWS: true, sigWS: true, signer: idp.key, replaceOld: "alice@example.com</saml:NameID>", repl: "admin@example.com</saml:NameID>"}.apply(t, signed), idp, false, "altered"},
		{"the IdP signed the digest of other content", reshape{digest: otherDigest[:], digestWS: true, sigWS: true, signer: idp.key}.apply(t, signed), idp, false, ""},
		{"whitespace added to DigestValue without the IdP", reshape{digestWS: true}.apply(t, signed), idp, false, "altered"},
		{"SignedInfo signed by an untrusted key, the IdP's certificate left in KeyInfo", reshape{digestWS: true, sigWS: true, signer: other.key}.apply(t, signed), idp, false, "altered"},
		{"signed by an untrusted key carrying its own certificate", reshape{digestWS: true, sigWS: true, signer: other.key, keyInfo: other.cert}.apply(t, signed), idp, false, "wrong key"},
		{"genuine, but the trusted certificate is another's", pretty, other, false, "wrong key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			peer := xmlsec1Verifies(t, bin, dir, c.msg, c.trusted)
			v := Verify(c.msg, []*x509.Certificate{c.trusted.cert})
			got := v.Verified != nil && *v.Verified
			if peer != c.want {
				t.Errorf("xmlsec1 verified=%v, the case expects %v", peer, c.want)
			}
			if got != peer {
				t.Errorf("idtrace %s, xmlsec1 verified=%v", v.Verdict(), peer)
			}
			if !c.want && (v.Verified == nil || !strings.Contains(v.Reason, c.why)) {
				t.Errorf("idtrace %s, want invalid (%s)", v.Verdict(), c.why)
			}
			if c.want && (!v.Covers("/Response/Assertion[1]") || len(v.Notes) != 0) {
				t.Errorf("covered %v, notes %v", v.Covered, v.Notes)
			}
		})
	}
	// Without a trusted certificate the KeyInfo one checks integrity only.
	if v := Verify(pretty, nil); v.Verified == nil || !*v.Verified || !v.SelfAsserted {
		t.Errorf("self-asserted: %s", v.Verdict())
	}
}

// TestECDSASignatureDER: goxmldsig writes (and checks) ECDSA
// SignatureValues in ASN.1 DER rather than XML Signature's r || s.
// idtrace verifies both, since either way the trusted key signed this
// SignedInfo; xmlsec1 refuses DER, a difference docs/signatures.md states.
func TestECDSASignatureDER(t *testing.T) {
	bin := testutil.Tool(t, "xmlsec1")
	dir := t.TempDir()
	idp := newECIdP(t, dir, "idp")
	signed := xmlsec1Sign(t, bin, dir, idp)
	der := reshape{sigWS: true, signer: idp.key, der: true}.apply(t, signed)
	if v := Verify(der, []*x509.Certificate{idp.cert}); v.Verified == nil || !*v.Verified || !strings.Contains(v.Verdict().String(), DERNote) || !strings.Contains(v.Reason, DERNote) {
		t.Errorf("DER ECDSA signature: %s, want verified with the DER note", v.Verdict())
	}
	if xmlsec1Verifies(t, bin, dir, der, idp) {
		t.Error("xmlsec1 now accepts DER ECDSA signatures: update docs/signatures.md")
	}
	bad := reshape{sigWS: true, signer: idp.key, der: true, replaceOld: "alice@", repl: "admin@"}.apply(t, signed)
	if v := Verify(bad, []*x509.Certificate{idp.cert}); v.Verified == nil || *v.Verified {
		t.Errorf("DER ECDSA signature, altered NameID: %s", v.Verdict())
	}
}

// goxmldsigSignedEC signs ecTemplate's assertion with goxmldsig (DER
// SignatureValue) and no xmlsec1: a seed for the fuzz targets.
func goxmldsigSignedEC(t testing.TB, p *ecIdP) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(ecTemplate); err != nil {
		t.Fatal(err)
	}
	a := doc.FindElement("//Assertion")
	a.RemoveChild(a.SelectElement("Signature"))
	ctx, err := dsig.NewSigningContext(p.key, [][]byte{p.cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	nsctx, err := etreeutils.NSBuildParentContext(a)
	if err != nil {
		t.Fatal(err)
	}
	det, err := etreeutils.NSDetatch(nsctx, a)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := ctx.SignEnveloped(det)
	if err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	root.RemoveChild(a)
	root.AddChild(signed)
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestECDSAGoxmldsigSigned: the fuzz seeds verify (DER as written, and
// r || s with whitespace after re-signing).
func TestECDSAGoxmldsigSigned(t *testing.T) {
	ec := newECIdP(t, t.TempDir(), "g")
	der := goxmldsigSignedEC(t, ec)
	for name, msg := range map[string][]byte{"DER": der, "r || s, pretty-printed": reshape{digestWS: true, sigWS: true, signer: ec.key}.apply(t, der)} {
		if v := Verify(msg, []*x509.Certificate{ec.cert}); v.Verified == nil || !*v.Verified {
			t.Errorf("%s: %s", name, v.Verdict())
		}
	}
}

// TestECDSACurvesWithXmlsec1: P-384 with ecdsa-sha384 and P-521 with
// ecdsa-sha512 (r || s of 96 and 132 bytes), signed by xmlsec1 and with
// the SignatureValue spread over lines: verified as xmlsec1 verifies them,
// and invalid, as for xmlsec1, once the NameID changes.
func TestECDSACurvesWithXmlsec1(t *testing.T) {
	bin := testutil.Tool(t, "xmlsec1")
	for _, c := range []struct {
		name   string
		curve  elliptic.Curve
		method string
	}{
		{"P-384 ecdsa-sha384", elliptic.P384(), "ecdsa-sha384"},
		{"P-521 ecdsa-sha512", elliptic.P521(), "ecdsa-sha512"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			idp := newECIdPOn(t, dir, "idp", c.curve)
			signed := xmlsec1SignTemplate(t, bin, dir, idp, strings.Replace(ecTemplate, "ecdsa-sha256", c.method, 1))
			if !bytes.Contains(signed, []byte(c.method)) {
				t.Fatalf("xmlsec1 did not sign with %s", c.method)
			}
			trusted := []*x509.Certificate{idp.cert}
			for name, msg := range map[string][]byte{
				"as written":            signed,
				"SignatureValue spread": reshape{sigWS: true}.apply(t, signed),
			} {
				v := Verify(msg, trusted)
				if peer := xmlsec1Verifies(t, bin, dir, msg, idp); !peer || v.Verified == nil || !*v.Verified {
					t.Errorf("%s: idtrace %s, xmlsec1 verified=%v", name, v.Verdict(), peer)
				}
			}
			bad := bytes.Replace(signed, []byte("alice@example.com</saml:NameID>"), []byte("admin@example.com</saml:NameID>"), 1)
			v := Verify(bad, trusted)
			if peer := xmlsec1Verifies(t, bin, dir, bad, idp); peer || v.Verified == nil || *v.Verified {
				t.Errorf("altered NameID: idtrace %s, xmlsec1 verified=%v", v.Verdict(), peer)
			}
		})
	}
}
