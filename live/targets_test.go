package live

import (
	"crypto/x509"
	"testing"

	"github.com/ctlops/ctlops/spec"
)

func TestCovered(t *testing.T) {
	declared := &spec.Cluster{Providers: []spec.Provider{{Kind: spec.KindCTLProvider, Host: "cm1.example.com", Port: 2444}}}
	anchored := &spec.Cluster{Providers: declared.Providers, TLS: &spec.TLS{CA: []*x509.Certificate{{}}}}
	for _, c := range []struct {
		cl   *spec.Cluster
		addr string
		want bool
	}{
		{declared, "cm1.example.com:2444", true},
		{declared, "https://CM1.example.com:2444", true},
		{declared, "cm2.example.com:2444", false}, // no anchors: only declared hosts
		{anchored, "cm2.example.com:2444", true},  // the CA checks it before credentials
		{anchored, "dir:///srv/victim", false},
		{anchored, "tftp://cm2.example.com", false},
		{anchored, "http://cm2.example.com:2444", false},
		{anchored, "https://cm2.example.com:2444/path", false},
		{anchored, "admin@cm2.example.com:2444", false},
		{anchored, "cm2.example.com", false},
		{anchored, "cm2.example.com:0", false},
		{anchored, "", false},
	} {
		if got := covered(c.cl, c.addr); got != c.want {
			t.Errorf("covered(%q) = %v, want %v", c.addr, got, c.want)
		}
	}
}
