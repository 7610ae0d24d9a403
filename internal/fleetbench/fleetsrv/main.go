// Command fleetsrv serves a fleet of reference CTL Provider clusters (provider/refserver) from
// one process, on 127.0.0.1 only, for the fleet benchmark of package fleetbench: the checker
// under test then runs in a process of its own, so that its heap is measured apart from the
// simulated servers' (issue 18). One process rather than one `ctl-provider serve` per node,
// because 600 node processes would measure the machine's process table, not the checker.
//
// It makes the clusters (keys and certificates: refserver.Init), serves every node, writes a
// manifest of what it serves (JSON, see fleetbench.Manifest) to -manifest, prints "ready"
// and serves until its standard input closes, so that it never outlives the benchmark. A
// "stats" line on standard input is answered with the connections accepted so far and the CPU
// time the servers have used.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/internal/fleetbench/manifest"
	"github.com/ctlops/ctlops/provider/refserver"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fleetsrv:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", "", "directory to make the clusters in")
	out := flag.String("manifest", "", "where to write the manifest")
	clusters := flag.Int("clusters", 1, "number of clusters")
	nodes := flag.Int("nodes", 3, "nodes per cluster")
	password := flag.String("password-file", "", "file holding the admin password of every cluster")
	connDelay := flag.Duration("conn-delay", 0, "delay before a new connection's first byte is read (models the TCP and TLS handshake round trip)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file, from the first stats request (the benchmark measuring, not preparing) to the end")
	flag.Parse()
	if *dir == "" || *out == "" || *password == "" || *clusters < 1 || *clusters > 2000 || *nodes < 1 {
		return errors.New("usage: fleetsrv -dir DIR -manifest FILE -password-file FILE [-clusters N] [-nodes N] [-conn-delay D]")
	}
	pw, err := os.ReadFile(*password)
	if err != nil {
		return err
	}
	var accepted atomic.Int64
	m := manifest.Manifest{Clusters: make([]manifest.Cluster, *clusters)}
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0)) // Init generates RSA keys: one per core
	for i := range *clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := startCluster(fmt.Sprintf("%s/site%03d", *dir, i), fmt.Sprintf("site%03d", i), *nodes, string(pw), *connDelay, &accepted)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			m.Clusters[i] = c
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	b, err := json.Marshal(&m)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "stats" {
			if *cpuProfile != "" {
				stop, err := startProfile(*cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
				*cpuProfile = ""
			}
			fmt.Printf("accepted %d cpu %d\n", accepted.Load(), cpuNanos())
		}
	}
	return nil // stdin closed: the benchmark is done (or gone)
}

// startProfile starts a CPU profile written to path; the function it returns ends it.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// cpuNanos is the CPU time (user and system) this process has used.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// startCluster makes one cluster on fresh loopback ports and serves its nodes.
func startCluster(dir, name string, n int, password string, connDelay time.Duration, accepted *atomic.Int64) (manifest.Cluster, error) {
	var lns []net.Listener
	var pcs []net.PacketConn
	var addrs, taddrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return manifest.Cluster{}, err
		}
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return manifest.Cluster{}, err
		}
		lns, pcs = append(lns, ln), append(pcs, pc)
		addrs, taddrs = append(addrs, ln.Addr().String()), append(taddrs, pc.LocalAddr().String())
	}
	info, err := refserver.Init(refserver.InitOptions{Dir: dir, Cluster: name, Nodes: n,
		Listen: addrs, TFTPListen: taddrs, Password: password})
	if err != nil {
		return manifest.Cluster{}, err
	}
	c := manifest.Cluster{Name: name, Dir: dir, CAFile: info.CAFile, User: refserver.AdminUser}
	for i, ni := range info.Nodes {
		// Every node of the fleet shares this process's two cores, which a real fleet does
		// not: a cold check's burst of handshakes must not pass for dead peers or clients.
		if err := refserver.UpdateConfig(ni.Config, func(c *refserver.Config) error {
			c.Limits.PeerTimeout, c.Limits.ReadHeaderTimeout, c.Limits.ReadTimeout = 30*time.Second, 60*time.Second, 60*time.Second
			return nil
		}); err != nil {
			return manifest.Cluster{}, err
		}
		srv, err := refserver.New(ni.Config)
		if err != nil {
			return manifest.Cluster{}, err
		}
		cfg, err := refserver.LoadConfig(ni.Config)
		if err != nil {
			return manifest.Cluster{}, err
		}
		ln := &countingListener{Listener: lns[i], n: accepted, delay: connDelay}
		go srv.Serve(ln, pcs[i])
		c.Nodes = append(c.Nodes, manifest.Node{Name: ni.Name, Addr: addrs[i], TFTPAddr: taddrs[i],
			Config: ni.Config, FileLocation: cfg.Abs(cfg.FileLocation)})
	}
	return c, nil
}

// countingListener counts the connections accepted and, with a delay, holds each new
// connection's first read back by it: on a WAN a new connection costs a round trip (and TLS
// another) before its first request, which reusing connections saves.
type countingListener struct {
	net.Listener
	n     *atomic.Int64
	delay time.Duration
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.n.Add(1)
	if l.delay <= 0 {
		return c, nil
	}
	return &delayedConn{Conn: c, delay: l.delay}, nil
}

type delayedConn struct {
	net.Conn
	delay time.Duration
	once  sync.Once
}

func (c *delayedConn) Read(p []byte) (int, error) {
	c.once.Do(func() { time.Sleep(c.delay) })
	return c.Conn.Read(p)
}
