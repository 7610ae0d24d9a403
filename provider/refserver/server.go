package refserver

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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

// RestartEvent records a service restart (R23); the lab has nothing to restart.
type RestartEvent struct {
	At       time.Time          `json:"at"`
	User     string             `json:"user"`
	Services []provider.Service `json:"services"`
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
	return n, nil
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

// Restarts returns the restarts recorded so far.
func (n *Node) Restarts() []RestartEvent {
	n.opMu.Lock()
	defer n.opMu.Unlock()
	return append([]RestartEvent(nil), n.st.Restarts...)
}

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

// ListenAndServe binds the config's addresses and serves until Close.
func (n *Node) ListenAndServe() error {
	cfg := n.Config()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", cfg.TFTPListen)
	if err != nil {
		ln.Close()
		return err
	}
	return n.Serve(ln, pc)
}

// Serve serves HTTPS on ln and TFTP on pc until Close.
func (n *Node) Serve(ln net.Listener, pc net.PacketConn) error {
	cfg := n.Config()
	lim := cfg.Limits.withDefaults()
	tc := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			n.current()
			n.mu.Lock()
			defer n.mu.Unlock()
			return n.cert, nil
		},
	}
	n.mu.Lock()
	n.httpSrv = &http.Server{
		Handler:           n.Handler(),
		TLSConfig:         tc,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          nil,
	}
	n.tftpSrv = tftp.NewServer(n.tftpRead, nil)
	n.tftpSrv.SetTimeout(2 * time.Second)
	n.tftpPC = pc
	hs, ts, closed := n.httpSrv, n.tftpSrv, n.closed
	n.mu.Unlock()
	if closed {
		ln.Close()
		pc.Close()
		return nil
	}

	errc := make(chan error, 2)
	go func() { errc <- ts.Serve(pc) }()
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	err := <-errc
	// Whichever stopped first, stop the other too and wait for it: a node is up or down.
	n.Close()
	<-errc
	if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Close stops both servers at once, as a killed node would.
func (n *Node) Close() {
	n.mu.Lock()
	hs, ts, pc := n.httpSrv, n.tftpSrv, n.tftpPC
	n.closed = true
	n.mu.Unlock()
	if hs != nil {
		hs.Close()
	}
	if ts != nil {
		// The library closes its connection only if Serve already stored it, and loops on
		// read errors until cancelled: cancel first, then close the socket ourselves.
		ts.Shutdown()
	}
	if pc != nil {
		pc.Close()
	}
}

// errFileNotFound is the text of TFTP error code 1 (RFC 1350) that clients show as is.
//
//lint:ignore ST1005 the wire text of TFTP error 1, as tftpd-hpa sends it
var errFileNotFound = errors.New("File not found")

// tftpRead serves files of the FileLocation, read-only, flat: the way phones fetch
// CTLFile.tlv (R4). Hidden files (temporaries, the lock) are never served.
func (n *Node) tftpRead(filename string, rf io.ReaderFrom) error {
	name := strings.TrimPrefix(filename, "/")
	if name == "" || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return errFileNotFound
	}
	cfg := n.Config()
	f, err := os.Open(filepath.Join(cfg.Abs(cfg.FileLocation), name))
	if err != nil {
		return errFileNotFound
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return errFileNotFound
	}
	if ot, ok := rf.(tftp.OutgoingTransfer); ok {
		ot.SetSize(fi.Size())
	}
	_, err = rf.ReadFrom(f)
	return err
}

// limiter counts failed logins per client address; past the limit the address gets 429
// until its window ends, whatever it sends.
type limiter struct {
	mu sync.Mutex
	m  map[string]*failures
}

type failures struct {
	count int
	start time.Time
}

func (l *limiter) blocked(addr string, lim Limits) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[addr]
	if f == nil || time.Since(f.start) > lim.LoginWindow {
		return 0, false
	}
	if f.count >= lim.LoginFailures {
		return lim.LoginWindow - time.Since(f.start), true
	}
	return 0, false
}

