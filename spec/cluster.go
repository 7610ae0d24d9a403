package spec

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// The patterns below are repeated in schemas/ctlops.schema.json; schemas' tests keep the two in
// agreement.
var (
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	hostPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)
	envPattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	pinPattern  = regexp.MustCompile(`^([0-9A-Fa-f]{64}|([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})$`)
	// userPattern: HTTP Basic authentication splits user and password at the first ':', so a
	// user name with one would send part of itself as the password; control characters are
	// refused with it.
	userPattern = regexp.MustCompile(`^[^:\x00-\x1f\x7f]*[^:\s][^:\x00-\x1f\x7f]*$`)
	daysPattern = regexp.MustCompile(`^[0-9]{1,4}d$`)
)

// keys are the allowed keys of each mapping, named as the schema's $defs (the top level is
// "root"). The schema test compares them with the schema's properties.
var keys = map[string][]string{
	"root": {"version", "expiryWarning", "clusters"},
	"cluster": {"name", "mode", "providers", "credentials", "tls", "tokens", "retiredTokens",
		"alternateTFTP", "signWith", "expectServers", "suspend", "expiryWarning", "serviceability"},
	"provider":       {"host", "port", "url"},
	"credentials":    {"username", "password"},
	"secretRef":      {"env", "file"},
	"tls":            {"ca", "pin"},
	"token":          {"name", "certificate"},
	"alternateTFTP":  {"host", "port", "cluster"},
	"signWith":       {"pkcs11", "software", "hash"},
	"pkcs11":         {"module", "label", "serial", "pin"},
	"software":       {"key", "certificate"},
	"expectedServer": {"host", "ip", "roles"},
	// serviceability.go
	"serviceability":     {"credentials", "tls", "axlVersion", "nodes"},
	"serviceabilityNode": {"name", "host", "port", "publisher"},
}

func (l *loader) cluster(d *decoder, n *yaml.Node, path string) (*Cluster, clusterRefs) {
	f, ok := d.mapping(n, path, keys["cluster"]...)
	if !ok {
		return nil, clusterRefs{}
	}
	c := &Cluster{Pos: d.pos(f.node)}
	r := clusterRefs{cluster: c, path: path, dec: d}
	c.Signing = l.signing(d, f, path)
	switch {
	case l.trustOnly:
		d.required(f, "name")
	case c.Signing == SigningTokenless: // spec/tokenless.go
		d.required(f, "name", "mode", "platform")
		l.tokenlessKeys(d, f, path)
	default:
		d.required(f, "name", "mode", "providers", "tokens")
	}
	if v, ok := f.get("platform"); ok {
		if c.Signing != SigningTokenless {
			d.errorf(v.key, join(path, "platform"), "platform: is for signing: tokenless clusters")
		} else {
			c.Platform = l.platform(d, v.val, join(path, "platform"))
		}
	}

	if v, ok := f.get("name"); ok {
		r.name = v.val
		if s, ok := d.str(v.val, join(path, "name")); ok {
			if namePattern.MatchString(s) {
				c.Name = s
			} else {
				d.errorf(v.val, join(path, "name"), "bad cluster name %q: letters, digits, '.', '_' and '-', at most 64", s)
			}
		}
	}
	if v, ok := f.get("mode"); ok && !l.trustOnly {
		if s, ok := d.str(v.val, join(path, "mode")); ok {
			switch Mode(s) {
			case ModeMixed, ModeNonSecure:
				c.Mode = Mode(s)
			default:
				msg := fmt.Sprintf("bad mode %q: want mixed or non-secure (R9)", s)
				if sg := suggest(s, []string{"mixed", "non-secure"}); sg != "" {
					msg += fmt.Sprintf("; did you mean %q?", sg)
				}
				d.errorf(v.val, join(path, "mode"), "%s", msg)
			}
		}
	}
	if v, ok := f.get("providers"); ok {
		c.Providers = l.providers(d, v.val, join(path, "providers"))
	}
	if v, ok := f.get("credentials"); ok {
		c.Credentials = l.credentials(d, v.val, join(path, "credentials"))
	}
	if v, ok := f.get("tls"); ok {
		c.TLS = l.tls(d, v.val, join(path, "tls"))
	}
	c.ExpiryWarning = d.window
	if v, ok := f.get("expiryWarning"); ok {
		if w, ok := d.days(v.val, join(path, "expiryWarning")); ok {
			c.ExpiryWarning = w
		}
	}
	if l.window != nil {
		c.ExpiryWarning = *l.window // --expiry-window (LoadOptions)
	}
	outer := d.window
	d.window = c.ExpiryWarning
	defer func() { d.window = outer }()
	if v, ok := f.get("tokens"); ok && !l.trustOnly && c.Signing != SigningTokenless {
		c.Tokens = l.tokens(d, v.val, join(path, "tokens"), c.Mode)
	}
	if v, ok := f.get("retiredTokens"); ok && !l.trustOnly && c.Signing != SigningTokenless {
		c.RetiredTokens = l.retiredTokens(d, v.val, join(path, "retiredTokens"), c.Tokens)
	}
	if v, ok := f.get("alternateTFTP"); ok && c.Signing != SigningTokenless {
		c.AlternateTFTP, r.altNodes = l.alternates(d, v.val, join(path, "alternateTFTP"))
	}
	if v, ok := f.get("signWith"); ok {
		c.SignWith = l.signWith(d, v.val, join(path, "signWith"), c.Tokens)
	}
	if v, ok := f.get("expectServers"); ok && !l.trustOnly {
		c.ExpectServers = l.expectServers(d, v.val, join(path, "expectServers"))
	}
	if v, ok := f.get("suspend"); ok && !l.trustOnly {
		c.Suspend, _ = d.boolean(v.val, join(path, "suspend"))
	}
	if v, ok := f.get("phoneModels"); ok {
		c.PhoneModels = l.phoneModels(d, v.val, join(path, "phoneModels"))
	}
	if v, ok := f.get("serviceability"); ok {
		c.Serviceability = l.serviceability(d, v.val, join(path, "serviceability"))
	}

	// A CTL Provider is reached over TLS with the admin's credentials (R7, R25): both are
	// needed as soon as one provider is not a read-only source.
	for _, p := range c.Providers {
		if p.Kind == KindCTLProvider {
			if !f.has("credentials") && !f.typo["credentials"] {
				d.errorf(f.node, path, "missing required key \"credentials\": CTL Providers need the admin user and password (R25)")
			}
			if !f.has("tls") && !f.typo["tls"] {
				d.errorf(f.node, path, "missing required key \"tls\": give ca: or pin: so that the CTL Providers' certificates are checked")
			}
			break
		}
	}
	// An alternate TFTP server is by definition not one of the cluster's own servers, which
	// are discovered (R14).
	for i, a := range c.AlternateTFTP {
		for _, p := range c.Providers {
			if p.Kind == KindCTLProvider && strings.EqualFold(p.Host, a.Host) && p.Port == a.Port {
				d.errs = append(d.errs, &Error{Pos: a.Pos, Path: index(join(path, "alternateTFTP"), i),
					Msg: fmt.Sprintf("%s is one of this cluster's providers: the cluster's own TFTP servers are discovered, not declared (R14)", a.Addr())})
			}
		}
	}
	return c, r
}

