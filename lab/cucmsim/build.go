package cucmsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/ctlops/ctlops/ctl"
)

// regenLocked makes a new key and self-signed certificate for one unit of the node, the way
// `set cert regen <unit>` does. Subjects follow the real samples: CN=<fqdn> for CallManager,
// CN=CAPF-<8 hex> for CAPF, CN=ITLRECOVERY_<fqdn> for ITLRecovery; the TVS subject is
// [unconfirmed]. CallManager, CAPF and TVS are valid 5 years, ITLRecovery 20 (§3.1).
func (n *Node) regenLocked(unit string) error {
	gen := n.c.cfg.NewKey
	if gen == nil {
		gen = func(bits int) (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, bits) }
	}
	key, err := gen(n.c.cfg.KeyBits)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	fqdn := n.fqdnLocked()
	cn, years := fqdn, 5
	switch unit {
	case "CAPF":
		cn = fmt.Sprintf("CAPF-%08x", serial.Uint64()&0xffffffff)
	case "ITLRecovery":
		cn, years = "ITLRECOVERY_"+fqdn, 20
	case "TVS":
		cn = fqdn + "-TVS"
	}
	now := n.c.cfg.Now().Add(-time.Hour).Truncate(time.Second)
	name := pkix.Name{CommonName: cn, OrganizationalUnit: []string{"Lab"}, Organization: []string{"ctlops"},
		Locality: []string{"Loopback"}, Province: []string{"Lab"}, Country: []string{"US"}}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: name, Issuer: name, NotBefore: now, NotAfter: now.AddDate(years, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{fqdn}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	n.keys[unit] = &keyPair{key: key, cert: cert}
	return nil
}

func (n *Node) fqdnLocked() string {
	if n.spec.Domain == "" {
		return n.spec.Name
	}
	return n.spec.Name + "." + n.spec.Domain
}

// updateCTLLocked is what the publisher does for `utils ctl set-cluster …` and `update
// CTLFile`: build the CTL from the current inventory, sign it, and copy it to every node that
// is up (CUCM copies by SFTP, TN 118893). This code is deliberately independent of
// cucm/tokenless. Record order follows the real 10.5 sample (SAST CallManager, the servers,
// CAPF, SAST ITLRecovery); hash SHA-1 before 12.0 and SHA-256 from 12.0 [unconfirmed].
func (c *Cluster) updateCTLLocked() error {
	pub := c.publisherLocked()
	cm := pub.keys["CallManager"]
	var recs []ctl.Record
	add := func(cert *x509.Certificate, role ctl.Role, n *Node) error {
		r, err := ctl.NewRecord(cert, role, n.spec.Name, n.spec.IP)
		if err != nil {
			return err
		}
		recs = append(recs, r)
		return nil
	}
	if err := add(cm.cert, ctl.RoleSAST, pub); err != nil {
		return err
	}
	for _, n := range c.nodes {
		var role ctl.Role
		switch {
		case n.spec.CallManager && n.spec.TFTP:
			role = ctl.RoleCCMTFTP
		case n.spec.CallManager:
			role = ctl.RoleCCM
		case n.spec.TFTP:
			role = ctl.RoleTFTP
		default:
			continue
		}
		if !c.mixed {
			recs = append(recs, ctl.PlaceholderRecord(role, n.spec.Name, n.spec.IP))
			continue
		}
		if err := add(n.keys["CallManager"].cert, role, n); err != nil {
			return err
		}
	}
	for _, n := range c.nodes {
		if n.spec.CAPF {
			if err := add(n.keys["CAPF"].cert, ctl.RoleCAPF, n); err != nil {
				return err
			}
		}
	}
	signer, hash := cm, ctl.SHA1
	v := c.release
	itlSAST := v.Major > 10 || (v.Major == 10 && (v.Minor > 5 || (v.Minor == 5 && v.Maint >= 2)))
	if itlSAST {
		if err := add(pub.keys["ITLRecovery"].cert, ctl.RoleSAST, pub); err != nil {
			return err
		}
	}
	if v.Major >= 12 {
		// SHA-1: CUCM's TFTP File Signature Algorithm is SHA-1 unless the admin sets SHA-512,
		// and no CUCM file with SHA-256 (code 2) has been seen (P32) [?]: the
		// simulator writes the default.
		signer = pub.keys["ITLRecovery"]
	}
	f := ctl.New("CTLFile.tlv", recs)
	now := c.cfg.Now()
	if err := f.Sign(signer.key, signer.cert, hash, now); err != nil {
		return err
	}
	b, err := f.Marshal()
	if err != nil {
		return err
	}
	for _, n := range c.nodes {
		if !n.down && !n.spec.IMAndPresence {
			n.ctlFile, n.served = b, nil
		}
	}
	c.ctlMod = now
	return nil
}

// rebuildITLLocked builds the node's ITLFile.tlv as its TFTP service does at start: the
// signer as a SAST record (ITLRecovery from 12.0, else the node's CallManager certificate,
// TN 214231), the node's own CCM+TFTP record, a TVS record per node, CAPF. The exact record
// set of a CUCM ITL is [unconfirmed] (§2.4).
func (n *Node) rebuildITLLocked() error {
	if !n.spec.TFTP {
		n.itlFile = nil
		return nil
	}
	c := n.c
	pub := c.publisherLocked()
	signer, hash := n.keys["CallManager"], ctl.SHA1
	if c.release.Major >= 12 {
		signer = pub.keys["ITLRecovery"] // SHA-1, as the CTL (updateCTLLocked)
	}
	var recs []ctl.Record
	add := func(cert *x509.Certificate, role ctl.Role, m *Node) error {
		r, err := ctl.NewRecord(cert, role, m.spec.Name, m.spec.IP)
		if err == nil {
			recs = append(recs, r)
		}
		return err
	}
	signerNode := n
	if c.release.Major >= 12 {
		signerNode = pub
	}
	if err := add(signer.cert, ctl.RoleSAST, signerNode); err != nil {
		return err
	}
	if err := add(n.keys["CallManager"].cert, ctl.RoleCCMTFTP, n); err != nil {
		return err
	}
	for _, m := range c.nodes {
		if m.spec.IMAndPresence {
			continue
		}
		if err := add(m.keys["TVS"].cert, ctl.RoleTVS, m); err != nil {
			return err
		}
	}
	for _, m := range c.nodes {
		if m.spec.CAPF {
			if err := add(m.keys["CAPF"].cert, ctl.RoleCAPF, m); err != nil {
				return err
			}
		}
	}
	f := ctl.New("ITLFile.tlv", recs)
	if err := f.Sign(signer.key, signer.cert, hash, c.cfg.Now()); err != nil {
		return err
	}
	b, err := f.Marshal()
	if err != nil {
		return err
	}
	n.itlFile = b
	return nil
}
