// Package certs is idtrace's local root certificate authority: created once
// per install, kept in the user's configuration directory, and used by the
// intercepting proxy to mint a leaf certificate for each server name a
// client asks for.
//
// The root is an ECDSA P-256 key and a self-signed certificate named for
// idtrace, the host and the creation date, so that a user who finds it in a
// trust store can tell which machine and which install it came from. The key
// file is written with mode 0600 inside a 0700 directory and is refused on
// load (Unix) if others can read it. Nothing here touches a trust store:
// see Install for the commands that do.
//
// Leaf certificates share one P-256 key generated when the CA is loaded
// (minting is then one signature), are cached in a bounded LRU, and are
// minted once per name however many connections ask at the same moment.
package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// File names inside the CA directory.
const (
	CertFile = "idtrace-ca.pem"
	KeyFile  = "idtrace-ca-key.pem"
)

// DefaultCacheSize is how many leaf certificates a CA keeps.
const DefaultCacheSize = 1024

// rootValidity is how long a new root is valid; leafValidity bounds a leaf
// (clients reject server certificates valid for more than 398 days).
const (
	rootValidity = 10 * 365 * 24 * time.Hour
	leafValidity = 397 * 24 * time.Hour
)

// DefaultDir returns the directory idtrace keeps its CA in: "idtrace" in the
// user's configuration directory (os.UserConfigDir).
func DefaultDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("certs: no user configuration directory: %w", err)
	}
	return filepath.Join(d, "idtrace"), nil
}

// CA is a loaded root certificate authority. Its methods are safe for
// concurrent use. Callers must not modify Cert or Key.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Dir is the directory the CA was loaded from; CertPath and KeyPath its files.
	Dir, CertPath, KeyPath string

	certPEM []byte
	leafKey *ecdsa.PrivateKey
	// now returns the current time (tests move it).
	now func() time.Time

	mu       sync.Mutex
	cacheMax int
	cache    map[string]*lruEntry
	head     *lruEntry // most recently used
	tail     *lruEntry
	inflight map[string]*mintCall
	mints    int // leaf certificates minted, for tests and stats
}

type lruEntry struct {
	host       string
	cert       *tls.Certificate
	prev, next *lruEntry
}

type mintCall struct {
	done chan struct{}
	cert *tls.Certificate
	err  error
}

// KeyPermissionError reports a CA key file that others may read.
type KeyPermissionError struct {
	Path string
	Mode fs.FileMode
}

func (e *KeyPermissionError) Error() string {
	return fmt.Sprintf("certs: %s is readable by other users (mode %04o); run chmod 600 on it or regenerate the CA", e.Path, e.Mode.Perm())
}

// LoadOrCreate loads the CA from dir, or creates one there when neither of
// its files exists. created reports whether a new CA was written. It refuses
// a directory holding only one of the two files, a key that does not match
// the certificate, and (on Unix) a key file readable by others.
func LoadOrCreate(dir string) (ca *CA, created bool, err error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case certErr == nil && keyErr == nil:
		ca, err = Load(dir)
		return ca, false, err
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		ca, err = Create(dir)
		return ca, err == nil, err
	case certErr == nil:
		return nil, false, fmt.Errorf("certs: %s exists but %s is missing; remove the certificate or regenerate the CA", certPath, keyPath)
	case keyErr == nil:
		return nil, false, fmt.Errorf("certs: %s exists but %s is missing; remove the key or regenerate the CA", keyPath, certPath)
	case certErr != nil && !errors.Is(certErr, fs.ErrNotExist):
		return nil, false, fmt.Errorf("certs: %w", certErr)
	default:
		return nil, false, fmt.Errorf("certs: %w", keyErr)
	}
}

