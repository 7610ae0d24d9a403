package live

import (
	"context"
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/cucm/serviceability"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// axlNodes asks AXL listProcessNode on the publisher, where the cluster declares its
// serviceability endpoints, for the cluster's Unified CM nodes, so that the planner can
// cross-check the inventory the CTL Provider or the platform CLI reported (issue 16). It only
// reads (serviceability.AXLReader has no write). A failure is recorded for a warning, never an
// error: the CTL is computed from the inventory, not from AXL.
func (f *fetcher) axlNodes(ctx context.Context, c *spec.Cluster, l *plan.Live) {
	s := c.Serviceability
	if s == nil || s.Publisher() == nil || s.Credentials == nil {
		return
	}
	pub := s.Publisher()
	l.AXLFrom = pub.Name
	pw, err := s.Credentials.Password.Resolve()
	if err != nil {
		l.AXLError = fmt.Sprintf("serviceability password: %v", err)
		return
	}
	opt := serviceability.Options{Node: pub.Name, Username: s.Credentials.Username, Password: pw, AXLVersion: s.AXLVersion, Timeout: f.opt.Timeout}
	if s.TLS != nil {
		opt.RootCAs = s.TLS.CertPool()
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
