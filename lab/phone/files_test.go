package phone

import (
	"net/netip"
	"testing"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/lab/phonetest"
)

// phonetestFile is a mixed CTL whose CCM+TFTP record holds cm's certificate.
func phonetestFile(t *testing.T, l *lab, cm phonetest.Identity) (*ctl.File, []byte) {
	return phonetest.File(t, "CTLFile.tlv", l.alice, ctl.SHA1,
		phonetest.Rec{ID: l.alice, Role: ctl.RoleSAST}, phonetest.Rec{ID: l.bob, Role: ctl.RoleSAST},
		phonetest.Rec{ID: cm, Role: ctl.RoleCCMTFTP, Host: "cm1", IP: "192.0.2.11"})
}

// phonetestNonSecure is a non-secure-mode CTL: SASTs and placeholders only (R12, P19).
func phonetestNonSecure(t *testing.T, l *lab) (*ctl.File, []byte) {
	f := ctl.New("CTLFile.tlv", []ctl.Record{
		phonetest.Rec{ID: l.alice, Role: ctl.RoleSAST}.Record(t), phonetest.Rec{ID: l.bob, Role: ctl.RoleSAST}.Record(t),
	})
	f.Records = append(f.Records, ctl.PlaceholderRecord(ctl.RoleCCMTFTP, "cm1", netip.MustParseAddr("192.0.2.11")))
	return phonetest.Sign(t, f, l.alice)
}
