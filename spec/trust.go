package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// TrustedSpecEnv names the environment variable that gives the trusted connections when
// --trusted-spec is not given: set on a CI runner, outside the repository, it pins every job.
const TrustedSpecEnv = "CTLOPS_TRUSTED_SPEC"

// LoadTrusted reads the trusted connections: the settings that decide where a credential goes
// and which one (issue 12). It takes a ctlops spec, file or directory, typically the base
// branch's checkout of the spec a pull request edits, or a connections file kept on the runner:
// the same format, of which only each cluster's name, providers, credentials, tls,
// alternateTFTP and signWith are read; every other key (mode, tokens, expectServers, …) may be
// present and is ignored, so a copy of the spec works and so does a file with just those.
func LoadTrusted(path string) (*Config, error) {
	l := &loader{trustOnly: true, now: time.Now(), files: map[string][]byte{}}
	cfg, _, err := l.load(path)
	return cfg, err
}

// Pin checks cfg against the trusted connections. A cluster that would receive or use a
// secret (credentials, a CTL Provider, a dir:// location, alternate TFTP servers, signWith,
// the platform CLI or the serviceability APIs: spec/trust_cucm.go)
// must be in trusted, and each of its trust-carrying settings must be one trusted allows:
//
//   - every CTL Provider host:port and every dir:// directory is one of the trusted ones;
//   - every tls.pin is a trusted pin and every tls.ca certificate a trusted CA certificate
//     (fewer is fine: it only narrows whom the credentials go to);
//   - credentials.username and which secret credentials.password names are the trusted ones;
//   - every alternate TFTP server (host, port, and the cluster whose credentials it gets) is a
//     trusted one;
//   - signWith's PKCS#11 module, its PIN reference and a software key file are the trusted ones
//     (the module is code that is given the PIN).
//
// tftp:// sources carry no secret and may change freely, as may everything that is the point
// of a pull request (mode, tokens, expected servers, suspend).
//
// Each difference is an *Error at the line of cfg that holds it, naming the cluster and the
// field; the result is nil or a multierror of them, like Load's. The secrets of every cluster
// with a difference are refused from then on: Resolve returns the refusal, so no code path can
// send them even if the caller ignored the error.
func (c *Config) Pin(trusted *Config) error {
	var errs []*Error
	for _, cl := range c.Clusters {
		diffs := pinCluster(cl, c.root, trusted)
		if len(diffs) == 0 {
			continue
		}
		refuse(cl, fmt.Sprintf("cluster %s: secrets withheld: its connection settings differ from the trusted connections (%s)", cl.Name, diffs[0].Msg))
		errs = append(errs, diffs...)
	}
	if len(errs) == 0 {
		return nil
	}
	sortByPos(errs, func(e *Error) Pos { return e.Pos })
	return multi(errs)
}

func refuse(cl *Cluster, why string) {
	if cl.Credentials != nil {
		cl.Credentials.Password.refused = why
	}
	if cl.SignWith != nil && cl.SignWith.PKCS11 != nil && cl.SignWith.PKCS11.PIN != nil {
		cl.SignWith.PKCS11.PIN.refused = why
	}
	refuseCUCM(cl, why)
}

