package lab

import (
	"context"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/token"
	"github.com/ctlops/ctlops/token/softhsm"
)

// softwareNotice is printed when the lab falls back to key files: the user must know that what
// signs is not a token (R6).
const softwareNotice = "notice: SoftHSM2 is not available (%v).\n" +
	"  The lab signs with SOFTWARE KEYS in %s instead of PKCS#11 tokens: fine to see ctlops work,\n" +
	"  but not the token code path. Install softhsm2, opensc and gnutls-bin (scripts/install-deps.sh)\n" +
	"  and run `ctlops lab up --fresh` for real tokens.\n"

// makeTokens creates the lab's tokens: SoftHSM2 tokens in DIR/softhsm when the tools are there
// (and software is false), else software keys. Certificates go to DIR/tokens/LABEL.pem for the
// spec's tokens: list.
func (l *Lab) makeTokens(ctx context.Context, software bool, out io.Writer) error {
	tokDir := l.path("tokens")
	if err := os.MkdirAll(tokDir, 0o755); err != nil {
		return err
	}
	pin, err := randomString(12)
	if err != nil {
		return err
	}
	pinFile := filepath.Join(tokDir, "pin")
	if err := atomicfile.Write(pinFile, []byte(pin+"\n"), 0o600); err != nil {
		return err
	}
	ts := TokenState{Labels: TokenLabels, PINFile: "tokens/pin"}
	var why error
	if software {
		why = fmt.Errorf("--software-keys was given")
	} else if why = softhsm.CheckTools(); why == nil {
		_, why = softhsm.Module()
	}
	if why == nil {
		env, err := softhsm.NewEnv(l.path("softhsm"))
		if err != nil {
			return err
		}
		for _, label := range TokenLabels {
			tok, err := env.CreateToken(ctx, softhsm.TokenSpec{Label: label, PIN: pin, Subject: sastSubject(label)})
			if err != nil {
				return fmt.Errorf("creating lab token %s: %w", label, err)
			}
			if err := atomicfile.Write(filepath.Join(tokDir, label+".pem"), tok.CertPEM, 0o644); err != nil {
				return err
			}
		}
		ts.Kind, ts.Module, ts.Conf = "softhsm", env.Module, env.Conf
		l.State.Tokens = ts
		return nil
	}
	fmt.Fprintf(out, softwareNotice, why, tokDir)
	for _, label := range TokenLabels {
		keyPEM, certPEM, err := softhsm.SoftwareKey(sastSubject(label), 2048)
		if err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(tokDir, label+".key"), keyPEM, 0o600); err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(tokDir, label+".pem"), certPEM, 0o644); err != nil {
			return err
		}
	}
	ts.Kind = "software"
	l.State.Tokens = ts
	return nil
}

func sastSubject(label string) pkix.Name {
	return pkix.Name{CommonName: "SAST-" + label, OrganizationalUnit: []string{"IPCBU"}, Organization: []string{"ctlops lab"}}
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b)[:n], nil
}

// PIN returns the lab tokens' PIN.
func (l *Lab) PIN() (string, error) {
	if l.State.Tokens.PINFile == "" {
		return "", fmt.Errorf("the lab in %s has no token PIN", l.Dir)
	}
	b, err := os.ReadFile(l.path(l.State.Tokens.PINFile))
	if err != nil {
		return "", err
	}
	return string(trimNL(b)), nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// Signer opens the lab token with that label (R20: one named token), through PKCS#11 for
// SoftHSM2 tokens. The caller closes it.
func (l *Lab) Signer(ctx context.Context, label string) (token.Signer, error) {
	ts := l.State.Tokens
	if ts.Kind == "software" {
		s, err := token.LoadSoftware(l.path("tokens", label+".key"), l.path("tokens", label+".pem"))
		if err != nil {
			return nil, fmt.Errorf("lab key %s: %w", label, err)
		}
		return s, nil
	}
	pin, err := l.PIN()
	if err != nil {
		return nil, err
	}
	// SoftHSM2 reads its configuration from the environment when the module is loaded; this
	// process may not have sourced lab.env.
	if err := os.Setenv("SOFTHSM2_CONF", ts.Conf); err != nil {
		return nil, err
	}
	return token.Open(ctx, token.Options{Module: ts.Module, Selection: token.Selection{Label: label},
		PIN: func(token.Info) ([]byte, error) { return []byte(pin), nil }})
}
