package saz

// Encrypted archives checked against an independent implementation,
// 7-Zip (Debian package 7zip: 7zz; p7zip: 7z): it must list, test and
// extract what we write with the password, and we must read what it
// writes with -mem=AES256 and -mem=ZipCrypto. Without 7-Zip the tests
// fail under CI=true and are skipped otherwise (test.sh installs it).

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idtrace/idtrace/internal/testutil"
	"github.com/idtrace/idtrace/internal/trace"
)

const sevenPassword = "correct horse battery"

func sevenZip(t *testing.T) string {
	t.Helper()
	return testutil.Tool(t, "7zz", "7z")
}

func run7z(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("7-Zip %s: %v\n%s", args[0], err, out)
	}
	return string(out)
}

// plainEntries returns the files of a plain archive by name.
func plainEntries(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, err = buf.ReadFrom(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = buf.Bytes()
	}
	return out
}

// TestSevenZipReadsOurEncryptedArchives: 7-Zip lists, tests (decrypts and
// checks every CRC) and extracts an archive we encrypted, and the files
// it extracts are the ones the same flows give unencrypted.
func TestSevenZipReadsOurEncryptedArchives(t *testing.T) {
	bin := sevenZip(t)
	flows := synthetic()
	meta := &trace.Meta{Format: "har"}
	plain := plainEntries(t, writeAll(t, meta, flows, WriterOptions{}))
	enc := writeAll(t, meta, flows, WriterOptions{Password: sevenPassword})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "enc.saz"), enc, 0o600); err != nil {
		t.Fatal(err)
	}
	list := run7z(t, bin, dir, "l", "-slt", "-p"+sevenPassword, "enc.saz")
	if !strings.Contains(list, "AES-256") {
		t.Errorf("7-Zip does not list the entries as AES-256:\n%s", list)
	}
	if strings.Count(list, "Encrypted = +") < len(plain) {
		t.Errorf("7-Zip lists %d encrypted entries, want %d", strings.Count(list, "Encrypted = +"), len(plain))
	}
	if out := run7z(t, bin, dir, "t", "-p"+sevenPassword, "enc.saz"); !strings.Contains(out, "Everything is Ok") {
		t.Errorf("7-Zip test:\n%s", out)
	}
	run7z(t, bin, dir, "x", "-y", "-p"+sevenPassword, "-oout", "enc.saz")
	for name, want := range plain {
		got, err := os.ReadFile(filepath.Join(dir, "out", filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("7-Zip did not extract %s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: 7-Zip extracted %d bytes, the plain archive holds %d", name, len(got), len(want))
		}
	}
	// A wrong password is refused by 7-Zip too.
	cmd := exec.Command(bin, "t", "-pwrong", "enc.saz")
	cmd.Dir = dir
	if err := cmd.Run(); err == nil {
		t.Errorf("7-Zip accepted a wrong password")
	}
}

