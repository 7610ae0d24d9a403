package spec

import (
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// hashes are the signature hash algorithms a CTL may use. sha1 is what every phone loads;
// sha256 and sha512 are unconfirmed on phones [?] (CTL-FORMAT.md), which the schema says.
var hashes = []string{"sha1", "sha256", "sha512"}

// signWith decodes how apply signs: exactly one of a PKCS#11 token and a software key, and
// optionally the hash.
func (l *loader) signWith(d *decoder, n *yaml.Node, path string, tokens []Token) *SignWith {
	f, ok := d.mapping(n, path, keys["signWith"]...)
	if !ok {
		return nil
	}
	s := &SignWith{Pos: d.pos(f.node)}
	if f.has("pkcs11") == f.has("software") {
		d.errorf(f.node, path, "give exactly one of pkcs11: (a hardware token) or software: (a key file, labs only)")
	}
	if v, ok := f.get("hash"); ok {
		if h, ok := d.str(v.val, join(path, "hash")); ok {
			if contains(hashes, h) {
				s.Hash = h
			} else {
				d.errorf(v.val, join(path, "hash"), "bad hash %q: want sha1, sha256 or sha512", h)
			}
		}
	}
	if v, ok := f.get("pkcs11"); ok {
		s.PKCS11 = d.pkcs11(v.val, join(path, "pkcs11"))
	}
	if v, ok := f.get("software"); ok {
		s.Software = l.software(d, v.val, join(path, "software"), tokens)
	}
	return s
}

// pkcs11 decodes a hardware token: the module, which token (label or serial) and the PIN's
// reference (none: prompt, R21).
func (d *decoder) pkcs11(n *yaml.Node, p string) *PKCS11 {
	g, ok := d.mapping(n, p, keys["pkcs11"]...)
	if !ok {
		return nil
	}
	d.required(g, "module")
	k := &PKCS11{Pos: d.pos(g.node)}
	if m, ok := g.get("module"); ok {
		if mod, ok := d.str(m.val, join(p, "module")); ok {
			k.Module = mod
			// A bare name is for the dynamic loader's search path; a path is a file.
			if strings.Contains(mod, "/") {
				abs, shown := d.resolvePath(mod)
				k.Module = abs
				if _, err := os.Stat(abs); err != nil {
					d.warnf(m.val, join(p, "module"), "PKCS#11 module %s is not on this machine; it is needed to sign", shown)
				}
			}
		}
	}
	if g.has("label") && g.has("serial") {
		d.errorf(g.node, p, "give label or serial to pick the token, not both")
	}
	if m, ok := g.get("label"); ok {
		k.TokenLabel, _ = d.str(m.val, join(p, "label"))
	}
	if m, ok := g.get("serial"); ok {
		k.TokenSerial, _ = d.str(m.val, join(p, "serial"))
	}
	if m, ok := g.get("pin"); ok {
		k.PIN = d.secret(m.val, join(p, "pin"), "PIN", ", or leave pin out to be prompted (R21)", "sign")
	}
	return k
}

// software decodes a key file (labs only) and its certificate, which must be one of the
// cluster's tokens: phones accept a CTL only when it is signed by a token they already trust,
// and the file lists its signer (R6, R19).
func (l *loader) software(d *decoder, n *yaml.Node, p string, tokens []Token) *SoftwareKey {
	g, ok := d.mapping(n, p, keys["software"]...)
	if !ok {
		return nil
	}
	d.required(g, "key", "certificate")
	k := &SoftwareKey{Pos: d.pos(g.node)}
	if m, ok := g.get("key"); ok {
		if kp, ok := d.str(m.val, join(p, "key")); ok {
			abs, shown := d.resolvePath(kp)
			k.KeyFile = abs
			fi, err := os.Stat(abs)
			switch {
			case err != nil:
				d.warnf(m.val, join(p, "key"), "key file %s does not exist here; it is needed to sign", shown)
			case fi.Mode().Perm()&0o077 != 0:
				d.warnf(m.val, join(p, "key"), "key file %s is readable by other users (mode %04o); chmod 600 it", shown, fi.Mode().Perm())
			}
		}
	}
	m, ok := g.get("certificate")
	if !ok {
		return k
	}
	if cp, ok := d.str(m.val, join(p, "certificate")); ok {
		k.CertFile, k.Cert = l.certFile(d, m.val, join(p, "certificate"), cp)
	}
	if k.Cert == nil || l.trustOnly {
		return k
	}
	fp := (Token{Cert: k.Cert}).Fingerprint()
	for _, t := range tokens {
		if t.Fingerprint() == fp {
			return k
		}
	}
	d.errorf(m.val, join(p, "certificate"), "is not the certificate of one of the cluster's tokens; a CTL must be signed by a token it lists (R6, R19)")
	return k
}
