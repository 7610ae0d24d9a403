package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/adopt"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/spec"
	"github.com/ctlops/ctlops/token"
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
  ssh://USER@HOST[:PORT] a tokenless CUCM cluster through its publisher's platform CLI (the
                        OS administrator, port 22); given alone: see below

The file's SAST records become the cluster's tokens; from a CTL Provider, its inventory
becomes expectServers. A CUCM tokenless CTL read over tftp:// is adopted the same way,
for plan and drift only: ctlops cannot sign for it. Expired certificates are warnings.
import refuses a DIR that already holds a spec and never replaces a file without
--force; nothing is written when anything fails.

ssh:// (tokenless clusters): import logs into the publisher, lists the nodes with
"show network cluster", reads every node as plan does (show cert own, show ctl, and
CTLFile.tlv/ITLFile.tlv over TFTP; show commands only) and writes "signing: tokenless"
with a platform: block: the nodes, their roles (read from the CTL the cluster serves;
guessed, and said so, when it serves none), the mode, the pinned host keys and the
credentials by reference. A node is reached at the IP the publisher lists (SSH 22, TFTP
69) unless --node-ssh NAME=HOST:PORT / --node-tftp NAME=HOST:PORT say otherwise.
  Host keys are never trusted on first use: give --host-key SHA256:... (repeatable, one
  per node, as "ssh-keygen -l" prints it) or --known-hosts FILE. Without them import only
  runs the key exchange with the publisher (and each --node-ssh address), prints the
  fingerprints, sends nothing (no user name, no password) and exits 1; compare them with
  each node's own and run again with them. With them, the publisher is reached once: its
  login's own key exchange checks the key before anything is sent, and a key that is not a
  confirmed one is shown, as without them. Subscribers' keys are checked by a key exchange
  only, before the password reaches any of them.
  The password: --password-file FILE (the spec names {file: FILE}), else the variable
  --password-env (default CTLOPS_PLATFORM_PASSWORD, named {env: NAME}), else a prompt
  without echo on a terminal (the spec names the variable: set it before plan). It is
  sent once per node; a refused login is not retried (CUCM locks accounts).`,
		Example: `  ctlops import tftp://cucm-pub.example.com --out clusters/hq
  CTLOPS_PASSWORD=... ctlops import https://cm1:2444 https://cm2:2444 --username admin --ca ca.pem --out hq
  ctlops import ssh://platformadmin@cucm-pub.example.com --out clusters/metro   # shows the host keys
  ctlops import ssh://platformadmin@cucm-pub.example.com --host-key SHA256:... --host-key SHA256:... --out clusters/metro`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Sources = args
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			if fd, ok := token.TerminalFD(cmd.InOrStdin()); ok {
				o.AskPassword = askPassword(ctx, fd, cmd.ErrOrStderr())
			}
			res, err := adopt.Import(ctx, o)
			var pend *adopt.HostKeyPending
			if errors.As(err, &pend) {
				printPending(cmd.ErrOrStderr(), pend, o.HostKeys)
				return exitCode(1, nil)
			}
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
	fl.StringVar(&o.Name, "name", "", "the cluster's name in the spec (default: the inventory's, else the signer's host; for ssh:// the publisher's)")
	fl.StringVar(&o.Username, "username", "", "CTL Provider admin user (R25); for ssh:// the platform user when the URL has none")
	fl.StringVar(&o.PasswordEnv, "password-env", "", "environment variable holding the password; the spec names it (default "+adopt.DefaultPasswordEnv+", "+adopt.DefaultPlatformPasswordEnv+" for ssh://)")
	fl.StringVar(&o.PasswordFile, "password-file", "", "ssh://: file holding the platform password (the spec names it as {file: FILE})")
	fl.StringArrayVar(&o.HostKeys, "host-key", nil, "ssh://: a node's confirmed SSH host key, SHA256:... (repeatable)")
	fl.StringVar(&o.KnownHosts, "known-hosts", "", "ssh://: a known_hosts file holding the nodes' keys (the spec names it)")
	fl.BoolVar(&o.LegacyAlgorithms, "legacy-algorithms", false, "ssh://: offer the old SSH algorithms some older UCOS releases need (written into the spec)")
	fl.StringArrayVar(&o.NodeSSH, "node-ssh", nil, "ssh://: NAME=HOST:PORT where node NAME's platform CLI is reached (default: its IP, port 22)")
	fl.StringArrayVar(&o.NodeTFTP, "node-tftp", nil, "ssh://: NAME=HOST:PORT where node NAME's TFTP is reached (default: its SSH host, port 69)")
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
	if res.Signing == spec.SigningTokenless {
		fmt.Fprintf(out, "  signing: tokenless (CUCM %s signs its CTL itself)\n", termsafe.Line(res.Release))
		for _, n := range res.Nodes {
			role := ""
			if n.Publisher {
				role = " (publisher)"
			}
			fmt.Fprintf(out, "  node %-16s ssh %s  tftp %s  roles [%s]%s\n", termsafe.Line(n.Name), termsafe.Line(n.SSH), termsafe.Line(orDash(n.TFTP)), strings.Join(n.Roles, ", "), role)
		}
	}
	for _, t := range res.Tokens {
		fmt.Fprintf(out, "  token %-24s %s  %s\n", termsafe.Line(t.Name), t.File, termsafe.Line(t.Subject))
	}
	if res.Servers != nil {
		fmt.Fprintf(out, "  expectServers: %s\n", termsafe.Line(joinComma(res.Servers)))
	}
	if res.Tokenless && res.Signing != spec.SigningTokenless {
		fmt.Fprintln(out, "  This CTL looks tokenless (signed by CUCM's own certificate): its SAST records are declared as tokens for plan and drift;")
		fmt.Fprintln(out, "  import it through the publisher's platform CLI (ssh://USER@PUBLISHER) to adopt it as signing: tokenless.")
	}
	for _, n := range res.Notes {
		fmt.Fprintln(out, "  note:", termsafe.Line(n))
	}
	fmt.Fprintf(out, "Wrote %s in %s. Next: ctlops validate -f %s && ctlops drift -f %s\n",
		joinComma(res.Files), termsafe.Line(dir), termsafe.Line(dir), termsafe.Line(dir))
}

