package lab

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ctlops/ctlops/lab/callmanager"
	"github.com/ctlops/ctlops/provider/refserver"
)

// afterNodeEvent follows add-node and remove-node (R22) on the phone side: a node that joined
// gets its phone side (TFTP with the per-MAC names, registration listeners, TVS) and goes at
// the end of its cluster's phones' CallManager group and option 150, as an admin adds a
// subscriber to the group and the DHCP scope; a node that left has its phone side stopped and
// leaves those lists. Phones see the change at their next boot (option 150 is asked again,
// phone.Config.DHCP; the group comes with the configuration file). Without phones (a lab up
// with --phones -1, or no ctlops program) nothing is done.
func (l *Lab) afterNodeEvent(msg string, err error) (string, error) {
	if err != nil {
		return msg, err
	}
	pl, perr := l.loadPhones()
	if perr != nil || len(pl.Nodes) == 0 {
		return msg, perr
	}
	bin := FindCtlops(l.State.Provider)
	if bin == "" {
		return msg + "\nphones: no ctlops program to run the node's phone side; phones keep their lists", nil
	}
	lines, serr := l.syncPhoneNodes(pl, bin)
	if len(lines) > 0 {
		msg += "\nphones: " + strings.Join(lines, "; ")
	}
	return msg, serr
}

func nodeProcConfig(l *Lab, n PhoneNode) string {
	return l.path("phones", "nodes", n.Cluster+"-"+n.Node+".json")
}

// syncPhoneNodes makes pl.Nodes follow the clusters' node directories.
func (l *Lab) syncPhoneNodes(pl *PhoneLab, bin string) ([]string, error) {
	var lines []string
	for _, cs := range l.State.Clusters {
		nodes, err := refserver.Nodes(l.path(cs.Dir))
		if err != nil {
			return lines, err
		}
		present := map[string]*refserver.Config{}
		for _, n := range nodes {
			present[filepath.Base(filepath.Dir(n.Path()))] = n
		}
		// Gone: stop the phone side, drop it from the lists.
		keep := pl.Nodes[:0]
		var gone []string
		for _, pn := range pl.Nodes {
			if pn.Cluster != cs.Name || present[pn.Node] != nil {
				keep = append(keep, pn)
				continue
			}
			cfg := nodeProcConfig(l, pn)
			procs := pl.Procs[:0]
			for _, p := range pl.Procs {
				if p.Config == cfg {
					if alive(p.PID, p.Config) {
						if err := stop(p.PID, p.Config); err != nil {
							return lines, err
						}
					}
					continue
				}
				procs = append(procs, p)
			}
			pl.Procs = procs
			gone = append(gone, pn.Node)
			lines = append(lines, fmt.Sprintf("%s/%s's phone side stopped and left the phones' CallManager group and option 150", cs.Name, pn.Node))
		}
		pl.Nodes = keep
		for i := range pl.Phones {
			ps := &pl.Phones[i]
			if ps.Cluster == cs.Name {
				ps.Group = slices.DeleteFunc(ps.Group, func(n string) bool { return slices.Contains(gone, n) })
				ps.TFTP = slices.DeleteFunc(ps.TFTP, func(n string) bool { return slices.Contains(gone, n) })
			}
		}
		// Joined: a phone side, and the end of the lists.
		for _, n := range nodes {
			dir := filepath.Base(filepath.Dir(n.Path()))
			if pl.node(cs.Name, dir) != nil {
				continue
			}
			pn := PhoneNode{Cluster: cs.Name, Node: dir, Config: n.Path()}
			if err := allocatePorts(&pn); err != nil {
				return lines, err
			}
			nd := filepath.Dir(n.Path())
			if err := callmanager.EnsureTVSCert(filepath.Join(nd, "tvs.pem"), filepath.Join(nd, "tvs.key"), n.Name); err != nil {
				return lines, err
			}
			pl.Nodes = append(pl.Nodes, pn)
			ccm, tftp := slices.Contains(n.Roles, "CCM"), slices.Contains(n.Roles, "TFTP")
			for i := range pl.Phones {
				ps := &pl.Phones[i]
				if ps.Cluster != cs.Name {
					continue
				}
				if ccm {
					ps.Group = append(ps.Group, dir)
				}
				if ccm && tftp {
					ps.TFTP = append(ps.TFTP, dir)
				}
			}
			if err := l.savePhones(pl); err != nil {
				return lines, err
			}
			if err := l.startPhoneProc(pl, bin, "callmanager-run", nodeProcConfig(l, pn), procConfig{Lab: l.Dir, Cluster: cs.Name, Node: dir}, cs.Name, dir, callmanager.ReadyLine); err != nil {
				return lines, err
			}
			lines = append(lines, fmt.Sprintf("%s/%s's phone side started (TFTP %s) and joined the phones' CallManager group and option 150", cs.Name, n.Name, pn.TFTP))
		}
	}
	return lines, l.savePhones(pl)
}
