// Package servicesimtest starts a serviceability simulator for a test and writes what a spec
// needs to reach it: its CA in a directory and the cluster's serviceability block.
package servicesimtest

import (
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/lab/servicesim"
)

// User and Password are the simulator's application user; the spec reads the password from
// the environment variable Options.PasswordEnv, which the test sets.
const (
	User     = "axladmin"
	Password = "pw-for-tests"
)

// Options say what to simulate. The first node is the publisher.
type Options struct {
	Cluster     string
	Nodes       []servicesim.NodeConfig
	Phones      []servicesim.MemPhone
	Dir         string // where the CA file is written
	CAFile      string // its name in Dir; "tomcat-ca.pem" when empty
	PasswordEnv string // the variable the block names for the password
	// Fast makes service restarts and phone reboots take 20 ms instead of the simulator's
	// defaults, for tests that restart and reset.
	Fast bool
}

// Start runs the simulator until the test ends and returns it, its phones and the spec's
// serviceability block, indented for a cluster of a spec's list.
func Start(t testing.TB, o Options) (*servicesim.Cluster, *servicesim.MemDevices, string) {
	t.Helper()
	if o.CAFile == "" {
		o.CAFile = "tomcat-ca.pem"
	}
	cert, _, err := servicesim.NewCert(o.Cluster, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	dev := servicesim.NewMemDevices(o.Phones)
	cfg := servicesim.Config{Cluster: o.Cluster, Username: User, Password: Password, Cert: cert, Devices: dev, Nodes: o.Nodes}
	if o.Fast {
		dev.Delay = 20 * time.Millisecond
		cfg.StopTime, cfg.StartTime = 20*time.Millisecond, 20*time.Millisecond
	}
	sim, err := servicesim.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close(); dev.Close() })
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[len(cert.Certificate)-1]})
	if err := os.WriteFile(filepath.Join(o.Dir, o.CAFile), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	var y strings.Builder
	fmt.Fprintf(&y, "    serviceability:\n      credentials: {username: %s, password: {env: %s}}\n      tls: {ca: %s}\n      nodes:\n", User, o.PasswordEnv, o.CAFile)
	for i, n := range o.Nodes {
		_, port, _ := net.SplitHostPort(sim.Addr(n.Name))
		fmt.Fprintf(&y, "        - {name: %s, host: 127.0.0.1, port: %s, publisher: %v}\n", n.Name, port, i == 0)
	}
	return sim, dev, y.String()
}
