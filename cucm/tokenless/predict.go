package tokenless

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ctlops/ctlops/ctl"
)

// Node is one server of the cluster as the platform CLI describes it (`show network
// cluster`, `show cert own …`) and the services it runs.
type Node struct {
	// Name is what CUCM writes as DNSNAME: the processnode name, a host name or an IP
	// address when the node is defined by address (§2.10, §3; TN 118892 shows IPs).
	Name      string
	IP        netip.Addr
	Publisher bool
	// Services: a node with CallManager and TFTP is one CCM+TFTP record (§3.2).
	CallManager, TFTP, CAPF bool

	CallManagerCert *x509.Certificate
	CAPFCert        *x509.Certificate // on the node that runs CAPF (from 14, the publisher only)
	ITLRecoveryCert *x509.Certificate // the publisher's is the one that counts
	TVSCert         *x509.Certificate // optional: used only by the ITL checks
}

// Inventory is what CUCM builds its CTL from.
type Inventory struct {
	Release Release
	Mixed   bool // ClusterSecurityMode 1
	Nodes   []Node
}

// Publisher returns the publisher, or nil.
func (inv *Inventory) Publisher() *Node {
	for i := range inv.Nodes {
		if inv.Nodes[i].Publisher {
			return &inv.Nodes[i]
		}
	}
	return nil
}

// Signer names the certificate that signs a tokenless CTL.
type Signer string

const (
	SignerCallManager Signer = "CallManager" // the publisher's, 10.0–11.5
	SignerITLRecovery Signer = "ITLRecovery" // from 12.0
)

// Prediction is the CTL CUCM will build. File is unsigned: its records are what the signed
// file must carry; SignerCert is who must have signed it.
type Prediction struct {
	File       *ctl.File
	Signer     Signer
	SignerCert *x509.Certificate
	Mixed      bool
	Warnings   []string
}

// Predict builds the expected CTL from the inventory (§3.1, §3.2):
//   - SAST records: the publisher's CallManager certificate, and from 10.5(2) the
//     ITLRecovery certificate (see Release.HasITLRecoverySAST);
//   - one record per CallManager/TFTP node: CCM+TFTP, CCM or TFTP, with the node's CallManager
//     certificate; in non-secure mode a placeholder without certificate (TN 118892: the records
//     "become 33-byte placeholders");
//   - CAPF: the CAPF certificate of each node that runs CAPF.
//
// Record order is not asserted: CUCM's order is [unconfirmed] (the real sample interleaves
// SAST, CCM+TFTP and CAPF), so Compare matches records by role and name. Alternate TFTP
// servers and ASA firewalls (§2.15) cannot be predicted from the CLI and are not modelled.
// Expired certificates are warnings, never errors: CUCM signs with them, and a monitor must
// still run and say so. Certificates that expire within DefaultExpiryWarning are warnings
// too; PredictWithin takes the window (the spec's expiryWarning).
func Predict(inv Inventory, now time.Time) (*Prediction, error) {
	return PredictWithin(inv, now, DefaultExpiryWarning)
}

// DefaultExpiryWarning is how close to its end a certificate must be for Predict and
// Recognize to warn: spec.DefaultExpiryWarning, the window when the spec sets none.
const DefaultExpiryWarning = 30 * 24 * time.Hour

