package refserver

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/netip"
	"sort"
	"sync"

	"github.com/ctlops/ctlops/provider"
)

// self is this node as the inventory lists it.
func (n *Node) self() provider.Server {
	cfg := n.Config()
	n.mu.Lock()
	certPEM, capfPEM := n.certPEM, n.capfPEM
	n.mu.Unlock()
	s := provider.Server{Name: cfg.Name, DNSName: cfg.DNSName, Provider: cfg.Listen}
	s.IPv4, _ = netip.ParseAddr(cfg.IPv4)
	for _, r := range cfg.Roles {
		s.Roles = append(s.Roles, provider.Role(r))
	}
	s.Certificates = []provider.Certificate{{Role: provider.RoleCCM, PEM: certPEM}}
	if cfg.CAPF && capfPEM != "" {
		s.Roles = append(s.Roles, provider.RoleCAPF)
		s.Certificates = append(s.Certificates, provider.Certificate{Role: provider.RoleCAPF, PEM: capfPEM})
	}
	return s
}

func (n *Node) inventory(servers []provider.Server) provider.Inventory {
	cfg := n.Config()
	n.opMu.Lock()
	mode, auto := n.st.Mode, n.st.AutoRegistration
	n.opMu.Unlock()
	return provider.Inventory{Cluster: cfg.Cluster, Version: cfg.Version, Mode: mode, AutoRegistration: auto,
		FileLocation: ReportedFileLocation, Servers: servers}
}

func (n *Node) getNode(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, n.inventory([]provider.Server{n.self()}))
}

// getCluster asks every peer for itself, with the caller's credentials (the same on every
// node, R25), so that a change on one node shows up in every node's inventory.
func (n *Node) getCluster(w http.ResponseWriter, r *http.Request) {
	cfg := n.Config()
	in := info(r)
	servers := make([]provider.Server, len(cfg.Peers)+1)
	servers[0] = n.self()
	var wg sync.WaitGroup
	for i, p := range cfg.Peers {
		wg.Add(1)
		go func(i int, p Peer) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(r.Context(), cfg.Limits.withDefaults().PeerTimeout)
			defer cancel()
			s, err := n.peer(cfg, p.Address, in).Node(ctx)
			if err != nil {
				servers[i+1] = provider.Server{Name: p.Name, Provider: p.Address, Error: err.Error()}
				return
			}
			servers[i+1] = *s
		}(i, p)
	}
	wg.Wait()
	sort.SliceStable(servers, func(i, j int) bool { return servers[i].Name < servers[j].Name })
	writeJSON(w, http.StatusOK, n.inventory(servers))
}

func (n *Node) peer(cfg *Config, addr string, in reqInfo) *provider.Client {
	sum := sha256.Sum256([]byte(in.user + "\x00" + in.pass))
	key := addr + "\x00" + string(sum[:]) + cfg.Abs(cfg.CA)
	n.mu.Lock()
	defer n.mu.Unlock()
	if c := n.peers[key]; c != nil {
		return c
	}
	c, err := provider.NewClient(addr, provider.Options{Username: in.user, Password: in.pass,
		CAFile: cfg.Abs(cfg.CA), Timeout: cfg.Limits.withDefaults().PeerTimeout, Retries: -1})
	if err != nil {
		// A bad peer address: a client that fails on use, naming it.
		c, _ = provider.NewClient("invalid.invalid:1", provider.Options{CAPool: nil, Retries: -1})
	}
	n.peers[key] = c
	return c
}
