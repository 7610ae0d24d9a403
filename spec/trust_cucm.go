package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"

	"strings"
)

// The CUCM interfaces carry trust too (issue 12): the platform CLI gets the platform
// administrator's password and the serviceability APIs the application user's, so a pull
// request that moves a node or a host key must not be able to collect them.

// pinPlatform lists the differences of a tokenless cluster's platform: section from the
// trusted one: every node's SSH endpoint, every host key (or the known_hosts file), the legacy
// algorithms switch (it weakens the connection) and which credentials are sent.
func pinPlatform(p, t *Platform, root, troot string, add func(Pos, string, string, ...any)) {
	if t == nil {
		add(p.Pos, "platform", "the trusted connections declare no platform CLI for this cluster")
		return
	}
	trustedSSH := map[string]bool{strings.ToLower(t.Addr()): true}
	for _, n := range t.Nodes {
		trustedSSH[strings.ToLower(n.SSH)] = true
	}
	if !trustedSSH[strings.ToLower(p.Addr())] {
		add(p.Pos, "platform.host", "platform CLI %s is not a trusted endpoint (trusted: %s)", p.Addr(), sshEndpoints(t))
	}
	for i, n := range p.Nodes {
		if n.SSH != "" && !trustedSSH[strings.ToLower(n.SSH)] {
			add(n.Pos, index("platform.nodes", i), "node %s's platform CLI %s is not a trusted endpoint (trusted: %s)", n.Name, n.SSH, sshEndpoints(t))
		}
	}
	for i, k := range p.HostKeys {
		if !contains(t.HostKeys, k) {
			add(p.Pos, index("platform.hostKeys", i), "host key %s is not a trusted host key (trusted: %s)", k, orNone(t.HostKeys))
		}
	}
	if p.KnownHosts != "" && pathKey(p.KnownHosts, root) != pathKey(t.KnownHosts, troot) {
		add(p.Pos, "platform.knownHosts", "known_hosts file %s is not the trusted one", shownPath(p.KnownHosts, root))
	}
	if p.LegacyAlgorithms && !t.LegacyAlgorithms {
		add(p.Pos, "platform.legacyAlgorithms", "legacy SSH algorithms are not enabled in the trusted connections")
	}
	pinCredentials(p.Credentials, t.Credentials, "platform.credentials", root, troot, add)
}

// pinServiceability lists the differences of a serviceability: section from the trusted one:
// every node's HTTPS endpoint, the CA and which credentials are sent.
func pinServiceability(s, t *Serviceability, root, troot string, add func(Pos, string, string, ...any)) {
	if t == nil {
		add(s.Pos, "serviceability", "the trusted connections declare no serviceability endpoints for this cluster")
		return
	}
	var trusted []string
	for _, n := range t.Nodes {
		trusted = append(trusted, n.URL())
	}
	for i, n := range s.Nodes {
		if !contains(trusted, n.URL()) {
			add(n.Pos, index("serviceability.nodes", i), "serviceability endpoint %s is not a trusted one (trusted: %s)", n.URL(), orNone(trusted))
		}
	}
	if s.TLS != nil {
		for _, ca := range s.TLS.CA {
			found := false
			if t.TLS != nil {
				for _, tc := range t.TLS.CA {
					found = found || bytes.Equal(tc.Raw, ca.Raw)
				}
			}
			if !found {
				sum := sha256.Sum256(ca.Raw)
				add(s.TLS.Pos, "serviceability.tls.ca", "CA certificate %q (sha256 %s) in %s is not a trusted CA", ca.Subject.CommonName, hex.EncodeToString(sum[:]), shownPath(s.TLS.CAFile, root))
			}
		}
	}
	pinCredentials(s.Credentials, t.Credentials, "serviceability.credentials", root, troot, add)
}

// pinCredentials: the user and which secret is read must be the trusted ones.
func pinCredentials(cr, tc *Credentials, field, root, troot string, add func(Pos, string, string, ...any)) {
	switch {
	case cr == nil:
	case tc == nil:
		add(cr.Pos, field, "the trusted connections give no credentials here")
	default:
		if cr.Username != tc.Username {
			add(cr.Pos, field+".username", "user %q is not the trusted user %q", cr.Username, tc.Username)
		}
		if secretKey(cr.Password, root) != secretKey(tc.Password, troot) {
			add(cr.Password.Pos, field+".password", "the password is read from %s, the trusted connections read it from %s: which secret goes where is not for a spec change to decide", describeRef(cr.Password, root), describeRef(tc.Password, troot))
		}
	}
}

func sshEndpoints(t *Platform) string {
	out := []string{t.Addr()}
	for _, n := range t.Nodes {
		if n.SSH != "" && !contains(out, n.SSH) {
			out = append(out, n.SSH)
		}
	}
	return strings.Join(out, ", ")
}

// refuseCUCM withholds the CUCM interfaces' secrets of a cluster that differs.
func refuseCUCM(cl *Cluster, why string) {
	if cl.Platform != nil && cl.Platform.Credentials != nil {
		cl.Platform.Credentials.Password.refused = why
	}
	if cl.Serviceability != nil && cl.Serviceability.Credentials != nil {
		cl.Serviceability.Credentials.Password.refused = why
	}
}
