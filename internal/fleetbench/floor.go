package fleetbench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// startState is what a check starts with.
type startState string

const (
	cold    startState = "cold"    // nothing: a new process
	resumed startState = "resumed" // TLS sessions, no connections
	warm    startState = "warm"    // open connections
)

// Floor is the least any drift checker has to do against the fleet, measured in the same run
// as the checker so that the benchmark can print their ratio (x-floor), as the codec's
// benchmarks do against SHA-1 and RSA: one request for each node's CTL (GET /v1/ctl, with
// credentials), every node at once, over the same TLS (the CA the spec names, Go's default
// key shares, HTTP/2) and the same loopback, delays and server process. It reads no
// inventory, parses nothing and compares nothing: what it costs is the connections, the
// handshakes on both sides and one round trip each.
//
// Each node has its own client and session cache, so that what a check starts with is set
// per node as the checker's is (see startState).
type Floor struct {
	nodes []*floorNode
}

type floorNode struct {
	name, url, user string
	roots           *x509.CertPool
	sessions        tls.ClientSessionCache
	client          *http.Client
}

// NewFloor prepares the floor's clients for every node of the fleet.
func NewFloor(f *Fleet) (*Floor, error) {
	fl := &Floor{}
	for _, c := range f.Manifest.Clusters {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, err
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate", c.CAFile)
		}
		for _, n := range c.Nodes {
			fl.nodes = append(fl.nodes, &floorNode{name: c.Name + "/" + n.Name,
				url: "https://" + n.Addr + "/v1/ctl", user: c.User, roots: roots})
		}
	}
	return fl, nil
}

// Check reads every node's CTL once, all at once, starting from state: cold drops each node's
// client and TLS session, resumed drops the client (its connection) but keeps the session,
// warm keeps both. It returns the first failure, naming the node.
func (fl *Floor) Check(ctx context.Context, state startState, timeout time.Duration) error {
	errs := make(chan error, len(fl.nodes))
	var wg sync.WaitGroup
	for _, n := range fl.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.read(ctx, state, timeout); err != nil {
				errs <- fmt.Errorf("floor: %s: %w", n.name, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when every read succeeded
}

// Close lets go of every connection the floor keeps, so that what it holds does not count in
// a later measurement's heap.
func (fl *Floor) Close() {
	for _, n := range fl.nodes {
		if n.client != nil {
			n.client.CloseIdleConnections()
		}
		n.client, n.sessions = nil, nil
	}
}

func (n *floorNode) read(ctx context.Context, state startState, timeout time.Duration) error {
	if state == cold || n.sessions == nil {
		n.sessions = tls.NewLRUClientSessionCache(1)
	}
	if state != warm || n.client == nil {
		if n.client != nil {
			n.client.CloseIdleConnections()
		}
		n.client = &http.Client{Timeout: timeout, Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: n.roots, MinVersion: tls.VersionTLS12, ClientSessionCache: n.sessions},
			ForceAttemptHTTP2: true,
		}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.url, nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(n.user, password)
	resp, err := n.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || got == 0 {
		return fmt.Errorf("GET /v1/ctl: %s, %d bytes", resp.Status, got)
	}
	return nil
}
