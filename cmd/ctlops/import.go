package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/adopt"
	"github.com/ctlops/ctlops/internal/termsafe"
)

func init() { register(newImportCmd) }

func newImportCmd() *cobra.Command {
	var o adopt.Options
	cmd := &cobra.Command{
		Use:   "import SOURCE... --out DIR",
		Short: "Adopt a live cluster: write a spec and its certificates from what it serves",
		Long: `import reads a cluster that already runs a CTL and writes DIR/ctlops.yaml with the
certificate files it names (DIR/tokens/*.pem, DIR/ca.pem), so that "ctlops validate -f DIR"
passes and "ctlops plan -f DIR" / "ctlops drift -f DIR" against the same cluster report no
change. It only reads: every source is opened through the read-only readers.

SOURCE is a provider URL, one per node (repeatable, all of one cluster):
  tftp://host[:port]    the TFTP server phones use (a real CUCM: port 69), read-only
  dir://PATH            a TFTP FileLocation mapped on this machine
  https://host[:port]   ctlops' CTL Provider protocol (also host[:port]); needs --username,
                        the password in $CTLOPS_PASSWORD (or --password-env NAME) and
                        --ca FILE or --pin SHA256; the spec gets {env: NAME}, never the password

The file's SAST records become the cluster's tokens; from a CTL Provider, its inventory
becomes expectServers. A CUCM tokenless CTL (SAST = the CallManager or ITLRecovery
certificate) is adopted the same way, for plan and drift: ctlops cannot sign for it.
Expired certificates are warnings. import refuses a DIR that already holds a spec and
never replaces a file without --force; nothing is written when anything fails.`,
		Example: `  ctlops import tftp://cucm-pub.example.com --out clusters/hq
  CTLOPS_PASSWORD=... ctlops import https://cm1:2444 https://cm2:2444 --username admin --ca ca.pem --out hq`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Sources = args
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			res, err := adopt.Import(ctx, o)
			if err != nil {
				return fmt.Errorf("import: %s", termsafe.Line(err.Error()))
			}
			printImport(cmd.OutOrStdout(), cmd.ErrOrStderr(), o.Out, res)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Out, "out", "", "directory to write the spec and certificates into (required)")
	fl.BoolVar(&o.Force, "force", false, "replace a spec and files already in --out")
	fl.StringVar(&o.Name, "name", "", "the cluster's name in the spec (default: the inventory's, else the signer's host)")
	fl.StringVar(&o.Username, "username", "", "CTL Provider admin user (R25)")
	fl.StringVar(&o.PasswordEnv, "password-env", adopt.DefaultPasswordEnv, "environment variable holding the CTL Provider password; the spec names it")
	fl.StringVar(&o.CAFile, "ca", "", "CA certificate of the CTL Providers (copied to DIR/ca.pem)")
	fl.StringArrayVar(&o.Pins, "pin", nil, "SHA-256 fingerprint of a CTL Provider's certificate (repeatable)")
	fl.DurationVar(&o.Timeout, "timeout", 30*time.Second, "per-request timeout")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// printImport says what was adopted; every string from the cluster goes through termsafe.
func printImport(out, errw io.Writer, dir string, res *adopt.Result) {
	for _, w := range res.SpecWarnings {
		fmt.Fprintln(errw, termsafe.Line(w))
	}
	fmt.Fprintf(out, "Imported cluster %s (%s mode) from %s: %d records.\n",
		termsafe.Line(res.Cluster), res.Mode, termsafe.Line(joinComma(res.Sources)), res.Records)
	for _, t := range res.Tokens {
		fmt.Fprintf(out, "  token %-24s %s  %s\n", termsafe.Line(t.Name), t.File, termsafe.Line(t.Subject))
	}
	if res.Servers != nil {
		fmt.Fprintf(out, "  expectServers: %s\n", termsafe.Line(joinComma(res.Servers)))
	}
	if res.Tokenless {
		fmt.Fprintln(out, "  This CTL looks tokenless (signed by CUCM's own certificate): its SAST records are declared as tokens for plan and drift.")
	}
	for _, n := range res.Notes {
		fmt.Fprintln(out, "  note:", termsafe.Line(n))
	}
	fmt.Fprintf(out, "Wrote %s in %s. Next: ctlops validate -f %s && ctlops drift -f %s\n",
		joinComma(res.Files), termsafe.Line(dir), termsafe.Line(dir), termsafe.Line(dir))
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
