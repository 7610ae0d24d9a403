package adopt

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// namePattern is the spec's pattern for cluster and token names (spec/cluster.go): a name
// that matches it is also a safe file name (no separator, never "." or "..").
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// hostPattern is the spec's pattern for DNS names.
var hostPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)

// safeName turns a string from the cluster (a certificate's common name, a host or cluster
// name) into a spec name and file name: letters, digits, '.', '_' and '-', starting with a
// letter or digit, at most 64 bytes. Anything else becomes '-'; "" when nothing is left.
func safeName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		ok := r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
		if !ok {
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = true
			continue
		}
		if b.Len() == 0 && (r == '.' || r == '_' || r == '-') {
			continue
		}
		b.WriteRune(r)
		dash = r == '-'
	}
	out := b.String()
	if len(out) > 64 {
		out = out[:64]
	}
	out = strings.TrimRight(out, "-.")
	if !namePattern.MatchString(out) {
		return ""
	}
	return out
}

// unique returns name, or name-2, name-3, … when it is taken.
func unique(name string, taken map[string]bool) string {
	n := name
	for i := 2; taken[strings.ToLower(n)]; i++ {
		suffix := "-" + strconv.Itoa(i)
		base := name
		if len(base)+len(suffix) > 64 {
			base = base[:64-len(suffix)]
		}
		n = base + suffix
	}
	taken[strings.ToLower(n)] = true
	return n
}

// validHost is the spec's test for a host: a DNS name or an IP address.
func validHost(s string) bool {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Zone() == ""
	}
	return len(s) <= 253 && hostPattern.MatchString(s)
}

func splitHostPort(hp string, def int) (string, int, error) {
	if hp == "" {
		return "", 0, fmt.Errorf("no host")
	}
	host, port := strings.Trim(hp, "[]"), def
	if h, ps, err := net.SplitHostPort(hp); err == nil {
		p, err := strconv.Atoi(ps)
		if err != nil || p < 1 || p > 65535 {
			return "", 0, fmt.Errorf("bad port %q: want 1..65535", ps)
		}
		host, port = h, p
	}
	if !validHost(host) {
		return "", 0, fmt.Errorf("bad host %q: want a DNS name or an IP address", host)
	}
	return host, port, nil
}

func joinHostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

var lookupEnv = os.LookupEnv
