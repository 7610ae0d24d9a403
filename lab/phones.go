package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/lab/callmanager"
	"github.com/ctlops/ctlops/lab/phone"
	"github.com/ctlops/ctlops/phonerules"
	"github.com/ctlops/ctlops/provider/refserver"
)

// The lab's phones (issue 15): per node a phone-side process (lab/callmanager: TFTP with the
// per-MAC names, registration listeners, TVS), and per phone a process (lab/phone). Both run
// `ctlops lab callmanager-run|phone-run --config FILE` and are recorded in DIR/phones/phones.json,
// apart from lab.json, so that the nodes' bookkeeping stays as it was.

// PhonesFile is the phones' registry in the lab directory.
const PhonesFile = "phones/phones.json"

// PhoneLab is DIR/phones/phones.json.
type PhoneLab struct {
	Nodes  []PhoneNode `json:"nodes"`
	Phones []PhoneSpec `json:"phones"`
	Procs  []Proc      `json:"procs"` // Cluster, Node (a node dir or a phone name), Config, PID, Log
}

// PhoneNode is the phone side of one node: where it listens.
type PhoneNode struct {
	Cluster string `json:"cluster"`
	Node    string `json:"node"`   // the node's directory name in its cluster
	Config  string `json:"config"` // its node.yaml ("" on metro)
	// Upstream is, on metro, the TFTP address of the node's simulated TFTP service
	// (lab/cucmsim), which the phone side relays and by which it finds the node in metro's
	// state: it stays when the node is renamed or changes address.
	Upstream string `json:"upstream,omitempty"`
	TFTP     string `json:"tftp"` // UDP host:port
	SCCP     string `json:"sccp"` // TCP host:port; TLS on the port + 443 (P40)
	SIP      string `json:"sip"`
	SIPTLS   string `json:"sipTLS"`
	TVS      string `json:"tvs"`
}

// PhoneSpec is one phone of the lab.
type PhoneSpec struct {
	Name         string   `json:"name"`
	MAC          string   `json:"mac"`
	Model        string   `json:"model"`
	Protocol     string   `json:"protocol"`
	Cluster      string   `json:"cluster"`
	SecurityMode int      `json:"securityMode"` // its security profile, served when the cluster is mixed
	Group        []string `json:"group"`        // CallManager group: node dirs, in order
	TFTP         []string `json:"tftp"`         // option 150: node dirs, in order
}

// procConfig is the file on a phone-side process's command line.
type procConfig struct {
	Lab     string `json:"lab"`
	Cluster string `json:"cluster"`
	Node    string `json:"node,omitempty"`
	Phone   string `json:"phone,omitempty"`
}

func (l *Lab) loadPhones() (*PhoneLab, error) {
	b, err := os.ReadFile(l.path(PhonesFile))
	if errors.Is(err, os.ErrNotExist) {
		return &PhoneLab{}, nil
	}
	if err != nil {
		return nil, err
	}
	var p PhoneLab
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", l.path(PhonesFile), err)
	}
	return &p, nil
}

func (l *Lab) savePhones(p *PhoneLab) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(l.path("phones"), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(l.path(PhonesFile), append(b, '\n'), 0o644)
}

// phoneModels is the mix a cluster's phones cycle through: a 79xx without SBD, an SBD 79x5, an
// 88xx SIP phone, and an SBD 79x5 on SIP (P0).
var phoneModels = []struct{ model, proto string }{
	{"7960", "SCCP"}, {"7965", "SCCP"}, {"8861", "SIP"}, {"7965", "SIP"},
}

// phoneCount is how many phones a cluster gets: n when set, else 4 on hq and 2 elsewhere.
func phoneCount(cluster string, n int) int {
	if n > 0 {
		return n
	}
	if cluster == HQ {
		return 4
	}
	return 2
}

// FindCtlops returns the ctlops program phone-side processes run: the running one when it is
// ctlops, else the one next to the provider, else the one on PATH; "" when there is none (a
// test binary runs the lab in-process).
func FindCtlops(provider string) string {
	if exe, err := os.Executable(); err == nil && filepath.Base(exe) == "ctlops" {
		return exe
	}
	if provider != "" {
		p := filepath.Join(filepath.Dir(provider), "ctlops")
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if p, err := exec.LookPath("ctlops"); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
	}
	return ""
}

