package lab

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ctlops/ctlops/cucm/serviceability"
	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/lab/servicesim"
	"github.com/ctlops/ctlops/provider/refserver"
)

// The lab's CCM application user, valid for AXL, Control Center Services and RisPort70 of
// every lab cluster (issue 16); its password is in lab.env as AXLPasswordEnv.
const (
	AXLUser        = "axladmin"
	AXLPasswordEnv = "LAB_AXL_PASSWORD"
)

// serviceabilityDir holds a cluster's simulator config, Tomcat certificate and password.
const serviceabilityDir = "serviceability"

func (l *Lab) serviceabilityConfig(cluster string) string {
	return l.path(cluster, serviceabilityDir, "serviceability.json")
}

// initServiceability writes, per cluster, the servicesim config: every node with its own
// HTTPS port, the publisher first, CallManager where the node runs CCM and Cisco Tftp where
// it runs TFTP, and a few synthetic phones registered to the CallManager nodes, used only when
// the simulator runs without the lab's phones (see startServiceability).
func (l *Lab) initServiceability() error {
	pwb := make([]byte, 12)
	if _, err := rand.Read(pwb); err != nil {
		return err
	}
	pw := hex.EncodeToString(pwb)
	for _, cs := range l.serviceabilityClusters() {
		nodes, err := l.serviceabilityNodes(cs)
		if err != nil {
			return err
		}
		tcp, _, err := freePorts(len(nodes))
		if err != nil {
			return err
		}
		dir := l.path(cs.Dir, serviceabilityDir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		cert, _, err := servicesim.NewCert(cs.Name, "127.0.0.1", "localhost")
		if err != nil {
			return err
		}
		var chain []byte
		for _, der := range cert.Certificate {
			chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
		}
		key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
		if err != nil {
			return err
		}
		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[len(cert.Certificate)-1]})
		for name, data := range map[string][]byte{"tomcat.pem": chain, "ca.pem": ca} {
			if err := atomicfile.Write(filepath.Join(dir, name), data, 0o644); err != nil {
				return err
			}
		}
		if err := atomicfile.Write(filepath.Join(dir, "tomcat.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600); err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(dir, "password"), []byte(pw+"\n"), 0o600); err != nil {
			return err
		}
		sc := &servicesim.ServeConfig{Cluster: cs.Name, Username: AXLUser, PasswordFile: "password", CertFile: "tomcat.pem", KeyFile: "tomcat.key",
			// A restart long enough that phones notice the node is gone (their keep-alive is
			// 2 s, callmanager.KeepAlive) and fail over before it is back, as on a real
			// cluster, where CallManager takes minutes to start.
			StopMillis: 500, StartMillis: 5000, PhoneMillis: 200}
		var ccm []string
		for i, n := range nodes {
			nc := servicesim.NodeConfig{Name: n.name, Publisher: i == 0, Listen: loopback(tcp[i]), Services: []string{"Cisco Tomcat", "Cisco RIS Data Collector"}}
			if n.ccm {
				nc.Services = append(nc.Services, serviceability.ServiceCallManager, "Cisco CTIManager")
				ccm = append(ccm, n.name)
			}
			if n.tftp {
				nc.Services = append(nc.Services, serviceability.ServiceTFTP)
			}
			if i == 0 {
				nc.Services = append(nc.Services, "Cisco AXL Web Service")
			}
			sc.Nodes = append(sc.Nodes, nc)
		}
		sc.Phones = labPhones(cs.Name, ccm, nodes[0].name)
		if err := sc.Save(l.serviceabilityConfig(cs.Dir)); err != nil {
			return err
		}
	}
	return nil
}

// serviceabilityClusters are the clusters with a serviceability simulator: every token
// cluster, and metro (in its own directory) when the lab has it.
func (l *Lab) serviceabilityClusters() []ClusterState {
	out := append([]ClusterState(nil), l.State.Clusters...)
	if l.hasMetro() {
		out = append(out, ClusterState{Name: Metro, Dir: Metro})
	}
	return out
}

// svcNode is a node as its serviceability simulator is configured: the publisher first.
type svcNode struct {
	name      string
	ccm, tftp bool
}

// serviceabilityNodes lists a cluster's nodes, the publisher first: a token cluster's from its
// node directories (the first is its publisher), metro's from the simulator's state.
func (l *Lab) serviceabilityNodes(cs ClusterState) ([]svcNode, error) {
	var out []svcNode
	if cs.Name == Metro {
		snap, err := l.metroState()
		if err != nil || snap == nil {
			return nil, err
		}
		for _, n := range snap.Nodes {
			sn := svcNode{name: n.Spec.Name, ccm: n.Spec.CallManager, tftp: n.Spec.TFTP}
			if n.Spec.Publisher {
				out = append([]svcNode{sn}, out...)
			} else {
				out = append(out, sn)
			}
		}
		return out, nil
	}
	nodes, err := refserver.Nodes(l.path(cs.Dir))
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		out = append(out, svcNode{name: n.Name, ccm: slices.Contains(n.Roles, "CCM"), tftp: slices.Contains(n.Roles, "TFTP")})
	}
	return out, nil
}

