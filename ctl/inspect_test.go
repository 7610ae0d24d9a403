package ctl

import (
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Names inside a file never choose where a certificate is written (issue 17).
func TestSafeName(t *testing.T) {
	cases := []struct{ in, want string }{
		{"cm-pub", "cm-pub"},
		{"../../etc/passwd", "_.._etc_passwd"},
		{"..", "unnamed"},
		{"", "unnamed"},
		{"CN=a;OU=b", "CN_a_OU_b"},
		{"a\x1b[2Jb", "a__2Jb"},
		{strings.Repeat("x", 200), strings.Repeat("x", 64)},
	}
	for _, c := range cases {
		got := SafeName(c.in)
		if got != c.want {
			t.Errorf("SafeName(%q) = %q, want %q", c.in, got, c.want)
		}
		if filepath.Base(got) != got || strings.HasPrefix(got, ".") {
			t.Errorf("SafeName(%q) = %q leaves its directory or hides", c.in, got)
		}
	}
	f, tok1, _ := buildCluster(t, 2048)
	f.Records[2].DNSName = "../../evil"
	g, _ := signed(t, f, tok1, SHA1, time.Now())
	for _, c := range CertFiles(g) {
		if strings.Contains(c.Name, "/") || !strings.HasSuffix(c.Name, ".pem") {
			t.Errorf("certificate file name %q", c.Name)
		}
	}
}

func TestExpiryOf(t *testing.T) {
	c := &x509.Certificate{NotAfter: time.Date(2030, 1, 31, 0, 0, 0, 0, time.UTC)}
	day := 24 * time.Hour
	cases := []struct {
		now  time.Time
		want string
	}{
		{c.NotAfter.Add(-31 * day), "valid"},
		{c.NotAfter.Add(-29 * day), "expiring"},
		{c.NotAfter, "expired"},
		{c.NotAfter.Add(day), "expired"},
	}
	for _, tc := range cases {
		if got := ExpiryOf(c, tc.now, 30*day); got != tc.want {
			t.Errorf("ExpiryOf at %s = %s, want %s", tc.now, got, tc.want)
		}
	}
}
