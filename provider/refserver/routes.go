package refserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ctlops/ctlops/provider"
)

type ctxKey struct{}

type reqInfo struct {
	user, pass, remote string
}

func info(r *http.Request) reqInfo { return r.Context().Value(ctxKey{}).(reqInfo) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string, lock *provider.Lock) {
	writeJSON(w, status, provider.ErrorBody{Code: code, Message: msg, Lock: lock})
}

// Handler is the protocol's HTTP handler (without TLS), for Serve and for tests.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/cluster", n.getCluster)
	mux.HandleFunc("GET /v1/node", n.getNode)
	mux.HandleFunc("GET /v1/ctl", n.getCTL)
	mux.HandleFunc("PUT /v1/ctl", n.putCTL)
	mux.HandleFunc("GET /v1/lock", n.getLock)
	mux.HandleFunc("POST /v1/lock", n.takeLock)
	mux.HandleFunc("POST /v1/lock/break", n.breakLock)
	mux.HandleFunc("PUT /v1/lock/{id}", n.renewLock)
	mux.HandleFunc("DELETE /v1/lock/{id}", n.releaseLock)
	mux.HandleFunc("PUT /v1/mode", n.setMode)
	mux.HandleFunc("POST /v1/restart", n.restart)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg, err := n.current()
		if err != nil {
			writeErr(w, http.StatusInternalServerError, provider.CodeInternal, "node config unreadable", nil)
			return
		}
		lim := cfg.Limits.withDefaults()
		if cfg.Delay > 0 {
			t := time.NewTimer(cfg.Delay)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		remote := r.RemoteAddr
		if ap, err := netip.ParseAddrPort(remote); err == nil {
			remote = ap.Addr().String()
		}
		user, pass, ok := r.BasicAuth()
		if !ok {
			// Nothing to evaluate, nothing to count: a request without credentials costs no
			// hash and must not use up anyone's budget.
			w.Header().Set("WWW-Authenticate", `Basic realm="CTL Provider", charset="UTF-8"`)
			writeErr(w, http.StatusUnauthorized, provider.CodeUnauthorized, "this request carries no credentials", nil)
			return
		}
		if !n.login(w, cfg, lim, remote, user, pass) {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, lim.MaxBody)
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, reqInfo{user, pass, remote}))
		if _, pat := mux.Handler(r); pat == "" {
			if strings.HasPrefix(r.URL.Path, "/v1/") && knownPath(r.URL.Path) {
				writeErr(w, http.StatusMethodNotAllowed, provider.CodeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path, nil)
				return
			}
			writeErr(w, http.StatusNotFound, provider.CodeNotFound, "no operation at "+r.URL.Path, nil)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// login admits the request's credentials or answers 401 or 429 (see limiter).
func (n *Node) login(w http.ResponseWriter, cfg *Config, lim Limits, remote, user, pass string) bool {
	if n.knownGood(cfg, user, pass) {
		return true
	}
	key := userKey(cfg, user)
	tk, admitted, wait := n.limit.admit(remote, key, time.Now(), lim)
	if !admitted {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		writeErr(w, http.StatusTooManyRequests, provider.CodeTooManyAttempts,
			"too many failed logins from "+remote+" or for this user; credentials not checked, try again in "+strconv.Itoa(int(wait/time.Second)+1)+"s", nil)
		return false
	}
	good := n.checkCredentials(cfg, user, pass)
	n.limit.settle(tk, good)
	if !good {
		n.audit(AuditEntry{User: user, Remote: remote, Op: "login", Result: provider.CodeUnauthorized})
		w.Header().Set("WWW-Authenticate", `Basic realm="CTL Provider", charset="UTF-8"`)
		writeErr(w, http.StatusUnauthorized, provider.CodeUnauthorized, "user name or password is wrong", nil)
		return false
	}
	return true
}

func knownPath(p string) bool {
	switch p {
	case "/v1/cluster", "/v1/node", "/v1/ctl", "/v1/lock", "/v1/lock/break", "/v1/mode", "/v1/restart":
		return true
	}
	return strings.HasPrefix(p, "/v1/lock/")
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeErr(w, http.StatusRequestEntityTooLarge, provider.CodeTooLarge, fmt.Sprintf("request body larger than %d bytes", mb.Limit), nil)
			return false
		}
		writeErr(w, http.StatusBadRequest, provider.CodeBadRequest, "bad JSON body: "+err.Error(), nil)
		return false
	}
	return true
}
