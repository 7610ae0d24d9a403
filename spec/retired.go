package spec

import "gopkg.in/yaml.v3"

// retiredTokens decodes the tokens a cluster no longer declares but whose signature on the
// live file it acknowledges: the token that signed the installed CTL and is being retired
// (R19: the new file must then be signed by another trusted token). Without the
// acknowledgement a file signed by an undeclared key is refused as possible tampering, the
// same refusal one server's file gets. A retired token may not also be declared.
func (l *loader) retiredTokens(d *decoder, n *yaml.Node, path string, declared []Token) []Token {
	items, ok := d.list(n, path)
	if !ok {
		return nil
	}
	out := l.tokenItems(d, items, path)
	for i, t := range out {
		for _, dt := range declared {
			switch {
			case t.Cert != nil && dt.Cert != nil && t.Fingerprint() == dt.Fingerprint():
				d.errorf(items[i], index(path, i), "token %s is both declared (as %s) and retired: remove it from one list", t.Name, dt.Name)
			case t.Name != "" && t.Name == dt.Name:
				d.errorf(items[i], index(path, i), "token name %s is both declared and retired: remove it from one list", t.Name)
			}
		}
	}
	return out
}
