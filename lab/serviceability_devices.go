package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ctlops/ctlops/lab/callmanager"
	"github.com/ctlops/ctlops/lab/phone"
	"github.com/ctlops/ctlops/lab/servicesim"
	"github.com/ctlops/ctlops/provider/refserver"
)

// The serviceability simulator backed by the lab's phones (issue 16): RisPort70 answers from
// the phones' own state files, Control Center's CallManager and TFTP stops reach the nodes'
// phone sides through their control files (callmanager.ServiceState), and AXL doDeviceReset
// resets the phone process (phone.ResetSignal: it fetches CTL, ITL and configuration again).
// It runs as `ctlops lab serviceability-run --config FILE`; without a ctlops program the lab
// falls back to ctl-provider's simulator with synthetic phones (labPhones).

// serviceControlPath is the control file of a node's phone side (node: its directory name).
func (l *Lab) serviceControlPath(cluster, node string) string {
	return l.path("phones", "nodes", cluster+"-"+node+".services.json")
}

// risModels are RisPort70's Model codes (the typemodel enum) of the lab's phone models, as
// listed with Cisco's RisPort reference by third-party code [?]; other models answer 255,
// "Unknown".
var risModels = map[string]uint32{
	"CP-7960G": 7, "CP-7940G": 8, "CP-7941G": 115, "CP-7971G-GE": 119, "CP-7961G": 30018, "CP-7970G": 30006,
	"CP-7942G": 434, "CP-7945G": 435, "CP-7965G": 436, "CP-7975G": 437, "CP-7962G": 404,
	"CP-8841": 683, "CP-8851": 684, "CP-8861": 685, "CP-8831": 659,
}

func risModel(model string) uint32 {
	if m, ok := risModels[model]; ok {
		return m
	}
	return 255
}

// minReboot is the least time a reset lab phone is reported unregistered. A lab phone boots
// in a fraction of a second, a real one in a minute or more; RisPort70's TimeStamp has
// whole seconds, and a client tells a new registration from an old one by it.
const minReboot = 1100 * time.Millisecond

// pendingReset is a phone reset through AXL that has not registered again: its boot count
// then, so that the next boot is the one that counts.
type pendingReset struct {
	at    time.Time
	boots int
}

// labDevices is servicesim.Devices over one cluster's lab phones.
type labDevices struct {
	l       *Lab
	cluster string
	dirs    map[string]string // simulator node name -> node directory

	mu    sync.Mutex
	last  map[string]string // device name -> node it was last registered with
	reset map[string]pendingReset
	state map[string]callmanager.ServiceState
	logf  func(format string, a ...any)
}

