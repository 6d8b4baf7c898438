package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestJWTDetachedPayload: `jwt --payload FILE` supplies the content of a
// detached JWS (RFC 7797 §4.2's example: HS256 over an unencoded payload,
// RFC 7515 A.1's key). Without it the signature is not checked, with the
// right content verified, with other content invalid; a missing file is an
// error (exit 1), and a token carrying its own payload says it ignored it.
func TestJWTDetachedPayload(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	jwks := write("k.json", `{"kty":"oct","k":"`+rfcA1Key+`"}`)
	good, bad := write("good.txt", "$.02"), write("bad.txt", "$.03")
	const detached = "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19..A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY"
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no content", []string{"jwt", "--jwks", jwks, detached}, 0, "Signature: not checked (the payload is detached"},
		{"the content", []string{"jwt", "--jwks", jwks, "--payload", good, detached}, 0, "Signature: verified"},
		{"other content", []string{"jwt", "--jwks", jwks, "--payload", bad, detached}, 0, "Signature: invalid"},
		{"missing file", []string{"jwt", "--jwks", jwks, "--payload", filepath.Join(dir, "none"), detached}, 1, "--payload"},
		{"token with its own payload", []string{"jwt", "--jwks", jwks, "--payload", good, rfcA1Token}, 0, "payload_ignored"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, c.args...)
			if code != c.code || !strings.Contains(out+errOut, c.want) {
				t.Errorf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, c.code, c.want, out, errOut)
			}
		})
	}
}