func (l *limiter) fail(addr string, lim Limits) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*failures{}
	}
	if len(l.m) > 10000 {
		for k, f := range l.m {
			if time.Since(f.start) > lim.LoginWindow {
				delete(l.m, k)
			}
		}
	}
	f := l.m[addr]
	if f == nil || time.Since(f.start) > lim.LoginWindow {
		f = &failures{start: time.Now()}
		l.m[addr] = f
	}
	f.count++
}

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
			writeErr(w, 500, provider.CodeInternal, "node config unreadable", nil)
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
		if wait, blocked := n.limit.blocked(remote, lim); blocked {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
			writeErr(w, http.StatusTooManyRequests, provider.CodeTooManyAttempts, "too many failed logins from "+remote+"; try again later", nil)
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || !n.checkCredentials(cfg, user, pass) {
			n.limit.fail(remote, lim)
			n.audit(AuditEntry{User: user, Remote: remote, Op: "login", Result: provider.CodeUnauthorized})
			w.Header().Set("WWW-Authenticate", `Basic realm="CTL Provider", charset="UTF-8"`)
			writeErr(w, http.StatusUnauthorized, provider.CodeUnauthorized, "user name or password is wrong", nil)
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

func knownPath(p string) bool {
	switch p {
	case "/v1/cluster", "/v1/node", "/v1/ctl", "/v1/lock", "/v1/lock/break", "/v1/mode", "/v1/restart":
		return true
	}
	return strings.HasPrefix(p, "/v1/lock/")
}

// checkCredentials compares the user in constant time and the password through the slow
// hash; a credential that passed once is remembered by its digest so that every request does
// not pay PBKDF2.
func (n *Node) checkCredentials(cfg *Config, user, pass string) bool {
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(cfg.Admin.User)) == 1
	key := sha256.Sum256([]byte(user + "\x00" + pass))
	n.mu.Lock()
	known := n.verified[key]
	n.mu.Unlock()
	if known {
		return userOK
	}
	passOK := CheckPassword(cfg.Admin.PasswordHash, pass)
	if userOK && passOK {
		n.mu.Lock()
		n.verified[key] = true
		n.mu.Unlock()
		return true
	}
	return false
}

// self is this node as the inventory lists it.
func (n *Node) self() provider.Server {
	cfg := n.Config()
	n.mu.Lock()
	certPEM, capfPEM := n.certPEM, n.capfPEM
	n.mu.Unlock()
	s := provider.Server{Name: cfg.Name, DNSName: cfg.DNSName, Provider: cfg.Listen}
	s.IPv4, _ = netip.ParseAddr(cfg.IPv4)
	for _, r := range cfg.Roles {
		s.Roles = append(s.Roles, provider.Role(r))
	}
	s.Certificates = []provider.Certificate{{Role: provider.RoleCCM, PEM: certPEM}}
	if cfg.CAPF && capfPEM != "" {
		s.Roles = append(s.Roles, provider.RoleCAPF)
		s.Certificates = append(s.Certificates, provider.Certificate{Role: provider.RoleCAPF, PEM: capfPEM})
	}
	return s
}

func (n *Node) inventory(servers []provider.Server) provider.Inventory {
	cfg := n.Config()
	n.opMu.Lock()
	mode, auto := n.st.Mode, n.st.AutoRegistration
	n.opMu.Unlock()
	return provider.Inventory{Cluster: cfg.Cluster, Version: cfg.Version, Mode: mode, AutoRegistration: auto,
		FileLocation: ReportedFileLocation, Servers: servers}
}

func (n *Node) getNode(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, n.inventory([]provider.Server{n.self()}))
}

// getCluster asks every peer for itself, with the caller's credentials (the same on every
// node, R25), so that a change on one node shows up in every node's inventory.
func (n *Node) getCluster(w http.ResponseWriter, r *http.Request) {
	cfg := n.Config()
	in := info(r)
	servers := make([]provider.Server, len(cfg.Peers)+1)
	servers[0] = n.self()
	var wg sync.WaitGroup
	for i, p := range cfg.Peers {
		wg.Add(1)
		go func(i int, p Peer) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(r.Context(), cfg.Limits.withDefaults().PeerTimeout)
			defer cancel()
			s, err := n.peer(cfg, p.Address, in).Node(ctx)
			if err != nil {
				servers[i+1] = provider.Server{Name: p.Name, Provider: p.Address, Error: err.Error()}
				return
			}
			servers[i+1] = *s
		}(i, p)
	}
	wg.Wait()
	sort.SliceStable(servers, func(i, j int) bool { return servers[i].Name < servers[j].Name })
	writeJSON(w, 200, n.inventory(servers))
}

