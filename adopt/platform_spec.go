package adopt

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/cucm/adapter"
	"github.com/ctlops/ctlops/cucm/platform"
	"github.com/ctlops/ctlops/cucm/tokenless"
	"github.com/ctlops/ctlops/spec"
)

// platformSpec is the platform: block of a tokenless cluster, before it becomes YAML.
type platformSpec struct {
	host       string
	port       int
	hostKeys   []string
	knownHosts string
	legacy     bool
	user       string
	passEnv    string
	passFile   string
	nodes      []PlatformNode
}

// Roles. `show network cluster` names the nodes but not the services they run, and what
// plan predicts (cucm/tokenless.Predict) depends on them: a node's CCM, TFTP or CCM+TFTP
// record and the CAPF records. So the roles are read from the CTL the cluster serves (the
// publisher's copy, else another node's), the one file that says what CUCM built: that is
// what makes plan report no change. A cluster without a usable CTL (non-secure and never
// mixed) has no such record; then a node is CCM when the publisher lists it as callmanager,
// TFTP when its TFTP service answered, and the publisher runs CAPF, and the spec says these
// were guessed.

// buildPlatform decides the spec of a tokenless cluster from what was read.
func buildPlatform(o Options, r *platformRead) (*cluster, *Result, error) {
	st := r.state
	res := &Result{Signing: spec.SigningTokenless, Release: st.Version,
		Sources: []string{"ssh://" + r.src.user + "@" + joinHostPort(r.src.host, r.src.port)}}
	res.Notes = append(res.Notes, st.Warnings...)
	name := o.Name
	if name == "" {
		name = safeName(r.network.Publisher().Host)
	}
	if name == "" {
		name = "cluster"
	}
	res.Cluster = name
	res.Mode = spec.ModeNonSecure
	if st.Mixed {
		res.Mode = spec.ModeMixed
	}

	base, baseFrom := baseline(st)
	usable := base != nil
	if base != nil {
		if err := base.Verify(); err != nil {
			usable = false
			res.Notes = append(res.Notes, fmt.Sprintf("the CTL %s serves fails its check (%v): roles are guessed, not read from it, and plan will propose utils ctl update CTLFile", baseFrom, err))
		} else if rec, err := tokenless.Recognize(base, o.Now); err == nil && rec.Mixed != st.Mixed {
			res.Notes = append(res.Notes, fmt.Sprintf("the CTL %s serves is a %s file while the cluster is in %s mode: plan will show it", baseFrom, modeWord(rec.Mixed), res.Mode))
		}
	}
	if usable {
		res.Records = len(base.Records)
	}

	var failed []string
	inv := st.Inventory
	for i, d := range r.nodes {
		ns := st.Node(d.node.Host)
		if ns == nil {
			return nil, nil, fmt.Errorf("node %s was listed but not read (please report this)", d.node.Host)
		}
		// The SSH part of a node's read ends with `show ctl`: an error after it is its TFTP.
		tftpFailed := ns.Err != nil && ns.ShowCTL != nil
		if ns.Err != nil && !tftpFailed {
			failed = append(failed, ns.Err.Error())
			continue
		}
		var roles []cucm.Role
		if usable {
			roles = rolesInCTL(base, d.node)
			if len(roles) == 0 && d.node.Product == "callmanager" {
				res.Notes = append(res.Notes, fmt.Sprintf("node %s is a callmanager node of the cluster but has no record in the CTL: it is declared without roles, as the file is; if it runs CallManager or TFTP, add the roles and plan will propose utils ctl update CTLFile (R22)", d.node.Host))
			}
		} else {
			if d.node.Product == "callmanager" {
				roles = append(roles, cucm.RoleCCM)
			}
			if !tftpFailed {
				roles = append(roles, cucm.RoleTFTP)
			}
			if d.node.Publisher {
				roles = append(roles, cucm.RoleCAPF)
			}
		}
		has := func(want cucm.Role) bool {
			for _, x := range roles {
				if x == want {
					return true
				}
			}
			return false
		}
		switch {
		case tftpFailed && has(cucm.RoleTFTP):
			failed = append(failed, ns.Err.Error()+" (the CTL says it runs TFTP; --node-tftp NAME=HOST:PORT says where)")
			continue
		case tftpFailed:
			res.Notes = append(res.Notes, fmt.Sprintf("node %s did not answer TFTP at %s: declared without TFTP", d.node.Host, d.tftp))
		}
		pn := PlatformNode{Name: d.node.Host, Publisher: d.node.Publisher, SSH: d.ssh, HostKey: d.hostKey}
		for _, x := range roles {
			pn.Roles = append(pn.Roles, string(x))
		}
		if has(cucm.RoleTFTP) {
			pn.TFTP = d.tftp
		}
		res.Nodes = append(res.Nodes, pn)
		n := &inv.Nodes[i]
		n.CallManager, n.TFTP, n.CAPF = has(cucm.RoleCCM), has(cucm.RoleTFTP), has(cucm.RoleCAPF)
	}
	if len(failed) > 0 {
		return nil, nil, fmt.Errorf("not every node could be read, so the spec would not match the cluster (R26): %s", strings.Join(failed, "; "))
	}
	if !usable {
		res.Notes = append(res.Notes, "no usable CTL to read the nodes' roles from: they are guessed (CCM: callmanager nodes; TFTP: nodes whose TFTP answered; CAPF: the publisher); check them before the first apply")
	}
	res.Notes = append(res.Notes, alreadyDrifted(st, inv, o.Now)...)
	if len(r.imp) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("left out of the spec: %s, IM and Presence (`cups` in `show network cluster`): CUCM's CTL lists only its Unified CM nodes, so they hold none; import did not log into them, and plan and drift pass over them", strings.Join(r.imp, ", ")))
	}

	c := &cluster{name: name, mode: res.Mode}
	ps := &platformSpec{host: r.src.host, port: r.src.port, knownHosts: r.trust.knownHosts, legacy: o.LegacyAlgorithms, user: r.src.user, nodes: res.Nodes}
	if len(r.trust.pins) > 0 {
		// The keys the nodes offered, each one confirmed by --host-key: pins given for no node
		// are left out, so the spec pins exactly this cluster.
		seen := map[string]bool{}
		for _, n := range r.nodes {
			if n.hostKey != "" && !seen[n.hostKey] && contains(r.trust.pins, n.hostKey) {
				seen[n.hostKey] = true
				ps.hostKeys = append(ps.hostKeys, n.hostKey)
			}
		}
		if len(ps.hostKeys) == 0 && ps.knownHosts == "" {
			return nil, nil, fmt.Errorf("no node's host key is among the --host-key values (please report this)")
		}
	}
	res.HostKeys = ps.hostKeys
	if r.password.file != "" {
		ps.passFile = r.password.file
		if !withinSecretDirs(o.Out, r.password.file) {
			res.Notes = append(res.Notes, fmt.Sprintf("the spec reads the password from %s, outside the directories secrets are read from: add its folder to %s, or move the file", r.password.file, spec.SecretDirsEnv))
		}
	} else {
		ps.passEnv = r.password.env
		if r.password.prompted {
			res.Notes = append(res.Notes, fmt.Sprintf("the password was asked for; the spec reads it from $%s: set it before plan, drift or apply", ps.passEnv))
		}
	}
	c.platform = ps
	c.comments = append(c.comments,
		fmt.Sprintf("A tokenless CUCM cluster (release %s): CUCM signs its CTL itself; ctlops reads it through", st.Version),
		"the publisher's platform CLI (show commands only) and every node's TFTP, and apply drives `utils ctl`.")
	if len(ps.hostKeys) > 0 {
		c.comments = append(c.comments, "hostKeys: the keys the nodes offered, as confirmed with --host-key.")
	}
	if !usable {
		c.comments = append(c.comments, "roles were guessed (no usable CTL to read them from): check them.")
	}
	if len(r.imp) > 0 {
		c.comments = append(c.comments, fmt.Sprintf("Not declared: the IM and Presence nodes %s, which hold no CTL.", strings.Join(r.imp, ", ")))
	}
	return c, res, nil
}