// PredictWithin is Predict warning about certificates that expire within window.
func PredictWithin(inv Inventory, now time.Time, window time.Duration) (*Prediction, error) {
	pub := inv.Publisher()
	if pub == nil {
		return nil, errors.New("inventory has no publisher")
	}
	if pub.CallManagerCert == nil {
		return nil, fmt.Errorf("publisher %s: no CallManager certificate", pub.Name)
	}
	p := &Prediction{Mixed: inv.Mixed, Signer: SignerCallManager, SignerCert: pub.CallManagerCert}
	needITL := inv.Release.HasITLRecoverySAST() || inv.Release.ITLRecoverySigns()
	if needITL && pub.ITLRecoveryCert == nil {
		return nil, fmt.Errorf("publisher %s: release %s puts the ITLRecovery certificate in the CTL, and it is missing", pub.Name, inv.Release)
	}
	if inv.Release.ITLRecoverySigns() {
		p.Signer, p.SignerCert = SignerITLRecovery, pub.ITLRecoveryCert
	}
	var recs []ctl.Record
	add := func(c *x509.Certificate, role ctl.Role, n *Node, what string) error {
		r, err := ctl.NewRecord(c, role, n.Name, n.IP)
		if err != nil {
			return fmt.Errorf("node %s %s certificate: %w", n.Name, what, err)
		}
		recs = append(recs, r)
		p.warnExpiry(c, n.Name+" "+what, now, window)
		return nil
	}
	if err := add(pub.CallManagerCert, ctl.RoleSAST, pub, "CallManager"); err != nil {
		return nil, err
	}
	if inv.Release.HasITLRecoverySAST() {
		if err := add(pub.ITLRecoveryCert, ctl.RoleSAST, pub, "ITLRecovery"); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for i := range inv.Nodes {
		n := &inv.Nodes[i]
		if seen[ctl.ShortHost(n.Name)] {
			return nil, fmt.Errorf("node %s is listed twice", n.Name)
		}
		seen[ctl.ShortHost(n.Name)] = true
		role, ok := serverRole(n)
		if !ok {
			continue
		}
		if !inv.Mixed {
			recs = append(recs, ctl.PlaceholderRecord(role, n.Name, n.IP))
			continue
		}
		if n.CallManagerCert == nil {
			return nil, fmt.Errorf("node %s: no CallManager certificate", n.Name)
		}
		if err := add(n.CallManagerCert, role, n, "CallManager"); err != nil {
			return nil, err
		}
	}
	for i := range inv.Nodes {
		n := &inv.Nodes[i]
		if !n.CAPF {
			continue
		}
		if n.CAPFCert == nil {
			return nil, fmt.Errorf("node %s runs CAPF but its CAPF certificate is missing", n.Name)
		}
		if err := add(n.CAPFCert, ctl.RoleCAPF, n, "CAPF"); err != nil {
			return nil, err
		}
	}
	p.File = ctl.New("CTLFile.tlv", recs)
	return p, nil
}

// serverRole is the CTL role of a node's CallManager/TFTP record.
func serverRole(n *Node) (ctl.Role, bool) {
	switch {
	case n.CallManager && n.TFTP:
		return ctl.RoleCCMTFTP, true
	case n.CallManager:
		return ctl.RoleCCM, true
	case n.TFTP:
		return ctl.RoleTFTP, true
	}
	return 0, false
}

func (p *Prediction) warnExpiry(c *x509.Certificate, what string, now time.Time, window time.Duration) {
	if w := ExpiryWarningWithin(c, what, now, window); w != "" {
		p.Warnings = append(p.Warnings, w)
	}
}

// ExpiryWarning says when a certificate is expired or expires within DefaultExpiryWarning;
// "" otherwise.
func ExpiryWarning(c *x509.Certificate, what string, now time.Time) string {
	return ExpiryWarningWithin(c, what, now, DefaultExpiryWarning)
}

// ExpiryWarningWithin says when a certificate is expired or expires within window; ""
// otherwise.
func ExpiryWarningWithin(c *x509.Certificate, what string, now time.Time, window time.Duration) string {
	switch {
	case now.After(c.NotAfter):
		return fmt.Sprintf("%s certificate expired on %s (a warning: CUCM keeps using it until it is regenerated)", what, c.NotAfter.UTC().Format("2006-01-02"))
	case now.Add(window).After(c.NotAfter):
		return fmt.Sprintf("%s certificate expires on %s", what, c.NotAfter.UTC().Format("2006-01-02"))
	case now.Before(c.NotBefore):
		return fmt.Sprintf("%s certificate is not valid before %s", what, c.NotBefore.UTC().Format("2006-01-02"))
	}
	return ""
}
