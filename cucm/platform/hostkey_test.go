package platform

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func testHostKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestKnownHostsMatching: a known_hosts file still matches as knownhosts.New does: plain and
// hashed hosts are accepted, a @revoked key and an unknown key are refused.
func TestKnownHostsMatching(t *testing.T) {
	plain, hashed, revoked, other := testHostKey(t), testHostKey(t), testHostKey(t), testHostKey(t)
	lines := []string{
		knownhosts.Line([]string{"[127.0.0.1]:2201"}, plain),
		knownhosts.Line([]string{knownhosts.HashHostname("[127.0.0.1]:2202")}, hashed),
		"@revoked " + knownhosts.Line([]string{"[127.0.0.1]:2203"}, revoked),
	}
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hk, err := hostKeyCallback(nil, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		host string
		key  ssh.PublicKey
		ok   bool
	}{
		{"127.0.0.1:2201", plain, true},
		{"127.0.0.1:2202", hashed, true},
		{"127.0.0.1:2203", revoked, false},
		{"127.0.0.1:2201", other, false},
		{"127.0.0.1:2204", plain, false},
	} {
		remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
		err := hk(c.host, remote, c.key)
		var hke *HostKeyError
		if c.ok && err != nil || !c.ok && !errors.As(err, &hke) {
			t.Errorf("%s: err %v, want ok %v", c.host, err, c.ok)
		}
	}
}

// TestKnownHostsBounded: a known_hosts file swapped after the spec was loaded for a FIFO
// (which would block knownhosts.New for ever) or an oversize file is an error naming the file.
func TestKnownHostsBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "known_hosts.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "known_hosts.big")
	line := knownhosts.Line([]string{"[127.0.0.1]:2201"}, testHostKey(t)) + "\n"
	if err := os.WriteFile(big, []byte(strings.Repeat(line, MaxKnownHostsFile/len(line)+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{fifo: "not a regular file", big: "too large"} {
		_, err := hostKeyCallback(nil, path)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q naming the file", filepath.Base(path), err, want)
		}
	}
}

// TestKnownHostsParseError: a malformed file's error names the operator's file, not a copy.
func TestKnownHostsParseError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte("127.0.0.1 ssh-ed25519 !!!notbase64\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := hostKeyCallback(nil, path)
	if err == nil || strings.Count(err.Error(), path) < 2 || strings.Contains(err.Error(), "ctlops-known_hosts-") {
		t.Errorf("err %v, want one naming %s", err, path)
	}
}