func (n *Node) peer(cfg *Config, addr string, in reqInfo) *provider.Client {
	sum := sha256.Sum256([]byte(in.user + "\x00" + in.pass))
	key := addr + "\x00" + string(sum[:]) + cfg.Abs(cfg.CA)
	n.mu.Lock()
	defer n.mu.Unlock()
	if c := n.peers[key]; c != nil {
		return c
	}
	c, err := provider.NewClient(addr, provider.Options{Username: in.user, Password: in.pass,
		CAFile: cfg.Abs(cfg.CA), Timeout: cfg.Limits.withDefaults().PeerTimeout, Retries: -1})
	if err != nil {
		// A bad peer address: a client that fails on use, naming it.
		c, _ = provider.NewClient("invalid.invalid:1", provider.Options{CAPool: nil, Retries: -1})
	}
	n.peers[key] = c
	return c
}

func (n *Node) ctlDir() string {
	c := n.Config()
	return c.Abs(c.FileLocation)
}

// locationDir is the directory a request's ?location= names: the FileLocation itself, or the
// alternate location where this node keeps another cluster's CTL (R4, R17).
func (n *Node) locationDir(w http.ResponseWriter, r *http.Request) (string, bool) {
	loc := r.URL.Query().Get("location")
	if err := provider.CheckLocation(loc); err != nil {
		writeErr(w, 400, provider.CodeBadRequest, err.Error(), nil)
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
		writeErr(w, 404, provider.CodeNoCTL, "no "+provider.FileName+" in the FileLocation yet", nil)
		return
	}
	if err != nil {
		writeErr(w, 500, provider.CodeInternal, "reading "+provider.FileName+" failed", nil)
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
	w.WriteHeader(200)
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
		writeErr(w, 428, provider.CodeLockRequired, "changes need the update lock (R24): take it and send its id in "+provider.HeaderLock, nil)
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
		writeErr(w, 409, provider.CodeLockLost, msg, pub)
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

func (n *Node) putCTL(w http.ResponseWriter, r *http.Request) {
	in := info(r)
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeErr(w, 413, provider.CodeTooLarge, fmt.Sprintf("request body larger than %d bytes", mb.Limit), nil)
			return
		}
		writeErr(w, 400, provider.CodeBadRequest, "reading the body failed", nil)
		return
	}
	if len(data) > provider.MaxCTLSize {
		writeErr(w, 413, provider.CodeTooLarge, fmt.Sprintf("a CTL is at most %d bytes", provider.MaxCTLSize), nil)
		return
	}
	override := false
	if o := r.Header.Get(provider.HeaderOverride); o != "" {
		if !strings.EqualFold(o, "R19") {
			writeErr(w, 400, provider.CodeBadRequest, provider.HeaderOverride+": only R19 can be overridden", nil)
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
		writeErr(w, 428, provider.CodePreconditionReq, "send If-Match with the ETag of the CTL being replaced, or If-None-Match: * when there is none", nil)
		return
	}
	cur, err := provider.ReadCTLFile(dir)
	if err != nil && !errors.Is(err, provider.ErrNoCTL) {
		writeErr(w, 500, provider.CodeInternal, "reading the current CTL failed", nil)
		return
	}
	switch {
	case cur != nil && ifNone == "*":
		writeErr(w, 412, provider.CodeETagMismatch, "a CTL exists ("+provider.ETag(cur)+"); the write assumed none", nil)
		return
	case cur == nil && ifMatch != "":
		writeErr(w, 412, provider.CodeETagMismatch, "there is no CTL; the write expected "+strings.Trim(ifMatch, `"`), nil)
		return
	case cur != nil && !match(ifMatch, provider.ETag(cur)):
		writeErr(w, 412, provider.CodeETagMismatch, "the CTL is now "+provider.ETag(cur)+"; the write expected "+strings.Trim(ifMatch, `"`), nil)
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
		writeErr(w, 422, re.Code, re.Msg, nil)
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		writeErr(w, 500, provider.CodeInternal, "creating the alternate location failed", nil)
		return
	}
	if err := provider.WriteCTLFile(dir, data); err != nil {
		n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "write ctl", Result: provider.CodeInternal, Details: details})
		writeErr(w, 500, provider.CodeInternal, "writing the CTL failed; the previous file is in place", nil)
		return
	}
	n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "write ctl", Result: "ok", Details: details})
	res := provider.WriteResult{ETag: provider.ETag(data), Override: override, Location: r.URL.Query().Get("location")}
	if cur != nil {
		res.Previous = provider.ETag(cur)
	}
	w.Header().Set("ETag", `"`+res.ETag+`"`)
	writeJSON(w, 200, res)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeErr(w, 413, provider.CodeTooLarge, fmt.Sprintf("request body larger than %d bytes", mb.Limit), nil)
			return false
		}
		writeErr(w, 400, provider.CodeBadRequest, "bad JSON body: "+err.Error(), nil)
		return false
	}
	return true
}