// pinCluster lists cl's differences from the trusted connections.
func pinCluster(cl *Cluster, root string, trusted *Config) []*Error {
	var out []*Error
	add := func(pos Pos, field, format string, args ...any) {
		out = append(out, &Error{Pos: pos, Path: field,
			Msg: fmt.Sprintf("cluster %q: ", cl.Name) + fmt.Sprintf(format, args...) + "; no credential is sent"})
	}
	t := trusted.Cluster(cl.Name)
	if t == nil {
		if needsTrust(cl) {
			add(cl.Pos, "name", "not in the trusted connections (%s): add it there before it gets credentials", strings.Join(trusted.Files, ", "))
		}
		return out
	}
	for i, p := range cl.Providers {
		switch p.Kind {
		case KindCTLProvider:
			if !trustedProvider(t, p) {
				add(p.Pos, index("providers", i), "CTL Provider %s is not a trusted endpoint (trusted: %s)", p.Addr(), endpoints(t, KindCTLProvider, trusted.root))
			}
		case KindDir:
			if !trustedDir(t, p.Dir, root, trusted.root) {
				add(p.Pos, index("providers", i), "directory %s is not a trusted file location (trusted: %s)", shownPath(p.Dir, root), endpoints(t, KindDir, trusted.root))
			}
		}
	}
	if cl.TLS != nil {
		var tp []string
		var tca [][]byte
		if t.TLS != nil {
			tp = t.TLS.Pins
			for _, ca := range t.TLS.CA {
				tca = append(tca, ca.Raw)
			}
		}
		for i, pin := range cl.TLS.Pins {
			if !contains(tp, pin) {
				add(cl.TLS.Pos, index("tls.pin", i), "pin %s is not a trusted pin (trusted: %s)", pin, orNone(tp))
			}
		}
		for _, ca := range cl.TLS.CA {
			found := false
			for _, raw := range tca {
				found = found || bytes.Equal(raw, ca.Raw)
			}
			if !found {
				sum := sha256.Sum256(ca.Raw)
				add(cl.TLS.Pos, "tls.ca", "CA certificate %q (sha256 %s) in %s is not a trusted CA", ca.Subject.CommonName, hex.EncodeToString(sum[:]), shownPath(cl.TLS.CAFile, root))
			}
		}
	}
	if cr := cl.Credentials; cr != nil {
		switch tc := t.Credentials; {
		case tc == nil:
			add(cr.Pos, "credentials", "the trusted connections give this cluster no credentials")
		default:
			if cr.Username != tc.Username {
				add(cr.Pos, "credentials.username", "user %q is not the trusted user %q", cr.Username, tc.Username)
			}
			if secretKey(cr.Password, root) != secretKey(tc.Password, trusted.root) {
				add(cr.Password.Pos, "credentials.password", "the password is read from %s, the trusted connections read it from %s: which secret goes where is not for a spec change to decide", describeRef(cr.Password, root), describeRef(tc.Password, trusted.root))
			}
		}
	}
	for i, a := range cl.AlternateTFTP {
		found := false
		for _, b := range t.AlternateTFTP {
			found = found || (strings.EqualFold(a.Host, b.Host) && a.Port == b.Port && a.Cluster == b.Cluster)
		}
		if !found {
			add(a.Pos, index("alternateTFTP", i), "alternate TFTP server %s (credentials of cluster %q) is not a trusted one", a.Addr(), orSelf(a.Cluster, cl.Name))
		}
	}
	if cl.Platform != nil {
		pinPlatform(cl.Platform, t.Platform, root, trusted.root, add)
	}
	if cl.Serviceability != nil {
		pinServiceability(cl.Serviceability, t.Serviceability, root, trusted.root, add)
	}
	if s := cl.SignWith; s != nil {
		ts := t.SignWith
		switch {
		case s.PKCS11 != nil:
			if ts == nil || ts.PKCS11 == nil {
				add(s.Pos, "signWith.pkcs11", "the trusted connections declare no PKCS#11 token for this cluster")
				break
			}
			if pathKey(s.PKCS11.Module, root) != pathKey(ts.PKCS11.Module, trusted.root) {
				add(s.PKCS11.Pos, "signWith.pkcs11.module", "module %s is not the trusted module %s (a module is code that is given the PIN)", shownPath(s.PKCS11.Module, root), shownPath(ts.PKCS11.Module, trusted.root))
			}
			if refKey(s.PKCS11.PIN, root) != refKey(ts.PKCS11.PIN, trusted.root) {
				add(s.PKCS11.Pos, "signWith.pkcs11.pin", "the PIN is read from %s, the trusted connections read it from %s", describePtr(s.PKCS11.PIN, root), describePtr(ts.PKCS11.PIN, trusted.root))
			}
		case s.Software != nil:
			if ts == nil || ts.Software == nil || pathKey(s.Software.KeyFile, root) != pathKey(ts.Software.KeyFile, trusted.root) {
				add(s.Software.Pos, "signWith.software.key", "key file %s is not the trusted key file", shownPath(s.Software.KeyFile, root))
			}
		}
	}
	return out
}

// needsTrust says whether a cluster would send or use a secret or a local path.
func needsTrust(cl *Cluster) bool {
	if cl.Credentials != nil || cl.SignWith != nil || len(cl.AlternateTFTP) > 0 || cl.Platform != nil || cl.Serviceability != nil {
		return true
	}
	for _, p := range cl.Providers {
		if p.Kind != KindTFTP {
			return true
		}
	}
	return false
}

func trustedProvider(t *Cluster, p Provider) bool {
	for _, q := range t.Providers {
		if q.Kind == KindCTLProvider && strings.EqualFold(q.Host, p.Host) && q.Port == p.Port {
			return true
		}
	}
	return false
}

func trustedDir(t *Cluster, dir, root, troot string) bool {
	for _, q := range t.Providers {
		if q.Kind == KindDir && pathKey(q.Dir, troot) == pathKey(dir, root) {
			return true
		}
	}
	return false
}

func endpoints(t *Cluster, k ProviderKind, root string) string {
	var out []string
	for _, q := range t.Providers {
		if q.Kind != k {
			continue
		}
		if k == KindDir {
			out = append(out, shownPath(q.Dir, root))
		} else {
			out = append(out, q.Addr())
		}
	}
	return orNone(out)
}

// pathKey identifies a path across checkouts: relative to the spec's folder when inside it
// (two checkouts of one repository agree), absolute otherwise.
func pathKey(p, root string) string {
	if p == "" || !filepath.IsAbs(p) {
		return p // a bare module name, for the loader's search path
	}
	if root != "" {
		if rel, err := filepath.Rel(root, p); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return "spec:" + filepath.ToSlash(rel)
		}
	}
	return p
}

func shownPath(p, root string) string {
	if k := pathKey(p, root); strings.HasPrefix(k, "spec:") {
		return strings.TrimPrefix(k, "spec:") + " (in the spec's folder)"
	}
	return p
}

func secretKey(s SecretRef, root string) string {
	if s.Env != "" {
		return "env:" + s.Env
	}
	return "file:" + pathKey(s.File, root)
}

func refKey(s *SecretRef, root string) string {
	if s == nil {
		return "prompt"
	}
	return secretKey(*s, root)
}

func describeRef(s SecretRef, root string) string {
	if s.Env != "" || s.hidden {
		return s.String()
	}
	return "file " + shownPath(s.File, root)
}

func describePtr(s *SecretRef, root string) string {
	if s == nil {
		return "a prompt"
	}
	return describeRef(*s, root)
}

func orNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func orSelf(cluster, self string) string {
	if cluster == "" {
		return self
	}
	return cluster
}
