package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ctlops/ctlops/lab/callmanager"
	"github.com/ctlops/ctlops/lab/cnf"
	"github.com/ctlops/ctlops/lab/phone"
	"github.com/ctlops/ctlops/phonerules"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/refserver"
)

func sessionAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setsid: true}
	if NodesDieWithCaller {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}

func readProcConfig(path string) (*procConfig, *Lab, *PhoneLab, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	var pc procConfig
	if err := json.Unmarshal(b, &pc); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	l, err := Open(pc.Lab)
	if err != nil {
		return nil, nil, nil, err
	}
	pl, err := l.loadPhones()
	if err != nil {
		return nil, nil, nil, err
	}
	return &pc, l, pl, nil
}

// RunPhone is `ctlops lab phone-run --config FILE`: one lab phone until SIGTERM.
func RunPhone(ctx context.Context, cfgPath string, out io.Writer) error {
	pc, l, pl, err := readProcConfig(cfgPath)
	if err != nil {
		return err
	}
	var spec *PhoneSpec
	for i := range pl.Phones {
		if pl.Phones[i].Name == pc.Phone {
			spec = &pl.Phones[i]
		}
	}
	if spec == nil {
		return fmt.Errorf("%s: no phone %q in %s", cfgPath, pc.Phone, PhonesFile)
	}
	cfg := phone.Config{Name: spec.Name, MAC: spec.MAC, Model: spec.Model, Cluster: spec.Cluster, Protocol: spec.Protocol,
		FlashDir: l.path("phones", spec.Name, "flash"), StateFile: l.path("phones", spec.Name, "state.json")}
	// Option 150 (P1): the nodes' names and the addresses their CTL records carry, reached
	// through the loopback ports the lab gave their phone side; asked again at every boot, so
	// that a node's new address (ip-change) or a node that joined or left is seen (R22).
	if cfg.TFTP, err = l.optionTFTP(spec.Cluster, spec.Name); err != nil {
		return err
	}
	cfg.DHCP = func() ([]phone.TFTPServer, error) { return l.optionTFTP(spec.Cluster, spec.Name) }
	return phone.Run(ctx, cfg, out)
}

// optionTFTP is a phone's TFTP server list as the lab's DHCP hands it out now (option 150,
// P1): its spec's TFTP nodes, by their current names and addresses, in order.
func (l *Lab) optionTFTP(cluster, name string) ([]phone.TFTPServer, error) {
	pl, err := l.loadPhones()
	if err != nil {
		return nil, err
	}
	var spec *PhoneSpec
	for i := range pl.Phones {
		if pl.Phones[i].Name == name {
			spec = &pl.Phones[i]
		}
	}
	if spec == nil {
		return nil, fmt.Errorf("no phone %q in %s", name, PhonesFile)
	}
	var out []phone.TFTPServer
	for _, node := range spec.TFTP {
		pn := pl.node(cluster, node)
		if pn == nil {
			return nil, fmt.Errorf("phone %s: no node %s/%s", name, cluster, node)
		}
		host, ip, _, err := l.nodeIdentity(pn)
		if err != nil {
			return nil, err
		}
		out = append(out, phone.TFTPServer{Host: host, IP: ip, Addr: pn.TFTP})
	}
	return out, nil
}

func (pl *PhoneLab) node(cluster, node string) *PhoneNode {
	for i := range pl.Nodes {
		if pl.Nodes[i].Cluster == cluster && pl.Nodes[i].Node == node {
			return &pl.Nodes[i]
		}
	}
	return nil
}

// RunCallManager is `ctlops lab callmanager-run --config FILE`: the phone side of one node.
func RunCallManager(ctx context.Context, cfgPath string, out io.Writer) error {
	pc, l, pl, err := readProcConfig(cfgPath)
	if err != nil {
		return err
	}
	pn := pl.node(pc.Cluster, pc.Node)
	if pn == nil {
		return fmt.Errorf("%s: no node %s/%s in %s", cfgPath, pc.Cluster, pc.Node, PhonesFile)
	}
	var o callmanager.Options
	if pn.Upstream != "" {
		o, err = l.metroCallManager(pn, out) // phones_metro.go
	} else {
		o, err = l.tokenCallManager(pc.Cluster, pn, out)
	}
	if err != nil {
		return err
	}
	o.Config = func(mac string) ([]byte, error) { return l.deviceConfig(pc.Cluster, mac) }
	o.RequireTLS = func(device string) bool {
		i := strings.LastIndex(device, "-SEP")
		if i < 0 {
			return false
		}
		b, err := l.deviceConfig(pc.Cluster, device[i+4:])
		if err != nil {
			return false
		}
		d, err := cnf.Parse(b)
		return err == nil && d.SecurityMode != phonerules.ModeNonSecure
	}
	// Cisco CallManager and Cisco Tftp stopped and started by the serviceability simulator
	// (issue 16; see serviceability_control.go).
	svc := &callmanager.Services{}
	o.TFTPStopped = svc.TFTPStopped
	callmanager.WatchServices(ctx, l.serviceControlPath(pc.Cluster, pc.Node), svc)
	n, err := callmanager.New(o)
	if err != nil {
		return err
	}
	var lis callmanager.Listeners
	var closers []io.Closer
	fail := func(err error) error {
		for _, c := range closers {
			c.Close()
		}
		return err
	}
	if lis.TFTP, err = net.ListenPacket("udp", pn.TFTP); err != nil {
		return fail(err)
	}
	closers = append(closers, lis.TFTP)
	for _, p := range []struct {
		dst  *net.Listener
		addr string
	}{{&lis.SCCP, pn.SCCP}, {&lis.SCCPTLS, addPort(pn.SCCP, cnf.SCCPTLSOffset)}, {&lis.SIP, pn.SIP}, {&lis.SIPTLS, pn.SIPTLS}, {&lis.TVS, pn.TVS}} {
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, ln)
		if p.dst != &lis.TVS {
			ln = svc.Listener(ln)
		}
		*p.dst = ln
	}
	go func() {
		<-ctx.Done()
		n.Close()
	}()
	fmt.Fprintf(out, "%s %s/%s: TFTP %s, SCCP %s (TLS +443), SIP %s, SIP TLS %s, TVS %s\n", callmanager.ReadyLine, pc.Cluster, o.Name, pn.TFTP, pn.SCCP, pn.SIP, pn.SIPTLS, pn.TVS)
	return n.Serve(lis)
}