func (l *loader) credentials(d *decoder, n *yaml.Node, path string) *Credentials {
	f, ok := d.mapping(n, path, keys["credentials"]...)
	if !ok {
		return nil
	}
	c := &Credentials{Pos: d.pos(f.node)}
	d.required(f, "username", "password")
	if v, ok := f.get("username"); ok {
		if u, ok := d.str(v.val, join(path, "username")); ok {
			if userPattern.MatchString(u) {
				c.Username = u
			} else {
				// Not repeated: a user name that went wrong may hold a password typed there.
				d.errorf(v.val, join(path, "username"), "bad user name: no ':' (HTTP Basic authentication splits at it) and no control characters")
			}
		}
	}
	if v, ok := f.get("password"); ok {
		if s := d.secret(v.val, join(path, "password"), "password", "", "connect"); s != nil {
			c.Password = *s
		}
	}
	return c
}

// secret decodes a {env: NAME} or {file: PATH} reference. A literal is refused without ever
// repeating it: the message must be safe to paste into a ticket.
func (d *decoder) secret(n *yaml.Node, path, what, extra, neededTo string) *SecretRef {
	n = d.deref(n, path)
	if n == nil {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		d.errorf(n, path, "a literal %s is refused: %s%s", what, secretHint, extra)
		return nil
	}
	f, ok := d.mapping(n, path, keys["secretRef"]...)
	if !ok {
		return nil
	}
	env, hasEnv := f.get("env")
	file, hasFile := f.get("file")
	if hasEnv == hasFile {
		d.errorf(f.node, path, "give exactly one of env: NAME or file: PATH")
		return nil
	}
	s := &SecretRef{Pos: d.pos(f.node), root: d.root}
	if hasEnv {
		name, ok := d.str(env.val, join(path, "env"))
		if !ok {
			return nil
		}
		if !envPattern.MatchString(name) {
			// Not repeated: what is not a variable's name may be the password itself.
			d.errorf(env.val, join(path, "env"), "bad environment variable name (not shown, in case a password was typed there): want letters, digits and '_', not starting with a digit")
			return nil
		}
		s.Env = name
	} else {
		p, ok := d.str(file.val, join(path, "file"))
		if !ok {
			return nil
		}
		s.File, _ = d.resolvePath(p)
		s.hidden = !strings.Contains(p, "/")
	}
	if w := s.check(neededTo); w != "" {
		d.warnf(f.node, path, "%s", w)
	}
	return s
}

