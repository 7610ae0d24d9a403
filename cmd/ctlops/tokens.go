package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/token"
)

func init() { register(newTokensCmd) }

func newTokensCmd() *cobra.Command {
	var module, format, label, serial, pinFile string
	var export exportFlags
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "List the security tokens present and the certificates on them",
		Long: `Tokens lists every slot of the PKCS#11 module that holds a token: label, serial,
manufacturer, model, the flags that matter before typing a PIN (login required, PIN count
low, final try, locked), and each certificate with its subject, serial, SHA-256 fingerprint,
validity and whether a private key matches it.

Tokens hide private keys until login, so without one the key column says "unknown". Name
one token with --token-label or --token-serial to log in to it (PIN from --pin-file,
CTLOPS_TOKEN_PIN or the terminal) and see which certificates can sign.

--export-cert LABEL writes the certificate of the token labelled LABEL as PEM, to standard
output or to --out FILE, for the spec's tokens: certificate: (no PIN needed: certificates
are public objects). When the token holds several, --cert-label picks one.

The module comes from --pkcs11-module or CTLOPS_PKCS11_MODULE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: want text or json", format)
			}
			mod, err := token.ResolveModule(module, "")
			if err != nil {
				return err
			}
			if export.label != "" {
				return export.run(mod, cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			opts := token.ListOptions{Login: token.Selection{Label: label, Serial: serial}, Warn: cmd.ErrOrStderr()}
			if opts.Login != (token.Selection{}) {
				if opts.PIN, err = token.DefaultPIN(pinFile, cmd.InOrStdin(), cmd.ErrOrStderr()); err != nil {
					return err
				}
			}
			infos, err := token.ListWith(mod, opts)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				return termsafe.WriteJSON(out, token.Listing{Version: 1, Module: mod, Tokens: infos}) // the tokens' words, escaped
			}
			return token.WriteText(out, mod, infos, time.Now())
		},
	}
	f := cmd.Flags()
	f.StringVar(&module, "pkcs11-module", "", "PKCS#11 module (default $CTLOPS_PKCS11_MODULE)")
	f.StringVar(&format, "format", "text", "output format: text or json")
	f.StringVar(&label, "token-label", "", "log in to the token with this label to check its private keys")
	f.StringVar(&serial, "token-serial", "", "log in to the token with this serial to check its private keys")
	f.StringVar(&pinFile, "pin-file", "", "read the token PIN from the first line of FILE (default $CTLOPS_TOKEN_PIN, else ask)")
	export.add(cmd)
	return cmd
}
