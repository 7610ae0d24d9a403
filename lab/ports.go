package lab

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Ports for the lab's servers are chosen here, and never by binding port 0: a port is chosen
// when a lab is made and bound later by the process that serves it, and in between two things
// could take it. (1) Any outgoing connection on the machine: the kernel hands those local
// ports from the same ephemeral range it uses for port 0. (2) Another lab being made at the
// same time (CI runs several end-to-end tests at once, each with its own lab). So a port is
// drawn at random below the ephemeral range, where the kernel hands out nothing by itself,
// and claimed across processes with a lock file (portClaims) that the kernel releases when
// the claiming process exits; by then the server has bound it.

// freePorts returns n distinct free TCP ports and n distinct free UDP ports on 127.0.0.1,
// claimed for this process (freePort).
func freePorts(n int) (tcp, udp []int, err error) {
	for i := 0; i < n; i++ {
		p, err := freePort("tcp")
		if err != nil {
			return nil, nil, fmt.Errorf("finding a free TCP port: %w", err)
		}
		tcp = append(tcp, p)
		if p, err = freePort("udp"); err != nil {
			return nil, nil, fmt.Errorf("finding a free UDP port: %w", err)
		}
		udp = append(udp, p)
	}
	return tcp, udp, nil
}

// portRange is where ports are drawn: from 20000 up to the start of the kernel's ephemeral
// range (net.ipv4.ip_local_port_range, 32768 by default).
func portRange() (lo, hi int) {
	lo, hi = 20000, 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > lo+1000 {
				hi = v
			}
		}
	}
	return lo, hi
}

// freePort draws a loopback port of network ("tcp" or "udp") that binds now, that this
// process never handed out, and that no other process has claimed, and claims it.
func freePort(network string) (int, error) {
	lo, hi := portRange()
	for i := 0; i < 500; i++ {
		port := lo + rand.IntN(hi-lo)
		if !bindable(network, port) {
			continue
		}
		if ok, err := claim(network, port); err != nil {
			return 0, err
		} else if ok {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no %s port in %d-%d on 127.0.0.1 that was free and unclaimed after 500 draws", network, lo, hi-1)
}

func bindable(network string, port int) bool {
	var c io.Closer
	var err error
	if network == "udp" {
		c, err = net.ListenPacket("udp", loopback(port))
	} else {
		c, err = net.Listen("tcp", loopback(port))
	}
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// portClaims are the lock files this process holds, one per port it handed out: open for the
// process's life, since the port must stay claimed until its server has bound it.
var portClaims = struct {
	sync.Mutex
	m map[string]*os.File
}{m: map[string]*os.File{}}

// claimDir holds the claims of every process of this user on the machine.
func claimDir() string {
	return filepath.Join(os.TempDir(), "ctlops-lab-ports-"+strconv.Itoa(os.Getuid()))
}

// claim takes network/port for this process: false when this process or another holds it.
func claim(network string, port int) (bool, error) {
	k := network + "-" + strconv.Itoa(port)
	portClaims.Lock()
	defer portClaims.Unlock()
	if portClaims.m[k] != nil {
		return false, nil
	}
	dir := claimDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("port claims: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, k), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return false, fmt.Errorf("port claims: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, nil
		}
		return false, fmt.Errorf("port claims: %w", err)
	}
	portClaims.m[k] = f
	return true, nil
}

// freePortPair is freePort for two TCP ports delta apart (SCCP and its TLS port, P40).
func freePortPair(delta int) (int, error) {
	lo, hi := portRange()
	for i := 0; i < 500; i++ {
		port := lo + rand.IntN(hi-lo-delta)
		if !bindable("tcp", port) || !bindable("tcp", port+delta) {
			continue
		}
		a, err := claim("tcp", port)
		if err != nil {
			return 0, err
		}
		if !a {
			continue
		}
		// The lower port stays claimed if the upper one is not to be had: one port wasted.
		if b, err := claim("tcp", port+delta); err != nil {
			return 0, err
		} else if b {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free TCP port pair p, p+%d in %d-%d on 127.0.0.1 after 500 draws", delta, lo, hi-1)
}
