package analyze

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"strings"
	"testing"
)

// TestExplainSAMLEncryptedID: `idtrace saml --key` shows the NameID of an
// EncryptedID (built here with Go's crypto: RSA-OAEP key transport,
// AES-256-GCM content); without the key it says which key is needed.
func TestExplainSAMLEncryptedID(t *testing.T) {
	sp, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	nameID := `<saml:NameID xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">carol@example.com</saml:NameID>`
	cek := make([]byte, 32)
	rand.Read(cek)
	block, _ := aes.NewCipher(cek)
	g, _ := cipher.NewGCM(block)
	nonce := make([]byte, g.NonceSize())
	rand.Read(nonce)
	ct := g.Seal(nonce, nonce, []byte(nameID), nil)
	wrapped, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &sp.PublicKey, cek, nil)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	msg := `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lo1" Version="2.0" IssueInstant="2026-01-02T10:00:00Z">` +
		`<saml:Issuer>https://idp.example</saml:Issuer><saml:EncryptedID><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">` +
		`<xenc:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/><ds:KeyInfo><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>` +
		`<ds:KeyInfo><ds:KeyName>sp-encryption-2026</ds:KeyName></ds:KeyInfo>` +
		`<xenc:CipherData><xenc:CipherValue>` + b64(wrapped) + `</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>` +
		`<xenc:CipherData><xenc:CipherValue>` + b64(ct) + `</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedID></samlp:LogoutRequest>`

	r, err := ExplainSAMLWith(msg, SAMLExplainOptions{Key: sp})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(r.Message), `"name_id":"carol@example.com"`) {
		t.Errorf("with --key: message claims %s lack the decrypted NameID", r.Message)
	}
	r, err = ExplainSAMLWith(msg, SAMLExplainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := string(r.Message); strings.Contains(s, "carol") || !strings.Contains(s, "--key") || !strings.Contains(s, "sp-encryption-2026") {
		t.Errorf("without --key: message claims %s should name the key, not the NameID", s)
	}
}
