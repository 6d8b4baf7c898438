package cli

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/analyze"
)

// SAMLOptions are the options of `idtrace saml`.
type SAMLOptions struct {
	Format string
	// At is the time to check conditions against (RFC 3339); now if empty.
	At string
	// MetadataFile holds the IdP's federation metadata (trusted signing certificates).
	MetadataFile string
}

func newSAMLCmd(app *App) *cobra.Command {
	opts := SAMLOptions{}
	cmd := &cobra.Command{
		Use:   "saml MESSAGE|FILE|-",
		Short: "Decode a SAML request or response",
		Long: `saml decodes a SAMLRequest or SAMLResponse given as XML, as the base64 value of
the POST binding, as the DEFLATE+base64 value of the redirect binding, or as a
URL / form body carrying it; it shows issuer, destination, status codes,
NameID, audience, conditions (checked against --at or now) and attributes.`,
		Example: `  idtrace saml 'https://idp.example/sso?SAMLRequest=fZJ...'
  idtrace saml --format json response.b64`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runSAML(app, args[0], opts) },
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&opts.At, "at", "", "check conditions against this RFC 3339 `TIME` instead of now")
	cmd.Flags().StringVar(&opts.MetadataFile, "metadata", "", "IdP federation metadata `FILE` to verify the signature with")
	return cmd
}

func runSAML(app *App, arg string, opts SAMLOptions) error {
	at, err := decodeFlags(opts.Format, opts.At)
	if err != nil {
		return err
	}
	in, err := readArg(app, arg, 16<<20)
	if err != nil {
		return err
	}
	var certs []*x509.Certificate
	if opts.MetadataFile != "" {
		if certs, err = metadataCerts(opts.MetadataFile); err != nil {
			return err
		}
	}
	r, err := analyze.ExplainSAML(in, at, certs)
	if err != nil {
		return err
	}
	if opts.Format == "json" {
		enc := json.NewEncoder(app.IO.Out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Binding:   %s\n", r.Binding)
	fmt.Fprintf(&b, "Signature: %s\n", verdict(r.Verified, r.VerifyDetail))
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "Problem:   %s\n", p)
	}
	for _, p := range r.Issues {
		fmt.Fprintf(&b, "Problem:   %s\n", p)
	}
	var pretty any
	if json.Unmarshal(r.Message, &pretty) == nil {
		out, _ := json.MarshalIndent(pretty, "", "  ")
		fmt.Fprintf(&b, "Message:\n%s\n", out)
	}
	_, err = fmt.Fprint(app.IO.Out, b.String())
	return err
}
