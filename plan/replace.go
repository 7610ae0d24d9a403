package plan

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// A node whose file fails its own check, or is signed by a key nobody declared, refuses the
// plan (possible tampering, R19). Refusing forever would leave the admin nothing but editing
// the node by hand; instead the admin says "I investigated; replace NODE's file" (apply
// --replace NODE) and the plan shows that as its own action, with the refusal it replaces.
// Only the named nodes, only those two refusals: everything else still refuses, and a plan
// made without the input is another plan (a saved plan cannot gain it at apply time).

// Inputs are what the admin tells the planner beyond the spec and the live state. The zero
// value is the plan of the spec alone (drift, plan without flags).
type Inputs struct {
	// Replace names nodes whose refused file is to be replaced: "NODE" or "CLUSTER/NODE",
	// NODE being a target's server name or address as the plan shows it.
	Replace []string
}

// NodeActionKind is what apply does to one node's file, beside the records' actions.
type NodeActionKind string

// ReplaceFile: the node's file is replaced although it fails its check or has an unknown
// signer; apply writes it with the providers' explicit R19 override, and audits it.
const ReplaceFile NodeActionKind = "replace-file"

// NodeAction is one typed action on a node's file.
type NodeAction struct {
	Kind    NodeActionKind `json:"kind"`
	Server  string         `json:"server"`
	Address string         `json:"address"`
	// Digest is what the node holds now (sha256, "" for none).
	Digest string `json:"digest"`
	// Because is the refusal this action takes the place of.
	Because Problem `json:"because"`
}

// String is the action in words for the views.
func (a NodeAction) String() string {
	switch a.Because.Kind {
	case FileUnknownSigner:
		return fmt.Sprintf("replace the file on %s (%s), which you investigated (--replace); it was refused because %s; phones that loaded it may reject the new file and need their CTL deleted by hand (R19)",
			q(a.Server), q(a.Address), a.Because.Message())
	default:
		return fmt.Sprintf("replace the file on %s (%s), which you investigated (--replace); it was refused because %s", q(a.Server), q(a.Address), a.Because.Message())
	}
}

// replaceable reports whether a refusal is about one node's file, the kind --replace lifts.
func replaceable(p Problem) bool { return p.Kind == FileFailsCheck || p.Kind == FileUnknownSigner }

// names reports whether a --replace entry names target t of cluster.
func names(entry, cluster string, t TargetState) bool {
	if !strings.Contains(entry, "://") {
		if c, n, ok := strings.Cut(entry, "/"); ok {
			if c != cluster {
				return false // another cluster's node
			}
			entry = n
		}
	}
	return entry != "" && (strings.EqualFold(entry, t.Server) || entry == t.Address)
}

// replace turns the refusals of the nodes named by in.Replace into replace actions; a named
// node with nothing to replace gets a warning (it may be the wrong node).
func (b *builder) replace(in Inputs) {
	if len(in.Replace) == 0 {
		return
	}
	for _, entry := range in.Replace {
		for _, t := range b.p.Targets {
			if !names(entry, b.p.Name, t) {
				continue
			}
			found := false
			kept := b.p.Refusals[:0]
			for _, r := range b.p.Refusals {
				if !found && replaceable(r) && r.Server == t.Server {
					found = true
					b.p.NodeActions = append(b.p.NodeActions, NodeAction{Kind: ReplaceFile, Server: t.Server, Address: t.Address, Digest: t.Digest, Because: r})
					continue
				}
				kept = append(kept, r)
			}
			b.p.Refusals = kept
			if !found && !b.replacing(t) {
				b.warn(Problem{Kind: ReplaceNothing, Server: t.Server, Have: string(t.Status)})
			}
		}
	}
	b.p.Summary.ReplaceNodes = len(b.p.NodeActions)
}

func (b *builder) replacing(t TargetState) bool {
	for _, a := range b.p.NodeActions {
		if a.Address == t.Address && a.Server == t.Server {
			return true
		}
	}
	return false
}

// Replacing reports whether apply replaces the file of target address addr under a node
// action (and so writes it with the R19 override, without judging the file it replaces).
func (c *Cluster) Replacing(server, addr string) bool {
	for _, a := range c.NodeActions {
		if a.Kind == ReplaceFile && a.Server == server && a.Address == addr {
			return true
		}
	}
	return false
}

// Check says which --replace entries name no node of the plan, or nodes of several
// clusters: a typo must not pass silently, and an ambiguous name must be made precise.
func (in Inputs) Check(p *Plan) error {
	var why []string
	for _, entry := range in.Replace {
		var in []string
		for _, c := range p.Clusters {
			for _, t := range c.Targets {
				if names(entry, c.Name, t) {
					in = append(in, c.Name)
					break
				}
			}
		}
		switch {
		case len(in) == 0:
			var known []string
			for _, c := range p.Clusters {
				for _, t := range c.Targets {
					known = append(known, c.Name+"/"+t.Server)
				}
			}
			sort.Strings(known)
			why = append(why, fmt.Sprintf("--replace %s: no server of the planned clusters has that name or address (servers: %s)", q(entry), q(strings.Join(known, ", "))))
		case len(in) > 1:
			why = append(why, fmt.Sprintf("--replace %s names a server of clusters %s: write CLUSTER/%s", q(entry), strings.Join(in, ", "), q(entry)))
		}
	}
	if len(why) > 0 {
		return fmt.Errorf("%s", strings.Join(why, "; "))
	}
	return nil
}

// MarshalJSON adds the text, as the JSON view does for every typed kind.
func (a NodeAction) MarshalJSON() ([]byte, error) {
	type plain NodeAction
	return json.Marshal(struct {
		plain
		Text string `json:"text"`
	}{plain(a), a.String()})
}
