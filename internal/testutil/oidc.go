package testutil

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// OIDCProvider starts the real OpenID provider of tests/oidc (panva's
// oidc-provider on Node) on a free loopback port, with redirect as its
// clients' redirect URI, and returns its issuer URL. The provider stops
// when the test ends. Without node or tests/oidc/node_modules the test
// fails under CI and is skipped otherwise (see Require).
func OIDCProvider(t testing.TB, redirect string) string {
	t.Helper()
	dir := filepath.Join(Root(), "tests", "oidc")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "oidc-provider"))
	}
	Require(t, "node and tests/oidc/node_modules (npm ci in tests/oidc)", err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "server.js", fmt.Sprint(port))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REDIRECT_URI="+redirect)
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready") {
				ready <- nil
				_, _ = io.Copy(io.Discard, out)
				return
			}
		}
		ready <- errors.New("oidc-provider exited before it was ready")
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("%v: %s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("oidc-provider not ready after 30 s: %s", stderr.String())
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}
