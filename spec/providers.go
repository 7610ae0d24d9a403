package spec

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Providers: where a cluster's live state is read (and, for CTL Providers, written).

func (l *loader) providers(d *decoder, n *yaml.Node, path string) []Provider {
	items, ok := d.list(n, path)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(d.deref(n, path), path, "at least one provider is needed to read the cluster (R7)")
	}
	var out []Provider
	seen := map[string]int{}
	for i, it := range items {
		p := index(path, i)
		f, ok := d.mapping(it, p, keys["provider"]...)
		if !ok {
			continue
		}
		pr := Provider{Pos: d.pos(f.node)}
		host, hasHost := f.get("host")
		url, hasURL := f.get("url")
		switch {
		case hasHost && hasURL:
			d.errorf(f.node, p, "give host (a CTL Provider) or url (tftp:// or dir://), not both")
			continue
		case !hasHost && !hasURL:
			if f.typo["host"] || f.typo["url"] {
				continue
			}
			d.errorf(f.node, p, "missing required key \"host\" (a CTL Provider) or \"url\" (tftp:// or dir://)")
			continue
		case hasHost:
			pr.Kind = KindCTLProvider
			pr.Port = DefaultProviderPort
			h, ok := d.host(host.val, join(p, "host"))
			if !ok {
				continue
			}
			pr.Host = h
			if v, ok := f.get("port"); ok {
				if port, ok := d.port(v.val, join(p, "port")); ok {
					pr.Port = port
				}
			}
		default:
			if v, ok := f.get("port"); ok {
				d.errorf(v.key, join(p, "port"), "with url, the port goes in the url (tftp://host:port)")
			}
			s, ok := d.str(url.val, join(p, "url"))
			if !ok {
				continue
			}
			if !d.source(&pr, url.val, join(p, "url"), s) {
				continue
			}
		}
		if first, dup := seen[pr.String()]; dup {
			d.errorf(f.node, p, "duplicate provider %s (also %s)", pr.String(), index(path, first))
			continue
		}
		seen[pr.String()] = i
		out = append(out, pr)
	}
	return out
}

// source parses a read-only source URL: tftp://host[:port] or dir://PATH (relative to the
// file, like every path).
func (d *decoder) source(pr *Provider, n *yaml.Node, path, s string) bool {
	switch {
	case strings.HasPrefix(s, "tftp://"):
		hp := strings.TrimSuffix(strings.TrimPrefix(s, "tftp://"), "/")
		host, port := hp, DefaultTFTPPort
		if h, ps, err := net.SplitHostPort(hp); err == nil {
			p, err := strconv.Atoi(ps)
			if err != nil || p < 1 || p > 65535 {
				d.errorf(n, path, "bad port %q in %q: want 1..65535", ps, s)
				return false
			}
			host, port = h, p
		}
		if !validHost(host) {
			d.errorf(n, path, "bad host %q in %q: want a DNS name or an IP address", host, s)
			return false
		}
		pr.Kind, pr.Host, pr.Port = KindTFTP, host, port
		return true
	case strings.HasPrefix(s, "dir://"):
		p := strings.TrimPrefix(s, "dir://")
		if p == "" {
			d.errorf(n, path, "dir:// needs a directory, e.g. dir://tftp or dir:///srv/tftp")
			return false
		}
		abs, shown := d.resolvePath(p)
		if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
			d.warnf(n, path, "directory %s does not exist here; drift checks on this machine cannot read it", shown)
		}
		pr.Kind, pr.Dir = KindDir, abs
		return true
	}
	d.errorf(n, path, "bad url %q: want tftp://host[:port] or dir://PATH (a CTL Provider is given with host:)", s)
	return false
}

func validHost(s string) bool {
	if strings.Contains(s, ":") {
		a, err := netip.ParseAddr(s)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	return hostPattern.MatchString(s) && len(s) <= 253
}

func (d *decoder) host(n *yaml.Node, path string) (string, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return "", false
	}
	if !validHost(s) {
		d.errorf(n, path, "bad host %q: want a DNS name or an IP address (without port: use port:)", s)
		return "", false
	}
	return s, true
}

func (d *decoder) port(n *yaml.Node, path string) (int, bool) {
	p, ok := d.integer(n, path)
	if !ok {
		return 0, false
	}
	if p < 1 || p > 65535 {
		d.errorf(n, path, "port %d out of range 1..65535", p)
		return 0, false
	}
	return p, true
}