// baseline is the CTL the roles are read from: the publisher's TFTP copy, else the first
// node's that parses.
func baseline(st *adapter.State) (*ctl.File, string) {
	for _, n := range st.Nodes {
		if n.CTLFile != nil && st.Network.Publisher() != nil && n.Name == st.Network.Publisher().Host {
			return n.CTLFile, n.Name
		}
	}
	for _, n := range st.Nodes {
		if n.CTLFile != nil {
			return n.CTLFile, n.Name
		}
	}
	return nil, ""
}

// rolesInCTL reads a node's roles from its records: CCM+TFTP, CCM, TFTP and CAPF, matched by
// host name (or IP) as CUCM writes them.
func rolesInCTL(f *ctl.File, n platform.ClusterNode) []cucm.Role {
	var ccm, tftp, capf bool
	for _, r := range f.Records {
		if r.Role == ctl.RoleSAST {
			continue
		}
		name := strings.EqualFold(ctl.ShortHost(r.DNSName), ctl.ShortHost(n.Host))
		ip := r.IPAddress.IsValid() && r.IPAddress.String() == n.IP
		if !name && !ip {
			continue
		}
		switch r.Role {
		case ctl.RoleCCMTFTP:
			ccm, tftp = true, true
		case ctl.RoleCCM:
			ccm = true
		case ctl.RoleTFTP:
			tftp = true
		case ctl.RoleCAPF:
			capf = true
		}
	}
	var out []cucm.Role
	if ccm {
		out = append(out, cucm.RoleCCM)
	}
	if tftp {
		out = append(out, cucm.RoleTFTP)
	}
	if capf {
		out = append(out, cucm.RoleCAPF)
	}
	return out
}

