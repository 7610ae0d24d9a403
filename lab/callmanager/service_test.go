package callmanager

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The control file stops CallManager: an open connection is dropped, a new one is closed at
// once; started again, connections are served. TFTP follows its own flag.
func TestServicesControlFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.services.json")
	s := &Services{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	WatchServices(ctx, path, s) // no file yet: both run
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wl := s.Listener(ln)
	defer wl.Close()
	go func() {
		for {
			c, err := wl.Accept()
			if err != nil {
				return
			}
			go io.Copy(c, c) // echo until closed
		}
	}()
	echo := func(c net.Conn) error {
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("x")); err != nil {
			return err
		}
		_, err := io.ReadFull(c, make([]byte, 1))
		return err
	}
	c1, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	if err := echo(c1); err != nil {
		t.Fatalf("CallManager running: %v", err)
	}
	if s.TFTPStopped() {
		t.Fatal("TFTP stopped without a control file")
	}
	if err := WriteServiceState(path, ServiceState{CallManagerStopped: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "open registration dropped", func() bool { return echo(c1) != nil })
	c2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := echo(c2); err == nil {
		t.Fatal("a new connection was served while CallManager is stopped")
	}
	if err := WriteServiceState(path, ServiceState{TFTPStopped: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "TFTP stopped", s.TFTPStopped)
	c3, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if err := echo(c3); err != nil {
		t.Fatalf("CallManager started again: %v", err)
	}
}
