package refserver

import (
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/ctlops/ctlops/provider"
)

// heldLock returns the live lock (nil when none or expired); opMu held.
func (n *Node) heldLock() *provider.Lock {
	if n.st.Lock != nil && time.Now().After(n.st.Lock.Expires) {
		return nil
	}
	return n.st.Lock
}

// checkLock answers for a change made without the held lock; opMu held.
func (n *Node) checkLock(w http.ResponseWriter, r *http.Request) bool {
	id := r.Header.Get(provider.HeaderLock)
	if id == "" {
		writeErr(w, http.StatusPreconditionRequired, provider.CodeLockRequired, "changes need the update lock (R24): take it and send its id in "+provider.HeaderLock, nil)
		return false
	}
	held := n.heldLock()
	if held == nil || subtle.ConstantTimeCompare([]byte(held.ID), []byte(id)) != 1 {
		msg := "the lock " + id + " is not held (expired, released or broken)"
		var pub *provider.Lock
		if held != nil {
			pub = public(held)
			msg += "; held by " + held.String()
		}
		writeErr(w, http.StatusConflict, provider.CodeLockLost, msg, pub)
		return false
	}
	return true
}

// public is a lock as shown to others: without its id, which is the holder's capability.
func public(l *provider.Lock) *provider.Lock {
	c := *l
	c.ID = ""
	return &c
}

func (n *Node) getLock(w http.ResponseWriter, r *http.Request) {
	n.opMu.Lock()
	l := n.heldLock()
	n.opMu.Unlock()
	if l == nil {
		writeErr(w, http.StatusNotFound, provider.CodeNoLock, "the update lock is free", nil)
		return
	}
	writeJSON(w, http.StatusOK, public(l))
}

func (n *Node) takeLock(w http.ResponseWriter, r *http.Request) {
	in := info(r)
	var req provider.LockRequest
	if !decode(w, r, &req) {
		return
	}
	if req.User == "" {
		req.User = in.user
	}
	if req.Host == "" {
		req.Host = in.remote
	}
	n.opMu.Lock()
	defer n.opMu.Unlock()
	if held := n.heldLock(); held != nil {
		writeErr(w, http.StatusConflict, provider.CodeLocked, "the update lock is held by "+held.String(), public(held))
		return
	}
	now := time.Now().UTC()
	l := &provider.Lock{ID: provider.NewLockID(), User: req.User, Host: req.Host, Operation: req.Operation,
		Created: now, Expires: now.Add(provider.LeaseOf(req))}
	n.st.Lock = l
	if err := n.saveState(); err != nil {
		n.st.Lock = nil
		writeErr(w, http.StatusInternalServerError, provider.CodeInternal, "saving the lock failed", nil)
		return
	}
	n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "take lock", Result: "ok",
		Details: map[string]string{"holder": l.String()}})
	writeJSON(w, http.StatusCreated, l)
}

func (n *Node) renewLock(w http.ResponseWriter, r *http.Request) {
	var req provider.RenewRequest
	if !decode(w, r, &req) {
		return
	}
	n.opMu.Lock()
	defer n.opMu.Unlock()
	r.Header.Set(provider.HeaderLock, r.PathValue("id"))
	if n.heldLock() == nil {
		writeErr(w, http.StatusNotFound, provider.CodeNoLock, "the update lock is free; take it again", nil)
		return
	}
	if !n.checkLock(w, r) {
		return
	}
	l := *n.st.Lock
	l.Expires = time.Now().UTC().Add(provider.LeaseOf(provider.LockRequest{LeaseSec: req.LeaseSec}))
	old := n.st.Lock
	n.st.Lock = &l
	if err := n.saveState(); err != nil {
		n.st.Lock = old
		writeErr(w, http.StatusInternalServerError, provider.CodeInternal, "saving the lock failed", nil)
		return
	}
	writeJSON(w, http.StatusOK, &l)
}

func (n *Node) releaseLock(w http.ResponseWriter, r *http.Request) {
	in := info(r)
	n.opMu.Lock()
	defer n.opMu.Unlock()
	r.Header.Set(provider.HeaderLock, r.PathValue("id"))
	if n.heldLock() == nil {
		writeErr(w, http.StatusNotFound, provider.CodeNoLock, "the update lock is free", nil)
		return
	}
	if !n.checkLock(w, r) {
		return
	}
	old := n.st.Lock
	n.st.Lock = nil
	if err := n.saveState(); err != nil {
		n.st.Lock = old
		writeErr(w, http.StatusInternalServerError, provider.CodeInternal, "saving the lock failed", nil)
		return
	}
	n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "release lock", Result: "ok"})
	w.WriteHeader(http.StatusNoContent)
}

func (n *Node) breakLock(w http.ResponseWriter, r *http.Request) {
	in := info(r)
	n.opMu.Lock()
	defer n.opMu.Unlock()
	held := n.heldLock()
	if held == nil {
		writeErr(w, http.StatusNotFound, provider.CodeNoLock, "the update lock is free", nil)
		return
	}
	n.st.Lock = nil
	if err := n.saveState(); err != nil {
		n.st.Lock = held
		writeErr(w, http.StatusInternalServerError, provider.CodeInternal, "saving the lock failed", nil)
		return
	}
	n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "break lock", Result: "ok",
		Details: map[string]string{"holder": held.String()}})
	writeJSON(w, http.StatusOK, public(held))
}