// tokenCallManager is the options of a token cluster's node's phone side: its files.
func (l *Lab) tokenCallManager(cluster string, pn *PhoneNode, out io.Writer) (callmanager.Options, error) {
	c, err := refserver.LoadConfig(pn.Config)
	if err != nil {
		return callmanager.Options{}, err
	}
	clusterDir, err := l.ClusterDir(cluster)
	if err != nil {
		return callmanager.Options{}, err
	}
	nodes, err := refserver.Nodes(clusterDir)
	if err != nil {
		return callmanager.Options{}, err
	}
	nodeDir := filepath.Dir(pn.Config)
	if err := callmanager.EnsureTVSCert(filepath.Join(nodeDir, "tvs.pem"), filepath.Join(nodeDir, "tvs.key"), c.Name); err != nil {
		return callmanager.Options{}, err
	}
	o := callmanager.Options{
		Name: c.Name, Certificate: c.Abs(c.Certificate), Key: c.Abs(c.Key),
		TVSCertificate: filepath.Join(nodeDir, "tvs.pem"), TVSKey: filepath.Join(nodeDir, "tvs.key"),
		FileLocation:   c.Abs(c.FileLocation),
		PhoneSASTTrust: []string{filepath.Join(clusterDir, "phone-sast-trust.pem")},
		Log:            log.New(out, "", log.LstdFlags),
	}
	if c.CAPF && c.CAPFCertificate != "" {
		o.CAPFCertificate = c.Abs(c.CAPFCertificate)
	}
	for _, n := range nodes {
		o.ClusterTVS = append(o.ClusterTVS, filepath.Join(filepath.Dir(n.Path()), "tvs.pem"))
		o.ClusterCallManagers = append(o.ClusterCallManagers, n.Abs(n.Certificate))
	}
	o.Self = func() (string, netip.Addr) {
		cur, err := refserver.LoadConfig(pn.Config)
		if err != nil {
			cur = c
		}
		ip, _ := netip.ParseAddr(cur.IPv4)
		return cur.Name, ip
	}
	return o, nil
}

// deviceConfig is a phone's SEP<MAC>.cnf.xml as the cluster serves it now: its security
// profile when the cluster runs mixed mode, non-secure otherwise (R9, R12); its CallManager
// group by the nodes' current names; TVS on the group's nodes (P26).
func (l *Lab) deviceConfig(cluster, mac string) ([]byte, error) {
	pl, err := l.loadPhones()
	if err != nil {
		return nil, err
	}
	var spec *PhoneSpec
	for i := range pl.Phones {
		if pl.Phones[i].Cluster == cluster && strings.EqualFold(pl.Phones[i].MAC, mac) {
			spec = &pl.Phones[i]
		}
	}
	if spec == nil {
		return nil, fmt.Errorf("no device %s in cluster %s", mac, cluster)
	}
	d := &cnf.Device{Protocol: spec.Protocol, SecurityMode: phonerules.ModeNonSecure}
	for i, node := range spec.Group {
		pn := pl.node(cluster, node)
		if pn == nil {
			continue
		}
		name, _, mode, err := l.nodeIdentity(pn)
		if err != nil {
			continue
		}
		if i == 0 && mode == provider.ModeMixed {
			d.SecurityMode = spec.SecurityMode
		}
		host, sccp, _ := net.SplitHostPort(pn.SCCP)
		_, sip, _ := net.SplitHostPort(pn.SIP)
		_, sipTLS, _ := net.SplitHostPort(pn.SIPTLS)
		th, tp, _ := net.SplitHostPort(pn.TVS)
		d.CallManagers = append(d.CallManagers, cnf.CallManager{Priority: i, Name: name, Address: host,
			EthernetPhonePort: atoi(sccp), SIPPort: atoi(sip), SecuredSIPPort: atoi(sipTLS)})
		d.TVS = append(d.TVS, cnf.TVS{Priority: i, Address: th, Port: atoi(tp)})
	}
	return d.Marshal()
}

func atoi(s string) int {
	n := 0
	fmt.Sscanf(s, "%d", &n)
	return n
}

// clusterMode reads the mode a node's provider keeps in its state file.
func clusterMode(c *refserver.Config) provider.Mode {
	b, err := os.ReadFile(filepath.Join(c.Abs(c.StateDir), "state.json"))
	if err != nil {
		return provider.ModeNonSecure
	}
	var st struct {
		Mode provider.Mode `json:"mode"`
	}
	if json.Unmarshal(b, &st) != nil {
		return provider.ModeNonSecure
	}
	return st.Mode
}