// labPhones are two phones per CallManager node, each failing over to the next node.
func labPhones(cluster string, ccm []string, tftp string) []servicesim.MemPhone {
	var out []servicesim.MemPhone
	base := 0x10
	if cluster != HQ {
		base = 0x80
	}
	for i, home := range ccm {
		group := []string{home}
		for j := 1; j < len(ccm); j++ {
			group = append(group, ccm[(i+j)%len(ccm)])
		}
		for k := 0; k < 2; k++ {
			n := base + 2*i + k
			proto := "SIP"
			if k == 1 {
				proto = "SCCP"
			}
			out = append(out, servicesim.MemPhone{Phone: servicesim.Phone{
				Name: fmt.Sprintf("SEP0000000000%02X", n), Model: 36213, Protocol: proto, IP: fmt.Sprintf("127.0.1.%d", n), DirNumber: fmt.Sprintf("%d", 1000+n),
			}, Group: group, TFTP: tftp})
		}
	}
	return out
}

// startServiceability starts each cluster's simulator process unless it runs already: backed
// by the lab's phones (`ctlops lab serviceability-run`) when a ctlops program is found, else
// ctl-provider's with the synthetic phones of its config (a test binary runs the lab
// in-process, and starts no phones either).
func (l *Lab) startServiceability() error {
	bin := FindCtlops(l.State.Provider)
	for _, cs := range l.serviceabilityClusters() {
		cfg := l.serviceabilityConfig(cs.Dir)
		if _, err := os.Stat(cfg); err != nil {
			continue // a lab made before issue 16
		}
		run := l.serviceabilityRunConfig(cs.Dir)
		running := false
		keep := l.State.Procs[:0]
		for _, p := range l.State.Procs {
			if p.Config == cfg || p.Config == run {
				if !alive(p.PID, p.Config) {
					continue
				}
				running = true
			}
			keep = append(keep, p)
		}
		l.State.Procs = keep
		if running {
			continue
		}
		logPath := l.path("logs", cs.Name+"-serviceability.log")
		var pid int
		var err error
		procCfg := cfg
		// Its ports were chosen when the lab was made and are bound only now: another program
		// may have taken one meanwhile. Then the cluster gets new ones, and the lab's spec
		// says so (two more tries).
		for try := 0; ; try++ {
			if bin != "" {
				procCfg = run
				b, _ := json.MarshalIndent(procConfig{Lab: l.Dir, Cluster: cs.Name}, "", "  ")
				if err := atomicfile.Write(run, append(b, '\n'), 0o644); err != nil {
					return err
				}
				pid, err = startArgs(bin, []string{"lab", "serviceability-run", "--config", run}, run, logPath)
			} else {
				pid, err = startArgs(l.State.Provider, []string{"servicesim", "--config", cfg}, cfg, logPath)
			}
			if err == nil || try == 2 || !strings.Contains(err.Error(), "address already in use") {
				break
			}
			if rerr := l.repickServiceabilityPorts(cfg); rerr != nil {
				return rerr
			}
		}
		if err != nil {
			return fmt.Errorf("%s serviceability: %w", cs.Name, err)
		}
		l.State.Procs = append(l.State.Procs, Proc{Cluster: cs.Name, Node: serviceabilityDir, Config: procCfg, PID: pid, Log: logPath})
		if err := l.save(); err != nil {
			return err
		}
	}
	return nil
}

// repickServiceabilityPorts gives every node of the simulator config at cfg a new port and
// writes the lab's spec again, which declares them.
func (l *Lab) repickServiceabilityPorts(cfg string) error {
	sc, err := servicesim.LoadServeConfig(cfg)
	if err != nil {
		return err
	}
	tcp, _, err := freePorts(len(sc.Nodes))
	if err != nil {
		return err
	}
	for i := range sc.Nodes {
		sc.Nodes[i].Listen = loopback(tcp[i])
	}
	if err := sc.Save(cfg); err != nil {
		return err
	}
	return l.writeSpec()
}

// serviceabilityAddrs maps a cluster's node names to their serviceability host:port.
func (l *Lab) serviceabilityAddrs(clusterDir string) map[string]string {
	c, err := servicesim.LoadServeConfig(l.serviceabilityConfig(clusterDir))
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, n := range c.Nodes {
		out[n.Name] = n.Listen
	}
	return out
}

// serviceabilitySpec is the cluster's serviceability block of the lab's spec.
func (l *Lab) serviceabilitySpec(cs ClusterState) string {
	c, err := servicesim.LoadServeConfig(l.serviceabilityConfig(cs.Dir))
	if err != nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("    serviceability:                 # Control Center, RisPort70 and AXL (R23 rollout)\n")
	fmt.Fprintf(&b, "      credentials: {username: %s, password: {env: %s}}\n", AXLUser, AXLPasswordEnv)
	fmt.Fprintf(&b, "      tls: {ca: %s}\n", filepath.ToSlash(filepath.Join(cs.Dir, serviceabilityDir, "ca.pem")))
	b.WriteString("      nodes:\n")
	for _, n := range c.Nodes {
		host, port, _ := net.SplitHostPort(n.Listen)
		pub := ""
		if n.Publisher {
			pub = ", publisher: true"
		}
		fmt.Fprintf(&b, "        - {name: %s, host: %s, port: %s%s}\n", n.Name, host, port, pub)
	}
	return b.String()
}

// axlPassword is the lab application user's password ("" for a lab made before issue 16).
func (l *Lab) axlPassword() string {
	for _, cs := range l.serviceabilityClusters() {
		if b, err := os.ReadFile(l.path(cs.Dir, serviceabilityDir, "password")); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}
