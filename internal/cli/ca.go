package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idtrace/idtrace/internal/certs"
)

// CAOptions are the options of `idtrace ca ...`.
type CAOptions struct {
	// Dir is the CA directory; certs.DefaultDir() if empty.
	Dir string
	// DER exports the certificate in DER form instead of PEM.
	DER bool
	// Output is the file export writes; stdout if empty.
	Output string
	// DryRun prints the install or uninstall commands without running them.
	DryRun bool
	// Stores limits install and uninstall to these stores ("system", "nss"); all if empty.
	Stores []string
	// Format is how path prints: "text" or "json" (a caPathJSON object).
	Format string
}

// caPathJSON is what `ca path --format json` prints.
type caPathJSON struct {
	Certificate string `json:"certificate"`
	Key         string `json:"key"`
	Name        string `json:"name"`
	SHA256      string `json:"sha256"`
	Expires     string `json:"expires"`
}

func newCACmd(app *App) *cobra.Command {
	opts := CAOptions{}
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Show, export, trust or remove the local root CA the capture proxy uses",
		Long: `ca manages the root certificate authority idtrace creates on first use, with which
the capture proxy decrypts HTTPS. Its private key stays in your configuration
directory (mode 0600) and never leaves this machine; only the certificate is exported.

  idtrace ca path          where the certificate and key are
  idtrace ca export        print the certificate (PEM, or DER with --der)
  idtrace ca install       trust it: the OS store and the browsers' NSS databases
  idtrace ca uninstall     remove it from the same stores
  idtrace ca regenerate    replace it with a new one (uninstall the old one first)

install and uninstall run the OS tools (update-ca-certificates, certutil, security,
certutil.exe); a step that needs administrator rights or a missing tool is printed
as the exact command or manual instructions instead. --dry-run only prints.

Exit codes: 0 ok, 1 error (or a step that failed), 2 usage.`,
		Example: `  idtrace ca path
  idtrace ca install --dry-run
  idtrace ca install
  idtrace ca uninstall`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&opts.Dir, "dir", "", "CA `DIR`ectory (default: idtrace in the user config directory)")
	path := &cobra.Command{
		Use: "path", Short: "Print where the CA certificate and key are (creating them if needed)", Args: cobra.NoArgs,
		Long: `path prints where the CA's certificate and private key are, its name, its
SHA-256 fingerprint and its expiry date, creating the CA on first use.
--format json prints them as {"certificate", "key", "name", "sha256", "expires"}.

Exit codes: 0 ok, 1 error (the CA cannot be read or created), 2 usage.`,
		Example: `  idtrace ca path
  idtrace ca path --format json | jq -r .certificate`,
		RunE: func(cmd *cobra.Command, args []string) error { return runCAPath(app, opts) },
	}
	addFormatFlag(path, &opts.Format, "text", "json")
	export := &cobra.Command{
		Use: "export", Short: "Print the CA certificate (never the key)", Args: cobra.NoArgs,
		Long: `export prints the CA's certificate, PEM by default (--der for the binary form
Windows' .cer files use), on stdout or to the file -o names. The private key is
never exported.

Exit codes: 0 ok, 1 error (the CA cannot be read or created, cannot write FILE), 2 usage.`,
		Example: `  idtrace ca export > idtrace-ca.pem
  idtrace ca export --der -o idtrace-ca.cer`,
		RunE: func(cmd *cobra.Command, args []string) error { return runCAExport(app, opts) },
	}
	export.Flags().BoolVar(&opts.DER, "der", false, "write DER instead of PEM")
	export.Flags().StringVarP(&opts.Output, "output", "o", "", "write to `FILE` instead of stdout")
	install := &cobra.Command{
		Use: "install", Short: "Trust the CA in the OS store and the browsers", Args: cobra.NoArgs,
		Long: `install adds the CA's certificate to the operating system's trust store
(Linux: the ca-certificates anchors, then update-ca-certificates or
update-ca-trust; macOS: the login keychain; Windows: the current user's Trusted
Root store) and to the NSS databases of Chromium and Firefox profiles
(certutil). A step that needs administrator rights or a missing tool is printed
as the exact command to run instead; --dry-run prints every step, runs none.
--store system or --store nss limits it to one kind of store.

Remove it when the capture is done: idtrace ca uninstall.

Exit codes: 0 ok, 1 error (a step failed: the others still ran), 2 usage.`,
		Example: `  idtrace ca install --dry-run
  idtrace ca install
  idtrace ca install --store nss`,
		RunE: func(cmd *cobra.Command, args []string) error { return runCATrust(app, opts, true) },
	}
	uninstall := &cobra.Command{
		Use: "uninstall", Short: "Remove the CA from the OS store and the browsers", Args: cobra.NoArgs,
		Long: `uninstall removes the CA's certificate from the stores install adds it to. The
CA's files stay in its directory (idtrace ca path); the proxy would use them again.

Exit codes: 0 ok, 1 error (a step failed: the others still ran), 2 usage.`,
		Example: `  idtrace ca uninstall --dry-run
  idtrace ca uninstall`,
		RunE: func(cmd *cobra.Command, args []string) error { return runCATrust(app, opts, false) },
	}
	for _, c := range []*cobra.Command{install, uninstall} {
		c.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the commands without running them")
		c.Flags().StringSliceVar(&opts.Stores, "store", nil, "only these stores: system, nss (default both)")
	}
	regen := &cobra.Command{
		Use: "regenerate", Short: "Replace the CA with a new one", Args: cobra.NoArgs,
		Long: `regenerate creates a new CA in place of the current one (a new key and
certificate) and prints how to remove the old one from the stores where it was
trusted. Run 'idtrace ca uninstall' before it to do that in one step.

Exit codes: 0 ok, 1 error, 2 usage.`,
		Example: `  idtrace ca uninstall && idtrace ca regenerate && idtrace ca install`,
		RunE:    func(cmd *cobra.Command, args []string) error { return runCARegenerate(app, opts) },
	}
	cmd.AddCommand(path, export, install, uninstall, regen)
	return cmd
}

