package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/decode/jwt"
)

// JWTOptions are the options of `idtrace jwt`.
type JWTOptions struct {
	Format   string
	JWKSFile string
	// At is the time to check exp/nbf/iat against (RFC 3339); now if empty.
	At string
	// Secret is the shared secret of HS256/384/512 tokens.
	Secret string
	// Skew is the clock skew allowed (Go duration); analyze.DefaultSkew if empty.
	Skew string
	// KeyFile holds the recipient's private key, to decrypt JWE tokens.
	KeyFile string
	// PayloadFile holds the content of a detached JWS (RFC 7515 Appendix F).
	PayloadFile string
}

func newJWTCmd(app *App) *cobra.Command {
	opts := JWTOptions{}
	cmd := &cobra.Command{
		Use:   "jwt [flags] TOKEN|FILE|-",
		Short: "Decode a JWT and explain its claims",
		Long: `jwt decodes a JSON Web Token (given as is, in a file, or on standard input with -;
a "Bearer " prefix is fine), explains each claim, checks its times and, with
--jwks (or --secret for HS256/384/512), verifies its signature. A file holding
several tokens (a log, a HAR) gives one report per token; with --format json
that is an array. Payloads that are not JSON (RFC 7515 allows any bytes) are
shown as text or base64url.

The signature verdict is one of: verified (with which key), invalid (why:
altered or wrong key, malformed encoding, ...), unsigned (alg "none" or no
signature part: anyone could have written it, keys or not) or not checked (why:
no keys, shared secret not given, unsupported algorithm or critical header,
encrypted, Graph nonce token). An encrypted token (JWE) is decrypted with --key (the recipient's private key)
or an oct key in --jwks ("dir", AES key wrap); a signed token inside is then
explained and verified. Times are checked with --skew of allowance
(default 5m). A Windows primary refresh token cookie (x-ms-RefreshTokenCredential)
is named as such and its refresh_token is masked, as are other credentials
inside tokens.

The token is what you asked to see: it is printed decoded, never sent anywhere.

Exit codes: 0 decoded (whatever the signature verdict: read it in the output),
1 error (no token found, unreadable file, bad --jwks or --key), 2 usage (bad
flag value such as --at or --skew).`,
		Example: `  idtrace jwt eyJ0eXAiOiJKV1Qi...
  pbpaste | idtrace jwt --format json -
  idtrace jwt --jwks keys.json --at 2024-05-01T10:00:00Z token.txt`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runJWT(app, args[0], opts) },
	}
	addFormatFlag(cmd, &opts.Format, "text", "json")
	cmd.Flags().StringVar(&opts.JWKSFile, "jwks", "", "JWKS `FILE` to verify the signature with")
	cmd.Flags().StringVar(&opts.At, "at", "", "check token times against this RFC 3339 `TIME` instead of now")
	cmd.Flags().StringVar(&opts.Secret, "secret", "", "shared `SECRET` to verify HS256/384/512 signatures (never printed)")
	cmd.Flags().StringVar(&opts.Skew, "skew", "", "clock skew `DURATION` allowed when checking times (default 5m)")
	cmd.Flags().StringVar(&opts.KeyFile, "key", "", "the recipient's private key `FILE` (PEM or DER, RSA or EC) to decrypt JWE tokens")
	cmd.Flags().StringVar(&opts.PayloadFile, "payload", "", "the content `FILE` a detached signature (empty payload part) covers, as bytes")
	return cmd
}

