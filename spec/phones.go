package spec

import (
	"gopkg.in/yaml.v3"

	"github.com/ctlops/ctlops/phonerules"
)

// phoneModels is the cluster's phoneModels: the phone models it runs (P0), so that plan,
// apply and resign say which of them would refuse a new CTL (a SHA-512 signature on a 79xx,
// P32; a signer change on models without Security by Default, P17). Absent means every model
// ctlops knows (phonerules.All): the safest assumption, since each model's limits then apply.
// Names are phonerules' short names (7960) or CUCM's (CP-7960G); they are kept as CUCM's.

func init() {
	keys["cluster"] = append(keys["cluster"], "phoneModels")
}

func (l *loader) phoneModels(d *decoder, n *yaml.Node, path string) []string {
	items, ok := d.list(n, path)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(n, path, "an empty list: leave phoneModels out to check against every known model")
		return nil
	}
	var out []string
	for i, it := range items {
		p := index(path, i)
		name, ok := d.str(it, p)
		if !ok {
			continue
		}
		prof, err := phonerules.Lookup(name)
		if err != nil {
			d.errorf(it, p, "%v", err)
			continue
		}
		out = append(out, prof.Model)
	}
	return out
}
