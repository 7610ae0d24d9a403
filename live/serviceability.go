package live

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/ctlops/ctlops/cucm/serviceability"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// serviceability reads, where the cluster declares its serviceability endpoints, what the
// plan shows beside the CTL, both at once: AXL's node list (the inventory cross-check) and
// RisPort70's registration counts. Each only reads, and each failure is a warning.
func (f *fetcher) serviceability(ctx context.Context, c *spec.Cluster, l *plan.Live) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); f.axlNodes(ctx, c, l) }()      // AXLNodes, AXLFrom, AXLError
	go func() { defer wg.Done(); f.registrations(ctx, c, l) }() // Registration*
	wg.Wait()
}

// serviceabilityOptions are the client options for the publisher of c's serviceability
// block; ok is false when the block (or its publisher or credentials) is not declared.
func (f *fetcher) serviceabilityOptions(c *spec.Cluster) (pub *spec.ServiceabilityNode, opt serviceability.Options, ok bool, err error) {
	s := c.Serviceability
	if s == nil || s.Publisher() == nil || s.Credentials == nil {
		return nil, opt, false, nil
	}
	pub = s.Publisher()
	pw, err := s.Credentials.Password.Resolve()
	if err != nil {
		return pub, opt, true, fmt.Errorf("serviceability password: %v", err)
	}
	opt = serviceability.Options{Node: pub.Name, Username: s.Credentials.Username, Password: pw, AXLVersion: s.AXLVersion, Timeout: f.opt.Timeout}
	if s.TLS != nil {
		opt.RootCAs = s.TLS.CertPool()
	}
	return pub, opt, true, nil
}

// axlNodes asks AXL listProcessNode on the publisher, where the cluster declares its
// serviceability endpoints, for the cluster's Unified CM nodes, so that the planner can
// cross-check the inventory the CTL Provider or the platform CLI reported (issue 16). It only
// reads (serviceability.AXLReader has no write). A failure is recorded for a warning, never an
// error: the CTL is computed from the inventory, not from AXL.
func (f *fetcher) axlNodes(ctx context.Context, c *spec.Cluster, l *plan.Live) {
	pub, opt, ok, err := f.serviceabilityOptions(c)
	if !ok {
		return
	}
	l.AXLFrom = pub.Name
	if err != nil {
		l.AXLError = err.Error()
		return
	}
	r, err := serviceability.NewAXLReader(pub.URL(), opt)
	if err != nil {
		l.AXLError = err.Error()
		return
	}
	defer r.Close()
	var nodes []serviceability.ProcessNode
	err = f.do(ctx, func(ctx context.Context) error {
		var err error
		nodes, err = r.ListProcessNode(ctx)
		return err
	})
	if err != nil {
		l.AXLError = termsafe.Line(err.Error())
		return
	}
	l.AXLNodes = []string{}
	for _, n := range nodes {
		// IM and Presence nodes hold no CTL; EnterpriseWideData is no server.
		if n.Name == serviceability.EnterpriseWideData || strings.Contains(n.Role, "Presence") {
			continue
		}
		l.AXLNodes = append(l.AXLNodes, n.Name)
	}
}
