package cli

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/decode/saml"
)

// SAMLOptions are the options of `idtrace saml`.
type SAMLOptions struct {
	Format string
	// At is the time to check conditions against (RFC 3339); now if empty.
	At string
	// MetadataFile holds the IdP's federation metadata (trusted signing certificates).
	MetadataFile string
	// CertFile holds the IdP's signing certificate or bare public key.
	CertFile string
	// Audience is the SP's entity ID the assertion must be for.
	Audience string
	// KeyFile holds the SP's private key, to decrypt encrypted assertions.
	KeyFile string
	// Skew is the clock skew allowed (Go duration); analyze.DefaultSkew if empty.
	Skew string
}

func newSAMLCmd(app *App) *cobra.Command {
	opts := SAMLOptions{}
	cmd := &cobra.Command{
		Use:   "saml [flags] MESSAGE|FILE|-",
		Short: "Decode a SAML request or response",
		Long: `saml decodes a SAMLRequest or SAMLResponse given as XML, as the base64 value of
the POST binding, as the DEFLATE+base64 value of the redirect binding, or as a
URL / form body carrying it; it shows issuer, destination, status codes,
NameID, audience, conditions (checked against --at or now, with --skew of
allowance, default 5m), subject confirmation (NotOnOrAfter, Recipient,
InResponseTo) and attributes.

The signature verdict is one of: verified (and what it covers), invalid (why:
altered, wrong key, malformed, wrapped, more than one assertion), unsigned (a
response with no signature on it or its assertions) or not checked (why: no certificate, unsupported algorithm, encrypted assertion
without the SP's key). Give the trusted key with --metadata FILE (federation
metadata) or --cert FILE (PEM, DER or base64 certificate, or a bare public
key); without either, a signature that verifies with the certificate the
message carries is "not checked": that proves integrity, not origin.
--audience (or --sp-entity-id) names the SP the assertion must be for.
--key FILE (the SP's RSA private key, PEM or DER) decrypts encrypted
assertions, shows them and checks their own signatures; it is read locally
and never printed.

Exit codes: 0 decoded (whatever the signature verdict: read it in the output),
1 error (no SAML message found, unreadable file, bad --metadata, --cert or
--key), 2 usage (bad flag value such as --at or --skew).`,
		Example: `  idtrace saml 'https://idp.example/sso?SAMLRequest=fZJ...'
  idtrace saml --format json response.b64`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runSAML(app, args[0], opts) },
	}
	addFormatFlag(cmd, &opts.Format, "text", "json")
	cmd.Flags().StringVar(&opts.At, "at", "", "check conditions against this RFC 3339 `TIME` instead of now")
	cmd.Flags().StringVar(&opts.MetadataFile, "metadata", "", "IdP federation metadata `FILE` to verify the signature with")
	cmd.Flags().StringVar(&opts.CertFile, "cert", "", "IdP signing certificate or public key `FILE` (PEM, DER or base64) to verify the signature with")
	cmd.Flags().StringVar(&opts.Audience, "audience", "", "the SP's entity `ID` the assertion must be for")
	cmd.Flags().StringVar(&opts.Audience, "sp-entity-id", "", "same as --audience")
	cmd.Flags().StringVar(&opts.KeyFile, "key", "", "the SP's private key `FILE` (PEM or DER) to decrypt encrypted assertions")
	cmd.Flags().StringVar(&opts.Skew, "skew", "", "clock skew `DURATION` allowed when checking times (default 5m)")
	return cmd
}

func runSAML(app *App, arg string, opts SAMLOptions) error {
	at, err := decodeFlags(opts.Format, opts.At)
	if err != nil {
		return err
	}
	in, missing, err := readArg(app, arg, 16<<20)
	if err != nil {
		return err
	}
	skew, err := parseSkew(opts.Skew)
	if err != nil {
		return err
	}
	var certs []*x509.Certificate
	if opts.MetadataFile != "" {
		if certs, err = metadataCerts(opts.MetadataFile); err != nil {
			return err
		}
	}
	if opts.CertFile != "" {
		b, err := readCapped(opts.CertFile, 1<<20)
		if err != nil {
			return fmt.Errorf("--cert: %w", err)
		}
		cs, err := saml.ParseTrustedCerts(b)
		if err != nil {
			return fmt.Errorf("--cert %s: %w", opts.CertFile, err)
		}
		certs = append(certs, cs...)
	}
	var key *rsa.PrivateKey
	if opts.KeyFile != "" {
		b, err := readCapped(opts.KeyFile, 1<<20)
		if err != nil {
			return fmt.Errorf("--key: %w", err)
		}
		if key, err = saml.ParsePrivateKey(b); err != nil {
			return fmt.Errorf("--key %s: %w", opts.KeyFile, err)
		}
	}
	r, err := analyze.ExplainSAMLWith(in, analyze.SAMLExplainOptions{At: at, Certs: certs, Skew: skew, Audience: strings.TrimSpace(opts.Audience), Key: key})
	if err != nil {
		if missing != nil {
			return missing
		}
		return err
	}
	if opts.Format == "json" {
		return writeJSON(app.IO.Out, r)
	}
	var b strings.Builder
	writeSAMLText(&b, r)
	_, err = fmt.Fprint(app.IO.Out, b.String())
	return err
}

// writeSAMLText writes the verdict first, then what is wrong, then the
// message explained: issuer, subject, audience, validity, how the user
// authenticated and the attributes, each with its meaning.
func writeSAMLText(b *strings.Builder, r *analyze.SAMLReport) {
	fmt.Fprintf(b, "Signature: %s\n", analyze.SignatureText(r.Verified, r.Unsigned, r.VerifyDetail))
	for _, p := range r.Problems {
		fmt.Fprintf(b, "Problem:   %s\n", p)
	}
	for _, p := range r.Issues {
		fmt.Fprintf(b, "Problem:   %s\n", p)
	}
	fmt.Fprintf(b, "Binding:   %s\n", r.Binding)
	if len(r.Facts) > 0 {
		b.WriteString("Message:\n")
		writeExplained(b, r.Facts)
	}
}
