package cucmsim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ctlops/ctlops/cucm/platform"
)

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
)

func oneKey(int) (*rsa.PrivateKey, error) {
	keyOnce.Do(func() { key, _ = rsa.GenerateKey(rand.Reader, 1024) })
	return key, nil
}

func start(t *testing.T) *Cluster {
	t.Helper()
	c, err := Start(Config{Release: "12.5.1.11900-146", User: "admin1", Password: "pw-1", KeyBits: 1024, NewKey: oneKey, Noise: true,
		Nodes: []NodeSpec{
			{Name: "pub", IP: netip.MustParseAddr("10.0.0.1"), Publisher: true, CallManager: true, TFTP: true, CAPF: true},
			{Name: "sub", IP: netip.MustParseAddr("10.0.0.2"), CallManager: true, TFTP: true},
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func dial(t *testing.T, n *Node, pw string) (*platform.Session, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return platform.Dial(ctx, platform.Config{Addr: n.SSHAddr(), User: "admin1", HostKeys: []string{n.HostKey()},
		Password: func() (string, error) { return pw, nil }, Auth: "password"})
}

// TestLockout: three failed logins lock the account; the right password is then refused too.
func TestLockout(t *testing.T) {
	c := start(t)
	n := c.Node("pub")
	for i := range 3 {
		_, err := dial(t, n, "bad")
		var le *platform.LoginError
		if !errors.As(err, &le) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if !n.Locked() {
		t.Fatal("not locked after 3 failures")
	}
	if _, err := dial(t, n, "pw-1"); err == nil {
		t.Fatal("a locked account logged in")
	}
	c.Unlock("pub")
	s, err := dial(t, n, "pw-1")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestNoExecChannel: exec requests are refused; only a PTY shell works (§2.1).
func TestNoExecChannel(t *testing.T) {
	c := start(t)
	n := c.Node("pub")
	cl, err := ssh.Dial("tcp", n.SSHAddr(), &ssh.ClientConfig{User: "admin1", Auth: []ssh.AuthMethod{ssh.Password("pw-1")},
		HostKeyCallback: ssh.FixedHostKey(mustKey(t, n)), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	s, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Output("show version active"); err == nil {
		t.Fatal("exec worked")
	}
}

func mustKey(t *testing.T, n *Node) ssh.PublicKey {
	t.Helper()
	return n.ssh.hostKey
}

// TestPublisherOnly: utils ctl and dbreplication are refused on a subscriber, and the
// refusal is not taken for success.
func TestPublisherOnly(t *testing.T) {
	c := start(t)
	s, err := dial(t, c.Node("sub"), "pw-1")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	err = s.CTL(ctx, platform.UpdateCTLFile)
	if err == nil || !strings.Contains(err.Error(), notOnPublisher) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.Replication(ctx); err == nil || !strings.Contains(err.Error(), replPublisher) {
		t.Fatalf("err = %v", err)
	}
	if len(c.Node("sub").CTL()) != 0 {
		t.Fatal("CTL written")
	}
}
