package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ctlops/ctlops/lab/cucmsim"
)

// cmdCucmsim serves a lab's simulated CUCM cluster (lab/cucmsim: every node's platform CLI
// over SSH and its TFTP) until SIGINT or SIGTERM, saving its state on the way out.
func cmdCucmsim(args []string, stdout io.Writer) error {
	cfg, err := configFlag("cucmsim", "simulator config (cucmsim.json, written by ctlops lab up)", args)
	if err != nil {
		return err
	}
	c, err := cucmsim.LoadServeConfig(cfg)
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s, err := cucmsim.Serve(c)
	if err != nil {
		return err
	}
	for _, n := range s.Cluster.Nodes() {
		fmt.Fprintf(stdout, "ctl-provider: node %s of %s: platform CLI ssh://%s, tftp://%s\n", n.Name(), c.Cluster, n.SSHAddr(), n.TFTPAddr())
	}
	fmt.Fprintf(stdout, "ctl-provider: %s (%s, control %s)\n", cucmsim.ReadyLine, c.Cluster, c.Control)
	<-sig
	return s.Close()
}
