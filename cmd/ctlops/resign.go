package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/token"
)

func init() { register(newResignCmd) }

func newResignCmd() *cobra.Command {
	var out, module, label, serial, keyFile, certFile, pinFile, hash, phoneModels string
	var force bool
	cmd := &cobra.Command{
		Use:   "resign FILE --out NEW (--token-label L | --token-serial S | --key KEY.pem --cert CERT.pem)",
		Short: "Sign an existing CTL file again with another security token",
		Long: `Resign keeps every record of FILE and signs it again, writing NEW atomically.

The signer must already be a SAST record of FILE (R19): phones holding FILE reject a file
signed by a token they do not trust. --force signs anyway, adding the token's SAST record,
and warns that phones holding FILE will reject the result. What each phone model holding FILE
would do with NEW (phonerules: P32 digests, P33 key sizes, P15-P17) is said as a warning;
--phone-models 7960,8861 makes a refusal by one of those models an error (--force overrides).

The token is chosen by --token-label or --token-serial; with neither, the only token
present is used, and with several present you are asked on a terminal or refused (R20).
The PIN comes from --pin-file, CTLOPS_TOKEN_PIN, or a prompt without echo (R21).
--key/--cert sign with a software key instead: labs and tests only.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			stderr := cmd.ErrOrStderr()
			if out == "" {
				return errors.New("--out NEW is required")
			}
			software := keyFile != "" || certFile != ""
			if software && (keyFile == "" || certFile == "") {
				return errors.New("--key and --cert go together")
			}
			if software && (label != "" || serial != "") {
				return errors.New("choose a token (--token-label/--token-serial) or a software key (--key/--cert), not both")
			}
			var h ctl.HashAlgorithm
			if hash != "" {
				var err error
				if h, err = ctl.ParseHashAlgorithm(hash); err != nil {
					return fmt.Errorf("--hash: %w", err)
				}
			}
			models, err := phoneModelsFlag(phoneModels)
			if err != nil {
				return err
			}
			data, installed, err := token.ReadCTL(args[0])
			if err != nil {
				return err
			}
			var s token.Signer
			if software {
				fmt.Fprintln(stderr, "WARNING:", token.SoftwareWarning)
				s, err = token.LoadSoftware(keyFile, certFile)
			} else {
				var mod string
				var pin token.PINSource
				if mod, err = token.ResolveModule(module, ""); err != nil {
					return err
				}
				if pin, err = token.DefaultPIN(pinFile, cmd.InOrStdin(), stderr); err != nil {
					return err
				}
				o := token.Options{Module: mod, Selection: token.Selection{Label: label, Serial: serial}, PIN: pin, Warn: stderr}
				if _, tty := token.TerminalFD(cmd.InOrStdin()); tty {
					o.Ask = token.AskToken(cmd.InOrStdin(), stderr)
				}
				if !force {
					o.Prefer = token.SASTFilter(installed)
				}
				s, err = token.Open(context.Background(), o)
			}
			if err != nil {
				return err
			}
			defer s.Close()
			fmt.Fprintln(stderr, "signing with", s.Describe())
			res, err := token.Resign(data, s, token.ResignOptions{Hash: h, Force: force, Models: models, Now: time.Now()})
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(stderr, "WARNING:", w)
			}
			if err := atomicfile.Write(out, res.Data, 0o644); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), res.Describe(out))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "write the re-signed file to NEW (atomically; may be FILE itself)")
	f.StringVar(&module, "pkcs11-module", "", "PKCS#11 module (default $CTLOPS_PKCS11_MODULE)")
	f.StringVar(&label, "token-label", "", "sign with the token that has this label")
	f.StringVar(&serial, "token-serial", "", "sign with the token that has this serial")
	f.StringVar(&keyFile, "key", "", "software private key (PEM; labs and tests only)")
	f.StringVar(&certFile, "cert", "", "certificate of the software key (PEM)")
	f.StringVar(&pinFile, "pin-file", "", "read the token PIN from the first line of FILE (default $CTLOPS_TOKEN_PIN, else ask)")
	f.StringVar(&hash, "hash", "", "signature hash: sha1, sha256 or sha512 (default: the file's; sha256 is unconfirmed on phones, §2.4)")
	f.StringVar(&phoneModels, "phone-models", "", "the phone models that must take NEW (7960,7965,8861); default: every model's verdict is a warning")
	f.BoolVar(&force, "force", false, "sign even if phones holding FILE will reject the result (R19)")
	return cmd
}