func runJWT(app *App, arg string, opts JWTOptions) error {
	at, err := decodeFlags(opts.Format, opts.At)
	if err != nil {
		return err
	}
	text, missing, err := readArg(app, arg, 16<<20)
	if err != nil {
		return err
	}
	skew, err := parseSkew(opts.Skew)
	if err != nil {
		return err
	}
	var keys *jwt.KeySet
	if opts.JWKSFile != "" {
		b, err := readCapped(opts.JWKSFile, jwt.MaxJWKSSize)
		if err != nil {
			return fmt.Errorf("--jwks: %w", err)
		}
		if keys, err = jwt.ParseJWKSFrom(b, opts.JWKSFile); err != nil {
			return fmt.Errorf("--jwks %s: %w", opts.JWKSFile, err)
		}
	}
	if opts.Secret != "" {
		if keys == nil {
			keys = &jwt.KeySet{}
		}
		keys = keys.Merge(jwt.SecretKeySet([]byte(opts.Secret), "--secret"))
	}
	var decryptKey any
	if opts.KeyFile != "" {
		b, err := readCapped(opts.KeyFile, 1<<20)
		if err != nil {
			return fmt.Errorf("--key: %w", err)
		}
		if decryptKey, err = jwt.ParsePrivateKey(b); err != nil {
			return fmt.Errorf("--key %s: %w", opts.KeyFile, err)
		}
	}
	payload, err := detachedPayload(opts.PayloadFile)
	if err != nil {
		return err
	}
	var toks []string
	if _, err := jwt.Parse(strings.TrimSpace(text)); err == nil {
		toks = []string{strings.TrimSpace(text)}
	} else {
		seen := map[string]bool{}
		for _, m := range jwt.Find(text) {
			if !seen[m.Token] {
				seen[m.Token] = true
				toks = append(toks, m.Token)
			}
		}
		if len(toks) == 0 {
			if missing != nil {
				return missing
			}
			return fmt.Errorf("jwt: no token found: %w", err)
		}
	}
	var reps []*analyze.JWTReport
	for _, t := range toks {
		r, err := analyze.ExplainJWTDetached(t, keys, at, skew, decryptKey, payload)
		if err != nil {
			if len(toks) == 1 {
				return err
			}
			continue
		}
		reps = append(reps, r)
	}
	if len(reps) == 0 {
		return errors.New("jwt: no token could be decoded")
	}
	if opts.Format == "json" {
		enc := json.NewEncoder(app.IO.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if len(reps) == 1 {
			return enc.Encode(reps[0])
		}
		return enc.Encode(reps)
	}
	var b strings.Builder
	for i, r := range reps {
		if len(reps) > 1 {
			fmt.Fprintf(&b, "Token %d of %d\n", i+1, len(reps))
		}
		writeJWTText(&b, r)
	}
	_, err = fmt.Fprint(app.IO.Out, b.String())
	return err
}

func writeJWTText(b *strings.Builder, r *analyze.JWTReport) {
	fmt.Fprintf(b, "Signature: %s\n", analyze.SignatureText(r.Verified, r.Unsigned, r.VerifyDetail))
	for _, is := range r.Issues {
		fmt.Fprintf(b, "Problem:   %s\n", is)
	}
	fmt.Fprintf(b, "Kind:      %s\n", r.Kind)
	fmt.Fprintf(b, "Header:    %s\n", r.Header)
	switch {
	case r.Nested:
		b.WriteString("Encrypted: decrypted with --key; a signed token was inside, shown here\n")
	case r.Decrypted:
		b.WriteString("Encrypted: decrypted with --key\n")
	case r.Encrypted:
		b.WriteString("Encrypted: only the header is readable (give the recipient's key with --key)\n")
	}
	if r.Payload != "" {
		fmt.Fprintf(b, "Payload:   %s (not JSON)\n", r.Payload)
	}
	if len(r.Masked) > 0 {
		fmt.Fprintf(b, "Masked:    %s (live credentials, never printed whole)\n", strings.Join(r.Masked, ", "))
	}
	shown := map[string]bool{}
	if len(r.Facts) > 0 {
		b.WriteString("Key claims:\n")
		for _, e := range r.Facts {
			shown[e.Claim] = true
			if e.Claim == "groups" {
				shown["hasgroups"], shown["_claim_names"], shown["_claim_sources"] = true, true, true
			}
		}
		writeExplained(b, r.Facts)
	}
	var rest []analyze.Explained
	for _, e := range r.Explained {
		if !shown[e.Claim] {
			rest = append(rest, e)
		}
	}
	if len(rest) > 0 {
		if len(r.Facts) > 0 {
			b.WriteString("Other claims:\n")
		} else {
			b.WriteString("Claims:\n")
		}
		writeExplained(b, rest)
	}
	b.WriteString("\n")
}

// writeExplained writes claims (or SAML facts) one per line, each
// followed by its meaning, indented, when the knowledge base has one.
func writeExplained(b *strings.Builder, list []analyze.Explained) {
	for _, e := range list {
		v := e.Value
		if len(v) > 200 {
			v = v[:200] + "…"
		}
		fmt.Fprintf(b, "  %-20s %s\n", e.Claim, v)
		if e.Meaning != "" {
			fmt.Fprintf(b, "  %-20s   %s\n", "", e.Meaning)
		}
	}
}

// parseSkew reads --skew: a Go duration between 0 and 24h; the default
// when empty.
func parseSkew(v string) (time.Duration, error) {
	if v == "" {
		return analyze.DefaultSkew, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 24*time.Hour {
		return 0, usageErr("--skew: want a duration between 0s and 24h such as 5m or 90s, got %q", v)
	}
	if d == 0 {
		// Zero means none: the smallest positive duration keeps analyze
		// from substituting its default.
		d = time.Nanosecond
	}
	return d, nil
}

// decodeFlags checks the --format and --at flags shared by jwt and saml and
// returns the moment to check times against (now unless --at is given).
func decodeFlags(format, atFlag string) (time.Time, error) {
	if format != "text" && format != "json" && format != "" {
		return time.Time{}, usageErr("--format: want text or json, got %q", format)
	}
	if atFlag == "" {
		return time.Now(), nil
	}
	t, err := time.Parse(time.RFC3339, atFlag)
	if err != nil {
		return time.Time{}, usageErr("--at %q: want an RFC 3339 time such as 2024-05-01T10:00:00Z", atFlag)
	}
	return t, nil
}
