package refserver

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ctlops/ctlops/provider"
)

// RestartEvent records a service restart (R23); the lab has nothing to restart.
type RestartEvent struct {
	At       time.Time          `json:"at"`
	User     string             `json:"user"`
	Services []provider.Service `json:"services"`
}

// Restarts returns the restarts recorded so far.
func (n *Node) Restarts() []RestartEvent {
	n.opMu.Lock()
	defer n.opMu.Unlock()
	return append([]RestartEvent(nil), n.st.Restarts...)
}

func (n *Node) setMode(w http.ResponseWriter, r *http.Request) {
	in := info(r)
	var req provider.ModeRequest
	if !decode(w, r, &req) {
		return
	}
	if _, err := provider.ParseMode(string(req.Mode)); err != nil {
		writeErr(w, http.StatusBadRequest, provider.CodeBadRequest, err.Error(), nil)
		return
	}
	n.opMu.Lock()
	defer n.opMu.Unlock()
	if !n.checkLock(w, r) {
		return
	}
	old := n.st
	n.st.Mode = req.Mode
	n.st.AutoRegistration = req.Mode == provider.ModeNonSecure // R11
	if err := n.saveState(); err != nil {
		n.st = old
		writeErr(w, http.StatusInternalServerError, provider.CodeInternal, "saving the mode failed", nil)
		return
	}
	n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "set mode", Result: "ok",
		Details: map[string]string{"from": string(old.Mode), "to": string(req.Mode)}})
	writeJSON(w, http.StatusOK, map[string]any{"mode": n.st.Mode, "autoRegistration": n.st.AutoRegistration})
}

func (n *Node) restart(w http.ResponseWriter, r *http.Request) {
	in := info(r)
	var req provider.RestartRequest
	if !decode(w, r, &req) {
		return
	}
	if len(req.Services) == 0 {
		req.Services = []provider.Service{provider.ServiceCallManager, provider.ServiceTFTP}
	}
	var names []string
	for _, s := range req.Services {
		if s != provider.ServiceCallManager && s != provider.ServiceTFTP {
			writeErr(w, http.StatusBadRequest, provider.CodeBadRequest, fmt.Sprintf("unknown service %q (want callmanager or tftp)", s), nil)
			return
		}
		names = append(names, string(s))
	}
	n.opMu.Lock()
	defer n.opMu.Unlock()
	if !n.checkLock(w, r) {
		return
	}
	ev := RestartEvent{At: time.Now().UTC(), User: in.user, Services: req.Services}
	n.st.Restarts = append(n.st.Restarts, ev)
	if len(n.st.Restarts) > 100 { // keep the state file small; the audit log has them all
		n.st.Restarts = n.st.Restarts[len(n.st.Restarts)-100:]
	}
	if err := n.saveState(); err != nil {
		n.st.Restarts = n.st.Restarts[:len(n.st.Restarts)-1]
		writeErr(w, http.StatusInternalServerError, provider.CodeInternal, "recording the restart failed", nil)
		return
	}
	n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "restart", Result: "ok",
		Details: map[string]string{"services": strings.Join(names, ",")}})
	writeJSON(w, http.StatusOK, ev)
}
