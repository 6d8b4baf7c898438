package cli

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCAPathExport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	code, out, errOut := run(t, "", "ca", "path", "--dir", dir)
	if code != 0 || !strings.Contains(errOut, "created a new idtrace CA") || !strings.Contains(out, filepath.Join(dir, "idtrace-ca.pem")) {
		t.Fatalf("ca path: %d %q %q", code, out, errOut)
	}
	code, out, errOut = run(t, "", "ca", "export", "--dir", dir)
	if code != 0 || errOut != "" {
		t.Fatalf("ca export: %d %q", code, errOut)
	}
	file, _ := os.ReadFile(filepath.Join(dir, "idtrace-ca.pem"))
	if out != string(file) || strings.Contains(out, "PRIVATE") {
		t.Error("export is not the certificate file, or holds a key")
	}
	der := filepath.Join(t.TempDir(), "ca.cer")
	if code, _, errOut := run(t, "", "ca", "export", "--dir", dir, "--der", "-o", der); code != 0 {
		t.Fatalf("export --der: %q", errOut)
	}
	b, _ := os.ReadFile(der)
	c, err := x509.ParseCertificate(b)
	blk, _ := pem.Decode(file)
	if err != nil || blk == nil || string(c.Raw) != string(blk.Bytes) {
		t.Errorf("DER export does not parse as the same certificate: %v", err)
	}
	if code, out, _ := run(t, "", "ca", "regenerate", "--dir", dir); code != 0 || !strings.Contains(out, "old CA") {
		t.Errorf("regenerate: %d %q", code, out)
	}
	file2, _ := os.ReadFile(filepath.Join(dir, "idtrace-ca.pem"))
	if string(file2) == string(file) {
		t.Error("regenerate kept the certificate")
	}
	if code, _, errOut := run(t, "", "ca", "install", "--dir", dir, "--store", "browser"); code != 2 || !strings.Contains(errOut, "--store") {
		t.Errorf("bad --store: %d %q", code, errOut)
	}
}

func TestCADryRunPrintsCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	t.Setenv("HOME", t.TempDir())
	code, out, _ := run(t, "", "ca", "install", "--dry-run", "--dir", dir)
	if code != 0 {
		t.Fatalf("a dry run exited %d", code)
	}
	if !strings.Contains(out, filepath.Join(dir, "idtrace-ca.pem")) {
		t.Errorf("dry run does not name the certificate file:\n%s", out)
	}
}

// TestCAInstallNSS installs into a real NSS database with certutil and reads it back.
func TestCAInstallNSS(t *testing.T) {
	if _, err := exec.LookPath("certutil"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("certutil (libnss3-tools) not installed")
		}
		t.Skip("certutil (libnss3-tools) not installed")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	db := filepath.Join(home, ".pki", "nssdb")
	os.MkdirAll(db, 0o700)
	if out, err := exec.Command("certutil", "-N", "--empty-password", "-d", "sql:"+db).CombinedOutput(); err != nil {
		t.Fatalf("certutil -N: %v %s", err, out)
	}
	dir := filepath.Join(t.TempDir(), "ca")
	code, out, errOut := run(t, "", "ca", "install", "--store", "nss", "--dir", dir)
	if code != 0 {
		t.Fatalf("install: %d\n%s\n%s", code, out, errOut)
	}
	list, err := exec.Command("certutil", "-L", "-d", "sql:"+db).CombinedOutput()
	if err != nil || !strings.Contains(string(list), "idtrace CA") || !strings.Contains(string(list), "C,,") {
		t.Fatalf("NSS database after install:\n%s", list)
	}
	code, out, errOut = run(t, "", "ca", "uninstall", "--store", "nss", "--dir", dir)
	if code != 0 {
		t.Fatalf("uninstall: %d\n%s\n%s", code, out, errOut)
	}
	list, _ = exec.Command("certutil", "-L", "-d", "sql:"+db).CombinedOutput()
	if strings.Contains(string(list), "idtrace CA") {
		t.Fatalf("NSS database still lists the CA after uninstall:\n%s", list)
	}
}
