package saml

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// prettyDigest rewrites the DigestValue of the (only) signature of msg
// with newDigest broken by spaces, a tab and a line break, as a
// pretty-printing IdP writes it, and — when key is not nil — signs the
// changed SignedInfo again with key, so that the whitespace is part of
// what the signer signed.
func prettyDigest(t *testing.T, msg []byte, newDigest []byte, key *rsa.PrivateKey) []byte {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(msg); err != nil {
		t.Fatal(err)
	}
	sig := doc.FindElement("//Signature")
	si := sig.SelectElement("SignedInfo")
	dv := si.SelectElement("Reference").SelectElement("DigestValue")
	d := dv.Text()
	if newDigest != nil {
		d = base64.StdEncoding.EncodeToString(newDigest)
	}
	dv.SetText("\n\t  " + d[:10] + " " + d[10:20] + "\t" + d[20:30] + "\r\n    " + d[30:] + "\n  ")
	if key != nil {
		// Sign what a reader of the written message sees (an XML parser
		// turns the CR LF into LF).
		b, err := doc.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		doc = etree.NewDocument()
		if err := doc.ReadFromBytes(b); err != nil {
			t.Fatal(err)
		}
		sig = doc.FindElement("//Signature")
		si = sig.SelectElement("SignedInfo")
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
		if got := si.SelectElement("SignatureMethod").SelectAttrValue("Algorithm", ""); got != dsig.RSASHA256SignatureMethod {
			t.Fatalf("test IdP signs with %s, this helper with rsa-sha256", got)
		}
		h := sha256.Sum256(c)
		s, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, h[:])
		if err != nil {
			t.Fatal(err)
		}
		sig.SelectElement("SignatureValue").SetText(base64.StdEncoding.EncodeToString(s))
	}
	out, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDigestValueWhitespace(t *testing.T) {
	p := newIdP(t)
	other := newIdP(t)
	trusted := []*x509.Certificate{p.cert}
	base := respOpts{issued: time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), audience: "https://sp.example", requestID: "id-req-1", destination: "https://sp.example/acs"}
	for _, which := range []string{"assertion", "response"} {
		t.Run(which, func(t *testing.T) {
			o := base
			o.signAssert, o.signResp = which == "assertion", which == "response"
			genuine := p.response(t, o)
			if v := Verify(genuine, trusted); v.Verified == nil || !*v.Verified {
				t.Fatalf("compact genuine message: %+v", v)
			}
			pretty := prettyDigest(t, genuine, nil, p.key)
			if !bytes.Contains(pretty, []byte("\t")) {
				t.Fatal("helper did not put whitespace into DigestValue")
			}
			v := Verify(pretty, trusted)
			if v.Verified == nil || !*v.Verified {
				t.Fatalf("pretty-printed genuine DigestValue: want verified, got %v (%s)", v.Verified, v.Reason)
			}
			if !v.Covers(map[string]string{"assertion": "/Response/Assertion[1]", "response": "/Response"}[which]) {
				t.Errorf("covered paths %v", v.Covered)
			}

			invalid := func(name string, msg []byte, certs []*x509.Certificate) {
				t.Helper()
				v := Verify(msg, certs)
				if v.Verified == nil || *v.Verified {
					t.Errorf("%s: want invalid, got %v (%s)", name, v.Verified, v.Reason)
				}
			}
			// The signed digest is of other content, whitespace or not.
			wrong := sha256.Sum256([]byte("some other assertion"))
			invalid("genuinely different digest, signed", prettyDigest(t, genuine, wrong[:], p.key), trusted)
			// The content changed after signing.
			invalid("altered NameID", bytes.Replace(pretty, []byte("alice@example.com</saml:NameID>"), []byte("admin@example.com</saml:NameID>"), 1), trusted)
			// Whitespace added without the signer: SignedInfo altered.
			invalid("whitespace not signed", prettyDigest(t, genuine, nil, nil), trusted)
			// Signed by a key that is not trusted.
			invalid("untrusted signer", prettyDigest(t, genuine, nil, other.key), trusted)
			invalid("wrong trusted cert", pretty, []*x509.Certificate{other.cert})
			// Not base64 even without whitespace.
			invalid("not base64", bytes.Replace(prettyDigest(t, genuine, nil, nil), []byte("<ds:DigestValue>"), []byte("<ds:DigestValue>!!"), 1), trusted)
		})
	}
}

// TestX509CertificateWhitespace: spaces, tabs and line breaks inside a
// KeyInfo X509Certificate are read (base64Binary); a certificate that is
// not the signer's still is not.
func TestX509CertificateWhitespace(t *testing.T) {
	p := newIdP(t)
	other := newIdP(t)
	o := respOpts{issued: time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), audience: "https://sp.example", requestID: "id-req-1", destination: "https://sp.example/acs", signAssert: true}
	genuine := p.response(t, o)
	b64 := base64.StdEncoding.EncodeToString(p.cert.Raw)
	if !bytes.Contains(genuine, []byte(b64)) {
		t.Fatal("test IdP did not put its certificate into KeyInfo")
	}
	pretty := func(s string) string { return "\n\t " + s[:40] + " \t" + s[40:100] + "\r\n  " + s[100:] + "\n" }
	spaced := bytes.Replace(genuine, []byte(b64), []byte(pretty(b64)), 1)
	v := Verify(spaced, nil)
	if v.Verified == nil || !*v.Verified || !v.SelfAsserted {
		t.Fatalf("pretty-printed KeyInfo certificate, self-asserted: got %v (%s)", v.Verified, v.Reason)
	}
	// Another certificate, pretty-printed, in KeyInfo: the signature does
	// not check with it.
	swapped := bytes.Replace(genuine, []byte(b64), []byte(pretty(base64.StdEncoding.EncodeToString(other.cert.Raw))), 1)
	if v := Verify(swapped, nil); v.Verified == nil || *v.Verified {
		t.Errorf("another certificate in KeyInfo: want invalid, got %v (%s)", v.Verified, v.Reason)
	}
	if v := Verify(swapped, []*x509.Certificate{p.cert}); v.Verified == nil || *v.Verified {
		t.Errorf("another certificate in KeyInfo, trusted cert given: want invalid, got %v (%s)", v.Verified, v.Reason)
	}
}