// Create makes a new root CA in dir, replacing any files there.
func Create(dir string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: generate key: %w", err)
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "unknown host"
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject: pkix.Name{
			CommonName:         fmt.Sprintf("idtrace CA (%s, %s)", host, now.UTC().Format("2006-01-02")),
			Organization:       []string{"idtrace local capture CA"},
			OrganizationalUnit: []string{"created " + now.UTC().Format(time.RFC3339) + " on " + host},
		},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(rootValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          keyID(&key.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("certs: create certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPath, certPath := filepath.Join(dir, KeyFile), filepath.Join(dir, CertFile)
	// The key goes first so that a crash never leaves a certificate whose key is lost.
	if err := writeAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	return Load(dir)
}

// Regenerate removes the CA in dir and creates a new one. Clients that
// trusted the old root must trust the new one instead.
func Regenerate(dir string) (*CA, error) {
	for _, f := range []string{CertFile, KeyFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("certs: %w", err)
		}
	}
	return Create(dir)
}

func writeAtomic(path string, b []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}

// Load reads the CA in dir.
func Load(dir string) (*CA, error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	if runtime.GOOS != "windows" {
		st, err := os.Stat(keyPath)
		if err != nil {
			return nil, fmt.Errorf("certs: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, &KeyPermissionError{Path: keyPath, Mode: st.Mode()}
		}
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("certs: %w", err)
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("certs: %s: no PEM CERTIFICATE block", certPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certs: %s: %w", certPath, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("certs: %s: not a CA certificate", certPath)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil || kb.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("certs: %s: no PEM PRIVATE KEY block", keyPath)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certs: %s: %w", keyPath, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("certs: %s: key cannot sign", keyPath)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := signer.Public().(equaler); !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("certs: %s does not match %s; regenerate the CA", keyPath, certPath)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("certs: generate leaf key: %w", err)
	}
	return &CA{
		Cert: cert, Key: signer, Dir: dir, CertPath: certPath, KeyPath: keyPath,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		leafKey: leafKey, now: time.Now, cacheMax: DefaultCacheSize,
		cache: map[string]*lruEntry{}, inflight: map[string]*mintCall{},
	}, nil
}

// CertPEM returns the root certificate in PEM form (never the key).
func (ca *CA) CertPEM() []byte { return bytes.Clone(ca.certPEM) }

// CertDER returns the root certificate in DER form.
func (ca *CA) CertDER() []byte { return bytes.Clone(ca.Cert.Raw) }

// Fingerprint is the SHA-256 of the root certificate, as colon-separated hex.
func (ca *CA) Fingerprint() string {
	sum := sha256.Sum256(ca.Cert.Raw)
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// SetCacheSize bounds the leaf cache to n certificates (n >= 1).
func (ca *CA) SetCacheSize(n int) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	ca.cacheMax = max(n, 1)
	for len(ca.cache) > ca.cacheMax {
		ca.evictLocked()
	}
}

// Minted returns how many leaf certificates this CA has minted.
func (ca *CA) Minted() int {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	return ca.mints
}

// Leaf returns a certificate for host (a DNS name or an IP address), signed
// by the CA, with the root in its chain. Names are case-insensitive. A
// cached certificate is reused until a day before it expires; concurrent
// calls for one name mint it once.
func (ca *CA) Leaf(host string) (*tls.Certificate, error) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return nil, errors.New("certs: empty host name")
	}
	ca.mu.Lock()
	if e, ok := ca.cache[host]; ok {
		if ca.now().Before(e.cert.Leaf.NotAfter.Add(-24 * time.Hour)) {
			ca.moveFrontLocked(e)
			ca.mu.Unlock()
			return e.cert, nil
		}
		ca.removeLocked(e)
	}
	if c, ok := ca.inflight[host]; ok {
		ca.mu.Unlock()
		<-c.done
		return c.cert, c.err
	}
	c := &mintCall{done: make(chan struct{})}
	ca.inflight[host] = c
	ca.mu.Unlock()

	c.cert, c.err = ca.mint(host)

	ca.mu.Lock()
	delete(ca.inflight, host)
	if c.err == nil {
		ca.mints++
		e := &lruEntry{host: host, cert: c.cert}
		ca.cache[host] = e
		ca.pushFrontLocked(e)
		for len(ca.cache) > ca.cacheMax {
			ca.evictLocked()
		}
	}
	ca.mu.Unlock()
	close(c.done)
	return c.cert, c.err
}

func (ca *CA) mint(host string) (*tls.Certificate, error) {
	now := ca.now()
	notAfter := now.Add(leafValidity)
	if ca.Cert.NotAfter.Before(notAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: host, Organization: []string{"idtrace capture"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		AuthorityKeyId:        ca.Cert.SubjectKeyId,
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &ca.leafKey.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("certs: mint %s: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certs: mint %s: %w", host, err)
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: ca.leafKey, Leaf: leaf}, nil
}

func (ca *CA) pushFrontLocked(e *lruEntry) {
	e.prev, e.next = nil, ca.head
	if ca.head != nil {
		ca.head.prev = e
	}
	ca.head = e
	if ca.tail == nil {
		ca.tail = e
	}
}

func (ca *CA) unlinkLocked(e *lruEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		ca.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		ca.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (ca *CA) moveFrontLocked(e *lruEntry) {
	if ca.head == e {
		return
	}
	ca.unlinkLocked(e)
	ca.pushFrontLocked(e)
}

func (ca *CA) removeLocked(e *lruEntry) {
	ca.unlinkLocked(e)
	delete(ca.cache, e.host)
}

func (ca *CA) evictLocked() {
	if ca.tail != nil {
		ca.removeLocked(ca.tail)
	}
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}

func keyID(pub *ecdsa.PublicKey) []byte {
	b, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(b)
	return sum[:20]
}
