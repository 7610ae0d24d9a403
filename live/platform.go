package live

import (
	"fmt"

	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/cucm/adapter"
	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/spec"
)

// PlatformCluster turns a signing: tokenless cluster of the spec into the cluster the CUCM
// adapter reads and drives: the publisher and every declared node with how to reach it
// (SSH, TFTP), the services it runs, the pinned host keys (every node's key must be one of
// the cluster's) and the platform account, whose password is resolved only when a node asks
// for it.
func PlatformCluster(c *spec.Cluster, parallelism int) (*adapter.Cluster, error) {
	p := c.Platform
	if c.Signing != spec.SigningTokenless || p == nil {
		return nil, fmt.Errorf("cluster %s is not a tokenless cluster", c.Name)
	}
	pub := p.Publisher()
	if pub == nil || p.Credentials == nil {
		return nil, fmt.Errorf("cluster %s: platform without publisher or credentials", c.Name)
	}
	pw := p.Credentials.Password
	t := &adapter.Cluster{
		Cluster:     c.Name,
		Publisher:   pub.Name,
		User:        p.Credentials.Username,
		Password:    pw.Resolve,
		Auth:        p.Auth,
		KnownHosts:  p.KnownHosts,
		Legacy:      p.LegacyAlgorithms,
		Parallelism: parallelism,
		SSH:         platform.Config{},
	}
	for _, n := range p.Nodes {
		nt := adapter.Node{Name: n.Name, SSH: n.SSH, TFTP: n.TFTP, HostKeys: p.HostKeys}
		for _, r := range n.Roles {
			switch r {
			case cucm.RoleCCM:
				nt.CallManager = true
			case cucm.RoleTFTP:
				nt.TFTPService = true
			case cucm.RoleCAPF:
				nt.CAPF = true
			}
		}
		t.Nodes = append(t.Nodes, nt)
	}
	return t, nil
}
