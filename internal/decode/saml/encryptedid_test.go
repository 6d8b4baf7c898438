package saml

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

const testNameID = `<saml:NameID xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" SPNameQualifier="https://sp.example">bob@example.com</saml:NameID>`

// encryptedID encrypts testNameID for sp with Go's crypto, as an IdP
// does: a fresh content key, the content cipher named by content, and
// that key wrapped for sp's certificate with transport.
func encryptedID(t *testing.T, sp *idp, transport, content string) string {
	t.Helper()
	size := map[string]int{algAES128CBC: 16, algAES256CBC: 32, algAES128GCM: 16, algAES256GCM: 32}[content]
	cek := make([]byte, size)
	rand.Read(cek)
	block, err := aes.NewCipher(cek)
	if err != nil {
		t.Fatal(err)
	}
	var ct []byte
	switch content {
	case algAES128GCM, algAES256GCM:
		g, _ := cipher.NewGCM(block)
		nonce := make([]byte, g.NonceSize())
		rand.Read(nonce)
		ct = g.Seal(nonce, nonce, []byte(testNameID), nil)
	default:
		pt := []byte(testNameID)
		pad := aes.BlockSize - len(pt)%aes.BlockSize
		pt = append(pt, bytes.Repeat([]byte{byte(pad)}, pad)...)
		ct = make([]byte, aes.BlockSize+len(pt))
		rand.Read(ct[:aes.BlockSize])
		cipher.NewCBCEncrypter(block, ct[:aes.BlockSize]).CryptBlocks(ct[aes.BlockSize:], pt)
	}
	var wrapped []byte
	method := `<xenc:EncryptionMethod Algorithm="` + transport + `"/>`
	if transport == algRSAOAEP {
		wrapped, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, &sp.key.PublicKey, cek, nil)
		method = `<xenc:EncryptionMethod Algorithm="` + transport + `"><ds:DigestMethod Algorithm="` + digestSHA1 + `"/></xenc:EncryptionMethod>`
	} else {
		// IdPs still send RSA 1.5 key transport; the test plays one.
		//lint:ignore SA1019 see above
		wrapped, err = rsa.EncryptPKCS1v15(rand.Reader, &sp.key.PublicKey, cek)
	}
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	return `<saml:EncryptedID><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Type="http://www.w3.org/2001/04/xmlenc#Element">` +
		`<xenc:EncryptionMethod Algorithm="` + content + `"/><ds:KeyInfo><xenc:EncryptedKey>` + method +
		`<ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + b64(sp.cert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>` +
		`<xenc:CipherData><xenc:CipherValue>` + b64(wrapped) + `</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>` +
		`<xenc:CipherData><xenc:CipherValue>` + b64(ct) + `</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedID>`
}

func logoutRequest(eid string) []byte {
	return []byte(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lo1" Version="2.0" IssueInstant="2026-01-02T10:00:00Z">` +
		`<saml:Issuer>https://idp.example</saml:Issuer>` + eid + `<samlp:SessionIndex>_s1</samlp:SessionIndex></samlp:LogoutRequest>`)
}

func assertionWith(eid string) []byte {
	return []byte(`<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="2026-01-02T10:00:00Z">` +
		`<saml:Issuer>https://idp.example</saml:Issuer><saml:Subject>` + eid + `</saml:Subject></saml:Assertion>`)
}

func TestEncryptedID(t *testing.T) {
	sp := newIdP(t) // its key pair serves as the SP's encryption key
	other := newIdP(t)
	for _, transport := range []string{algRSAOAEP, algRSA15} {
		for _, content := range []string{algAES128CBC, algAES256CBC, algAES128GCM, algAES256GCM} {
			name := transport[strings.LastIndex(transport, "#")+1:] + "/" + content[strings.LastIndex(content, "#")+1:]
			t.Run(name, func(t *testing.T) {
				eid := encryptedID(t, sp, transport, content)
				for _, msg := range [][]byte{logoutRequest(eid), assertionWith(eid)} {
					get := func(m *Message) *NameID {
						if m.Kind == "Assertion" {
							return m.Assertions[0].Subject
						}
						return m.NameID
					}
					m, err := ParseWithKey(msg, sp.key)
					if err != nil {
						t.Fatal(err)
					}
					n := get(m)
					if n == nil || n.Err != nil || n.Value != "bob@example.com" || !n.Encrypted ||
						n.Format != "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" || n.SPNameQualifier != "https://sp.example" {
						t.Fatalf("%s with the SP key: %+v", m.Kind, n)
					}
					if len(m.Problems) != 0 {
						t.Errorf("problems: %v", m.Problems)
					}

					// Without a key: the value stays hidden, the hint names the key.
					m, err = Parse(msg)
					if err != nil {
						t.Fatal(err)
					}
					n = get(m)
					if n == nil || !n.Encrypted || n.Err != nil || strings.Contains(n.Value, "bob") ||
						!strings.Contains(n.Value, "--key") || !strings.Contains(n.Value, "synthetic test IdP") {
						t.Fatalf("%s without a key: %+v", m.Kind, n)
					}

					// The wrong key never yields a NameID.
					m, err = ParseWithKey(msg, other.key)
					if err != nil {
						t.Fatal(err)
					}
					n = get(m)
					if n == nil || n.Err == nil || !errors.Is(n.Err, ErrDecrypt) || strings.Contains(n.Value, "bob") || len(m.Problems) != 1 {
						t.Fatalf("%s with the wrong key: %+v, problems %v", m.Kind, n, m.Problems)
					}
				}
			})
		}
	}
	// A flipped ciphertext byte: GCM refuses it.
	eid := encryptedID(t, sp, algRSAOAEP, algAES256GCM)
	i := strings.LastIndex(eid, "<xenc:CipherValue>") + len("<xenc:CipherValue>") + 30
	c := byte('A')
	if eid[i] == 'A' {
		c = 'B'
	}
	bad := eid[:i] + string(c) + eid[i+1:]
	m, err := ParseWithKey(logoutRequest(bad), sp.key)
	if err != nil {
		t.Fatal(err)
	}
	if m.NameID == nil || m.NameID.Err == nil || strings.Contains(m.NameID.Value, "bob") {
		t.Fatalf("tampered GCM ciphertext: %+v", m.NameID)
	}
}
