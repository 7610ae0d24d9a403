package platform

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// errProbed ends a probe's handshake once the host key is known: nothing follows it.
var errProbed = errors.New("host key read; handshake ended by ctlops")

// ProbeHostKey runs only the SSH key exchange with addr and returns the SHA-256 fingerprint
// of the host key the server offered ("SHA256:…", as ssh-keygen -l prints it) and its type.
// The handshake is ended as soon as the key is known, before authentication: no user name and
// no password reach the server, so a probe can neither leak the password nor count towards
// CUCM's lockout. `ctlops import` uses it to show an admin what to confirm instead of trusting
// the key on first use.
func ProbeHostKey(ctx context.Context, addr string, timeout time.Duration, legacy bool) (fingerprint, keyType string, err error) {
	err = probe(ctx, addr, timeout, legacy, func(_ net.Addr, key ssh.PublicKey) error {
		fingerprint, keyType = ssh.FingerprintSHA256(key), key.Type()
		return nil
	})
	return fingerprint, keyType, err
}

// CheckHostKey is ProbeHostKey followed by the check Dial makes (pinned fingerprints or a
// known_hosts file): a key that is not pinned is a *HostKeyError, with nothing sent.
func CheckHostKey(ctx context.Context, addr string, fingerprints []string, knownHosts string, timeout time.Duration, legacy bool) (string, error) {
	hk, err := hostKeyCallback(fingerprints, knownHosts)
	if err != nil {
		return "", fmt.Errorf("%s: %w", termsafe.Line(addr), err)
	}
	var fp string
	var refused error
	err = probe(ctx, addr, timeout, legacy, func(remote net.Addr, key ssh.PublicKey) error {
		fp = ssh.FingerprintSHA256(key)
		refused = hk(addr, remote, key)
		return nil
	})
	if err != nil {
		return "", err
	}
	return fp, refused
}

// probe dials addr and calls got with the host key during the key exchange, then ends the
// handshake.
func probe(ctx context.Context, addr string, timeout time.Duration, legacy bool, got func(net.Addr, ssh.PublicKey) error) error {
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	seen := false
	cc := &ssh.ClientConfig{Timeout: timeout, HostKeyCallback: func(_ string, remote net.Addr, key ssh.PublicKey) error {
		seen = true
		if err := got(remote, key); err != nil {
			return err
		}
		return errProbed
	}}
	if legacy {
		legacyConfig(&cc.Config)
		cc.HostKeyAlgorithms = legacyHostKeyAlgos()
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", termsafe.Line(addr), err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	c, _, _, err := ssh.NewClientConn(conn, addr, cc)
	if err == nil {
		c.Close()
		return fmt.Errorf("%s: the handshake went on without a host key check", termsafe.Line(addr))
	}
	if seen && errors.Is(err, errProbed) {
		return nil
	}
	return fmt.Errorf("%s: %s", termsafe.Line(addr), termsafe.Error(err))
}
