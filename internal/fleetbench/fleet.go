// Package fleetbench runs a fleet of reference clusters in a process of its own (the fleetsrv
// command, built on demand) and prepares a spec that declares them, with a signed CTL
// installed as a successful apply leaves it: what the fleet benchmarks need to measure the
// checker apart from the simulated servers (issue 18).
package fleetbench

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/fleetbench/manifest"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/refserver"
	"github.com/ctlops/ctlops/spec"
)

// PasswordEnv is the variable the fleet's spec names for the providers' password.
const PasswordEnv = "FLEETBENCH_CTL_PASSWORD"

// ServerProfileEnv names a file for a CPU profile of fleetsrv's serving, when set: the
// servers' share of a check, which the checker's -cpuprofile does not hold.
const ServerProfileEnv = "CTLOPS_BENCH_SERVER_CPUPROFILE"

// password is every fleet cluster's admin password (a lab secret; never printed).
const password = "fleet-Secret-123"

// Options shape a fleet.
type Options struct {
	Clusters, Nodes int
	// ConnDelay holds back each new connection's first read (see fleetsrv).
	ConnDelay time.Duration
}

// Fleet is a running fleet server and the spec declaring its clusters.
type Fleet struct {
	Manifest manifest.Manifest
	Spec     *spec.Config

	tb    testing.TB
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	mu    sync.Mutex
}

// Start builds fleetsrv, starts it and waits (up to setup, which covers generating five RSA
// keys per cluster) until it serves; the process ends with the test.
func Start(tb testing.TB, o Options, setup time.Duration) *Fleet {
	tb.Helper()
	dir := tb.TempDir()
	bin := filepath.Join(dir, "fleetsrv")
	build := exec.Command("go", "build", "-o", bin, "github.com/ctlops/ctlops/internal/fleetbench/fleetsrv")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("building fleetsrv: %v\n%s", err, out)
	}
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(password), 0o600); err != nil {
		tb.Fatal(err)
	}
	mf := filepath.Join(dir, "manifest.json")
	cmd := exec.Command(bin, "-dir", filepath.Join(dir, "fleet"), "-manifest", mf, "-password-file", pwFile,
		"-clusters", strconv.Itoa(o.Clusters), "-nodes", strconv.Itoa(o.Nodes), "-conn-delay", o.ConnDelay.String())
	if p := os.Getenv(ServerProfileEnv); p != "" {
		cmd.Args = append(cmd.Args, "-cpuprofile", p)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	f := &Fleet{tb: tb, cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	tb.Cleanup(f.stop)
	ready := make(chan bool, 1)
	go func() { ready <- f.out.Scan() && f.out.Text() == "ready" }()
	select {
	case ok := <-ready:
		if !ok {
			tb.Fatal("fleetsrv stopped before serving")
		}
	case <-time.After(setup):
		tb.Fatalf("fleetsrv not ready after %s", setup)
	}
	b, err := os.ReadFile(mf)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, &f.Manifest); err != nil {
		tb.Fatal(err)
	}
	return f
}

// stop closes fleetsrv's input, which ends it, and waits for it (killing it, by its own
// pid, if it does not end within 10 s).
func (f *Fleet) stop() {
	f.stdin.Close()
	done := make(chan struct{})
	go func() { f.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		f.cmd.Process.Kill()
		<-done
	}
}

// Stats asks fleetsrv how many connections its nodes have accepted so far and how much CPU
// time they have used.
func (f *Fleet) Stats() (accepted int64, cpu time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := io.WriteString(f.stdin, "stats\n"); err != nil {
		f.tb.Fatal(err)
	}
	if !f.out.Scan() {
		f.tb.Fatal("fleetsrv stopped")
	}
	var ns int64
	if _, err := fmt.Sscanf(f.out.Text(), "accepted %d cpu %d", &accepted, &ns); err != nil {
		f.tb.Fatalf("fleetsrv: %q: %v", f.out.Text(), err)
	}
	return accepted, time.Duration(ns)
}

// Accepted is Stats' connection count.
func (f *Fleet) Accepted() int64 {
	n, _ := f.Stats()
	return n
}

// CPU is the CPU time (user and system) this process has used: the checker's, apart from
// the servers'.
func CPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// SetDelay makes every node add d to each request (refserver's delay; a node rereads its
// config on its next request).
func (f *Fleet) SetDelay(d time.Duration) {
	for _, c := range f.Manifest.Clusters {
		for _, n := range c.Nodes {
			if err := refserver.UpdateConfig(n.Config, func(c *refserver.Config) error { c.Delay = d; return nil }); err != nil {
				f.tb.Fatal(err)
			}
		}
	}
}

