// Package lab runs the built-in lab: simulated CallManager clusters made of reference CTL
// Providers (provider/refserver, one `ctl-provider serve` process per node) on loopback ports,
// SoftHSM2 tokens standing in for eTokens, and a ready ctlops.yaml and lab.env, so that a
// newcomer sees plan, apply and drift work on one machine with nothing of theirs, and the
// end-to-end tests run against the same thing.
//
// Everything lives in one directory (default .ctlops-lab): lab.json records what runs where
// (the pid of each node process, by the config it serves), so that `lab status`, `lab event` and
// `lab down` work from any later process. Nodes are started detached (their own session) and
// outlive `lab up`; `lab down` stops them by recorded pid, never by name.
//
// `lab event` causes on a running lab what R22 says forces a CTL update (a new IP or host name,
// a new certificate, a node added or removed, CAPF enabled), plus two things a drift check must
// catch that no R22 event covers: a CTL file corrupted on disk and a validly signed file pushed
// outside ctlops.
package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ctlops/ctlops/internal/atomicfile"
)

// DefaultDir is where the lab lives when no --dir is given.
const DefaultDir = ".ctlops-lab"

// Files of a lab directory.
const (
	StateFile = "lab.json"
	SpecFile  = "ctlops.yaml"
	EnvFile   = "lab.env"
	lockFile  = ".lab.lock"
)

// Cluster names and layout of the lab: hq is a publisher (CCM, TFTP, CAPF), a subscriber (CCM,
// TFTP) and a TFTP-only node; branch is one node that serves as hq's alternate TFTP (R15, R17).
const (
	HQ     = "hq"
	Branch = "branch"
)

// Token labels: the first two are declared in ctlops.yaml (R16 wants two), the first signs;
// the third is kept ready for an "add a token" step.
var TokenLabels = []string{"lab-alice", "lab-bob", "lab-carol"}

// Env variables lab.env exports for the providers' passwords (the spec references them).
var PasswordEnv = map[string]string{HQ: "LAB_HQ_PASSWORD", Branch: "LAB_BRANCH_PASSWORD"}

// ErrRunning: lab up on a directory whose lab already runs.
var ErrRunning = errors.New("the lab is already running")

// ErrNoLab: the directory holds no lab.
var ErrNoLab = errors.New("no lab")

// State is lab.json.
type State struct {
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	// Provider is the ctl-provider binary the nodes run.
	Provider string         `json:"provider"`
	Clusters []ClusterState `json:"clusters"`
	Tokens   TokenState     `json:"tokens"`
	Procs    []Proc         `json:"procs"`
}

// ClusterState is one refserver cluster directory, relative to the lab directory.
type ClusterState struct {
	Name string `json:"name"`
	Dir  string `json:"dir"`
}

// TokenState says how the lab signs.
type TokenState struct {
	// Kind is "softhsm" (real PKCS#11 tokens) or "software" (key files, when SoftHSM2 is
	// missing).
	Kind   string   `json:"kind"`
	Module string   `json:"module,omitempty"`
	Conf   string   `json:"conf,omitempty"` // SOFTHSM2_CONF
	Labels []string `json:"labels"`
	// PINFile holds the lab PIN of every token (a lab PIN is no secret, but it is kept out of
	// lab.json so that printing the state prints no PIN).
	PINFile string `json:"pinFile,omitempty"`
}

// Proc is one running node process. Node is the node's directory name inside its cluster
// directory: it stays the same when the node is renamed (R22).
type Proc struct {
	Cluster string `json:"cluster"`
	Node    string `json:"node"`
	Config  string `json:"config"` // absolute path of node.yaml, on the process's command line
	PID     int    `json:"pid"`
	Log     string `json:"log"`
}

// Lab is an opened lab directory.
type Lab struct {
	Dir   string
	State State
}

func (l *Lab) path(p ...string) string { return filepath.Join(append([]string{l.Dir}, p...)...) }

// ClusterDir is the refserver directory of a cluster.
func (l *Lab) ClusterDir(name string) (string, error) {
	for _, c := range l.State.Clusters {
		if c.Name == name {
			return l.path(c.Dir), nil
		}
	}
	var names []string
	for _, c := range l.State.Clusters {
		names = append(names, c.Name)
	}
	return "", fmt.Errorf("no cluster %q in the lab (clusters: %s)", name, strings.Join(names, ", "))
}

// Open reads the lab in dir.
func Open(dir string) (*Lab, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(abs, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s: start one with `ctlops lab up --dir %s`", ErrNoLab, abs, dir)
	}
	if err != nil {
		return nil, err
	}
	l := &Lab{Dir: abs}
	if err := json.Unmarshal(data, &l.State); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(abs, StateFile), err)
	}
	if l.State.Version != 1 {
		return nil, fmt.Errorf("%s: version %d, this ctlops knows 1", filepath.Join(abs, StateFile), l.State.Version)
	}
	return l, nil
}

func (l *Lab) save() error {
	sort.Slice(l.State.Procs, func(i, j int) bool {
		a, b := l.State.Procs[i], l.State.Procs[j]
		if a.Cluster != b.Cluster {
			return clusterOrder(a.Cluster) < clusterOrder(b.Cluster)
		}
		return a.Node < b.Node
	})
	data, err := json.MarshalIndent(l.State, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(l.path(StateFile), append(data, '\n'), 0o644)
}

func clusterOrder(name string) string {
	switch name {
	case HQ:
		return "0"
	case Branch:
		return "1"
	}
	return "2" + name
}

// lock serialises lab commands on one directory (two `lab event add-node` at once would pick
// the same node name). The lock is released when the returned function runs or the process
// dies.
func lock(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%s: another ctlops lab command holds the lab: %w", dir, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
