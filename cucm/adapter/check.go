package adapter

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/cucm/tokenless"
)

// NodeCheck is what differs on one node.
type NodeCheck struct {
	Node        string
	Differences []tokenless.Difference
	Err         error
}

// Check is the comparison of a read with the desired mode.
type Check struct {
	WantMixed  bool
	Prediction *tokenless.Prediction
	Nodes      []NodeCheck
	// Action is the publisher command that brings the cluster to the desired state; "" when
	// nothing differs.
	Action   platform.CTLCommand
	Warnings []string // expiry, undeclared nodes, ITL drift
}

// Drifted reports whether any node differs or could not be read.
func (c *Check) Drifted() bool {
	for _, n := range c.Nodes {
		if n.Err != nil || len(n.Differences) > 0 {
			return true
		}
	}
	return c.Action != ""
}

// Evaluate predicts the CTL CUCM builds in the desired mode from the read inventory and
// compares every node with it: the TFTP file (records, signer, signature), the `show ctl`
// checksum against the TFTP file, and each node's file against the publisher's (R22: "The
// CTLFile.tlv file should be the same on all CUCM nodes"). Certificates that expire within
// window are warnings: the cluster's spec.Cluster.ExpiryWarning (its expiryWarning, or
// --expiry-window), the window the plan's prediction of the same cluster warns with.
func Evaluate(st *State, wantMixed bool, now time.Time, window time.Duration) (*Check, error) {
	inv := st.Inventory
	inv.Mixed = wantMixed
	for _, ns := range st.Nodes {
		if ns.Err != nil && ns.Declared != nil {
			return nil, fmt.Errorf("cluster %s: %w", st.Cluster, ns.Err)
		}
	}
	// Undeclared nodes could not be read: predict without them would be wrong, so refuse.
	for i, ns := range st.Nodes {
		if ns.Declared == nil && inv.Nodes[i].CallManagerCert == nil {
			return nil, fmt.Errorf("cluster %s: %w; declare it (with how to reach it) to plan", st.Cluster, ns.Err)
		}
	}
	p, err := tokenless.PredictWithin(inv, now, window)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", st.Cluster, err)
	}
	c := &Check{WantMixed: wantMixed, Prediction: p}
	c.Warnings = append(append(c.Warnings, st.Warnings...), p.Warnings...)
	var pubSum string
	for _, ns := range st.Nodes {
		if ns.Declared != nil && ns.Name == st.Network.Publisher().Host && ns.ShowCTL != nil {
			pubSum = ns.ShowCTL.MD5
		}
	}
	for i, ns := range st.Nodes {
		nc := NodeCheck{Node: ns.Name}
		tn := &inv.Nodes[i]
		if tn.TFTP && ns.Declared.TFTP != "" {
			nc.Differences = tokenless.Compare(p, ns.CTLFile)
			sum := ""
			if ns.CTL != nil {
				s := md5.Sum(ns.CTL)
				sum = hex.EncodeToString(s[:])
			}
			if ns.ShowCTL.MD5 != sum {
				nc.Differences = append(nc.Differences, tokenless.Difference{Kind: "inconsistent",
					Detail: fmt.Sprintf("`show ctl` checksum %s, TFTP serves %s", orNone(ns.ShowCTL.MD5), orNone(sum))})
			}
			c.Warnings = append(c.Warnings, tokenless.CheckITL(&inv, tn, ns.ITL)...)
		}
		if ns.ShowCTL.MD5 != pubSum {
			nc.Differences = append(nc.Differences, tokenless.Difference{Kind: "inconsistent",
				Detail: fmt.Sprintf("holds another CTL than the publisher (MD5 %s, publisher %s)", orNone(ns.ShowCTL.MD5), orNone(pubSum))})
		}
		c.Nodes = append(c.Nodes, nc)
	}
	switch {
	case wantMixed && !st.Mixed:
		c.Action = platform.SetMixedMode
	case !wantMixed && st.Mixed:
		c.Action = platform.SetNonSecureMode
	default:
		for _, n := range c.Nodes {
			if len(n.Differences) > 0 {
				c.Action = platform.UpdateCTLFile
			}
		}
	}
	return c, nil
}

func orNone(s string) string {
	if s == "" {
		return "(no CTL)"
	}
	return s
}
