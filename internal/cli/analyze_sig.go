package cli

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/analyze"
	"github.com/idtrace/idtrace/internal/decode/saml"
)

// sigOptions are the signature and time options `analyze` shares with
// `saml` and `jwt`: --cert, --key, --audience (--sp-entity-id), --skew.
type sigOptions struct {
	CertFile, KeyFile, Audience, Skew string
}

func addSigFlags(cmd *cobra.Command, o *sigOptions) {
	cmd.Flags().StringVar(&o.CertFile, "cert", "", "SAML IdP signing certificate or public key `FILE` (PEM, DER or base64)")
	cmd.Flags().StringVar(&o.KeyFile, "key", "", "the SAML SP's private key `FILE`, to decrypt encrypted assertions")
	cmd.Flags().StringVar(&o.Audience, "audience", "", "the SAML SP's entity `ID` every assertion must be for")
	cmd.Flags().StringVar(&o.Audience, "sp-entity-id", "", "same as --audience")
	cmd.Flags().StringVar(&o.Skew, "skew", "", "clock skew `DURATION` allowed when checking token and SAML times (default 5m)")
}

// apply validates the options and sets them on ao.
func (o sigOptions) apply(ao *analyze.Options) error {
	skew, err := parseSkew(o.Skew)
	if err != nil {
		return err
	}
	ao.Skew = skew
	ao.SAMLAudience = strings.TrimSpace(o.Audience)
	if o.CertFile != "" {
		b, err := readCapped(o.CertFile, 1<<20)
		if err != nil {
			return fmt.Errorf("--cert: %w", err)
		}
		cs, err := saml.ParseTrustedCerts(b)
		if err != nil {
			return fmt.Errorf("--cert %s: %w", o.CertFile, err)
		}
		ao.SAMLCerts = append(append([]*x509.Certificate{}, ao.SAMLCerts...), cs...)
	}
	if o.KeyFile != "" {
		b, err := readCapped(o.KeyFile, 1<<20)
		if err != nil {
			return fmt.Errorf("--key: %w", err)
		}
		if ao.SAMLKey, err = saml.ParsePrivateKey(b); err != nil {
			return fmt.Errorf("--key %s: %w", o.KeyFile, err)
		}
	}
	return nil
}