// newLabDevices maps the simulator's nodes to the cluster's node directories (by name, else
// by position: both lists come from refserver.Nodes when the lab was made) and marks every
// service running, as the simulator starts with them Started.
func newLabDevices(l *Lab, cluster string, sc *servicesim.ServeConfig, logf func(string, ...any)) (*labDevices, error) {
	var nodes []*refserver.Config
	if cluster != Metro {
		dir, err := l.ClusterDir(cluster)
		if err != nil {
			return nil, err
		}
		if nodes, err = refserver.Nodes(dir); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(l.path("phones", "nodes"), 0o755); err != nil {
		return nil, err
	}
	d := &labDevices{l: l, cluster: cluster, dirs: map[string]string{}, last: map[string]string{}, reset: map[string]pendingReset{}, state: map[string]callmanager.ServiceState{}, logf: logf}
	for i, sn := range sc.Nodes {
		nd := ""
		if cluster == Metro {
			// metro's phone sides are named by the node names the simulator's config was made
			// with (createMetroPhones), which renames do not change on either side.
			nd = sn.Name
		}
		for _, n := range nodes {
			if n.Name == sn.Name {
				nd = filepath.Base(filepath.Dir(n.Path()))
			}
		}
		if nd == "" && i < len(nodes) {
			nd = filepath.Base(filepath.Dir(nodes[i].Path()))
		}
		if nd == "" {
			return nil, fmt.Errorf("serviceability node %s of %s: no such lab node", sn.Name, cluster)
		}
		d.dirs[sn.Name] = nd
		if err := callmanager.WriteServiceState(l.serviceControlPath(cluster, nd), callmanager.ServiceState{}); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Phones implements servicesim.Devices: each phone as its process last reported it. A phone
// whose process does not run is unregistered.
func (d *labDevices) Phones() []servicesim.Phone {
	pl, err := d.l.loadPhones()
	if err != nil {
		d.logf("RisPort70: %v", err)
		return nil
	}
	// The phones name the node by its current server name; the simulator by its own.
	simByName := map[string]string{}
	for _, pn := range pl.Nodes {
		if pn.Cluster != d.cluster {
			continue
		}
		name, _, _, err := d.l.nodeIdentity(&pn)
		if err != nil {
			continue
		}
		for sim, nd := range d.dirs {
			if nd == pn.Node {
				simByName[name] = sim
			}
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []servicesim.Phone
	for _, s := range pl.Phones {
		if s.Cluster != d.cluster {
			continue
		}
		p := servicesim.Phone{Name: "SEP" + strings.ToUpper(s.MAC), Model: risModel(s.Model), Protocol: s.Protocol,
			IP: "127.0.0.1", Status: servicesim.UnRegistered} // lab phones all speak from loopback
		st, err := d.l.phoneState(s)
		running := false
		for _, pr := range pl.Procs {
			running = running || (pr.Node == s.Name && alive(pr.PID, pr.Config))
		}
		if err == nil {
			p.TimeStamp = st.Updated.Unix()
		}
		if r, ok := d.reset[p.Name]; ok {
			if time.Since(r.at) < minReboot || err != nil || st.Boots <= r.boots || st.Booting {
				st.Registered = false // still rebooting
			} else {
				delete(d.reset, p.Name)
				p.TimeStamp = time.Now().Unix()
			}
		}
		if err == nil && running && st.Registered && st.Node != nil && simByName[*st.Node] != "" {
			p.Status, p.Node = servicesim.Registered, simByName[*st.Node]
			d.last[p.Name] = p.Node
		} else {
			// RisPort lists an unregistered device under the node it was last registered
			// with; one never seen registered is not listed.
			p.Node = d.last[p.Name]
		}
		out = append(out, p)
	}
	return out
}

func (d *labDevices) control(node string, f func(*callmanager.ServiceState)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	nd, ok := d.dirs[node]
	if !ok {
		return
	}
	st := d.state[nd]
	f(&st)
	d.state[nd] = st
	if err := callmanager.WriteServiceState(d.l.serviceControlPath(d.cluster, nd), st); err != nil {
		d.logf("node %s: %v", node, err)
	}
}

// CallManagerChanged implements servicesim.Devices.
func (d *labDevices) CallManagerChanged(node string, up bool) {
	d.control(node, func(st *callmanager.ServiceState) { st.CallManagerStopped = !up })
}

// TFTPChanged implements servicesim.Devices.
func (d *labDevices) TFTPChanged(node string, up bool) {
	d.control(node, func(st *callmanager.ServiceState) { st.TFTPStopped = !up })
}

// Reset implements servicesim.Devices: the phone process resets (ResetSignal) and boots again
// on its own, as a real phone does after doDeviceReset answers.
func (d *labDevices) Reset(name string) error {
	pl, err := d.l.loadPhones()
	if err != nil {
		return err
	}
	for _, s := range pl.Phones {
		if s.Cluster != d.cluster || !strings.EqualFold("SEP"+s.MAC, name) {
			continue
		}
		for _, pr := range pl.Procs {
			if pr.Node == s.Name && alive(pr.PID, pr.Config) {
				st, _ := d.l.phoneState(s)
				d.mu.Lock()
				d.reset["SEP"+strings.ToUpper(s.MAC)] = pendingReset{at: time.Now(), boots: st.Boots}
				d.mu.Unlock()
				return syscall.Kill(pr.PID, phone.ResetSignal)
			}
		}
		return fmt.Errorf("phone %s (%s) does not run", s.Name, name)
	}
	return servicesim.ErrNoDevice
}

// ProcessNodes implements servicesim.NodeLister: the cluster's nodes as they are named now,
// the publisher (the first node) first, so that AXL listProcessNode follows the lab's events.
func (d *labDevices) ProcessNodes() []string {
	if d.cluster == Metro {
		snap, err := d.l.metroState()
		if err != nil || snap == nil {
			d.logf("listProcessNode: %v", err)
			return nil
		}
		var out []string
		for _, n := range snap.Nodes {
			if n.Spec.Publisher {
				out = append([]string{n.Spec.Name}, out...)
			} else {
				out = append(out, n.Spec.Name)
			}
		}
		return out
	}
	dir, err := d.l.ClusterDir(d.cluster)
	if err != nil {
		return nil
	}
	nodes, err := refserver.Nodes(dir)
	if err != nil {
		d.logf("listProcessNode: %v", err)
		return nil
	}
	var out []string
	for _, n := range nodes {
		out = append(out, n.Name)
	}
	return out
}

// serviceabilityRunConfig is the file on the lab-backed simulator's command line.
func (l *Lab) serviceabilityRunConfig(clusterDir string) string {
	return l.path(clusterDir, serviceabilityDir, "run.json")
}

// RunServiceability is `ctlops lab serviceability-run --config FILE`: one cluster's Control
// Center Services, RisPort70 and AXL, backed by the lab's phones, until ctx ends.
func RunServiceability(ctx context.Context, cfgPath string, out io.Writer) error {
	pc, l, _, err := readProcConfig(cfgPath)
	if err != nil {
		return err
	}
	csDir := ""
	for _, cs := range l.serviceabilityClusters() {
		if cs.Name == pc.Cluster {
			csDir = cs.Dir
		}
	}
	if csDir == "" {
		return fmt.Errorf("%s: no cluster %q in the lab", cfgPath, pc.Cluster)
	}
	sc, err := servicesim.LoadServeConfig(l.serviceabilityConfig(csDir))
	if err != nil {
		return err
	}
	var mu sync.Mutex
	logf := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", a...)
	}
	dev, err := newLabDevices(l, pc.Cluster, sc, logf)
	if err != nil {
		return err
	}
	cl, err := servicesim.ServeWith(sc, dev)
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, n := range sc.Nodes {
		logf("ctlops lab: serviceability of node %s of %s serving %s (the lab's phones)", n.Name, sc.Cluster, cl.URL(n.Name))
	}
	<-ctx.Done()
	return nil
}
