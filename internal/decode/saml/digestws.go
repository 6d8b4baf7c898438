package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// Whitespace inside a DigestValue.
//
// XML Schema's base64Binary, and xmlsec, allow spaces, tabs and line breaks
// inside a DigestValue; goxmldsig decodes it with the standard decoder,
// which skips CR and LF but refuses spaces and tabs. DigestValue lies
// inside SignedInfo, so the whitespace is part of what the IdP signed and
// cannot simply be removed before checking. The check is done in two
// steps, both by goxmldsig:
//
//  1. The message as it is, with the trusted certificate. goxmldsig
//     checks the signature over SignedInfo before it decodes DigestValue,
//     so a base64 error from that decoding means the trusted key did sign
//     this SignedInfo (whitespace included).
//  2. A copy in which only the whitespace inside DigestValue is removed
//     and SignedInfo is signed again with a throwaway key of this process,
//     checked with that throwaway certificate. This step makes goxmldsig
//     apply the transforms and compare the referenced content's digest
//     with the DigestValue. If the re-signed SignedInfo is not
//     canonicalised exactly as goxmldsig does, step 2 fails: it can only
//     turn a verification into a failure, never the reverse.
//
// Both steps passing means the trusted key signed a SignedInfo whose
// digest (as base64Binary) is the digest of the referenced content.

// digestHasSpaces reports whether a DigestValue of the signature holds a
// space or tab (the characters the standard decoder refuses).
func digestHasSpaces(sig *etree.Element) bool {
	for _, d := range digestValues(sig) {
		if strings.ContainsAny(d.Text(), " \t") {
			return true
		}
	}
	return false
}

func digestValues(sig *etree.Element) []*etree.Element {
	var out []*etree.Element
	si := child(sig, "SignedInfo")
	if si == nil {
		return nil
	}
	for _, r := range si.ChildElements() {
		if r.Tag != "Reference" {
			continue
		}
		if d := child(r, "DigestValue"); d != nil {
			out = append(out, d)
		}
	}
	return out
}

// isDigestDecodeError reports whether goxmldsig failed decoding a
// DigestValue, which it only does after the signature over SignedInfo
// checked out.
func isDigestDecodeError(err error) bool {
	var ce base64.CorruptInputError
	return errors.As(err, &ce)
}

type throwawayKey struct {
	once sync.Once
	key  crypto.Signer
	cert *x509.Certificate
	err  error
}

var (
	throwawayRSA   throwawayKey
	throwawayECDSA throwawayKey
)

func (t *throwawayKey) get(ec bool) (crypto.Signer, *x509.Certificate, error) {
	t.once.Do(func() {
		var k crypto.Signer
		if ec {
			k, t.err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		} else {
			k, t.err = rsa.GenerateKey(rand.Reader, 2048)
		}
		if t.err != nil {
			return
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idtrace digest check"},
			NotBefore: time.Unix(0, 0), NotAfter: time.Unix(0, 0).Add(200 * 365 * 24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
		if err != nil {
			t.err = err
			return
		}
		t.key = k
		t.cert, t.err = x509.ParseCertificate(der)
	})
	return t.key, t.cert, t.err
}

var signatureHashes = map[string]crypto.Hash{
	dsig.RSASHA1SignatureMethod: crypto.SHA1, dsig.RSASHA256SignatureMethod: crypto.SHA256,
	dsig.RSASHA384SignatureMethod: crypto.SHA384, dsig.RSASHA512SignatureMethod: crypto.SHA512,
	dsig.ECDSASHA1SignatureMethod: crypto.SHA1, dsig.ECDSASHA256SignatureMethod: crypto.SHA256,
	dsig.ECDSASHA384SignatureMethod: crypto.SHA384, dsig.ECDSASHA512SignatureMethod: crypto.SHA512,
}

// checkDigestsWithoutSpaces is step 2 above: el is a form whose signature
// over SignedInfo the trusted key has already verified (step 1). It
// returns nil when every referenced digest matches.
func checkDigestsWithoutSpaces(el *etree.Element, idAttr string) error {
	el = el.Copy()
	sig := sigChild(el)
	if sig == nil {
		return errors.New("no Signature")
	}
	for _, d := range digestValues(sig) {
		d.SetText(strings.Join(strings.Fields(d.Text()), ""))
	}
	si := child(sig, "SignedInfo")
	sm := child(si, "SignatureMethod")
	cm := child(si, "CanonicalizationMethod")
	sv := child(sig, "SignatureValue")
	if sm == nil || cm == nil || sv == nil {
		return errors.New("incomplete SignedInfo")
	}
	method := sm.SelectAttrValue("Algorithm", "")
	h, ok := signatureHashes[method]
	if !ok || !h.Available() {
		return errors.New("unsupported SignatureMethod")
	}
	var canon dsig.Canonicalizer
	switch alg := dsig.AlgorithmID(cm.SelectAttrValue("Algorithm", "")); alg {
	case dsig.CanonicalXML10ExclusiveAlgorithmId:
		canon = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	case dsig.CanonicalXML10ExclusiveWithCommentsAlgorithmId:
		canon = dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList("")
	case dsig.CanonicalXML11AlgorithmId, dsig.CanonicalXML10RecAlgorithmId:
		canon = dsig.MakeC14N11Canonicalizer()
	case dsig.CanonicalXML11WithCommentsAlgorithmId, dsig.CanonicalXML10WithCommentsAlgorithmId:
		canon = dsig.MakeC14N11WithCommentsCanonicalizer()
	default:
		return errors.New("unsupported CanonicalizationMethod")
	}
	nsctx, err := etreeutils.NSBuildParentContext(si)
	if err != nil {
		return err
	}
	detached, err := etreeutils.NSDetatch(nsctx, si)
	if err != nil {
		return err
	}
	canonical, err := canon.Canonicalize(detached)
	if err != nil {
		return err
	}
	ec := strings.Contains(method, "ecdsa")
	tk := &throwawayRSA
	if ec {
		tk = &throwawayECDSA
	}
	key, cert, err := tk.get(ec)
	if err != nil {
		return err
	}
	hh := h.New()
	hh.Write(canonical)
	sigBytes, err := key.Sign(rand.Reader, hh.Sum(nil), h)
	if err != nil {
		return err
	}
	sv.SetText(base64.StdEncoding.EncodeToString(sigBytes))
	if ki := child(sig, "KeyInfo"); ki != nil {
		sig.RemoveChild(ki)
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	ctx.IdAttribute = idAttr
	ctx.Clock = dsig.NewFakeClockAt(cert.NotBefore.Add(time.Hour))
	_, err = ctx.Validate(el)
	return err
}