func (n *Node) getLock(w http.ResponseWriter, r *http.Request) {
	n.opMu.Lock()
	l := n.heldLock()
	n.opMu.Unlock()
	if l == nil {
		writeErr(w, 404, provider.CodeNoLock, "the update lock is free", nil)
		return
	}
	writeJSON(w, 200, public(l))
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
		writeErr(w, 409, provider.CodeLocked, "the update lock is held by "+held.String(), public(held))
		return
	}
	now := time.Now().UTC()
	l := &provider.Lock{ID: provider.NewLockID(), User: req.User, Host: req.Host, Operation: req.Operation,
		Created: now, Expires: now.Add(provider.LeaseOf(req))}
	n.st.Lock = l
	if err := n.saveState(); err != nil {
		n.st.Lock = nil
		writeErr(w, 500, provider.CodeInternal, "saving the lock failed", nil)
		return
	}
	n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "take lock", Result: "ok",
		Details: map[string]string{"holder": l.String()}})
	writeJSON(w, 201, l)
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
		writeErr(w, 404, provider.CodeNoLock, "the update lock is free; take it again", nil)
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
		writeErr(w, 500, provider.CodeInternal, "saving the lock failed", nil)
		return
	}
	writeJSON(w, 200, &l)
}

func (n *Node) releaseLock(w http.ResponseWriter, r *http.Request) {
	in := info(r)
	n.opMu.Lock()
	defer n.opMu.Unlock()
	r.Header.Set(provider.HeaderLock, r.PathValue("id"))
	if n.heldLock() == nil {
		writeErr(w, 404, provider.CodeNoLock, "the update lock is free", nil)
		return
	}
	if !n.checkLock(w, r) {
		return
	}
	old := n.st.Lock
	n.st.Lock = nil
	if err := n.saveState(); err != nil {
		n.st.Lock = old
		writeErr(w, 500, provider.CodeInternal, "saving the lock failed", nil)
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
		writeErr(w, 404, provider.CodeNoLock, "the update lock is free", nil)
		return
	}
	n.st.Lock = nil
	if err := n.saveState(); err != nil {
		n.st.Lock = held
		writeErr(w, 500, provider.CodeInternal, "saving the lock failed", nil)
		return
	}
	n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "break lock", Result: "ok",
		Details: map[string]string{"holder": held.String()}})
	writeJSON(w, 200, public(held))
}

func (n *Node) setMode(w http.ResponseWriter, r *http.Request) {
	in := info(r)
	var req provider.ModeRequest
	if !decode(w, r, &req) {
		return
	}
	if _, err := provider.ParseMode(string(req.Mode)); err != nil {
		writeErr(w, 400, provider.CodeBadRequest, err.Error(), nil)
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
		writeErr(w, 500, provider.CodeInternal, "saving the mode failed", nil)
		return
	}
	n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "set mode", Result: "ok",
		Details: map[string]string{"from": string(old.Mode), "to": string(req.Mode)}})
	writeJSON(w, 200, map[string]any{"mode": n.st.Mode, "autoRegistration": n.st.AutoRegistration})
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
			writeErr(w, 400, provider.CodeBadRequest, fmt.Sprintf("unknown service %q (want callmanager or tftp)", s), nil)
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
		writeErr(w, 500, provider.CodeInternal, "recording the restart failed", nil)
		return
	}
	n.audit(AuditEntry{User: in.user, Remote: in.remote, Op: "restart", Result: "ok",
		Details: map[string]string{"services": strings.Join(names, ",")}})
	writeJSON(w, 200, ev)
}
