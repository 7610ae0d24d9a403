// Command ctl-provider is the reference CTL Provider: it makes lab clusters and serves one of
// their nodes (PROTOCOL.md over HTTPS, the FileLocation over read-only TFTP). The logic lives in
// package provider/refserver; this file only maps flags to it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ctlops/ctlops/internal/safefile"
	"github.com/ctlops/ctlops/provider/refserver"
)

const usage = `usage:
  ctl-provider init --dir DIR --cluster NAME --nodes N [--base-port P] [--tftp-base-port P]
                    [--host 127.0.0.1] [--password-file FILE] [--version V]
  ctl-provider serve --config DIR/NODE/node.yaml [--delay 50ms]
  ctl-provider servicesim --config DIR/serviceability/serviceability.json   (lab AXL, Control Center, RisPort70)
  ctl-provider cucmsim --config DIR/cucmsim.json     (lab tokenless CUCM: platform CLI over SSH, TFTP)
  ctl-provider event --dir DIR set-ip NODE IPV4        (R22: IP address change)
  ctl-provider event --dir DIR rename NODE NEWNAME     (R22: host name change, new certificate)
  ctl-provider event --dir DIR regen-cert NODE         (R22: server replaced)
  ctl-provider event --dir DIR enable-capf             (R22: CAPF enabled on the publisher)
  ctl-provider event --dir DIR add-node LISTEN TFTPLISTEN   (R22: then serve its node.yaml)
  ctl-provider event --dir DIR remove-node NODE        (R22: stop its server first)
  ctl-provider event --dir DIR set-delay NODE DURATION
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ctl-provider:", err)
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("bad usage")

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "init":
		return cmdInit(args[1:], stdout)
	case "serve":
		return cmdServe(args[1:], stdout)
	case "event":
		return cmdEvent(args[1:], stdout)
	case "servicesim":
		return cmdServicesim(args[1:], stdout)
	case "cucmsim":
		return cmdCucmsim(args[1:], stdout)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

func cmdInit(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory to create the cluster in")
	cluster := fs.String("cluster", "", "cluster name")
	nodes := fs.Int("nodes", 2, "number of nodes (the first is the publisher)")
	base := fs.Int("base-port", 2444, "HTTPS port of the first node; the others follow")
	tbase := fs.Int("tftp-base-port", 6969, "TFTP port of the first node; the others follow")
	host := fs.String("host", "127.0.0.1", "address every node listens on")
	pwFile := fs.String("password-file", "", "file holding the admin password (default: generate one into DIR/admin.password)")
	version := fs.String("version", refserver.DefaultVersion, "CallManager version the nodes report")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *dir == "" || *cluster == "" {
		return fmt.Errorf("%w: --dir and --cluster are required", errUsage)
	}
	pw := ""
	if *pwFile != "" {
		b, err := safefile.Read(*pwFile, 4<<10) // a password, not /dev/zero
		if err != nil {
			return fmt.Errorf("--password-file: %w", err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
		if pw == "" {
			return fmt.Errorf("%s is empty", *pwFile)
		}
	}
	info, err := refserver.Init(refserver.InitOptions{Dir: *dir, Cluster: *cluster, Nodes: *nodes, Host: *host,
		BasePort: *base, TFTPBasePort: *tbase, Password: pw, Version: *version})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cluster %s in %s\nCA for clients: %s\n", *cluster, info.Dir, info.CAFile)
	if pw == "" {
		fmt.Fprintf(stdout, "admin password: in %s (mode 0600)\n", info.Dir+"/"+refserver.PasswordFile)
	}
	for _, n := range info.Nodes {
		fmt.Fprintf(stdout, "node %s: https://%s  tftp://%s  ctl-provider serve --config %s\n", n.Name, n.Listen, n.TFTPListen, n.Config)
	}
	return nil
}

func cmdServe(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := fs.String("config", "", "node config (node.yaml)")
	delay := fs.Duration("delay", -1, "artificial delay per request (overrides the config's delay)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *cfg == "" {
		return fmt.Errorf("%w: --config is required", errUsage)
	}
	if *delay >= 0 {
		if err := refserver.UpdateConfig(*cfg, func(c *refserver.Config) error { c.Delay = *delay; return nil }); err != nil {
			return err
		}
	}
	n, err := refserver.New(*cfg)
	if err != nil {
		return err
	}
	c := n.Config()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	// Bind before saying "serving", so that a taken port is an error, not a lie.
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", c.TFTPListen)
	if err != nil {
		ln.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- n.Serve(ln, pc) }()
	fmt.Fprintf(stdout, "ctl-provider: node %s of %s serving https://%s and tftp://%s (FileLocation %s)\n",
		c.Name, c.Cluster, c.Listen, c.TFTPListen, c.Abs(c.FileLocation))
	select {
	case err := <-errc:
		return err
	case <-sig:
		n.Close()
		return <-errc
	}
}

func cmdEvent(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("event", flag.ContinueOnError)
	dir := fs.String("dir", "", "cluster directory made by init")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	a := fs.Args()
	if *dir == "" || len(a) == 0 {
		return fmt.Errorf("%w: event needs --dir and an event", errUsage)
	}
	want := func(n int) error {
		if len(a) != n+1 {
			return fmt.Errorf("%w: %s takes %d argument(s)", errUsage, a[0], n)
		}
		return nil
	}
	var err error
	switch a[0] {
	case "set-ip":
		if err = want(2); err == nil {
			err = refserver.SetIPv4(*dir, a[1], a[2])
		}
	case "rename":
		if err = want(2); err == nil {
			err = refserver.Rename(*dir, a[1], a[2])
		}
	case "regen-cert":
		if err = want(1); err == nil {
			err = refserver.RegenCert(*dir, a[1])
		}
	case "enable-capf":
		if err = want(0); err == nil {
			err = refserver.EnableCAPF(*dir)
		}
	case "add-node":
		if err = want(2); err == nil {
			var ni *refserver.NodeInfo
			if ni, err = refserver.AddNode(*dir, a[1], a[2]); err == nil {
				fmt.Fprintf(stdout, "node %s: ctl-provider serve --config %s\n", ni.Name, ni.Config)
			}
		}
	case "remove-node":
		if err = want(1); err == nil {
			err = refserver.RemoveNode(*dir, a[1])
		}
	case "set-delay":
		if err = want(2); err == nil {
			var d time.Duration
			if d, err = time.ParseDuration(a[2]); err == nil {
				err = refserver.SetDelay(*dir, a[1], d)
			}
		}
	default:
		return fmt.Errorf("%w: unknown event %q", errUsage, a[0])
	}
	return err
}
