package platform

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ctlops/ctlops/internal/safefile"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// MaxKnownHostsFile caps a known_hosts file (the spec's check uses the same cap).
const MaxKnownHostsFile = 1 << 20

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
		cb, err := knownHostsCallback(knownHostsFile)
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

// knownHostsCallback reads the known_hosts file bounded, through safefile (the spec checked
// it when loading, but the path can be swapped for a FIFO or a huge file since), and builds
// knownhosts.New's callback from those bytes, so that matching, hashed hosts, @revoked and
// @cert-authority stay x/crypto's. knownhosts has no constructor from bytes: they go to a
// private temporary file (0600, ours alone) that New reads in full and that is removed at once.
func knownHostsCallback(path string) (ssh.HostKeyCallback, error) {
	data, err := safefile.Read(path, MaxKnownHostsFile)
	if err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp("", "ctlops-known_hosts-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	cb, err := knownhosts.New(tmp.Name())
	if err != nil {
		// a parse error names the file: the operator's, not the temporary copy
		return nil, errors.New(strings.ReplaceAll(err.Error(), tmp.Name(), path))
	}
	return cb, nil
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
