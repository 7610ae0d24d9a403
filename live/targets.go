package live

import (
	"net"
	"strconv"
	"strings"

	"github.com/ctlops/ctlops/spec"
)

// covered reports whether a CTL Provider address that a server's inventory names may be
// contacted (issue 12, item 4). The inventory is a server's answer, untrusted: it must not
// choose where ctlops reads or writes. Only an HTTPS CTL Provider at host:port qualifies
// (never dir://, tftp:// or another scheme, no path, no user), and only when the spec's
// trust configuration decides who answers there: a host the spec declares, or any host
// when the cluster has TLS anchors (tls.ca, tls.pins), because the TLS handshake then
// checks the server before any credential is sent. Without anchors only declared hosts are
// contacted.
func covered(c *spec.Cluster, addr string) bool {
	a := strings.TrimPrefix(addr, "https://")
	if a == "" || strings.ContainsAny(a, "/@?#\\") || strings.Contains(a, "://") {
		return false
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" {
		return false
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return false
	}
	for _, p := range c.Providers {
		if p.Kind == spec.KindCTLProvider && strings.EqualFold(p.Host, host) && strconv.Itoa(p.Port) == port {
			return true
		}
	}
	return c.TLS != nil && (len(c.TLS.CA) > 0 || len(c.TLS.Pins) > 0)
}
