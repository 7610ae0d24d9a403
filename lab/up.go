package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ctlops/ctlops/provider/refserver"
	"github.com/ctlops/ctlops/spec"
)

// UpOptions say where and how to start the lab.
type UpOptions struct {
	Dir string
	// Provider is the ctl-provider binary; "" finds it (FindProvider).
	Provider string
	// SoftwareKeys signs with key files even when SoftHSM2 is available.
	SoftwareKeys bool
	// Fresh stops and deletes an existing lab in Dir and makes a new one; without it, a
	// stopped lab is started again as it was (its CTLs, tokens and ports kept).
	Fresh bool
	// Out receives progress and notices; nil discards them.
	Out io.Writer
	// Phones per cluster (0: 4 on hq, 2 elsewhere; negative: none), and the ctlops program
	// their processes run ("" finds it, see FindCtlops). See phones_up.go.
	Phones int
	Ctlops string
}

// Up makes and starts the lab in o.Dir, or starts again a lab that was stopped there. It
// refuses a directory whose lab runs, and a non-empty directory that holds no lab.
func Up(ctx context.Context, o UpOptions) (*Lab, error) {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Dir == "" {
		o.Dir = DefaultDir
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	bin, err := FindProvider(o.Provider)
	if err != nil {
		return nil, err
	}
	_, statErr := os.Stat(filepath.Join(dir, StateFile))
	hasLab := statErr == nil
	if hasLab && o.Fresh {
		if _, err := Down(dir, true); err != nil {
			return nil, err
		}
		hasLab = false
	}
	if hasLab {
		return restart(dir, bin, o)
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%s is not empty and holds no lab (no %s): choose another --dir", dir, StateFile)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	unlockOnce, err := lock(dir)
	if err != nil {
		return nil, err
	}
	unlocked := false
	unlock := func() {
		if !unlocked {
			unlocked = true
			unlockOnce()
		}
	}
	defer unlock()
	l := &Lab{Dir: dir, State: State{Version: 1, Created: time.Now().UTC().Truncate(time.Second), Provider: bin}}
	if err := l.create(ctx, o); err != nil {
		// The directory was missing or empty and no node runs yet: leave nothing half made,
		// so that the next `lab up` does not find a directory that holds no lab.
		unlock()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("making the lab in %s: %w", dir, err)
	}
	// Recorded before any process starts, so that `lab down` finds whatever did start.
	if err := l.save(); err != nil {
		return nil, err
	}
	if err := l.startAll(); err != nil {
		_ = l.stopAll()
		return nil, err
	}
	if err := l.upPhones(o); err != nil {
		_, _ = l.StopPhones()
		_ = l.stopAll()
		return nil, err
	}
	return l, nil
}

// create writes the clusters, tokens, spec and env file.
func (l *Lab) create(ctx context.Context, o UpOptions) error {
	layout := []struct {
		name  string
		nodes int
	}{{HQ, 3}, {Branch, 1}}
	total := 0
	for _, c := range layout {
		total += c.nodes
	}
	tcp, udp, err := freePorts(total)
	if err != nil {
		return err
	}
	for _, c := range layout {
		opt := refserver.InitOptions{Dir: l.path(c.name), Cluster: c.name, Nodes: c.nodes}
		for i := 0; i < c.nodes; i++ {
			opt.Listen = append(opt.Listen, loopback(tcp[0]))
			opt.TFTPListen = append(opt.TFTPListen, loopback(udp[0]))
			tcp, udp = tcp[1:], udp[1:]
		}
		if _, err := refserver.Init(opt); err != nil {
			return err
		}
		l.State.Clusters = append(l.State.Clusters, ClusterState{Name: c.name, Dir: c.name})
	}
	// Node names are unique across the lab (branch's are br1, br2…), so that a bare node name
	// is enough in `lab event`.
	if err := refserver.Rename(l.path(Branch), "cm1", "br1"); err != nil {
		return err
	}
	hq := l.path(HQ)
	// hq's publisher runs CAPF from the start; cm3 is a TFTP-only node (R2: TFTP entries exist
	// apart from CallManager ones).
	if err := refserver.EnableCAPF(hq); err != nil {
		return err
	}
	if err := refserver.UpdateConfig(filepath.Join(hq, "cm3", refserver.NodeConfig), func(c *refserver.Config) error {
		c.Roles = []string{"TFTP"}
		return nil
	}); err != nil {
		return err
	}
	if err := l.initMetro(); err != nil { // metro: a tokenless CUCM (metro.go)
		return err
	}
	if err := l.initServiceability(); err != nil { // after metro, which has one too
		return err
	}
	if err := l.makeTokens(ctx, o.SoftwareKeys, o.Out); err != nil {
		return err
	}
	if err := l.writeSpec(); err != nil {
		return err
	}
	if err := l.writeEnv(); err != nil {
		return err
	}
	// What the lab writes must load: a lab that hands a newcomer an invalid spec is broken.
	if _, _, err := spec.Load(l.path(SpecFile)); err != nil {
		return fmt.Errorf("the lab's own %s does not load: %w", SpecFile, err)
	}
	return nil
}

func restart(dir, bin string, o UpOptions) (*Lab, error) {
	out := o.Out
	unlock, err := lock(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	l, err := Open(dir)
	if err != nil {
		return nil, err
	}
	st, err := l.Status()
	if err != nil {
		return nil, err
	}
	running := 0
	for _, n := range st {
		if n.PID != 0 {
			running++
		}
	}
	if running == len(st) {
		return nil, fmt.Errorf("%w in %s (%d nodes; see `ctlops lab status --dir %s`); stop it with `ctlops lab down --dir %s`, or start over with `ctlops lab up --fresh --dir %s`",
			ErrRunning, dir, len(st), dir, dir, dir)
	}
	fmt.Fprintf(out, "starting the stopped lab in %s again (its CTLs, tokens and ports kept; --fresh starts over)\n", dir)
	l.State.Provider = bin
	if err := l.startAll(); err != nil {
		return nil, err
	}
	if err := l.upPhones(o); err != nil {
		return nil, err
	}
	return l, nil
}

// startAll starts every node of every cluster that is not running, recording each pid as soon
// as it is known.
func (l *Lab) startAll() error {
	for _, cs := range l.State.Clusters {
		nodes, err := refserver.Nodes(l.path(cs.Dir))
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if err := l.startNode(cs.Name, n.Path()); err != nil {
				return err
			}
		}
	}
	if err := l.startServiceability(); err != nil {
		return err
	}
	return l.startMetro()
}

// startNode starts the node of cfg unless it runs already.
func (l *Lab) startNode(cluster, cfg string) error {
	node := filepath.Base(filepath.Dir(cfg))
	keep := l.State.Procs[:0]
	for _, p := range l.State.Procs {
		if p.Config == cfg {
			if alive(p.PID, cfg) {
				return nil
			}
			continue
		}
		keep = append(keep, p)
	}
	l.State.Procs = keep
	logPath := l.path("logs", cluster+"-"+node+".log")
	pid, err := start(l.State.Provider, cfg, logPath)
	if err != nil {
		return fmt.Errorf("%s/%s: %w", cluster, node, err)
	}
	l.State.Procs = append(l.State.Procs, Proc{Cluster: cluster, Node: node, Config: cfg, PID: pid, Log: logPath})
	return l.save()
}

func (l *Lab) stopAll() error {
	var errs []error
	for _, p := range l.State.Procs {
		if err := stop(p.PID, p.Config); err != nil {
			errs = append(errs, err)
		}
	}
	l.State.Procs = nil
	if err := l.save(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Down stops every node of the lab in dir and waits until each has exited. With purge it then
// deletes the lab directory (only a directory holding a lab.json). A lab already stopped, or
// no lab at all, is not an error: Down is safe to run twice. It returns what it did, in words.
func Down(dir string, purge bool) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	l, err := Open(abs)
	if errors.Is(err, ErrNoLab) {
		return fmt.Sprintf("no lab in %s: nothing to stop", abs), nil
	}
	if err != nil {
		return "", err
	}
	unlock, err := lock(abs)
	if err != nil {
		return "", err
	}
	var stopped []string
	sims := 0
	for _, p := range l.State.Procs {
		if p.Node == serviceabilityDir {
			if alive(p.PID, p.Config) {
				sims++ // a cluster's serviceability simulator, not a node
			}
			continue
		}
		if alive(p.PID, p.Config) {
			if p.Node == metroProc { // one simulator process serves every metro node
				stopped = append(stopped, l.metroStopped(p.PID)...)
				continue
			}
			name := p.Node
			if c, err := refserver.LoadConfig(p.Config); err == nil {
				name = c.Name // after a rename, the node's name is no longer its directory's
			}
			stopped = append(stopped, fmt.Sprintf("%s/%s (pid %d)", p.Cluster, name, p.PID))
		}
	}
	phones, perr := l.StopPhones()
	err = errors.Join(perr, l.stopAll())
	unlock()
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("stopped %d node(s) of the lab in %s", len(stopped), abs)
	if len(stopped) > 0 {
		msg += ": " + strings.Join(stopped, ", ")
		if sims > 0 {
			msg += fmt.Sprintf(", and %d cluster(s)' serviceability simulator", sims)
		}
	} else {
		msg = fmt.Sprintf("the lab in %s was not running", abs)
	}
	if phones > 0 {
		msg += fmt.Sprintf("; stopped %d phone process(es)", phones)
	}
	if purge {
		if err := os.RemoveAll(abs); err != nil {
			return "", err
		}
		msg += "; deleted " + abs
	} else {
		msg += "; its files stay (logs, CTLs, audit logs); `ctlops lab up` starts it again"
	}
	return msg, nil
}
