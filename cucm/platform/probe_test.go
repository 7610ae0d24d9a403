package platform

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// probeServer is an SSH server on 127.0.0.1 that counts every authentication request it
// receives (of any method, "none" included: that one carries the user name).
func probeServer(t *testing.T) (addr, fingerprint string, auths *atomic.Int32, ended chan struct{}) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	auths, ended = &atomic.Int32{}, make(chan struct{}, 16)
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) { return nil, errors.New("no") },
		AuthLogCallback:  func(ssh.ConnMetadata, string, error) { auths.Add(1) },
	}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _, _, _ = ssh.NewServerConn(c, cfg) // returns when the client ends the handshake
				ended <- struct{}{}
			}()
		}
	}()
	return ln.Addr().String(), ssh.FingerprintSHA256(signer.PublicKey()), auths, ended
}

// A probe reads the host key and sends no authentication request; a check refuses a key not
// pinned and accepts a pinned one. The control is a Dial, which does authenticate.
func TestProbeHostKeySendsNothing(t *testing.T) {
	addr, fp, auths, ended := probeServer(t)
	ctx := context.Background()
	got, typ, err := ProbeHostKey(ctx, addr, 5*time.Second, false)
	if err != nil || got != fp || typ != ssh.KeyAlgoED25519 {
		t.Fatalf("probe = %q %q %v, want %s", got, typ, err, fp)
	}
	other := "SHA256:" + "A" + fp[len("SHA256:")+1:]
	if fp[len("SHA256:")] == 'A' {
		other = "SHA256:" + "B" + fp[len("SHA256:")+1:]
	}
	_, err = CheckHostKey(ctx, addr, []string{other}, "", 5*time.Second, false)
	var hke *HostKeyError
	if !errors.As(err, &hke) || hke.Fingerprint != fp {
		t.Fatalf("check with another pin: %v", err)
	}
	if got, err := CheckHostKey(ctx, addr, []string{fp}, "", 5*time.Second, false); err != nil || got != fp {
		t.Fatalf("check with the pin: %q %v", got, err)
	}
	// Every server side has seen its connection end before the count is read.
	for range 3 {
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			t.Fatal("a probed connection did not end")
		}
	}
	if n := auths.Load(); n != 0 {
		t.Fatalf("the probes sent %d authentication requests", n)
	}
	if _, err := Dial(ctx, Config{Addr: addr, User: "u", Password: func() (string, error) { return "pw", nil }, HostKeys: []string{fp}, DialTimeout: 5 * time.Second}); err == nil {
		t.Fatal("the test server accepted a login")
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the control connection did not end")
	}
	if auths.Load() == 0 {
		t.Fatal("the control Dial made no authentication request: the zero above proves nothing")
	}
}

// A Dial whose pins do not match the key the server offers ends during the key exchange: no
// authentication request (not even "none", which carries the user name) and no password
// read. That is what lets `ctlops import` log in without probing a pinned publisher first.
// The control is TestProbeHostKeySendsNothing's Dial with the right pin, which authenticates.
func TestDialWrongKeySendsNothing(t *testing.T) {
	addr, fp, auths, ended := probeServer(t)
	other := "SHA256:" + "A" + fp[len("SHA256:")+1:]
	if fp[len("SHA256:")] == 'A' {
		other = "SHA256:" + "B" + fp[len("SHA256:")+1:]
	}
	var read atomic.Int32
	pw := func() (string, error) { read.Add(1); return "pw", nil }
	_, err := Dial(context.Background(), Config{Addr: addr, User: "u", Password: pw, HostKeys: []string{other}, DialTimeout: 5 * time.Second})
	var hke *HostKeyError
	if !errors.As(err, &hke) || hke.Fingerprint != fp {
		t.Fatalf("dial with another pin: %v", err)
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the refused connection did not end")
	}
	if n := auths.Load(); n != 0 || read.Load() != 0 {
		t.Fatalf("a refused host key still saw %d authentication requests, the password read %d times", n, read.Load())
	}
}