// printPending shows the host keys an import saw and stopped on, and the flags that confirm
// them: the admin compares each fingerprint with the node's own before using them.
func printPending(w io.Writer, e *adopt.HostKeyPending, given []string) {
	fmt.Fprintf(w, "import: %s.\n", termsafe.Line(e.Why))
	for _, k := range e.Keys {
		typ := k.Type
		if typ == "" {
			typ = "key"
		}
		fmt.Fprintf(w, "  %-16s %-22s %-20s %s\n", termsafe.Line(k.Node), termsafe.Line(k.Addr), termsafe.Line(typ), k.Fingerprint)
	}
	fmt.Fprintln(w, "Nothing was sent to them (key exchange only: no user name, no password).")
	fmt.Fprintln(w, "Compare each fingerprint with the node's own (on its console or from its administrator), then run again with:")
	var flags []string
	for _, g := range given {
		flags = append(flags, "--host-key "+g)
	}
	for _, k := range e.Keys {
		flags = append(flags, "--host-key "+k.Fingerprint)
	}
	fmt.Fprintln(w, "  "+strings.Join(flags, " "))
}

// askPassword reads the platform password from the terminal, without echo; Ctrl-C ends it.
func askPassword(ctx context.Context, fd int, prompt io.Writer) func(string) (string, error) {
	return func(text string) (string, error) {
		pw, err := token.ReadSecret(ctx, fd, func() { fmt.Fprint(prompt, text) })
		fmt.Fprintln(prompt)
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", fmt.Errorf("reading the password from the terminal: %w", err)
		}
		return string(pw), nil
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
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