// createPhones lays out the phones and the nodes' phone-side ports.
func (l *Lab) createPhones(perCluster int) (*PhoneLab, error) {
	pl := &PhoneLab{}
	mac := 0
	for _, cs := range l.State.Clusters {
		nodes, err := refserver.Nodes(l.path(cs.Dir))
		if err != nil {
			return nil, err
		}
		var group, tftp []string
		for _, n := range nodes {
			node := filepath.Base(filepath.Dir(n.Path()))
			pn := PhoneNode{Cluster: cs.Name, Node: node, Config: n.Path()}
			if err := allocatePorts(&pn); err != nil {
				return nil, err
			}
			pl.Nodes = append(pl.Nodes, pn)
			if err := callmanager.EnsureTVSCert(filepath.Join(filepath.Dir(n.Path()), "tvs.pem"), filepath.Join(filepath.Dir(n.Path()), "tvs.key"), n.Name); err != nil {
				return nil, err
			}
			ccm, tf := false, false
			for _, r := range n.Roles {
				ccm, tf = ccm || r == "CCM", tf || r == "TFTP"
			}
			if ccm {
				group = append(group, node)
			}
			// Phones' TFTP servers are the nodes running CallManager and TFTP (a TFTP-only
			// node signs an ITL with a TFTP-role certificate, which phonerules does not take
			// for the ITL: P21 [?]).
			if ccm && tf {
				tftp = append(tftp, node)
			}
		}
		// Subscribers first: cm2 before cm1 on hq, as phones are usually kept off the publisher.
		if len(tftp) > 1 {
			tftp = append(tftp[1:], tftp[0])
		}
		if len(group) > 1 {
			group = append(group[1:], group[0])
		}
		addPhones(pl, cs.Name, group, tftp, perCluster, &mac)
		// Phone-SAST-trust: the declared tokens, so that TVS vouches for the first CTL an SBD
		// phone that already holds an ITL receives (N1.5, P30).
		var trust []byte
		for _, label := range TokenLabels[:2] {
			b, err := os.ReadFile(l.path("tokens", label+".pem"))
			if err != nil {
				return nil, err
			}
			trust = append(trust, b...)
		}
		if err := atomicfile.Write(filepath.Join(l.path(cs.Dir), "phone-sast-trust.pem"), trust, 0o644); err != nil {
			return nil, err
		}
	}
	if err := l.createMetroPhones(pl, perCluster, &mac); err != nil {
		return nil, err
	}
	return pl, nil
}

// addPhones lays out a cluster's phones: CallManager group and option 150 as given (each
// second phone with the group's first two nodes swapped), models cycling through
// phoneModels.
func addPhones(pl *PhoneLab, cluster string, group, tftp []string, perCluster int, mac *int) {
	for i := 0; i < phoneCount(cluster, perCluster); i++ {
		// hq starts the cycle at the 79xx without SBD, the other clusters at the 88xx,
		// so that a two-phone cluster still mixes an SBD SIP phone and an SCCP one.
		off := 0
		if cluster != HQ {
			off = 2
		}
		m := phoneModels[(i+off)%len(phoneModels)]
		*mac++
		g := append([]string(nil), group...)
		if i%2 == 1 && len(g) > 1 {
			g[0], g[1] = g[1], g[0]
		}
		prof, _ := phonerules.Lookup(m.model)
		pl.Phones = append(pl.Phones, PhoneSpec{
			Name:  fmt.Sprintf("%s-%s-%d", cluster, m.model, i+1),
			MAC:   fmt.Sprintf("00C0FFEE%04X", *mac),
			Model: prof.Model, Protocol: m.proto, Cluster: cluster,
			SecurityMode: phonerules.ModeEncrypted, Group: g, TFTP: tftp,
		})
	}
}

