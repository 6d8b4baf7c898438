package saml

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// ParseTrustedCerts reads what a user gives as the IdP's signing key: one
// or more PEM certificates, a DER certificate, a base64 certificate (as in
// metadata), or a bare public key (PEM "PUBLIC KEY" or DER
// SubjectPublicKeyInfo). A bare key is wrapped in a stand-in certificate
// that carries it, since signatures are checked against certificates;
// only its public key matters (see Verify).
func ParseTrustedCerts(b []byte) ([]*x509.Certificate, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var out []*x509.Certificate
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("saml: certificate %d: %w", len(out)+1, err)
			}
			out = append(out, c)
		case "PUBLIC KEY":
			pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("saml: public key: %w", err)
			}
			c, err := keyCert(pub)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		default:
			return nil, fmt.Errorf("saml: PEM block %q is neither a certificate nor a public key", blk.Type)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if c, err := x509.ParseCertificate(b); err == nil {
		return []*x509.Certificate{c}, nil
	}
	if pub, err := x509.ParsePKIXPublicKey(b); err == nil {
		c, err := keyCert(pub)
		if err != nil {
			return nil, err
		}
		return []*x509.Certificate{c}, nil
	}
	if c, err := ParseCertificate(string(b)); err == nil {
		return []*x509.Certificate{c}, nil
	}
	return nil, errors.New("saml: not a certificate or public key (PEM, DER or base64)")
}

// keyCert wraps a bare public key in a certificate signed by a throwaway
// key: the certificate's own signature is never checked, only the key it
// carries.
func keyCert(pub crypto.PublicKey) (*x509.Certificate, error) {
	tk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "public key given with --cert"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, tk)
	if err != nil {
		return nil, fmt.Errorf("saml: public key: %w", err)
	}
	return x509.ParseCertificate(der)
}
