package callmanager

import (
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"net/netip"

	"github.com/ctlops/ctlops/ctl"
)

// ITLOptions describe the ITL a TFTP node serves (§5: each TFTP server has its own ITL).
type ITLOptions struct {
	// Signer is the node's CallManager certificate and key. CUCM before 12.0 signs the ITL with
	// it, and `utils itl reset localkey` does on any release (C8, P50); the lab has no
	// ITLRecovery certificate, so it always does.
	Signer     *x509.Certificate
	SignerKey  *rsa.PrivateKey
	Host       string
	IP         netip.Addr
	TVS        []*x509.Certificate // every TVS certificate of the cluster (P24, C8)
	CAPF       *x509.Certificate   // nil unless CAPF runs
	CAPFHost   string
	CAPFIP     netip.Addr
	TVSHosts   []string // host names of the TVS records, one per TVS certificate
	TVSAddress []netip.Addr
}

// BuildITL makes the node's ITLFile.tlv: the signer as SAST (the phone's anchor for later ITLs,
// P22), the node as CCM+TFTP (the .sgn signer, P36), one TVS record per TVS certificate (P24)
// and CAPF when it runs. The timestamp is the signer certificate's NotBefore, so that the same
// inputs give the same bytes on every request and phones see no change where there is none.
func BuildITL(o ITLOptions) ([]byte, error) {
	var recs []ctl.Record
	add := func(c *x509.Certificate, role ctl.Role, host string, ip netip.Addr) error {
		r, err := ctl.NewRecord(c, role, host, ip)
		if err != nil {
			return err
		}
		recs = append(recs, r)
		return nil
	}
	if err := add(o.Signer, ctl.RoleSAST, o.Host, netip.Addr{}); err != nil {
		return nil, err
	}
	if err := add(o.Signer, ctl.RoleCCMTFTP, o.Host, o.IP); err != nil {
		return nil, err
	}
	for i, c := range o.TVS {
		host, ip := "", netip.Addr{}
		if i < len(o.TVSHosts) {
			host = o.TVSHosts[i]
		}
		if i < len(o.TVSAddress) {
			ip = o.TVSAddress[i]
		}
		if err := add(c, ctl.RoleTVS, host, ip); err != nil {
			return nil, err
		}
	}
	if o.CAPF != nil {
		if err := add(o.CAPF, ctl.RoleCAPF, o.CAPFHost, o.CAPFIP); err != nil {
			return nil, err
		}
	}
	f := ctl.New("ITLFile.tlv", recs)
	if err := f.Sign(o.SignerKey, o.Signer, ctl.SHA1, o.Signer.NotBefore); err != nil {
		return nil, fmt.Errorf("signing the ITL: %w", err)
	}
	b, err := f.Marshal()
	if err != nil {
		return nil, err
	}
	if len(b) > ctl.MaxFileSize {
		return nil, fmt.Errorf("the ITL is %d bytes, more than phones load (%d, P9)", len(b), ctl.MaxFileSize)
	}
	return b, nil
}