// TestWeReadSevenZipEncryptedArchives: archives 7-Zip encrypts with
// AES-256 and with ZipCrypto read back to the flows they were made from.
func TestWeReadSevenZipEncryptedArchives(t *testing.T) {
	bin := sevenZip(t)
	flows := synthetic()
	meta := &trace.Meta{Format: "har"}
	_, want, err := readAll(t, writeAll(t, meta, flows, WriterOptions{}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	var names []string
	for name, b := range plainEntries(t, writeAll(t, meta, flows, WriterOptions{})) {
		p := filepath.Join(src, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	for _, method := range []string{"AES256", "ZipCrypto"} {
		t.Run(method, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "7z.saz")
			run7z(t, bin, src, append([]string{"a", "-tzip", "-mem=" + method, "-p" + sevenPassword, out}, names...)...)
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := readAll(t, b, Options{}); !errors.Is(err, ErrEncrypted) {
				t.Errorf("no password: %v, want ErrEncrypted", err)
			}
			if _, _, err := readAll(t, b, Options{Password: "wrong"}); !errors.Is(err, ErrEncrypted) {
				t.Errorf("wrong password: %v, want ErrEncrypted", err)
			}
			r, got, err := readAll(t, b, Options{Password: sevenPassword})
			if err != nil {
				t.Fatal(err)
			}
			if r.zr != nil || r.yz != nil {
				t.Errorf("read through archive/zip or yeka/zip, not the compact index")
			}
			compareFlows(t, want, got)
			n, err := Count(bytes.NewReader(b), int64(len(b)), "7z.saz", Options{})
			if err != nil || n != len(want) {
				t.Errorf("Count = %d, %v; want %d", n, err, len(want))
			}
		})
	}
}

// TestEncryptedKeepsCompactState: an encrypted archive is written and read
// through the same compact structures as a plain one: the writer keeps a
// packed record of about 10 bytes per entry, the reader 28 bytes per
// session and no archive/zip or yeka/zip directory.
func TestEncryptedKeepsCompactState(t *testing.T) {
	flows := manyFlows(300)
	var buf bytes.Buffer
	w := NewWriter(&buf, &trace.Meta{}, WriterOptions{Count: len(flows), Password: sevenPassword})
	for _, f := range flows {
		if err := w.WriteFlow(f); err != nil {
			t.Fatal(err)
		}
	}
	kept := 0
	for _, c := range w.zw.recs {
		kept += len(c)
	}
	if per := float64(kept) / float64(w.zw.n); per > 16 {
		t.Errorf("the writer keeps %.1f bytes per entry, want at most 16", per)
	}
	if err := w.Close(&trace.Meta{}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	r, err := Open(bytes.NewReader(b), int64(len(b)), "enc.saz", Options{Password: sevenPassword})
	if err != nil {
		t.Fatal(err)
	}
	if r.zr != nil || r.yz != nil {
		t.Fatal("the encrypted archive was opened through archive/zip or yeka/zip")
	}
	if r.Len() != len(flows) || cap(r.sessions) > 2*len(flows) {
		t.Errorf("%d sessions in an index of capacity %d", r.Len(), cap(r.sessions))
	}
	n := 0
	for f, err := range r.Flows() {
		if err != nil {
			t.Fatal(err)
		}
		if f.Request.URL != flows[n].Request.URL {
			t.Fatalf("session %d: URL changed", n+1)
		}
		n++
		if n == 20 {
			break // every entry costs a key derivation; 20 sessions show the path works
		}
	}
}

// TestEncryptedTamperAndWrongPassword: our AES archive refuses a wrong
// password and a flipped byte (the HMAC), each with ErrEncrypted, and a
// ZipCrypto archive with a flipped byte fails with it too, never a panic.
func TestEncryptedTamperAndWrongPassword(t *testing.T) {
	flows := synthetic()[:1]
	enc := writeAll(t, &trace.Meta{}, flows, WriterOptions{Password: sevenPassword})
	if _, _, err := readAll(t, enc, Options{Password: "wrong"}); !errors.Is(err, ErrEncrypted) {
		t.Errorf("wrong password: %v", err)
	}
	zr, err := zip.NewReader(bytes.NewReader(enc), int64(len(enc)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name != "raw/1_s.txt" {
			continue
		}
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		bad := append([]byte(nil), enc...)
		bad[off+int64(f.CompressedSize64)/2] ^= 0x40 // inside the encrypted data
		_, _, err = readAll(t, bad, Options{Password: sevenPassword})
		if !errors.Is(err, ErrEncrypted) {
			t.Errorf("flipped byte: %v, want ErrEncrypted", err)
		}
	}
	zc := zipCrypto(t, "pw", []entry{{"raw/1_c.txt", reqGet}, {"raw/1_s.txt", respOK}})
	for i := len(zc) / 3; i < len(zc)/2; i++ {
		bad := append([]byte(nil), zc...)
		bad[i] ^= 0x01
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panic with byte %d flipped: %v", i, p)
				}
			}()
			readAll(t, bad, Options{Password: "pw"})
		}()
	}
}
