package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func newCA(t *testing.T) *CA {
	t.Helper()
	ca, created, err := LoadOrCreate(filepath.Join(t.TempDir(), "idtrace"))
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Fatal("LoadOrCreate in an empty directory did not report created")
	}
	return ca
}

func TestCreateThenLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idtrace")
	ca, created, err := LoadOrCreate(dir)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreate: created=%v err=%v", created, err)
	}
	pub, ok := ca.Cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("root key is %T, want ECDSA P-256", ca.Cert.PublicKey)
	}
	if !ca.Cert.IsCA || ca.Cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Fatal("root is not a CA that may sign certificates")
	}
	host, _ := os.Hostname()
	if !strings.Contains(ca.Cert.Subject.CommonName, "idtrace") || !strings.Contains(ca.Cert.Subject.CommonName, host) ||
		!strings.Contains(ca.Cert.Subject.CommonName, time.Now().UTC().Format("2006-01-02")) {
		t.Errorf("root name %q does not name idtrace, the host and the date", ca.Cert.Subject.CommonName)
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]os.FileMode{ca.KeyPath: 0o600, dir: 0o700} {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != want {
				t.Errorf("%s has mode %04o, want %04o", filepath.Base(path), st.Mode().Perm(), want)
			}
		}
	}
	again, created, err := LoadOrCreate(dir)
	if err != nil || created {
		t.Fatalf("second LoadOrCreate: created=%v err=%v", created, err)
	}
	if again.Fingerprint() != ca.Fingerprint() {
		t.Error("second load returned a different root")
	}
	b, _ := pem.Decode(again.CertPEM())
	if b == nil || string(b.Bytes) != string(ca.Cert.Raw) {
		t.Error("CertPEM does not hold the root certificate")
	}
	if strings.Contains(string(again.CertPEM()), "PRIVATE") {
		t.Error("CertPEM contains a private key")
	}
	reg, err := Regenerate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Fingerprint() == ca.Fingerprint() {
		t.Error("Regenerate kept the old root")
	}
}

func TestLoadRefusals(t *testing.T) {
	t.Run("certificate without key", func(t *testing.T) {
		ca := newCA(t)
		os.Remove(ca.KeyPath)
		if _, _, err := LoadOrCreate(ca.Dir); err == nil || !strings.Contains(err.Error(), "missing") {
			t.Fatalf("err = %v, want a missing-file error", err)
		}
	})
	t.Run("key without certificate", func(t *testing.T) {
		ca := newCA(t)
		os.Remove(ca.CertPath)
		if _, _, err := LoadOrCreate(ca.Dir); err == nil || !strings.Contains(err.Error(), "missing") {
			t.Fatalf("err = %v, want a missing-file error", err)
		}
	})
	t.Run("key of another CA", func(t *testing.T) {
		a, b := newCA(t), newCA(t)
		key, _ := os.ReadFile(b.KeyPath)
		if err := os.WriteFile(a.KeyPath, key, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(a.Dir); err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Fatalf("err = %v, want a mismatch error", err)
		}
	})
	t.Run("garbage certificate", func(t *testing.T) {
		ca := newCA(t)
		os.WriteFile(ca.CertPath, []byte("not a certificate"), 0o644)
		if _, err := Load(ca.Dir); err == nil || !strings.Contains(err.Error(), CertFile) {
			t.Fatalf("err = %v, want an error naming the certificate file", err)
		}
	})
	if runtime.GOOS != "windows" {
		t.Run("key readable by others", func(t *testing.T) {
			ca := newCA(t)
			os.Chmod(ca.KeyPath, 0o644)
			_, err := Load(ca.Dir)
			var pe *KeyPermissionError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want KeyPermissionError", err)
			}
		})
	}
}

func TestLeafVerifies(t *testing.T) {
	ca := newCA(t)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	for _, host := range []string{"login.microsoftonline.com", "127.0.0.1", "::1", "Example.COM."} {
		c, err := ca.Leaf(host)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.ToLower(strings.TrimSuffix(host, "."))
		if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool}); err != nil {
			t.Errorf("%s: leaf does not verify against the root: %v", host, err)
		}
		if len(c.Certificate) != 2 {
			t.Errorf("%s: chain has %d certificates, want leaf and root", host, len(c.Certificate))
		}
		if d := c.Leaf.NotAfter.Sub(c.Leaf.NotBefore); d > 398*24*time.Hour {
			t.Errorf("%s: leaf valid for %v, more than clients accept", host, d)
		}
	}
	if _, err := ca.Leaf(""); err == nil {
		t.Error("empty host minted a certificate")
	}
}

// TestLeafOpenSSL asks openssl, an independent implementation, to verify a leaf.
func TestLeafOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl not installed")
		}
		t.Skip("openssl not installed")
	}
	ca := newCA(t)
	c, err := ca.Leaf("graph.microsoft.com")
	if err != nil {
		t.Fatal(err)
	}
	leaf := filepath.Join(t.TempDir(), "leaf.pem")
	os.WriteFile(leaf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o644)
	out, err := exec.Command("openssl", "verify", "-CAfile", ca.CertPath, "-verify_hostname", "graph.microsoft.com", "-purpose", "sslserver", leaf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
	out, err = exec.Command("openssl", "verify", "-CAfile", ca.CertPath, "-verify_hostname", "evil.example", leaf).CombinedOutput()
	if err == nil {
		t.Fatalf("openssl accepted the leaf for another name:\n%s", out)
	}
}

func TestLeafCacheBounded(t *testing.T) {
	ca := newCA(t)
	ca.SetCacheSize(2)
	a1, _ := ca.Leaf("a.example")
	ca.Leaf("b.example")
	if a2, _ := ca.Leaf("a.example"); a2 != a1 {
		t.Fatal("a cached name was minted again")
	}
	ca.Leaf("c.example") // evicts b, the least recently used
	if ca.Minted() != 3 {
		t.Fatalf("minted %d, want 3", ca.Minted())
	}
	if a3, _ := ca.Leaf("a.example"); a3 != a1 {
		t.Error("recently used name was evicted")
	}
	ca.Leaf("b.example")
	if ca.Minted() != 4 {
		t.Errorf("minted %d after asking for the evicted name, want 4", ca.Minted())
	}
	if len(ca.cache) != 2 {
		t.Errorf("cache holds %d, bound is 2", len(ca.cache))
	}
}

func TestLeafExpiredInCacheIsReminted(t *testing.T) {
	ca := newCA(t)
	c1, _ := ca.Leaf("a.example")
	ca.now = func() time.Time { return time.Now().Add(397 * 24 * time.Hour) }
	c2, _ := ca.Leaf("a.example")
	if c1 == c2 || ca.Minted() != 2 {
		t.Fatal("a leaf about to expire was served from the cache")
	}
}

func TestLeafOneMintPerName(t *testing.T) {
	ca := newCA(t)
	var wg sync.WaitGroup
	got := make([]any, 64)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := ca.Leaf("login.live.com")
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		}()
	}
	wg.Wait()
	if ca.Minted() != 1 {
		t.Errorf("64 concurrent requests minted %d certificates, want 1", ca.Minted())
	}
	for _, c := range got {
		if c != got[0] {
			t.Fatal("concurrent callers got different certificates")
		}
	}
}