// alreadyDrifted predicts the CTL from what was read, with the roles decided, and says where
// the live files differ: a certificate regenerated or an IP changed since the last `utils
// ctl update CTLFile` is drift the spec cannot hide, and plan will propose the update.
func alreadyDrifted(st *adapter.State, inv tokenless.Inventory, now time.Time) []string {
	pred, err := tokenless.Predict(inv, now)
	if err != nil {
		return []string{"cannot predict the CTL CUCM would build (" + err.Error() + "): plan will say more"}
	}
	notes := append([]string(nil), pred.Warnings...)
	for i, ns := range st.Nodes {
		if !inv.Nodes[i].TFTP {
			continue
		}
		for _, d := range tokenless.Compare(pred, ns.CTLFile) {
			notes = append(notes, fmt.Sprintf("node %s already differs from what CUCM would build: %s; plan will propose utils ctl update CTLFile (R22)", ns.Name, d))
		}
	}
	return notes
}

func modeWord(mixed bool) string {
	if mixed {
		return "mixed-mode"
	}
	return "non-secure"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// withinSecretDirs reports whether a {file:} secret would be read by plan: inside the spec's
// folder or a directory of CTLOPS_SECRET_DIRS (spec.SecretDirs).
func withinSecretDirs(out, file string) bool {
	root, err := filepath.Abs(out)
	if err != nil {
		return false
	}
	for _, d := range spec.SecretDirs(root) {
		if file == d || strings.HasPrefix(file, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// platformMapping is the cluster entry of a tokenless cluster.
func (c *cluster) platformMapping() *yaml.Node {
	p := c.platform
	pm := mapping(false, key("host"), quoted(p.host), key("port"), integer(p.port))
	if len(p.hostKeys) > 0 {
		var ks []*yaml.Node
		for _, k := range p.hostKeys {
			ks = append(ks, quoted(k))
		}
		pm.Content = append(pm.Content, key("hostKeys"), sequence(ks...))
	}
	if p.knownHosts != "" {
		pm.Content = append(pm.Content, key("knownHosts"), quoted(p.knownHosts))
	}
	if p.legacy {
		pm.Content = append(pm.Content, key("legacyAlgorithms"), &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	pw := mapping(true, key("env"), plain(p.passEnv))
	if p.passFile != "" {
		pw = mapping(true, key("file"), quoted(p.passFile))
	}
	pm.Content = append(pm.Content, key("credentials"), mapping(false, key("username"), quoted(p.user), key("password"), pw))
	var nodes []*yaml.Node
	for _, n := range p.nodes {
		nm := mapping(true, key("name"), quoted(n.Name), key("ssh"), quoted(n.SSH))
		if n.TFTP != "" {
			nm.Content = append(nm.Content, key("tftp"), quoted(n.TFTP))
		}
		var roles []*yaml.Node
		for _, r := range n.Roles {
			roles = append(roles, plain(r))
		}
		rs := sequence(roles...)
		rs.Style = yaml.FlowStyle
		nm.Content = append(nm.Content, key("roles"), rs)
		if n.Publisher {
			nm.LineComment = "publisher"
		}
		nodes = append(nodes, nm)
	}
	pm.Content = append(pm.Content, key("nodes"), sequence(nodes...))
	return mapping(false,
		key("name"), quoted(c.name),
		key("signing"), plain(string(spec.SigningTokenless)),
		key("mode"), plain(string(c.mode)),
		key("platform"), pm,
	)
}
