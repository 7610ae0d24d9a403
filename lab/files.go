package lab

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/provider/refserver"
)

// writeSpec writes DIR/ctlops.yaml: both clusters in mixed mode (R17: an alternate TFTP in
// another cluster needs the same mode), the first two lab tokens (R16), every node's CTL
// Provider, branch's node as hq's alternate TFTP, and signWith naming the first token. Paths
// are relative to the file, so the directory can be moved.
func (l *Lab) writeSpec() error {
	var b strings.Builder
	b.WriteString(`# The ctlops lab: written by ` + "`ctlops lab up`" + `. Secrets come from lab.env:
#   . ` + filepath.Join(l.Dir, EnvFile) + `
version: 1
clusters:
`)
	branchDir, err := l.ClusterDir(Branch)
	if err != nil {
		return err
	}
	branchNodes, err := refserver.Nodes(branchDir)
	if err != nil {
		return err
	}
	for _, cs := range l.State.Clusters {
		nodes, err := refserver.Nodes(l.path(cs.Dir))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "  - name: %s\n    mode: mixed\n    providers:                      # the CTL Provider of every node (R7)\n", cs.Name)
		for _, n := range nodes {
			host, port, _ := net.SplitHostPort(n.Listen)
			fmt.Fprintf(&b, "      - {host: %s, port: %s}   # %s\n", host, port, n.Name)
		}
		fmt.Fprintf(&b, "    credentials:                    # the same admin on every node (R25)\n"+
			"      username: %s\n      password: {env: %s}\n", refserver.AdminUser, PasswordEnv[cs.Name])
		fmt.Fprintf(&b, "    tls: {ca: %s}\n", filepath.ToSlash(filepath.Join(cs.Dir, refserver.CAFile)))
		b.WriteString(l.serviceabilitySpec(cs))
		b.WriteString("    tokens:                         # SAST entries (R15, R16)\n")
		for _, label := range TokenLabels[:2] {
			fmt.Fprintf(&b, "      - {name: %s, certificate: tokens/%s.pem}\n", label, label)
		}
		if cs.Name == HQ {
			b.WriteString("    alternateTFTP:                  # branch's node keeps a copy of hq's CTL (R15, R17)\n")
			for _, n := range branchNodes {
				host, port, _ := net.SplitHostPort(n.Listen)
				fmt.Fprintf(&b, "      - {host: %s, port: %s, cluster: %s}\n", host, port, Branch)
			}
		}
		b.WriteString(l.signWith())
	}
	metro, err := l.metroSpec()
	if err != nil {
		return err
	}
	b.WriteString(metro)
	return atomicfile.Write(l.path(SpecFile), []byte(b.String()), 0o644)
}

func (l *Lab) signWith() string {
	ts := l.State.Tokens
	first := TokenLabels[0]
	if ts.Kind == "software" {
		return fmt.Sprintf("    signWith:                       # lab only: a key file is not a token (R6)\n"+
			"      software: {key: tokens/%s.key, certificate: tokens/%s.pem}\n", first, first)
	}
	return fmt.Sprintf("    signWith:\n      pkcs11: {module: %s, label: %s, pin: {env: CTLOPS_TOKEN_PIN}}\n", ts.Module, first)
}

// writeEnv writes DIR/lab.env: what plan, apply and drift need so that they ask nothing but
// the confirmation. Lab passwords and the lab PIN guard nothing; the file is 0600 anyway, as
// such a file should be.
func (l *Lab) writeEnv() error {
	var b strings.Builder
	fmt.Fprintf(&b, "# The ctlops lab in %s (lab secrets only; they guard nothing).\n# Use: . %s\n",
		l.Dir, l.path(EnvFile))
	exp := func(k, v string) { fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(v)) }
	exp("CTLOPS_LAB_DIR", l.Dir)
	if l.State.Tokens.Kind == "softhsm" {
		exp("SOFTHSM2_CONF", l.State.Tokens.Conf)
		exp("CTLOPS_PKCS11_MODULE", l.State.Tokens.Module)
	}
	pin, err := l.PIN()
	if err != nil {
		return err
	}
	exp("CTLOPS_TOKEN_PIN", pin)
	for _, cs := range l.State.Clusters {
		pw, err := os.ReadFile(l.path(cs.Dir, refserver.PasswordFile))
		if err != nil {
			return err
		}
		exp(PasswordEnv[cs.Name], string(trimNL(pw)))
	}
	if pw := l.axlPassword(); pw != "" {
		exp(AXLPasswordEnv, pw)
	}
	if pw := l.metroPassword(); pw != "" {
		exp(PlatformPasswordEnv, pw)
	}
	return atomicfile.Write(l.path(EnvFile), []byte(b.String()), 0o600)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Env returns the variables lab.env exports, for running commands against the lab.
func (l *Lab) Env() (map[string]string, error) {
	data, err := os.ReadFile(l.path(EnvFile))
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = strings.ReplaceAll(v[1:len(v)-1], `'\''`, "'")
		}
		env[k] = v
	}
	return env, nil
}
