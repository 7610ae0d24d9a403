package callmanager

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"sync"
	"time"

	"github.com/ctlops/ctlops/internal/atomicfile"
)

// The lab's serviceability simulator (lab/servicesim, issue 16) stops and starts Cisco
// CallManager and Cisco Tftp on a node through Control Center Services; the node's phone side
// is another process. This is the whole control between them, kept apart from the rest of the
// package: the simulator writes a small JSON file per node (ServiceState), the phone side
// polls it (WatchServices) and applies it to a Services switch:
//
//   - CallManager stopped: every registration of the node is dropped at once and new
//     connections are closed as soon as they are accepted, so phones fail over to the next
//     node of their CallManager group (they notice at their next keep-alive);
//   - TFTP stopped: every download is refused, so a phone that resets meanwhile cannot fetch
//     its CTL, ITL or configuration from this node.
//
// TVS is a service of its own on CUCM and keeps running.

// ServiceState is the control file: which of the node's services are stopped. A missing
// file means both run.
type ServiceState struct {
	CallManagerStopped bool `json:"callManagerStopped"`
	TFTPStopped        bool `json:"tftpStopped"`
}

// WriteServiceState writes the control file atomically.
func WriteServiceState(path string, st ServiceState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}

// ReadServiceState reads the control file; a missing or unreadable one is "both run" (the
// simulator rewrites it at its start).
func ReadServiceState(path string) ServiceState {
	var st ServiceState
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 4096 {
		return ServiceState{}
	}
	if json.Unmarshal(b, &st) != nil {
		return ServiceState{}
	}
	return st
}

// Services is the switch the phone side applies the control file to.
type Services struct {
	mu      sync.Mutex
	ccmDown bool
	tftpDn  bool
	conns   map[net.Conn]struct{}
}

// Set applies a state; stopping CallManager closes every connection accepted so far.
func (s *Services) Set(st ServiceState) {
	s.mu.Lock()
	var drop []net.Conn
	if st.CallManagerStopped && !s.ccmDown {
		for c := range s.conns {
			drop = append(drop, c)
		}
	}
	s.ccmDown, s.tftpDn = st.CallManagerStopped, st.TFTPStopped
	s.mu.Unlock()
	for _, c := range drop { // Close takes s.mu
		c.Close()
	}
}

// TFTPStopped reports whether downloads are refused now (Options.TFTPStopped).
func (s *Services) TFTPStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tftpDn
}

// Listener wraps a registration listener (SCCP, SIP, plain or TLS): while CallManager is
// stopped an accepted connection is closed at once, like a refused one.
func (s *Services) Listener(ln net.Listener) net.Listener { return &svcListener{Listener: ln, s: s} }

type svcListener struct {
	net.Listener
	s *Services
}

func (l *svcListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.s.mu.Lock()
		if l.s.ccmDown {
			l.s.mu.Unlock()
			c.Close()
			continue
		}
		if l.s.conns == nil {
			l.s.conns = map[net.Conn]struct{}{}
		}
		tc := &svcConn{Conn: c, s: l.s}
		l.s.conns[tc] = struct{}{}
		l.s.mu.Unlock()
		return tc, nil
	}
}

type svcConn struct {
	net.Conn
	s    *Services
	once sync.Once
}

func (c *svcConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// WatchServices applies the control file at path to s now and whenever it changes, until
// ctx ends. It polls every 100 ms: a file the simulator rewrites is simpler to keep right
// across restarts of either process than a signal to a pid.
func WatchServices(ctx context.Context, path string, s *Services) {
	apply := func() { s.Set(ReadServiceState(path)) }
	apply()
	go func() {
		var last time.Time
		var lastSize int64 = -1
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			fi, err := os.Stat(path)
			if err != nil {
				if lastSize != -1 {
					lastSize, last = -1, time.Time{}
					apply()
				}
				continue
			}
			if !fi.ModTime().Equal(last) || fi.Size() != lastSize {
				last, lastSize = fi.ModTime(), fi.Size()
				apply()
			}
		}
	}()
}

// errTFTPStopped is what a download gets while Cisco Tftp is stopped. A stopped server would
// not answer at all; an error packet says the same sooner, and its text avoids "not found",
// which a phone reads as "no such file" (P4) rather than as a server it cannot use.
//
//lint:ignore ST1005 the service's name, as Control Center spells it
var errTFTPStopped = errors.New("Cisco Tftp is stopped on this node")