func (l *loader) tls(d *decoder, n *yaml.Node, path string) *TLS {
	f, ok := d.mapping(n, path, keys["tls"]...)
	if !ok {
		return nil
	}
	t := &TLS{Pos: d.pos(f.node)}
	if !f.has("ca") && !f.has("pin") {
		d.errorf(f.node, path, "give ca: (a CA certificate file) or pin: (SHA-256 fingerprints of the servers' certificates)")
	}
	if v, ok := f.get("ca"); ok {
		if p, ok := d.str(v.val, join(path, "ca")); ok {
			t.CAFile, t.CA = l.caFile(d, v.val, join(path, "ca"), p)
		}
	}
	if v, ok := f.get("pin"); ok {
		items, ok := d.list(v.val, join(path, "pin"))
		if ok && len(items) == 0 {
			d.errorf(d.deref(v.val, ""), join(path, "pin"), "no fingerprint given")
		}
		for i, it := range items {
			p := index(join(path, "pin"), i)
			s, ok := d.str(it, p)
			if !ok {
				continue
			}
			if !pinPattern.MatchString(s) {
				d.errorf(it, p, "bad fingerprint: want the 64 hex digits of a SHA-256 (colons allowed), as `openssl x509 -noout -fingerprint -sha256` prints")
				continue
			}
			fp := strings.ToLower(strings.ReplaceAll(s, ":", ""))
			if contains(t.Pins, fp) {
				d.errorf(it, p, "duplicate fingerprint")
				continue
			}
			t.Pins = append(t.Pins, fp)
		}
	}
	return t
}

func (l *loader) tokens(d *decoder, n *yaml.Node, path string, mode Mode) []Token {
	items, ok := d.list(n, path)
	if !ok {
		return nil
	}
	if len(items) < 2 {
		m := string(mode)
		if m == "" {
			m = "a cluster"
		} else {
			m += " mode"
		}
		d.errorf(d.deref(n, path), path, "%s needs at least 2 tokens, found %d (R16)", m, len(items))
	}
	return l.tokenItems(d, items, path)
}

// tokenItems decodes a list of tokens: a name and a certificate each, both unique.
func (l *loader) tokenItems(d *decoder, items []*yaml.Node, path string) []Token {
	var out []Token
	names := map[string]string{}
	certs := map[string]string{}
	for i, it := range items {
		p := index(path, i)
		f, ok := d.mapping(it, p, keys["token"]...)
		if !ok {
			continue
		}
		d.required(f, "name", "certificate")
		t := Token{Pos: d.pos(f.node)}
		if v, ok := f.get("name"); ok {
			if s, ok := d.str(v.val, join(p, "name")); ok {
				if !namePattern.MatchString(s) {
					d.errorf(v.val, join(p, "name"), "bad token name %q: letters, digits, '.', '_' and '-', at most 64", s)
				} else if first, dup := names[s]; dup {
					d.errorf(v.val, join(p, "name"), "duplicate token name %q (also %s)", s, first)
				} else {
					names[s] = p
					t.Name = s
				}
			}
		}
		if v, ok := f.get("certificate"); ok {
			if s, ok := d.str(v.val, join(p, "certificate")); ok {
				t.CertFile, t.Cert = l.certFile(d, v.val, join(p, "certificate"), s)
				if t.Cert != nil {
					fp := t.Fingerprint()
					if first, dup := certs[fp]; dup {
						d.errorf(v.val, join(p, "certificate"), "the same certificate as %s: each token is a distinct eToken (R16 counts distinct tokens)", first)
					} else {
						certs[fp] = p
					}
				}
			}
		}
		out = append(out, t)
	}
	return out
}

func (l *loader) alternates(d *decoder, n *yaml.Node, path string) ([]AlternateTFTP, []*yaml.Node) {
	items, ok := d.list(n, path)
	if !ok {
		return nil, nil
	}
	var out []AlternateTFTP
	var nodes []*yaml.Node
	seen := map[string]string{}
	for i, it := range items {
		p := index(path, i)
		f, ok := d.mapping(it, p, keys["alternateTFTP"]...)
		if !ok {
			continue
		}
		d.required(f, "host")
		a := AlternateTFTP{Port: DefaultProviderPort, Pos: d.pos(f.node)}
		if v, ok := f.get("host"); ok {
			a.Host, ok = d.host(v.val, join(p, "host"))
			if !ok {
				continue
			}
		} else {
			continue
		}
		if v, ok := f.get("port"); ok {
			if port, ok := d.port(v.val, join(p, "port")); ok {
				a.Port = port
			}
		}
		var cn *yaml.Node
		if v, ok := f.get("cluster"); ok {
			if s, ok := d.str(v.val, join(p, "cluster")); ok {
				a.Cluster, cn = s, v.val
			}
		}
		key := strings.ToLower(a.Addr())
		if first, dup := seen[key]; dup {
			d.errorf(f.node, p, "duplicate alternate TFTP server %s (also %s)", a.Addr(), first)
			continue
		}
		seen[key] = p
		out = append(out, a)
		nodes = append(nodes, cn)
	}
	return out, nodes
}

