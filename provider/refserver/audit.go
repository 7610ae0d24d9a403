package refserver

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// AuditEntry is one line of the node's audit log (state/audit.log, JSON lines).
type AuditEntry struct {
	Time    time.Time         `json:"time"`
	Node    string            `json:"node"`
	User    string            `json:"user"`
	Remote  string            `json:"remote"`
	Op      string            `json:"op"`
	Result  string            `json:"result"` // "ok" or an error code
	Details map[string]string `json:"details,omitempty"`
}

func (n *Node) auditPath() string {
	c := n.Config()
	return filepath.Join(c.Abs(c.StateDir), "audit.log")
}

func (n *Node) audit(e AuditEntry) {
	e.Time = time.Now().UTC()
	e.Node = n.Config().Name
	line, _ := json.Marshal(e)
	n.auditMu.Lock()
	defer n.auditMu.Unlock()
	f, err := os.OpenFile(n.auditPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
	_ = f.Sync()
}

// Audit returns the node's audit log.
func (n *Node) Audit() ([]AuditEntry, error) {
	n.auditMu.Lock()
	defer n.auditMu.Unlock()
	data, err := os.ReadFile(n.auditPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []AuditEntry
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e AuditEntry
		if l == "" {
			continue
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
