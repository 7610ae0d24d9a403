package phonerules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ctlops/ctlops/ctl"
)

// Server names a TFTP server or CallManager the way a phone knows it: the address from DHCP
// option 150 or its configuration, and the host name when it has one.
type Server struct {
	IP   netip.Addr
	Host string
}

func (s Server) String() string {
	switch {
	case s.Host != "" && s.IP.IsValid():
		return s.Host + " (" + s.IP.String() + ")"
	case s.Host != "":
		return s.Host
	}
	return s.IP.String()
}

// TFTPAuthorized is P8: with a CTL installed, a phone downloads only from a server that a TFTP
// or CCM+TFTP record of that CTL names. Whether phones match by IP, host name or certificate is
// [?]; the record's IPv4 (tag 10) is the likely key and is what this compares. A record without
// an address is matched by its DNS name, case-insensitively. Without a CTL every server is
// authorised (P4, P13).
func TFTPAuthorized(installed *ctl.File, s Server) error {
	if installed == nil {
		return nil
	}
	for i := range installed.Records {
		r := &installed.Records[i]
		if r.Role != ctl.RoleTFTP && r.Role != ctl.RoleCCMTFTP {
			continue
		}
		if r.IPAddress.IsValid() {
			if s.IP.IsValid() && r.IPAddress == s.IP.Unmap() {
				return nil
			}
			continue
		}
		if r.DNSName != "" && s.Host != "" && strings.EqualFold(r.DNSName, ctl.ShortHost(s.Host)) {
			return nil
		}
	}
	return fmt.Errorf("TFTP authorization failure: TFTP server %s is not in a TFTP or CCM+TFTP record of the installed CTL (P8)", s)
}

// MixedMode is P19: a CTL puts the phone in mixed mode iff it holds a CCM or CCM+TFTP record
// with a certificate.
func MixedMode(installed *ctl.File) bool {
	if installed == nil {
		return false
	}
	for i := range installed.Records {
		r := &installed.Records[i]
		if (r.Role == ctl.RoleCCM || r.Role == ctl.RoleCCMTFTP) && len(r.Certificate) > 0 {
			return true
		}
	}
	return false
}

// Security modes of a device's security profile, deviceSecurityMode in its configuration file
// (P38, U5).
const (
	ModeNonSecure     = 1
	ModeAuthenticated = 2
	ModeEncrypted     = 3
)

// SecureRegistration is P38: register over TLS iff the configuration asks for Authenticated or
// Encrypted and the installed CTL holds a CallManager certificate (mixed mode, P19).
func SecureRegistration(deviceSecurityMode int, installed *ctl.File) bool {
	return (deviceSecurityMode == ModeAuthenticated || deviceSecurityMode == ModeEncrypted) && MixedMode(installed)
}

// CallManagerTrusted is P42: the certificate CallManager presents over TLS must be held in a CCM
// or CCM+TFTP record of the installed CTL, and nothing else vouches for it: not a CA, not TVS
// (N1.1: Cisco's lock-out narrative says CUCM phones do not fall back for signalling). The
// match is the whole certificate (ctl.SameIdentity), the stricter of the [?] candidates; no
// host name check, as Jabber and CUCM's TVS do none.
func CallManagerTrusted(installed *ctl.File, certDER []byte) error {
	if installed == nil {
		return fmt.Errorf("no CTL installed: no CallManager certificate to check against (P42)")
	}
	peer := &ctl.Record{Certificate: certDER}
	if holds(installed, peer, ctl.RoleCCM, ctl.RoleCCMTFTP) {
		return nil
	}
	return fmt.Errorf("CallManager's certificate (SHA-256 %s) is not in a CCM or CCM+TFTP record of the installed CTL (P42)", ctl.Fingerprint(certDER))
}

// TVSTrusted is P27: the phone checks the TVS server's certificate against the TVS records
// (role 21) of its installed ITL, whole certificate. Without a TVS record there is no TVS
// path (P24).
func TVSTrusted(installedITL *ctl.File, certDER []byte) error {
	if installedITL == nil {
		//lint:ignore ST1005 the phone's own log line (P24)
		return fmt.Errorf("Not using TVS - TVS not in Trust list: no ITL installed (P24)")
	}
	n := 0
	for i := range installedITL.Records {
		if installedITL.Records[i].Role == ctl.RoleTVS {
			n++
		}
	}
	if n == 0 {
		//lint:ignore ST1005 the phone's own log line (P24)
		return fmt.Errorf("Not using TVS - TVS not in Trust list (P24)")
	}
	if holds(installedITL, &ctl.Record{Certificate: certDER}, ctl.RoleTVS) {
		return nil
	}
	return fmt.Errorf("TVS server certificate (SHA-256 %s) is not a TVS record of the installed ITL (P27)", ctl.Fingerprint(certDER))
}

// HasTVSRecord reports whether an ITL holds a TVS record (P24).
func HasTVSRecord(itl *ctl.File) bool {
	if itl == nil {
		return false
	}
	for i := range itl.Records {
		if itl.Records[i].Role == ctl.RoleTVS {
			return true
		}
	}
	return false
}

// ConfigFileName is P5/P6: the configuration file a phone asks for. With an ITL, or a CTL one
// of whose TFTP records carries a certificate, it asks for the signed SEP<MAC>.cnf.xml.sgn;
// otherwise for the unsigned SEP<MAC>.cnf.xml. (.enc.sgn needs an encryption key, which lab
// phones do not hold: P37 is not modelled.)
func ConfigFileName(mac string, installedCTL, installedITL *ctl.File) string {
	name := "SEP" + strings.ToUpper(mac) + ".cnf.xml"
	if installedITL != nil {
		return name + ".sgn"
	}
	if installedCTL != nil {
		for i := range installedCTL.Records {
			r := &installedCTL.Records[i]
			if (r.Role == ctl.RoleTFTP || r.Role == ctl.RoleCCMTFTP) && len(r.Certificate) > 0 {
				return name + ".sgn"
			}
		}
	}
	return name
}
