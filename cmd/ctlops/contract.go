package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/spec"
	"github.com/ctlops/ctlops/token"
)

// exitLines are the exit-status lines of commands whose help did not have one, kept with the
// table they must agree with (exitcodes.go). A command whose own help says "Exit status" keeps
// its words.
var exitLines = map[string]string{
	"ctlops tokens": "Exit status: 0 listed (also when no token is present), 1 error, 4 usage.",
	"ctlops resign": "Exit status: 0 written, 1 error (nothing written), 4 usage.",
	"ctlops watch":  "Exit status: 0 stopped by Ctrl-C or SIGTERM, 1 error (the first spec does not load), 4 usage.",
	"ctlops import": "Exit status: 0 written, 1 error (nothing written), 4 usage.",
}

// signWithCommands take -f to read the spec's signWith, as their help says they do: the
// PKCS#11 module, and for resign the token, unless a flag (or for the module
// $CTLOPS_PKCS11_MODULE) says otherwise.
var signWithCommands = map[string]struct {
	flags []string
	what  string
}{
	"ctlops tokens": {[]string{"pkcs11-module"}, "the PKCS#11 module"},
	"ctlops resign": {[]string{"pkcs11-module", "token-label", "token-serial"}, "the PKCS#11 module and the token (label or serial)"},
}

// applyContract adds to c what the CLI contract asks of every command and that c's own file
// does not do: an exit-status line in its help, and -f for the commands that use signWith.
func applyContract(c *cobra.Command) {
	path := c.CommandPath()
	if line, ok := exitLines[path]; ok && !strings.Contains(c.Long, "Exit status") {
		c.Long = strings.TrimRight(c.Long, "\n") + "\n\n" + line
	}
	if sw, ok := signWithCommands[path]; ok && c.Flags().Lookup("file") == nil {
		var file string
		c.Flags().StringVarP(&file, "file", "f", "", "take "+sw.what+" from the spec's signWith (file or directory)")
		c.Long = strings.TrimRight(c.Long, "\n") + "\n\n-f PATH takes " + sw.what + " from the spec's signWith.pkcs11 when no flag\ngives it; $CTLOPS_PKCS11_MODULE still wins over the spec's module."
		c.Annotations = mergeAnnotations(c.Annotations, map[string]string{"ctlops/signwith": "true"})
	}
}

func mergeAnnotations(a, b map[string]string) map[string]string {
	if a == nil {
		a = map[string]string{}
	}
	for k, v := range b {
		a[k] = v
	}
	return a
}

// applySignWith fills the flags of a signWith command from the spec named by -f.
func applySignWith(c *cobra.Command) error {
	if c.Annotations["ctlops/signwith"] != "true" {
		return nil
	}
	f := c.Flags().Lookup("file")
	if f == nil || f.Value.String() == "" {
		return nil
	}
	cfg, err := loadSpec(f.Value.String(), c.ErrOrStderr())
	if err != nil {
		return err
	}
	p, err := specPKCS11(cfg)
	if err != nil {
		return err
	}
	values := map[string]string{"pkcs11-module": p.Module, "token-label": p.TokenLabel, "token-serial": p.TokenSerial}
	if os.Getenv(token.ModuleEnv) != "" {
		delete(values, "pkcs11-module")
	}
	for _, name := range signWithCommands[c.CommandPath()].flags {
		fl := c.Flags().Lookup(name)
		if fl == nil || fl.Changed || values[name] == "" {
			continue
		}
		if err := fl.Value.Set(values[name]); err != nil {
			return err
		}
	}
	return nil
}

// specPKCS11 returns the one signWith.pkcs11 the spec's clusters agree on.
func specPKCS11(cfg *spec.Config) (spec.PKCS11, error) {
	var found *spec.PKCS11
	var from string
	for _, cl := range cfg.Clusters {
		if cl.SignWith == nil || cl.SignWith.PKCS11 == nil {
			continue
		}
		p := cl.SignWith.PKCS11
		if found != nil && (p.Module != found.Module || p.TokenLabel != found.TokenLabel || p.TokenSerial != found.TokenSerial) {
			return spec.PKCS11{}, fmt.Errorf("clusters %s and %s sign with different signWith.pkcs11 settings: name the module and token with flags", from, cl.Name)
		}
		found, from = p, cl.Name
	}
	if found == nil {
		return spec.PKCS11{}, fmt.Errorf("-f: no cluster of the spec has signWith.pkcs11")
	}
	return *found, nil
}