// Prepare writes the fleet's spec (every cluster mixed mode, trusting tokens alice and bob),
// loads it, and installs each cluster's desired CTL signed by alice on every node, with the
// mode set, so that a drift check finds no drift.
func (f *Fleet) Prepare() {
	tb := f.tb
	tb.Helper()
	dir := tb.TempDir()
	tb.Setenv(PasswordEnv, password)
	alice := newToken(tb, dir, "alice", 0x5A5700)
	bob := newToken(tb, dir, "bob", 0x5A5701)
	var b strings.Builder
	b.WriteString("version: 1\nclusters:\n")
	for _, c := range f.Manifest.Clusters {
		fmt.Fprintf(&b, "  - name: %s\n    mode: mixed\n    providers:\n", c.Name)
		for _, n := range c.Nodes {
			host, port, _ := strings.Cut(n.Addr, ":")
			fmt.Fprintf(&b, "      - {host: %s, port: %s}\n", host, port)
		}
		fmt.Fprintf(&b, "    credentials: {username: %s, password: {env: %s}}\n", c.User, PasswordEnv)
		fmt.Fprintf(&b, "    tls: {ca: %s}\n", c.CAFile)
		fmt.Fprintf(&b, "    tokens:\n      - {name: alice, certificate: %s}\n      - {name: bob, certificate: %s}\n", alice.file, bob.file)
	}
	path := filepath.Join(dir, "ctlops.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	cfg, _, err := spec.Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	f.Spec = cfg
	now := time.Now()
	p, err := live.Plan(context.Background(), cfg, nil, live.Options{Parallelism: 8, Timeout: 30 * time.Second, Retries: -1}, "fleetbench", now)
	if err != nil {
		tb.Fatal(err)
	}
	for i, pc := range p.Clusters {
		if pc.Desired == nil {
			tb.Fatalf("cluster %s has nothing to install: %s %s", pc.Name, pc.SummaryLine(), pc.Error)
		}
		file, err := ctl.Parse(pc.Desired.Data)
		if err != nil {
			tb.Fatal(err)
		}
		if err := file.Sign(alice.key, alice.cert, ctl.SHA1, now); err != nil {
			tb.Fatal(err)
		}
		data, err := file.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		mc := f.clusterNamed(pc.Name)
		for _, n := range mc.Nodes {
			if err := provider.WriteCTLFile(n.FileLocation, data); err != nil {
				tb.Fatal(err)
			}
		}
		if pc.Mode.Changed {
			f.setMode(cfg.Clusters[i], mc, string(pc.Mode.To))
		}
	}
}

func (f *Fleet) clusterNamed(name string) *manifest.Cluster {
	for i := range f.Manifest.Clusters {
		if f.Manifest.Clusters[i].Name == name {
			return &f.Manifest.Clusters[i]
		}
	}
	f.tb.Fatalf("fleetbench: no cluster %s", name)
	return nil
}

// setMode sets a cluster's security mode through its first node, under the update lock.
func (f *Fleet) setMode(c *spec.Cluster, mc *manifest.Cluster, mode string) {
	po, err := live.ProviderOptions(c, live.Options{Timeout: 30 * time.Second})
	if err != nil {
		f.tb.Fatal(err)
	}
	cl, err := provider.NewClient(mc.Nodes[0].Addr, po)
	if err != nil {
		f.tb.Fatal(err)
	}
	defer cl.CloseIdleConnections()
	ctx := context.Background()
	lk, err := cl.Lock(ctx, provider.LockRequest{User: "fleetbench", Host: "fleetbench", Operation: "set mode", LeaseSec: 60})
	if err != nil {
		f.tb.Fatal(err)
	}
	defer cl.ReleaseLock(ctx, lk.ID)
	if err := cl.SetMode(ctx, lk.ID, provider.Mode(mode)); err != nil {
		f.tb.Fatal(err)
	}
}

type token struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
	file string
}

func newToken(tb testing.TB, dir, name string, serial int64) *token {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "SAST-" + name, OrganizationalUnit: []string{"IPCBU"}, Organization: []string{"Example"}},
		NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(dir, name+".pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		tb.Fatal(err)
	}
	return &token{key: key, cert: cert, file: file}
}
