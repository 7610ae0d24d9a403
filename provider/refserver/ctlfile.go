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

func (n *Node) putCTL(w http.ResponseWriter, r *http.Request) {
	in := info(r)
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeErr(w, http.StatusRequestEntityTooLarge, provider.CodeTooLarge, fmt.Sprintf("request body larger than %d bytes", mb.Limit), nil)
			return
		}
		writeErr(w, http.StatusBadRequest, provider.CodeBadRequest, "reading the body failed", nil)
		return
	}
	if len(data) > provider.MaxCTLSize {
		writeErr(w, http.StatusRequestEntityTooLarge, provider.CodeTooLarge, fmt.Sprintf("a CTL is at most %d bytes", provider.MaxCTLSize), nil)
		return
	}
	override := false
	if o := r.Header.Get(provider.HeaderOverride); o != "" {
		if !strings.EqualFold(o, "R19") {
			writeErr(w, http.StatusBadRequest, provider.CodeBadRequest, provider.HeaderOverride+": only R19 can be overridden", nil)
			return
		}
		override = true
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
	ifMatch, ifNone := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	if ifMatch == "" && ifNone != "*" {
		writeErr(w, http.StatusPreconditionRequired, provider.CodePreconditionReq, "send If-Match with the ETag of the CTL being replaced, or If-None-Match: * when there is none", nil)
		return
	}
	cur, err := provider.ReadCTLFile(dir)
	if err != nil && !errors.Is(err, provider.ErrNoCTL) {
		writeErr(w, http.StatusInternalServerError, provider.CodeInternal, "reading the current CTL failed", nil)
		return
	}
	switch {
	case cur != nil && ifNone == "*":
		writeErr(w, http.StatusPreconditionFailed, provider.CodeETagMismatch, "a CTL exists ("+provider.ETag(cur)+"); the write assumed none", nil)
		return
	case cur == nil && ifMatch != "":
		writeErr(w, http.StatusPreconditionFailed, provider.CodeETagMismatch, "there is no CTL; the write expected "+strings.Trim(ifMatch, `"`), nil)
		return
	case cur != nil && !match(ifMatch, provider.ETag(cur)):
		writeErr(w, http.StatusPreconditionFailed, provider.CodeETagMismatch, "the CTL is now "+provider.ETag(cur)+"; the write expected "+strings.Trim(ifMatch, `"`), nil)
		return
	}
	details := map[string]string{"etag": provider.ETag(data), "lock": r.Header.Get(provider.HeaderLock)}
	if loc := r.URL.Query().Get("location"); loc != "" {
		details["location"] = loc
	}
	if cur != nil {
		details["previous"] = provider.ETag(cur)
	}
	if override {
		details["override"] = "R19"
	}
	if err := provider.CheckCTL(cur, data, override); err != nil {
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
