package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/token"
)

// exportFlags are `ctlops tokens --export-cert LABEL [--cert-label L] [--out FILE [--force]]`.
type exportFlags struct {
	label, certLabel, out string
	force                 bool
}

func (e *exportFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&e.label, "export-cert", "", "write the certificate of the token with this label as PEM (for the spec's tokens)")
	f.StringVar(&e.certLabel, "cert-label", "", "with --export-cert: the certificate's own label, when the token holds several")
	f.StringVar(&e.out, "out", "", "with --export-cert: write to FILE instead of standard output")
	f.BoolVar(&e.force, "force", false, "with --export-cert --out: replace FILE if it exists")
}

func (e *exportFlags) run(module string, stdout, stderr io.Writer) error {
	pemData, c, err := token.ExportCert(module, e.label, e.certLabel)
	if err != nil {
		return errors.New(termsafe.Error(err))
	}
	what := fmt.Sprintf("certificate %s (sha256 %s, valid to %s) of token %q",
		termsafe.Line(c.Subject), c.SHA256, c.NotAfter.UTC().Format("2006-01-02"), termsafe.Line(e.label))
	if e.out == "" {
		if _, err := stdout.Write(pemData); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "Wrote the %s.\n", what)
		return nil
	}
	if _, err := os.Lstat(e.out); err == nil && !e.force {
		return fmt.Errorf("--out %s exists; nothing was written (--force replaces it)", e.out)
	}
	if err := atomicfile.Write(e.out, pemData, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Wrote the %s to %s.\n", what, e.out)
	return nil
}
