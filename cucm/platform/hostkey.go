package platform

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// HostKeyError is a server whose host key is not one pinned for it. It is raised during key
// exchange, before any authentication, so no password has been sent.
type HostKeyError struct {
	Addr        string
	Fingerprint string
	Reason      string
}

func (e *HostKeyError) Error() string {
	return fmt.Sprintf("%s: host key %s refused (%s); nothing was sent to it. Pin the node's key with hostKeys: [%s] after checking it on the console (`show ssh host key`? [unconfirmed]) or add it to knownHosts",
		termsafe.Line(e.Addr), e.Fingerprint, e.Reason, e.Fingerprint)
}

// hostKeyCallback pins either SHA-256 fingerprints ("SHA256:…", as ssh-keygen -l prints
// them) or a known_hosts file. There is deliberately no way to accept any key.
func hostKeyCallback(fingerprints []string, knownHostsFile string) (ssh.HostKeyCallback, error) {
	if len(fingerprints) == 0 && knownHostsFile == "" {
		return nil, errors.New("no host key pinned: give hostKeys (SHA256 fingerprints) or knownHosts; accepting any key is not offered")
	}
	var kh ssh.HostKeyCallback
	if knownHostsFile != "" {
		cb, err := knownhosts.New(knownHostsFile)
		if err != nil {
			return nil, fmt.Errorf("knownHosts %s: %w", termsafe.Line(knownHostsFile), err)
		}
		kh = cb
	}
	for _, f := range fingerprints {
		if !strings.HasPrefix(f, "SHA256:") || len(f) < 20 {
			return nil, fmt.Errorf("host key fingerprint %q: want SHA256:<base64> as ssh-keygen -l prints it", termsafe.Line(f))
		}
	}
	return func(host string, remote net.Addr, key ssh.PublicKey) error {
		fp := ssh.FingerprintSHA256(key)
		if slices.Contains(fingerprints, fp) {
			return nil
		}
		if kh != nil {
			err := kh(host, remote, key)
			if err == nil {
				return nil
			}
			return &HostKeyError{Addr: host, Fingerprint: fp, Reason: err.Error()}
		}
		return &HostKeyError{Addr: host, Fingerprint: fp, Reason: "not among the pinned fingerprints"}
	}, nil
}

// legacyAlgorithms are what older UCOS releases may need (OpenSSH 5.3 on 11.5; §2.1, which
// ones each release requires is [unconfirmed]). They are offered only to a host whose
// configuration says legacyAlgorithms: true, after the modern ones.
func legacyConfig(c *ssh.Config) {
	sup := ssh.SupportedAlgorithms()
	c.KeyExchanges = append(slices.Clone(sup.KeyExchanges), ssh.InsecureKeyExchangeDH14SHA1, ssh.InsecureKeyExchangeDHGEXSHA1, ssh.InsecureKeyExchangeDH1SHA1)
	c.Ciphers = append(slices.Clone(sup.Ciphers), ssh.InsecureCipherAES128CBC, ssh.InsecureCipherTripleDESCBC)
	c.MACs = append(slices.Clone(sup.MACs), ssh.InsecureHMACSHA196)
}

func legacyHostKeyAlgos() []string {
	// ssh-dss is not offered: x/crypto dropped DSA, so a host that only has a DSA key cannot be reached.
	return append(slices.Clone(ssh.SupportedAlgorithms().HostKeys), ssh.KeyAlgoRSA)
}
