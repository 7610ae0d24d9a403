package apply

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/spec"
	"github.com/ctlops/ctlops/token"
)

// TokenOptions are the command line's say in choosing the signer; each field left empty falls
// back to the cluster's signWith.
type TokenOptions struct {
	Module  string // --pkcs11-module, else $CTLOPS_PKCS11_MODULE, else signWith.pkcs11.module
	Label   string // --token-label
	Serial  string // --token-serial
	PINFile string // --pin-file
	// Input allows questions on the terminal: which token (R20) and its PIN (R21).
	Input  bool
	Stdin  io.Reader
	Prompt io.Writer
}

// TokenOpener opens the signer as `ctlops apply` does. The PIN comes from --pin-file, else
// $CTLOPS_TOKEN_PIN, else the spec's signWith.pkcs11.pin reference, else a prompt without echo
// on a terminal; with none of them it fails rather than hang. When the token holds several key
// pairs, the ones phones already trust (R19) are preferred.
func TokenOpener(t TokenOptions) func(context.Context, SignerRequest) (token.Signer, error) {
	if t.Prompt == nil {
		t.Prompt = io.Discard
	}
	return func(ctx context.Context, req SignerRequest) (token.Signer, error) {
		sw := req.SignWith
		named := t.Module != "" || t.Label != "" || t.Serial != ""
		if !named && sw != nil && sw.Software != nil {
			fmt.Fprintln(t.Prompt, "WARNING:", token.SoftwareWarning)
			return token.LoadSoftware(sw.Software.KeyFile, sw.Software.CertFile)
		}
		var specModule string
		var sel token.Selection
		var specPIN *spec.SecretRef
		if sw != nil && sw.PKCS11 != nil {
			specModule, specPIN = sw.PKCS11.Module, sw.PKCS11.PIN
			sel = token.Selection{Label: sw.PKCS11.TokenLabel, Serial: sw.PKCS11.TokenSerial}
		}
		if t.Label != "" || t.Serial != "" {
			sel = token.Selection{Label: t.Label, Serial: t.Serial}
		}
		mod, err := token.ResolveModule(t.Module, specModule)
		if err != nil {
			return nil, err
		}
		fd, tty := token.TerminalFD(t.Stdin)
		ask := tty && t.Input
		var pin token.PINSource
		switch {
		case t.PINFile != "":
			pin = token.PINFromFile(t.PINFile)
		case os.Getenv(token.PINEnv) != "":
			pin = token.PINFromEnv(token.PINEnv)
		case specPIN != nil:
			ref := *specPIN
			pin = func(token.Info) ([]byte, error) {
				v, err := ref.Resolve()
				if err != nil {
					return nil, fmt.Errorf("token PIN: %w", err)
				}
				return []byte(v), nil
			}
		case ask:
			pin = token.PINFromTerminal(fd, t.Prompt)
		default:
			msg := token.ErrNoPIN.Error()
			if tty {
				msg += " (input is disabled: --input=false)"
			}
			return nil, errors.New(msg)
		}
		o := token.Options{Module: mod, Selection: sel, PIN: pin, Warn: t.Prompt}
		if ask {
			o.Ask = token.AskToken(t.Stdin, t.Prompt)
		}
		if len(req.Trusted) > 0 {
			o.Prefer = func(c *x509.Certificate) bool { return trusted(req.Trusted, ctl.Fingerprint(c.Raw)) }
		}
		s, err := token.Open(ctx, o)
		if err != nil {
			var se *token.SelectError
			if errors.As(err, &se) && len(req.Trusted) > 0 {
				return nil, fmt.Errorf("%w; tokens phones already trust (R19): %s", err, strings.TrimSpace(signerList(req.Trusted)))
			}
			return nil, err
		}
		return s, nil
	}
}