// allocatePorts picks free loopback ports for a node's phone side, SCCP's TLS port being the
// plain one + 443 (P40).
func allocatePorts(pn *PhoneNode) error {
	udp, err := freePort("udp")
	if err != nil {
		return err
	}
	sccp, err := freePortPair(443)
	if err != nil {
		return err
	}
	pn.TFTP, pn.SCCP = loopback(udp), loopback(sccp)
	for _, dst := range []*string{&pn.SIP, &pn.SIPTLS, &pn.TVS} {
		p, err := freePort("tcp")
		if err != nil {
			return err
		}
		*dst = loopback(p)
	}
	return nil
}

func addPort(addr string, d int) string {
	h, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return net.JoinHostPort(h, strconv.Itoa(n+d))
}

// StartPhones starts every node's phone side and every phone that does not run, writing the
// layout first when the lab has none (perCluster phones per cluster; 0: 4 on hq, 2 elsewhere).
// bin is ctlops. It waits until each phone has booted once.
func (l *Lab) StartPhones(bin string, perCluster int) error {
	pl, err := l.loadPhones()
	if err != nil {
		return err
	}
	if len(pl.Nodes) == 0 {
		if pl, err = l.createPhones(perCluster); err != nil {
			return err
		}
	}
	if err := l.savePhones(pl); err != nil {
		return err
	}
	for i := range pl.Nodes {
		n := &pl.Nodes[i]
		cfg := l.path("phones", "nodes", n.Cluster+"-"+n.Node+".json")
		// The ports were free when picked; another program on the machine may have taken one
		// since. Then pick new ones (phones start after, and read them) and try again.
		var err error
		for try := 0; try < 3; try++ {
			if try > 0 {
				if err := allocatePorts(n); err != nil {
					return err
				}
				if err := l.savePhones(pl); err != nil {
					return err
				}
			}
			if err = l.startPhoneProc(pl, bin, "callmanager-run", cfg, procConfig{Lab: l.Dir, Cluster: n.Cluster, Node: n.Node}, n.Cluster, n.Node, callmanager.ReadyLine); err == nil {
				break
			}
		}
		if err != nil {
			return err
		}
	}
	for _, p := range pl.Phones {
		cfg := l.path("phones", p.Name, "run.json")
		if err := l.startPhoneProc(pl, bin, "phone-run", cfg, procConfig{Lab: l.Dir, Cluster: p.Cluster, Phone: p.Name}, p.Cluster, p.Name, phone.Ready); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lab) startPhoneProc(pl *PhoneLab, bin, sub, cfg string, pc procConfig, cluster, name, ready string) error {
	keep := pl.Procs[:0]
	for _, p := range pl.Procs {
		if p.Config == cfg {
			if alive(p.PID, cfg) {
				keep = append(keep, p)
				pl.Procs = keep
				return nil
			}
			continue
		}
		keep = append(keep, p)
	}
	pl.Procs = keep
	b, _ := json.MarshalIndent(pc, "", "  ")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(cfg, append(b, '\n'), 0o644); err != nil {
		return err
	}
	logPath := l.path("logs", "phones", name+".log")
	pid, err := startProc(bin, []string{"lab", sub, "--config", cfg}, cfg, logPath, ready)
	if err != nil {
		return fmt.Errorf("%s/%s: %w", cluster, name, err)
	}
	pl.Procs = append(pl.Procs, Proc{Cluster: cluster, Node: name, Config: cfg, PID: pid, Log: logPath})
	return l.savePhones(pl)
}

// StopPhones stops every phone-side process and waits for each; it returns what it stopped.
func (l *Lab) StopPhones() (int, error) {
	pl, err := l.loadPhones()
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	// Phones first, then the nodes' phone side, as a site powers down.
	for pass := 0; pass < 2; pass++ {
		for _, p := range pl.Procs {
			isNode := filepath.Base(filepath.Dir(p.Config)) == "nodes"
			if isNode != (pass == 1) || !alive(p.PID, p.Config) {
				continue
			}
			if err := stop(p.PID, p.Config); err != nil {
				errs = append(errs, err)
			} else {
				n++
			}
		}
	}
	pl.Procs = nil
	if len(pl.Nodes) > 0 {
		if err := l.savePhones(pl); err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}