func caDir(opts CAOptions) (string, error) {
	if opts.Dir != "" {
		return opts.Dir, nil
	}
	return certs.DefaultDir()
}

func loadCA(app *App, opts CAOptions) (*certs.CA, error) {
	dir, err := caDir(opts)
	if err != nil {
		return nil, err
	}
	ca, created, err := certs.LoadOrCreate(dir)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(app.IO.ErrOut, "created a new idtrace CA in %s (SHA-256 %s)\n", dir, ca.Fingerprint())
	}
	return ca, nil
}

func runCAPath(app *App, opts CAOptions) error {
	ca, err := loadCA(app, opts)
	if err != nil {
		return err
	}
	if opts.Format == "json" {
		return writeJSON(app.IO.Out, caPathJSON{ca.CertPath, ca.KeyPath, ca.Nickname(), ca.Fingerprint(), ca.Cert.NotAfter.UTC().Format("2006-01-02")})
	}
	fmt.Fprintf(app.IO.Out, "certificate: %s\nkey:         %s\nname:        %s\nsha256:      %s\nexpires:     %s\n",
		ca.CertPath, ca.KeyPath, ca.Nickname(), ca.Fingerprint(), ca.Cert.NotAfter.UTC().Format("2006-01-02"))
	return nil
}

func runCAExport(app *App, opts CAOptions) error {
	ca, err := loadCA(app, opts)
	if err != nil {
		return err
	}
	b := ca.CertPEM()
	if opts.DER {
		b = ca.CertDER()
	}
	if opts.Output == "" {
		_, err := app.IO.Out.Write(b)
		return err
	}
	if err := os.WriteFile(opts.Output, b, 0o644); err != nil {
		return writeErr(opts.Output, err)
	}
	return nil
}

