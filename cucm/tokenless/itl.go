package tokenless

import (
	"crypto/x509"
	"fmt"

	"github.com/ctlops/ctlops/ctl"
)

// ITLSigner is the certificate that must sign the ITL a TFTP node serves: the publisher's
// ITLRecovery from 12.0, else that TFTP node's own CallManager certificate (TN 214231:
// "Beginning in version 12.0, the ITL is signed by the ITLRecovery certificate … Prior to
// version 12.0, the ITL was signed by the Call Manager certificate").
func ITLSigner(inv *Inventory, tftp *Node) (Signer, *x509.Certificate) {
	if inv.Release.ITLRecoverySigns() {
		if pub := inv.Publisher(); pub != nil {
			return SignerITLRecovery, pub.ITLRecoveryCert
		}
		return SignerITLRecovery, nil
	}
	return SignerCallManager, tftp.CallManagerCert
}

// CheckITL returns the warnings about one TFTP node's ITLFile.tlv (read-only; the issue's
// "ITL drift"): it does not verify, it is not signed by the release's signer, or a
// CallManager or TVS record holds a certificate that is no longer that node's. ITL problems are
// warnings, never errors: ctlops does not manage the ITL, CUCM rebuilds it on its own.
func CheckITL(inv *Inventory, tftp *Node, itl *ctl.File) []string {
	var w []string
	where := "ITL of " + tftp.Name
	if itl == nil {
		return []string{where + ": the node serves no ITLFile.tlv"}
	}
	if err := itl.Verify(); err != nil {
		w = append(w, fmt.Sprintf("%s does not verify: %v", where, err))
	} else {
		kind, want := ITLSigner(inv, tftp)
		i := itl.SignerRecord()
		if want == nil || i < 0 || !sameCert(itl.Records[i].Certificate, want) {
			w = append(w, fmt.Sprintf("%s is not signed by the %s certificate the release expects (phones that trust the new one reject it)", where, kind))
		}
	}
	nodes := map[string]*Node{}
	for i := range inv.Nodes {
		nodes[ctl.ShortHost(inv.Nodes[i].Name)] = &inv.Nodes[i]
	}
	for i := range itl.Records {
		r := &itl.Records[i]
		n := nodes[r.DNSName]
		var want *x509.Certificate
		what := ""
		switch r.Role {
		case ctl.RoleCCM, ctl.RoleCCMTFTP, ctl.RoleTFTP:
			what = "CallManager"
			if n != nil {
				want = n.CallManagerCert
			}
		case ctl.RoleTVS:
			what = "TVS"
			if n != nil {
				want = n.TVSCert
			}
		default:
			continue
		}
		if n == nil {
			w = append(w, fmt.Sprintf("%s: %s record %q names no node of the cluster", where, r.Role, r.DNSName))
			continue
		}
		if want != nil && !sameCert(r.Certificate, want) {
			w = append(w, fmt.Sprintf("%s: %s record of %s holds %s, the node's %s certificate is now %s (regenerated?)", where, r.Role, n.Name, short(r.Certificate), what, short(want.Raw)))
		}
	}
	return w
}