var roles = []string{"CCM", "TFTP", "CAPF"}

func (l *loader) expectServers(d *decoder, n *yaml.Node, path string) []ExpectedServer {
	items, ok := d.list(n, path)
	if !ok {
		return nil
	}
	out := []ExpectedServer{}
	seen := map[string]string{}
	for i, it := range items {
		p := index(path, i)
		f, ok := d.mapping(it, p, keys["expectedServer"]...)
		if !ok {
			continue
		}
		d.required(f, "host")
		e := ExpectedServer{Pos: d.pos(f.node)}
		v, ok := f.get("host")
		if !ok {
			continue
		}
		if e.Host, ok = d.host(v.val, join(p, "host")); !ok {
			continue
		}
		if first, dup := seen[strings.ToLower(e.Host)]; dup {
			d.errorf(v.val, join(p, "host"), "duplicate server %q (also %s)", e.Host, first)
			continue
		}
		seen[strings.ToLower(e.Host)] = p
		if v, ok := f.get("ip"); ok {
			if s, ok := d.str(v.val, join(p, "ip")); ok {
				if a, err := netip.ParseAddr(s); err != nil || a.Zone() != "" {
					d.errorf(v.val, join(p, "ip"), "bad IP address %q", s)
				} else {
					e.IP = a.String()
				}
			}
		}
		if v, ok := f.get("roles"); ok {
			rs, _ := d.list(v.val, join(p, "roles"))
			for j, r := range rs {
				rp := index(join(p, "roles"), j)
				s, ok := d.str(r, rp)
				if !ok {
					continue
				}
				switch {
				case !contains(roles, s):
					d.errorf(r, rp, "bad role %q: want CCM, TFTP or CAPF (the roles discovered from the cluster, R14)", s)
				case contains(e.Roles, s):
					d.errorf(r, rp, "duplicate role %q", s)
				default:
					e.Roles = append(e.Roles, s)
				}
			}
		}
		out = append(out, e)
	}
	return out
}

// crossCheck applies the rules that span clusters, and so files: unique names and alternate
// TFTP references (R17).
func (l *loader) crossCheck(cfg *Config, refs []clusterRefs) {
	byName := map[string]clusterRefs{}
	var names []string
	for _, r := range refs {
		if r.cluster.Name == "" {
			continue
		}
		if first, dup := byName[r.cluster.Name]; dup {
			l.errs = append(l.errs, &Error{Pos: r.dec.pos(r.name), Path: join(r.path, "name"),
				Msg: fmt.Sprintf("duplicate cluster name %q (first at %s)", r.cluster.Name, first.dec.pos(first.name))})
			continue
		}
		byName[r.cluster.Name] = r
		names = append(names, r.cluster.Name)
	}
	for _, r := range refs {
		c := r.cluster
		for i, a := range c.AlternateTFTP {
			if a.Cluster == "" {
				continue
			}
			p := join(index(join(r.path, "alternateTFTP"), i), "cluster")
			pos := r.dec.pos(r.altNodes[i])
			other, ok := byName[a.Cluster]
			switch {
			case !ok:
				msg := fmt.Sprintf("names no declared cluster %q", a.Cluster)
				if s := suggest(a.Cluster, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				} else if len(names) > 0 {
					msg += " (declared: " + strings.Join(names, ", ") + ")"
				}
				l.errs = append(l.errs, &Error{Pos: pos, Path: p, Msg: msg})
			case other.cluster == c:
				l.errs = append(l.errs, &Error{Pos: pos, Path: p,
					Msg: "names this cluster itself: its own TFTP servers are discovered, not declared (R14)"})
			case other.cluster.Mode != "" && c.Mode != "" && other.cluster.Mode != c.Mode:
				l.errs = append(l.errs, &Error{Pos: pos, Path: p,
					Msg: fmt.Sprintf("cluster %q runs in %s mode and this one in %s mode: an alternate TFTP server in another cluster needs the same security mode (R17)", a.Cluster, other.cluster.Mode, c.Mode)})
			}
		}
	}
}
