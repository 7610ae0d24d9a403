package refserver

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pin/tftp/v3"

	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/provider"
)

// ReportedFileLocation is the FileLocation every lab node reports: CUCM's own path, the same on
// every server as R17 requires. The directory actually served is the config's fileLocation.
const ReportedFileLocation = "/usr/local/cm/tftp"

// Node is one running reference CTL Provider.
type Node struct {
	cfgPath string

	mu       sync.Mutex // guards the loaded config below
	cfg      *Config
	stamp    fileStamp
	cert     *tls.Certificate
	certPEM  string
	capfPEM  string
	verified map[[32]byte]bool // digests of credentials already checked against the hash
	peers    map[string]*provider.Client

	opMu sync.Mutex // serialises every change and the state file
	st   nodeState

	auditMu sync.Mutex
	limit   limiter

	httpSrv *http.Server
	tftpSrv *tftp.Server
	tftpPC  net.PacketConn
	closed  bool
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// nodeState is what a node persists besides its config and FileLocation.
type nodeState struct {
	Mode             provider.Mode  `json:"mode"`
	AutoRegistration bool           `json:"autoRegistration"`
	Lock             *provider.Lock `json:"lock,omitempty"`
	Restarts         []RestartEvent `json:"restarts,omitempty"`
}

// New loads a node from its config file and state directory.
func New(cfgPath string) (*Node, error) {
	n := &Node{cfgPath: cfgPath, verified: map[[32]byte]bool{}, peers: map[string]*provider.Client{}}
	if _, err := n.current(); err != nil {
		return nil, err
	}
	if err := n.loadState(); err != nil {
		return nil, err
	}
	if err := n.cleanTemp(); err != nil {
		return nil, err
	}
	return n, nil
}

// cleanTemp removes the temporary files a crash left in the FileLocation, its alternate
// locations and the state directory: nothing is writing there before the node starts.
func (n *Node) cleanTemp() error {
	cfg := n.Config()
	dirs := []string{cfg.Abs(cfg.FileLocation)}
	alts, _ := filepath.Glob(filepath.Join(cfg.Abs(cfg.FileLocation), provider.AlternateDir, "*"))
	dirs = append(dirs, alts...)
	for _, d := range dirs {
		if _, err := provider.CleanTemp(d); err != nil {
			return fmt.Errorf("%s: removing temporary files: %w", d, err)
		}
	}
	state, _ := filepath.Glob(filepath.Join(cfg.Abs(cfg.StateDir), ".*.tmp-*"))
	for _, f := range state {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing temporary file %s: %w", f, err)
		}
	}
	return nil
}

// current returns the config, reloading it (and the certificates) when the file changed, so
// that R22 events made by another process show up on the next request.
func (n *Node) current() (*Config, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fi, err := os.Stat(n.cfgPath)
	if err != nil {
		if n.cfg != nil {
			return n.cfg, nil // keep serving what was loaded (e.g. during RemoveNode)
		}
		return nil, err
	}
	st := fileStamp{fi.ModTime(), fi.Size()}
	if n.cfg != nil && st == n.stamp {
		return n.cfg, nil
	}
	cfg, err := LoadConfig(n.cfgPath)
	if err != nil {
		if n.cfg != nil {
			return n.cfg, nil
		}
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(cfg.Abs(cfg.Certificate), cfg.Abs(cfg.Key))
	if err != nil {
		return nil, fmt.Errorf("%s: certificate: %w", n.cfgPath, err)
	}
	certPEM, err := os.ReadFile(cfg.Abs(cfg.Certificate))
	if err != nil {
		return nil, err
	}
	capfPEM := ""
	if cfg.CAPFCertificate != "" {
		b, err := os.ReadFile(cfg.Abs(cfg.CAPFCertificate))
		if err != nil {
			return nil, err
		}
		capfPEM = string(b)
	}
	if n.cfg == nil || n.cfg.Admin.PasswordHash != cfg.Admin.PasswordHash {
		n.verified = map[[32]byte]bool{}
	}
	n.cfg, n.stamp, n.cert, n.certPEM, n.capfPEM = cfg, st, &cert, string(certPEM), capfPEM
	return cfg, nil
}

// Reload makes the node re-read its config now rather than at the next request.
func (n *Node) Reload() error {
	n.mu.Lock()
	n.stamp = fileStamp{}
	n.mu.Unlock()
	_, err := n.current()
	return err
}

// Config returns the node's current config.
func (n *Node) Config() *Config {
	c, _ := n.current()
	return c
}

func (n *Node) statePath() string {
	c := n.Config()
	return filepath.Join(c.Abs(c.StateDir), "state.json")
}

func (n *Node) loadState() error {
	n.opMu.Lock()
	defer n.opMu.Unlock()
	data, err := os.ReadFile(n.statePath())
	if errors.Is(err, os.ErrNotExist) {
		n.st = nodeState{Mode: provider.ModeNonSecure, AutoRegistration: true}
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &n.st); err != nil {
		return fmt.Errorf("%s: %w", n.statePath(), err)
	}
	if _, err := provider.ParseMode(string(n.st.Mode)); err != nil {
		return fmt.Errorf("%s: %w", n.statePath(), err)
	}
	return nil
}

// saveState must be called with opMu held.
func (n *Node) saveState() error {
	data, err := json.MarshalIndent(n.st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(n.statePath(), data, 0o600)
}
