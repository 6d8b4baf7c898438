package saml

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/beevik/etree"
)

// ErrDecrypt is wrapped by every decryption failure.
var ErrDecrypt = errors.New("cannot decrypt")

// ParsePrivateKey reads the service provider's RSA private key: PEM
// ("PRIVATE KEY", "RSA PRIVATE KEY") or DER (PKCS #8 or PKCS #1).
func ParsePrivateKey(b []byte) (*rsa.PrivateKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if k, err := x509.ParsePKCS1PrivateKey(b); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		return nil, errors.New("saml: not an RSA private key (PEM or DER, PKCS #1 or #8)")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("saml: the private key is a %T; encrypted assertions use RSA key transport", k)
	}
	return rk, nil
}

// DecryptAssertions returns the plaintext of every EncryptedAssertion of a
// SAML message, decrypted with the service provider's private key, in
// document order. Key transport: RSA-OAEP (xmlenc rsa-oaep-mgf1p and
// xmlenc11 rsa-oaep, any digest) and RSA PKCS #1 v1.5; content: AES-CBC,
// AES-GCM and 3DES-CBC. Each plaintext is an Assertion document that
// Verify and Parse read like any other.
func DecryptAssertions(xmlb []byte, key *rsa.PrivateKey) ([][]byte, error) {
	doc, err := SafeDocument(xmlb)
	if err != nil {
		return nil, err
	}
	declareKnownPrefixes(doc.Root())
	var out [][]byte
	var walk func(el *etree.Element, depth int) error
	walk = func(el *etree.Element, depth int) error {
		if depth > MaxDepth {
			return nil
		}
		if el.Tag == "EncryptedAssertion" && el.NamespaceURI() == NSAssertion {
			pt, err := decryptElement(el, key)
			if err != nil {
				return fmt.Errorf("saml: EncryptedAssertion %d: %w", len(out)+1, err)
			}
			out = append(out, pt)
			return nil
		}
		for _, c := range el.ChildElements() {
			if err := walk(c, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(doc.Root(), 0); err != nil {
		return nil, err
	}
	return out, nil
}

// ShowDecrypted replaces each EncryptedAssertion of m, a message parsed
// from xmlb, with the assertion decrypted from it with the service
// provider's key: its Path is the encrypted one's with " (decrypted)"
// appended (the path VerifyDecrypting's verdict names) and DecryptedFrom
// the encrypted one's. On a decryption error m is left as it was.
func ShowDecrypted(m *Message, xmlb []byte, key *rsa.PrivateKey) error {
	if m == nil || key == nil || !slices.ContainsFunc(m.Assertions, func(a Assertion) bool { return a.Encrypted }) {
		return nil
	}
	pts, err := DecryptAssertions(xmlb, key)
	if err != nil {
		return err
	}
	out := slices.Clone(m.Assertions)
	k := 0
	for i := range out {
		if !out[i].Encrypted {
			continue
		}
		if k >= len(pts) {
			return fmt.Errorf("saml: %d encrypted assertions, %d decrypted", k+1, len(pts))
		}
		dm, err := ParseWithKey(pts[k], key)
		if err != nil {
			return fmt.Errorf("saml: EncryptedAssertion %d: the plaintext: %w", k+1, err)
		}
		if len(dm.Assertions) != 1 || dm.Kind != "Assertion" {
			return fmt.Errorf("saml: EncryptedAssertion %d: the plaintext is a %s, not one assertion", k+1, dm.Kind)
		}
		d := dm.Assertions[0]
		d.DecryptedFrom, d.Path = out[i].Path, out[i].Path+" (decrypted)"
		out[i] = d
		k++
	}
	m.Assertions = out
	return nil
}

// Algorithm identifiers of XML Encryption 1.0 and 1.1.
const (
	algRSAOAEP    = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
	algRSAOAEP11  = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
	algRSA15      = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
	algAES128CBC  = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	algAES192CBC  = "http://www.w3.org/2001/04/xmlenc#aes192-cbc"
	algAES256CBC  = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
	algAES128GCM  = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	algAES192GCM  = "http://www.w3.org/2009/xmlenc11#aes192-gcm"
	algAES256GCM  = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	alg3DESCBC    = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"
	nsXMLEnc11    = "http://www.w3.org/2009/xmlenc11#"
	mgfPrefix     = "http://www.w3.org/2009/xmlenc11#mgf1"
	digestSHA1    = "http://www.w3.org/2000/09/xmldsig#sha1"
	digestSHA256  = "http://www.w3.org/2001/04/xmlenc#sha256"
	digestSHA384  = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	digestSHA512  = "http://www.w3.org/2001/04/xmlenc#sha512"
	maxCipherSize = MaxXMLSize * 2
)

func findDesc(el *etree.Element, tag string, depth int) *etree.Element {
	if depth > 8 {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == tag {
			return c
		}
		if f := findDesc(c, tag, depth+1); f != nil {
			return f
		}
	}
	return nil
}

func cipherValue(el *etree.Element) ([]byte, error) {
	cd := child(el, "CipherData")
	if cd == nil {
		return nil, errors.New("no CipherData")
	}
	cv := child(cd, "CipherValue")
	if cv == nil {
		return nil, errors.New("no CipherValue (CipherReference is not supported)")
	}
	s := strings.Join(strings.Fields(cv.Text()), "")
	if len(s) > maxCipherSize {
		return nil, fmt.Errorf("%w: CipherValue too large", ErrTooLarge)
	}
	return base64.StdEncoding.DecodeString(s)
}

func decryptElement(ea *etree.Element, key *rsa.PrivateKey) ([]byte, error) {
	ed := child(ea, "EncryptedData")
	if ed == nil {
		return nil, fmt.Errorf("%w: no EncryptedData", ErrDecrypt)
	}
	ek := findDesc(ed, "EncryptedKey", 0)
	if ek == nil {
		// The key may sit beside the data (referenced by RetrievalMethod).
		ek = child(ea, "EncryptedKey")
	}
	if ek == nil {
		return nil, fmt.Errorf("%w: no EncryptedKey", ErrDecrypt)
	}
	cek, err := unwrapKey(ek, key)
	if err != nil {
		return nil, fmt.Errorf("%w: encrypted key: %v", ErrDecrypt, err)
	}
	em := child(ed, "EncryptionMethod")
	if em == nil {
		return nil, fmt.Errorf("%w: EncryptedData without EncryptionMethod", ErrDecrypt)
	}
	ct, err := cipherValue(ed)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	pt, err := decryptContent(em.SelectAttrValue("Algorithm", ""), cek, ct)
	if err != nil {
		return nil, fmt.Errorf("%w: content: %v", ErrDecrypt, err)
	}
	return pt, nil
}

func hashOf(uri string) (crypto.Hash, error) {
	switch uri {
	case "", digestSHA1:
		return crypto.SHA1, nil
	case digestSHA256:
		return crypto.SHA256, nil
	case digestSHA384:
		return crypto.SHA384, nil
	case digestSHA512:
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("unsupported digest %q", uri)
}

func unwrapKey(ek *etree.Element, key *rsa.PrivateKey) ([]byte, error) {
	em := child(ek, "EncryptionMethod")
	if em == nil {
		return nil, errors.New("no EncryptionMethod")
	}
	ct, err := cipherValue(ek)
	if err != nil {
		return nil, err
	}
	switch alg := em.SelectAttrValue("Algorithm", ""); alg {
	case algRSA15:
		// IdPs still send RSA 1.5 key transport. Its danger is a padding
		// oracle on a live service; an offline decoder run by the key's
		// owner answers no attacker's queries.
		//lint:ignore SA1019 see above
		return rsa.DecryptPKCS1v15(nil, key, ct)
	case algRSAOAEP, algRSAOAEP11:
		dig := ""
		if dm := child(em, "DigestMethod"); dm != nil {
			dig = dm.SelectAttrValue("Algorithm", "")
		}
		h, err := hashOf(dig)
		if err != nil {
			return nil, err
		}
		mgf := crypto.SHA1
		if m := child(em, "MGF"); m != nil && alg == algRSAOAEP11 {
			switch a := m.SelectAttrValue("Algorithm", ""); a {
			case mgfPrefix + "sha1":
			case mgfPrefix + "sha256":
				mgf = crypto.SHA256
			case mgfPrefix + "sha384":
				mgf = crypto.SHA384
			case mgfPrefix + "sha512":
				mgf = crypto.SHA512
			default:
				return nil, fmt.Errorf("unsupported MGF %q", a)
			}
		}
		var label []byte
		if p := child(em, "OAEPparams"); p != nil {
			if label, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(p.Text()), "")); err != nil {
				return nil, errors.New("OAEPparams is not base64")
			}
		}
		return key.Decrypt(nil, ct, &rsa.OAEPOptions{Hash: h, MGFHash: mgf, Label: label})
	default:
		return nil, fmt.Errorf("unsupported key transport %q", alg)
	}
}

func decryptContent(alg string, cek, ct []byte) ([]byte, error) {
	var block cipher.Block
	var err error
	size := map[string]int{algAES128CBC: 16, algAES192CBC: 24, algAES256CBC: 32, algAES128GCM: 16, algAES192GCM: 24, algAES256GCM: 32, alg3DESCBC: 24}[alg]
	if size == 0 {
		return nil, fmt.Errorf("unsupported content encryption %q", alg)
	}
	if len(cek) != size {
		return nil, fmt.Errorf("key of %d bytes for %s", len(cek), alg)
	}
	if alg == alg3DESCBC {
		block, err = des.NewTripleDESCipher(cek)
	} else {
		block, err = aes.NewCipher(cek)
	}
	if err != nil {
		return nil, err
	}
	switch alg {
	case algAES128GCM, algAES192GCM, algAES256GCM:
		g, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		if len(ct) < g.NonceSize()+g.Overhead() {
			return nil, errors.New("ciphertext too short")
		}
		return g.Open(nil, ct[:g.NonceSize()], ct[g.NonceSize():], nil)
	}
	bs := block.BlockSize()
	if len(ct) < 2*bs || len(ct)%bs != 0 {
		return nil, errors.New("ciphertext is not whole blocks")
	}
	pt := make([]byte, len(ct)-bs)
	cipher.NewCBCDecrypter(block, ct[:bs]).CryptBlocks(pt, ct[bs:])
	// XML Encryption padding: the last byte is the pad length.
	n := int(pt[len(pt)-1])
	if n == 0 || n > bs || n > len(pt) {
		return nil, errors.New("bad padding (wrong key?)")
	}
	return pt[:len(pt)-n], nil
}

// VerifyDecrypting is Verify for a message whose assertion may be
// encrypted for the service provider: with the SP's key, the assertion is
// decrypted and its own signature checked as well. A Response signature
// covers the encrypted form; an assertion signature inside the encryption
// covers the plaintext, reported as "<path> (decrypted)". Decryption
// errors are returned beside the verification of the message as it is.
func VerifyDecrypting(xmlb []byte, certs []*x509.Certificate, key *rsa.PrivateKey) (Verification, [][]byte, error) {
	v := Verify(xmlb, certs)
	if key == nil || v.Verified != nil && !*v.Verified {
		return v, nil, nil
	}
	pts, err := DecryptAssertions(xmlb, key)
	if err != nil || len(pts) == 0 {
		return v, nil, err
	}
	encPath := ""
	for _, u := range append(append([]string{}, v.Uncovered...), v.Covered...) {
		if strings.Contains(u, "EncryptedAssertion") {
			encPath = u
		}
	}
	if encPath == "" {
		encPath = "/EncryptedAssertion"
		if m, err := Parse(xmlb); err == nil {
			for _, a := range m.Assertions {
				if a.Encrypted {
					encPath = a.Path
				}
			}
		}
	}
	inner := Verify(pts[0], certs)
	label := encPath + " (decrypted)"
	byResponse := Decrypted{From: encPath, Verdict: Verdict{Status: StatusVerified, Why: "covered by the " + strings.TrimPrefix(v.cover0(), "/") + " signature over its encrypted form"}}
	switch {
	case inner.Verified != nil && !*inner.Verified:
		if v.Verified != nil && *v.Verified && strings.HasPrefix(inner.Reason, "unsigned") {
			// The Response signature covers the encrypted assertion.
			v.Decrypted = []Decrypted{byResponse}
			return v, pts, nil
		}
		return Verification{Verified: ptrB(false), Reason: "decrypted assertion: " + inner.Reason, Signatures: append(v.Signatures, inner.Signatures...),
			Decrypted: []Decrypted{{From: encPath, Verdict: inner.Verdict()}}}, pts, nil
	case inner.Verified != nil && *inner.Verified:
		out := v
		out.Signatures = append(out.Signatures, inner.Signatures...)
		if v.Verified == nil {
			out.Covered, out.Uncovered, out.SelfAsserted = nil, nil, inner.SelfAsserted
		}
		out.Verified = ptrB(true)
		out.SelfAsserted = out.SelfAsserted || inner.SelfAsserted
		out.Covered = append(out.Covered, label)
		out.Reason = "covers " + strings.Join(out.Covered, ", ")
		if out.SelfAsserted {
			out.Reason += " (" + SelfAssertedNote + ")"
		}
		for _, n := range inner.Notes {
			if !slices.Contains(out.Notes, n) {
				out.Notes = append(out.Notes, n)
			}
		}
		for _, n := range out.Notes {
			out.Reason += "; " + n
		}
		why := "its own signature"
		if inner.SelfAsserted {
			why += "; " + SelfAssertedNote
		}
		out.Decrypted = []Decrypted{{From: encPath, Verdict: Verdict{Status: StatusVerified, Why: why, Covers: []string{label}}}}
		return out, pts, nil
	}
	if v.Verified != nil && *v.Verified {
		v.Decrypted = []Decrypted{byResponse}
		return v, pts, nil
	}
	return Verification{Reason: "decrypted assertion: " + inner.Reason, Signatures: inner.Signatures,
		Decrypted: []Decrypted{{From: encPath, Verdict: inner.Verdict()}}}, pts, nil
}

// Decrypted says which EncryptedAssertion VerifyDecrypting decrypted, and
// the verdict on the assertion inside: its own signature, or the
// Response's signature over the encrypted form.
type Decrypted struct {
	From    string
	Verdict Verdict
}

// cover0 is the first covered path, or "Response".
func (v *Verification) cover0() string {
	if len(v.Covered) > 0 {
		return v.Covered[0]
	}
	return "Response"
}

// DecryptNameID reads an EncryptedID element. With the service provider's
// private key it returns the decrypted NameID (marked Encrypted), with the
// same key transports and ciphers as DecryptAssertions. Without a key, or
// when decryption fails (Err), Value says which key would decrypt it: the
// certificate or key name the IdP encrypted for, when the message names
// one.
func DecryptNameID(el *etree.Element, key *rsa.PrivateKey) *NameID {
	hint := "(encrypted: give the service provider's private key with --key FILE"
	if who := encryptedFor(el); who != "" {
		hint += "; encrypted for " + who
	}
	hint += ")"
	if key == nil {
		return &NameID{Value: hint, Encrypted: true}
	}
	fail := func(err error) *NameID {
		return &NameID{Value: hint, Encrypted: true, Err: fmt.Errorf("saml: EncryptedID: %w", err)}
	}
	pt, err := decryptElement(el, key)
	if err != nil {
		return fail(err)
	}
	doc, err := SafeDocument(pt)
	if err != nil {
		return fail(fmt.Errorf("%w: plaintext: %v", ErrDecrypt, err))
	}
	root := doc.Root()
	declareKnownPrefixes(root)
	if root.Tag != "NameID" {
		return fail(fmt.Errorf("%w: plaintext is a %s, not a NameID", ErrDecrypt, root.Tag))
	}
	n := nameID(root)
	n.Encrypted = true
	return n
}

// encryptedFor names the key an EncryptedID's EncryptedKey was made for:
// the subject and serial of an X509Certificate in its KeyInfo, else a
// KeyName, else "".
func encryptedFor(el *etree.Element) string {
	ek := findDesc(el, "EncryptedKey", 0)
	if ek == nil {
		return ""
	}
	ki := child(ek, "KeyInfo")
	if ki == nil {
		return ""
	}
	if x := findDesc(ki, "X509Certificate", 0); x != nil {
		if c, err := ParseCertificate(x.Text()); err == nil {
			return fmt.Sprintf("the certificate %q (serial %s)", c.Subject.String(), c.SerialNumber.Text(16))
		}
	}
	if kn := findDesc(ki, "KeyName", 0); kn != nil && strings.TrimSpace(kn.Text()) != "" {
		return fmt.Sprintf("the key named %q", strings.TrimSpace(kn.Text()))
	}
	return ""
}
