package lab

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ctlops/ctlops/provider/refserver"
)

// NodeStatus is one node as `lab status` lists it. Names and roles are read from the node's
// config, so they follow rename and enable-capf events.
type NodeStatus struct {
	Cluster string   `json:"cluster"`
	Name    string   `json:"name"`
	Roles   []string `json:"roles"`
	HTTPS   string   `json:"https,omitempty"` // host:port of the CTL Provider
	SSH     string   `json:"ssh,omitempty"`   // host:port of the platform CLI (metro)
	TFTP    string   `json:"tftp"`            // host:port (UDP)
	PID     int      `json:"pid"`             // 0 when not running
	// Serviceability is host:port of the node's Control Center, RisPort70 and AXL (servicesim).
	Serviceability string `json:"serviceability,omitempty"`
}

// Status lists every node of the lab, hq first, each cluster's nodes by name.
func (l *Lab) Status() ([]NodeStatus, error) {
	out := []NodeStatus{}
	for _, cs := range l.State.Clusters {
		nodes, err := refserver.Nodes(l.path(cs.Dir))
		if err != nil {
			return nil, err
		}
		svc := l.serviceabilityAddrs(cs.Dir)
		for _, n := range nodes {
			s := NodeStatus{Cluster: cs.Name, Name: n.Name, Roles: append([]string{}, n.Roles...), HTTPS: n.Listen, TFTP: n.TFTPListen, Serviceability: svc[n.Name]}
			if n.CAPF {
				s.Roles = append(s.Roles, "CAPF")
			}
			for _, p := range l.State.Procs {
				if p.Config == n.Path() && alive(p.PID, p.Config) {
					s.PID = p.PID
				}
			}
			out = append(out, s)
		}
	}
	metro, err := l.PlatformNodes()
	if err != nil {
		return nil, err
	}
	return append(out, metro...), nil
}

// Running counts the nodes that run.
func Running(st []NodeStatus) int {
	n := 0
	for _, s := range st {
		if s.PID != 0 {
			n++
		}
	}
	return n
}

// WriteStatusJSON writes the status as a JSON list.
func WriteStatusJSON(w io.Writer, st []NodeStatus) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}

// WriteStatusText writes the status as a table, followed by how to use the lab.
func (l *Lab) WriteStatusText(w io.Writer, st []NodeStatus) error {
	fmt.Fprintf(w, "lab in %s: %d of %d nodes running; tokens: %s\n\n", l.Dir, Running(st), len(st), l.tokenSummary())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tNODE\tROLES\tHTTPS\tTFTP\tPID")
	for _, s := range st {
		pid := "stopped"
		if s.PID != 0 {
			pid = fmt.Sprint(s.PID)
		}
		addr := s.HTTPS
		if s.SSH != "" {
			addr = "ssh://" + s.SSH // metro: the platform CLI
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Cluster, s.Name, strings.Join(s.Roles, ","), addr, s.TFTP, pid)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nspec: %s\nenv:  . %s\n", l.path(SpecFile), l.path(EnvFile))
	return err
}

func (l *Lab) tokenSummary() string {
	ts := l.State.Tokens
	kind := "SoftHSM2 tokens"
	if ts.Kind == "software" {
		kind = "software keys (SoftHSM2 missing)"
	}
	if len(ts.Labels) < 3 {
		return kind + " " + strings.Join(ts.Labels, ", ")
	}
	return fmt.Sprintf("%s %s (declared, %s signs), %s (spare); certificates in %s",
		kind, strings.Join(ts.Labels[:2], ", "), ts.Labels[0], strings.Join(ts.Labels[2:], ", "), l.path("tokens"))
}