// stepFailedError reports install or uninstall steps that did not complete.
type stepFailedError struct{ n int }

func (e *stepFailedError) Error() string {
	return fmt.Sprintf("%d step(s) not done: run the commands printed above", e.n)
}

func runCATrust(app *App, opts CAOptions, install bool) error {
	want := map[certs.Store]bool{}
	for _, s := range opts.Stores {
		switch certs.Store(s) {
		case certs.StoreSystem, certs.StoreNSS:
			want[certs.Store(s)] = true
		default:
			return usageErr("--store %q: want system or nss", s)
		}
	}
	ca, err := loadCA(app, opts)
	if err != nil {
		return err
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return err
	}
	have := func(name string) bool { _, err := exec.LookPath(name); return err == nil }
	plan := certs.UninstallPlan(ca, runtime.GOOS, home, have)
	verb := "removed"
	if install {
		plan = certs.InstallPlan(ca, runtime.GOOS, home, have)
		verb = "added"
	}
	admin := isAdmin()
	failed := 0
	for _, s := range plan {
		if len(want) > 0 && !want[s.Store] {
			continue
		}
		fmt.Fprintf(app.IO.Out, "%s:\n", s.Where)
		if len(s.Cmds) == 0 {
			fmt.Fprintf(app.IO.Out, "  by hand: %s\n", s.Manual)
			if !opts.DryRun {
				failed++
			}
			continue
		}
		if opts.DryRun || (s.NeedsAdmin && !admin) {
			prefix := ""
			if s.NeedsAdmin && !admin && runtime.GOOS != "windows" {
				prefix = "sudo "
			}
			if !opts.DryRun {
				fmt.Fprintf(app.IO.Out, "  needs administrator rights; run:\n")
				failed++
			}
			for _, c := range s.Cmds {
				fmt.Fprintf(app.IO.Out, "  %s%s\n", prefix, certs.CommandLine(c))
			}
			continue
		}
		if err := runSteps(app.IO.ErrOut, s.Cmds); err != nil {
			fmt.Fprintf(app.IO.Out, "  failed: %v\n  by hand: %s\n", err, s.Manual)
			failed++
			continue
		}
		fmt.Fprintf(app.IO.Out, "  done: %s %s\n", ca.Nickname(), verb)
	}
	if failed > 0 {
		return &stepFailedError{n: failed}
	}
	return nil
}

func runSteps(errOut io.Writer, cmds [][]string) error {
	for _, c := range cmds {
		cmd := exec.Command(c[0], c[1:]...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			msg := strings.TrimSpace(string(out))
			if msg != "" {
				return fmt.Errorf("%s: %w: %s", certs.CommandLine(c), err, msg)
			}
			return fmt.Errorf("%s: %w", certs.CommandLine(c), err)
		}
	}
	return nil
}

func runCARegenerate(app *App, opts CAOptions) error {
	dir, err := caDir(opts)
	if err != nil {
		return err
	}
	old, oldErr := certs.Load(dir)
	ca, err := certs.Regenerate(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(app.IO.Out, "new CA: %s\nsha256: %s\n", ca.Nickname(), ca.Fingerprint())
	if oldErr == nil {
		fmt.Fprintf(app.IO.Out, "The old CA %q may still be trusted; remove it from every store where you installed it.\n", old.Nickname())
		home, _ := os.UserHomeDir()
		for _, s := range certs.UninstallPlan(old, runtime.GOOS, home, func(name string) bool { _, err := exec.LookPath(name); return err == nil }) {
			for _, c := range s.Cmds {
				fmt.Fprintf(app.IO.Out, "  %s\n", certs.CommandLine(c))
			}
		}
		fmt.Fprintln(app.IO.Out, "Then run: idtrace ca install")
	} else if !errors.Is(oldErr, os.ErrNotExist) {
		fmt.Fprintf(app.IO.ErrOut, "the previous CA could not be read (%v); remove it from your trust stores by hand\n", oldErr)
	}
	return nil
}
