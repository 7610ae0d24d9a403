package refserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/provider"
)

func (n *Node) ctlDir() string {
	c := n.Config()
	return c.Abs(c.FileLocation)
}

// locationDir is the directory a request's ?location= names: the FileLocation itself, or the
// alternate location where this node keeps another cluster's CTL (R4, R17).
func (n *Node) locationDir(w http.ResponseWriter, r *http.Request) (string, bool) {
	loc := r.URL.Query().Get("location")
	if err := provider.CheckLocation(loc); err != nil {
		writeErr(w, http.StatusBadRequest, provider.CodeBadRequest, err.Error(), nil)
		return "", false
	}
	if loc == "" {
		return n.ctlDir(), true
	}
	return filepath.Join(n.ctlDir(), provider.AlternateDir, loc), true
}

func (n *Node) getCTL(w http.ResponseWriter, r *http.Request) {
	dir, ok := n.locationDir(w, r)
	if !ok {
		return
	}
	data, err := provider.ReadCTLFile(dir)
	if errors.Is(err, provider.ErrNoCTL) {
		writeErr(w, http.StatusNotFound, provider.CodeNoCTL, "no "+provider.FileName+" in the FileLocation yet", nil)
		return
	}
	if err != nil {
		writeErr(w, http.StatusInternalServerError, provider.CodeInternal, "reading "+provider.FileName+" failed", nil)
		return
	}
	etag := `"` + provider.ETag(data) + `"`
	w.Header().Set("ETag", etag)
	n.opMu.Lock()
	held := n.heldLock()
	n.opMu.Unlock()
	w.Header().Set(provider.HeaderLockHeld, provider.EncodeLockHeld(held))
	if loc := r.URL.Query().Get("location"); loc != "" {
		w.Header().Set(provider.HeaderLocation, loc)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if match(r.Header.Get("If-None-Match"), provider.ETag(data)) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// match reports whether an If-Match / If-None-Match list names etag (strong comparison).
func match(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == `"`+etag+`"` {
			return true
		}
	}
	return false
}

// putCTL replaces the CTL under the update lock (R24), if it is still the file the client
// read, after the checks of provider.CheckCTL: it parses, it verifies, and phones holding the
// installed file accept it (R19) unless the request carries Ctl-Override: R19.
func (n *Node) putCTL(w http.ResponseWriter, r *http.Request) {
	in := info(r)
	data, override, ok := readPut(w, r)
	if !ok {
		return
	}
	dir, ok := n.locationDir(w, r)
	if !ok {
		return
	}
	n.opMu.Lock()
	defer n.opMu.Unlock()
	if !n.checkLock(w, r) {
		return
	}
	cur, unreadable := provider.ReadCTLFile(dir)
	if errors.Is(unreadable, provider.ErrNoCTL) {
		cur, unreadable = nil, nil
	}
	if !checkPrecondition(w, r, cur, unreadable, override) {
		return
	}
	details := n.writeDetails(r, data, cur, unreadable, override)
	if err := provider.CheckInstalled(cur, unreadable, data, override); err != nil {
		var re *provider.RejectError
		errors.As(err, &re)
		n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "write ctl", Result: re.Code, Details: details})
		writeErr(w, http.StatusUnprocessableEntity, re.Code, re.Msg, nil)
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		writeErr(w, http.StatusInternalServerError, provider.CodeInternal, "creating the alternate location failed", nil)
		return
	}
	if err := provider.WriteCTLFile(dir, data); err != nil {
		n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "write ctl", Result: provider.CodeInternal, Details: details})
		writeErr(w, http.StatusInternalServerError, provider.CodeInternal, "writing the CTL failed; the previous file is in place", nil)
		return
	}
	n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "write ctl", Result: "ok", Details: details})
	res := provider.WriteResult{ETag: provider.ETag(data), Override: override, Location: r.URL.Query().Get("location")}
	if cur != nil {
		res.Previous = provider.ETag(cur)
	}
	w.Header().Set("ETag", `"`+res.ETag+`"`)
	writeJSON(w, http.StatusOK, res)
}

// readPut reads the body (at most a CTL) and the override header of a PUT /v1/ctl.
func readPut(w http.ResponseWriter, r *http.Request) (data []byte, override, ok bool) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeErr(w, http.StatusRequestEntityTooLarge, provider.CodeTooLarge, fmt.Sprintf("request body larger than %d bytes", mb.Limit), nil)
			return nil, false, false
		}
		writeErr(w, http.StatusBadRequest, provider.CodeBadRequest, "reading the body failed", nil)
		return nil, false, false
	}
	if len(data) > provider.MaxCTLSize {
		writeErr(w, http.StatusRequestEntityTooLarge, provider.CodeTooLarge, fmt.Sprintf("a CTL is at most %d bytes (ctl.MaxFileSize): phones load no more", provider.MaxCTLSize), nil)
		return nil, false, false
	}
	if o := r.Header.Get(provider.HeaderOverride); o != "" {
		if !strings.EqualFold(o, "R19") {
			writeErr(w, http.StatusBadRequest, provider.CodeBadRequest, provider.HeaderOverride+": only R19 can be overridden", nil)
			return nil, false, false
		}
		override = true
	}
	return data, override, true
}

// checkPrecondition answers a write whose If-Match / If-None-Match does not describe the
// installed file. An installed file that cannot be read has no ETag a client could have seen:
// only an explicit override may replace it, whatever the precondition says.
func checkPrecondition(w http.ResponseWriter, r *http.Request, cur []byte, unreadable error, override bool) bool {
	ifMatch, ifNone := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	if ifMatch == "" && ifNone != "*" {
		writeErr(w, http.StatusPreconditionRequired, provider.CodePreconditionReq, "send If-Match with the ETag of the CTL being replaced, or If-None-Match: * when there is none", nil)
		return false
	}
	if unreadable != nil {
		return true // CheckInstalled refuses unless overridden
	}
	want := strings.Trim(ifMatch, `"`)
	switch {
	case cur != nil && ifNone == "*":
		writeErr(w, http.StatusPreconditionFailed, provider.CodeETagMismatch, "a CTL exists ("+provider.ETag(cur)+"); the write assumed none", nil)
	case cur == nil && ifMatch != "":
		writeErr(w, http.StatusPreconditionFailed, provider.CodeETagMismatch, "there is no CTL; the write expected "+want, nil)
	case cur != nil && !match(ifMatch, provider.ETag(cur)):
		writeErr(w, http.StatusPreconditionFailed, provider.CodeETagMismatch, "the CTL is now "+provider.ETag(cur)+"; the write expected "+want, nil)
	default:
		return true
	}
	return false
}

// writeDetails is what the audit line of a write records. The lock is named by its holder,
// never by its id: the id is a capability, and the audit log is read by more people than
// hold locks.
func (n *Node) writeDetails(r *http.Request, data, cur []byte, unreadable error, override bool) map[string]string {
	details := map[string]string{"etag": provider.ETag(data)}
	if held := n.heldLock(); held != nil {
		details["lock"] = held.String()
	}
	if loc := r.URL.Query().Get("location"); loc != "" {
		details["location"] = loc
	}
	if cur != nil {
		details["previous"] = provider.ETag(cur)
	}
	if unreadable != nil {
		details["installed"] = "unreadable: " + unreadable.Error()
	} else if cur != nil {
		if _, err := ctl.Parse(cur); err != nil {
			details["installed"] = "does not parse: " + err.Error()
		}
	}
	if override {
		details["override"] = "R19"
	}
	return details
}
