package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ctlops/ctlops/lab/servicesim"
)

// cmdServicesim serves a lab cluster's Control Center Services, RisPort70 and AXL
// (lab/servicesim) until SIGINT or SIGTERM: one HTTPS listener per node.
func cmdServicesim(args []string, stdout io.Writer) error {
	cfg, err := configFlag("servicesim", "serviceability config (serviceability.json, written by ctlops lab up)", args)
	if err != nil {
		return err
	}
	c, err := servicesim.LoadServeConfig(cfg)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	cl, dev, err := servicesim.Serve(c)
	if err != nil {
		return err
	}
	defer dev.Close()
	defer cl.Close()
	for _, n := range c.Nodes {
		fmt.Fprintf(stdout, "ctl-provider: serviceability of node %s of %s serving %s\n", n.Name, c.Cluster, cl.URL(n.Name))
	}
	<-sig
	return nil
}

// configFlag parses a simulator subcommand's only flag, --config, which it requires.
func configFlag(name, usage string, args []string) (string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cfg := fs.String("config", "", usage)
	if err := fs.Parse(args); err != nil {
		return "", errUsage
	}
	if *cfg == "" {
		return "", fmt.Errorf("%w: --config is required", errUsage)
	}
	return *cfg, nil
}
