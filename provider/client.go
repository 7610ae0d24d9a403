package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ctlops/ctlops/internal/safefile"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// Options configure every transport; each uses the fields that apply to it.
type Options struct {
	// Username and Password are the cluster admin's (R25). The password is sent only inside
	// TLS and never appears in an error.
	Username string
	Password string

	// The server's certificate is verified against CAFile or CAPool, or pinned by the SHA-256
	// of its DER (lower-case hex, colons allowed), or both. With neither, the system roots are
	// used: there is no way to switch verification off.
	CAFile string
	CAPool *x509.CertPool
	Pins   []string

	// Timeout bounds each request or TFTP transfer; 30 s when zero.
	Timeout time.Duration
	// Retries is how many times an idempotent read is retried after a network error or a
	// 502/503/504; 2 when zero, none when negative.
	Retries int

	// Location selects an alternate file location on the server: the place a TFTP server
	// keeps another cluster's CTL when it serves as that cluster's alternate TFTP server
	// (R4, R17). "" is the server's own FileLocation. Only the CTL Provider protocol has it.
	Location string
}

// CheckLocation accepts alternate location names: a cluster name, as plain as a path element.
func CheckLocation(name string) error {
	if name == "" {
		return nil
	}
	if len(name) > 64 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" || strings.HasPrefix(name, ".") {
		return fmt.Errorf("alternate location %q: want 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'", name)
	}
	return nil
}

func (o Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 30 * time.Second
	}
	return o.Timeout
}

func (o Options) retries() int {
	switch {
	case o.Retries < 0:
		return 0
	case o.Retries == 0:
		return 2
	}
	return o.Retries
}

// Open returns a read-only view of the server at source: "host[:port]" or "https://host[:port]"
// for the CTL Provider protocol, "tftp://host[:port]" or "dir://path". The value returned has
// no write methods, so a caller holding a Reader cannot write even by a type assertion.
func Open(source string, opt Options) (Reader, error) {
	if err := checkLocationSource(source, opt); err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(source, "tftp://"):
		return NewTFTPReader(strings.TrimPrefix(source, "tftp://"), opt)
	case strings.HasPrefix(source, "dir://"):
		d, err := NewDir(strings.TrimPrefix(source, "dir://"))
		if err != nil {
			return nil, err
		}
		return readOnly{d}, nil
	}
	c, err := NewClient(source, opt)
	if err != nil {
		return nil, err
	}
	return readOnly{c}, nil
}

// OpenWriter is Open for apply: the HTTPS client or a directory.
func OpenWriter(source string, opt Options) (Writer, error) {
	if err := checkLocationSource(source, opt); err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(source, "tftp://"):
		return nil, fmt.Errorf("%s: TFTP is read-only; write through the CTL Provider or a dir:// FileLocation", source)
	case strings.HasPrefix(source, "dir://"):
		return NewDir(strings.TrimPrefix(source, "dir://"))
	}
	return NewClient(source, opt)
}

// checkLocationSource refuses an alternate location where the transport has none.
func checkLocationSource(source string, opt Options) error {
	if opt.Location == "" {
		return nil
	}
	if strings.HasPrefix(source, "tftp://") || strings.HasPrefix(source, "dir://") {
		return fmt.Errorf("%s: alternate file locations are reached through the CTL Provider only", source)
	}
	return CheckLocation(opt.Location)
}

// NodeReader is a Reader that can also describe the node itself: what the planner reads of an
// alternate TFTP server (its certificate, R15).
type NodeReader interface {
	Reader
	Node(ctx context.Context) (*Server, error)
}

// OpenNode is Open for a CTL Provider whose own description is needed; like Open it hands out
// a value with no write methods.
func OpenNode(addr string, opt Options) (NodeReader, error) {
	if err := checkLocationSource(addr, opt); err != nil {
		return nil, err
	}
	c, err := NewClient(addr, opt)
	if err != nil {
		return nil, err
	}
	return readOnlyNode{readOnly{c}, c}, nil
}

type readOnlyNode struct {
	readOnly
	c *Client
}

func (r readOnlyNode) Node(ctx context.Context) (*Server, error) { return r.c.Node(ctx) }

type readOnly struct{ r Reader }

func (r readOnly) Name() string                                    { return r.r.Name() }
func (r readOnly) Cluster(ctx context.Context) (*Inventory, error) { return r.r.Cluster(ctx) }
func (r readOnly) CTL(ctx context.Context) ([]byte, string, error) { return r.r.CTL(ctx) }

// Client speaks the CTL Provider protocol of PROTOCOL.md to one node.
type Client struct {
	name    string // host:port
	base    string // https://host:port/v1
	opt     Options
	http    *http.Client
	retries int
}

// NewClient prepares a client for addr ("host", "host:port" or "https://host:port"); it does
// not connect.
func NewClient(addr string, opt Options) (*Client, error) {
	hostport := strings.TrimSuffix(strings.TrimPrefix(addr, "https://"), "/")
	if strings.Contains(hostport, "://") || strings.Contains(hostport, "/") || hostport == "" {
		return nil, fmt.Errorf("%s: not a CTL Provider address (want host[:port])", addr)
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(strings.Trim(hostport, "[]"), strconv.Itoa(DefaultPort))
	}
	tc, err := tlsConfig(opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hostport, err)
	}
	// The system roots vouch for any host with a public certificate, so a password is sent
	// only where the caller named the trust: a CA or a pinned certificate (the spec's tls:,
	// which spec.Config.Pin can hold to the trusted connections).
	if opt.Password != "" && opt.CAPool == nil && opt.CAFile == "" && len(opt.Pins) == 0 {
		return nil, fmt.Errorf("%s: refusing to send credentials without a CA or a pinned certificate to check the server against", hostport)
	}
	// One transport per trust configuration, shared by the clients that have it, so that
	// connections and TLS sessions outlive a client (transport_pool.go).
	tr := sharedTransport(tc, opt.timeout())
	if err := CheckLocation(opt.Location); err != nil {
		return nil, fmt.Errorf("%s: %w", hostport, err)
	}
	name := hostport
	if opt.Location != "" {
		name += " (alternate location " + opt.Location + ")"
	}
	return &Client{
		name: name,
		base: "https://" + hostport + "/" + ProtocolVersion,
		opt:  opt,
		http: &http.Client{
			// No Client.Timeout: do() bounds every call, retries included, with a context, so
			// that the error can say how it ran out.
			Transport: httpsOnly{tr},
			// The protocol has no redirects (PROTOCOL.md): a 3xx is handed back unfollowed
			// and once() turns it into an error naming the server. Following one would send
			// the credentials wherever the answer points, plain http included (issue 12).
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		retries: opt.retries(),
	}, nil
}

// httpsOnly refuses every request that would leave without TLS. Nothing in the client builds
// an http:// URL, so this is the second lock on the door: whatever code is added later, the
// Authorization header never crosses the network in clear. The transport it wraps has no Proxy
// set, so HTTPS_PROXY and friends cannot divert requests either.
type httpsOnly struct{ rt http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("refusing a %s:// request to %s: the CTL Provider protocol is HTTPS only", req.URL.Scheme, termsafe.String(req.URL.Host))
	}
	return h.rt.RoundTrip(req)
}

// sessionCaches holds one TLS session cache per trust configuration (CA certificates and
// pins), shared by every client that trusts the same way: a drift check of a fleet opens
// several clients per node and check, and resuming a session spares the full handshake.
// Sessions are never shared between configurations, because a resumed session is not checked
// against the roots again.
var sessionCaches sync.Map // trust key -> tls.ClientSessionCache

func sessionCache(pool *x509.CertPool, caPEM []byte, pins []string) tls.ClientSessionCache {
	// The pool by identity: callers that keep their pool (spec.TLS.CertPool does) share
	// sessions; two pools are never taken for one, whatever they hold.
	h := sha256.New()
	fmt.Fprintf(h, "%p\x00%s\x00", pool, strings.Join(pins, ","))
	h.Write(caPEM)
	key := hex.EncodeToString(h.Sum(nil))
	c, _ := sessionCaches.LoadOrStore(key, tls.NewLRUClientSessionCache(256))
	return c.(tls.ClientSessionCache)
}

// CipherSuites are the TLS 1.2 suites the client and the reference server offer: ECDHE with
// an AEAD only (AES-GCM, ChaCha20-Poly1305); no CBC, no RSA key exchange. TLS 1.3 suites are
// all AEAD and not configurable.
var CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

func tlsConfig(opt Options) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: CipherSuites}
	pool := opt.CAPool
	var caPEM []byte
	if opt.CAFile != "" {
		pem, err := safefile.Read(opt.CAFile, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		if pool == nil {
			pool = x509.NewCertPool()
		} else {
			pool = pool.Clone()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", opt.CAFile)
		}
		caPEM = pem
	}
	tc.RootCAs = pool
	tc.ClientSessionCache = sessionCache(opt.CAPool, caPEM, opt.Pins)
	if len(opt.Pins) == 0 {
		return tc, nil
	}
	pins := map[string]bool{}
	for _, p := range opt.Pins {
		p = strings.ToLower(strings.ReplaceAll(p, ":", ""))
		if b, err := hex.DecodeString(p); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("pin %q is not a SHA-256 fingerprint (64 hex digits)", p)
		}
		pins[p] = true
	}
	// With pins and no CA the chain is not checked by crypto/tls, but VerifyConnection
	// refuses every certificate whose digest is not pinned: verified, by a different rule.
	checkChain := pool != nil
	tc.InsecureSkipVerify = !checkChain
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("server sent no certificate")
		}
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		fp := hex.EncodeToString(sum[:])
		if !pins[fp] {
			return fmt.Errorf("server certificate sha256 %s is not pinned", fp)
		}
		return nil
	}
	return tc, nil
}

// Name returns host:port.
func (c *Client) Name() string { return c.name }

func (c *Client) fail(op string, err error) error {
	var pe *Error
	if errors.As(err, &pe) {
		return err
	}
	return &Error{Server: c.name, Op: op, Err: err}
}

// do sends one request, retrying idempotent ones, and returns the response with its body read
// (at most max bytes) or an *Error for every non-2xx status.
// do sends one request, retrying idempotent ones, and returns the response with its body read
// (at most max bytes) or an *Error for every non-2xx status. The whole call, retries
// included, ends by Options.Timeout: a retry is made only while time is left, and a call that
// runs out says "no answer in 30s (3 tries)".
func (c *Client) do(parent context.Context, op, method, path string, hdr http.Header, body []byte, max int64) (*http.Response, []byte, error) {
	attempts := 1
	if method == http.MethodGet || method == http.MethodHead {
		attempts += c.retries
	}
	total := c.opt.timeout()
	ctx, cancel := context.WithTimeout(parent, total)
	defer cancel()
	var lastErr error
	tries := 0
	for i := 0; i < attempts; i++ {
		if i > 0 {
			t := time.NewTimer(time.Duration(100<<(i-1)) * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
			if ctx.Err() != nil {
				break
			}
		}
		tries++
		resp, data, err := c.once(ctx, op, method, path, hdr, body, max)
		if err == nil {
			return resp, data, nil
		}
		lastErr = err
		var pe *Error
		if errors.As(err, &pe) && pe.Status != 0 && pe.Status != 502 && pe.Status != 503 && pe.Status != 504 {
			return nil, nil, err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if parent.Err() != nil {
		return nil, nil, c.fail(op, parent.Err())
	}
	if ctx.Err() != nil {
		return nil, nil, &Error{Server: c.name, Op: op, Message: fmt.Sprintf("no answer in %s (%s)", total, plural(tries, "try", "tries")), Err: context.DeadlineExceeded}
	}
	return nil, nil, lastErr
}

func (c *Client) once(ctx context.Context, op, method, path string, hdr http.Header, body []byte, max int64) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, nil, c.fail(op, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.opt.Username != "" || c.opt.Password != "" {
		req.SetBasicAuth(c.opt.Username, c.opt.Password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, c.fail(op, err)
	}
	defer resp.Body.Close()
	data, err := readBody(resp.Body, resp.ContentLength, max)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // a body cut short by the deadline may end as if it were whole
	}
	if err != nil {
		return nil, nil, c.fail(op, fmt.Errorf("reading response: %w", err))
	}
	if int64(len(data)) > max {
		return nil, nil, c.fail(op, fmt.Errorf("response larger than %d bytes", max))
	}
	if resp.StatusCode/100 == 3 {
		return nil, nil, c.redirectError(op, resp)
	}
	if resp.StatusCode/100 != 2 {
		return nil, nil, c.statusError(op, resp, data)
	}
	return resp, data, nil
}

// ErrRedirect is wrapped by the error for any 3xx answer: the protocol has none, so a server
// that redirects is misconfigured or hostile, and the redirect is never followed.
var ErrRedirect = errors.New("redirect refused: the CTL Provider protocol has no redirects")

func (c *Client) redirectError(op string, resp *http.Response) error {
	msg := "answered with a redirect; the CTL Provider protocol has none, so it is not followed and no request goes there"
	if loc := resp.Header.Get("Location"); loc != "" {
		msg = fmt.Sprintf("answered with a redirect to %q; the CTL Provider protocol has none, so it is not followed and no request goes there", termsafe.Line(truncate(loc, 200)))
	}
	return &Error{Server: c.name, Op: op, Status: resp.StatusCode, Message: msg, Err: ErrRedirect}
}

// truncate bounds a string from a server before it goes into an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (c *Client) statusError(op string, resp *http.Response, data []byte) error {
	e := &Error{Server: c.name, Op: op, Status: resp.StatusCode}
	var body ErrorBody
	if json.Unmarshal(data, &body) == nil && body.Code != "" {
		// Everything in the body is the server's word: bounded and made safe for a terminal
		// before it goes into an error anyone prints.
		e.Code, e.Message = termsafe.Line(truncate(body.Code, 64)), termsafe.Line(truncate(body.Message, 512))
		if l := body.Lock; l != nil {
			e.Holder = &Lock{User: termsafe.Line(truncate(l.User, 128)), Host: termsafe.Line(truncate(l.Host, 128)),
				Operation: termsafe.Line(truncate(l.Operation, 128)), Created: l.Created, Expires: l.Expires}
		}
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	switch {
	case e.Code == CodeNoCTL:
		e.Err = ErrNoCTL
	case e.Code == CodeLocked:
		e.Err = ErrLocked
	case e.Code == CodeNoLock || e.Code == CodeLockLost || e.Code == CodeLockRequired:
		e.Err = ErrNotLocked
	case e.Code == CodeETagMismatch || e.Code == CodePreconditionReq:
		e.Err = ErrConflict
	case e.Code == CodeCTLInvalid || e.Code == CodeCTLSignature || e.Code == CodeCTLUntrusted:
		e.Err = ErrRejected
	case e.Code == CodeUnsupported:
		e.Err = errors.ErrUnsupported
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Err = ErrThrottled
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 && s < 86400 {
			e.RetryAfter = time.Duration(s) * time.Second
		}
		e.Message = fmt.Sprintf("throttled: %s (retry after %s)", e.Message, e.RetryAfter)
	case resp.StatusCode == http.StatusUnauthorized:
		e.Err = ErrUnauthorized
	}
	return e
}

const maxJSON = 4 << 20

func (c *Client) getJSON(ctx context.Context, op, path string, v any) error {
	_, data, err := c.do(ctx, op, http.MethodGet, path, nil, nil, maxJSON)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return c.fail(op, fmt.Errorf("bad JSON answer: %w", err))
	}
	return nil
}

func (c *Client) sendJSON(ctx context.Context, op, method, path, lockID string, in, out any) error {
	hdr := http.Header{"Content-Type": {"application/json"}}
	if lockID != "" {
		hdr.Set(HeaderLock, lockID)
	}
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return c.fail(op, err)
		}
	}
	_, data, err := c.do(ctx, op, method, path, hdr, body, maxJSON)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return c.fail(op, fmt.Errorf("bad JSON answer: %w", err))
		}
	}
	return nil
}

// Cluster returns the node's view of its cluster, certificates parsed.
func (c *Client) Cluster(ctx context.Context) (*Inventory, error) {
	var inv Inventory
	if err := c.getJSON(ctx, "get cluster", "/cluster", &inv); err != nil {
		return nil, err
	}
	if err := inv.ParseCertificates(); err != nil {
		return nil, c.fail("get cluster", err)
	}
	return &inv, nil
}

// Node returns this node alone, as peers see it.
func (c *Client) Node(ctx context.Context) (*Server, error) {
	var inv Inventory
	if err := c.getJSON(ctx, "get node", "/node", &inv); err != nil {
		return nil, err
	}
	if err := inv.ParseCertificates(); err != nil {
		return nil, c.fail("get node", err)
	}
	if len(inv.Servers) != 1 {
		return nil, c.fail("get node", fmt.Errorf("answer lists %d servers, want 1", len(inv.Servers)))
	}
	return &inv.Servers[0], nil
}

// ctlPath is /ctl, or /ctl?location=NAME for an alternate file location.
func (c *Client) ctlPath() string {
	if c.opt.Location == "" {
		return "/ctl"
	}
	return "/ctl?location=" + url.QueryEscape(c.opt.Location)
}

// CTL returns the current file and checks that the server's ETag is its digest.
func (c *Client) CTL(ctx context.Context) ([]byte, string, error) {
	resp, data, err := c.do(ctx, "get ctl", http.MethodGet, c.ctlPath(), nil, nil, MaxCTLSize)
	if err != nil {
		return nil, "", err
	}
	if got := resp.Header.Get(HeaderLocation); got != c.opt.Location {
		return nil, "", c.fail("get ctl", fmt.Errorf("asked for alternate location %q, the server answered for %q: it does not support alternate locations (PROTOCOL.md)", c.opt.Location, got))
	}
	etag := ETag(data)
	if got := strings.Trim(resp.Header.Get("ETag"), `"`); got != etag {
		return nil, "", c.fail("get ctl", fmt.Errorf("ETag %q is not the SHA-256 of the %d bytes received", got, len(data)))
	}
	return data, etag, nil
}

// WriteCTL replaces the file under the lock, if it is still the one with opt.IfMatch.
func (c *Client) WriteCTL(ctx context.Context, data []byte, opt WriteOptions) (string, error) {
	hdr := http.Header{"Content-Type": {"application/octet-stream"}}
	if opt.LockID != "" {
		hdr.Set(HeaderLock, opt.LockID)
	}
	if opt.IfMatch == "" {
		hdr.Set("If-None-Match", "*")
	} else {
		hdr.Set("If-Match", `"`+opt.IfMatch+`"`)
	}
	if opt.OverrideR19 {
		hdr.Set(HeaderOverride, "R19")
	}
	_, out, err := c.do(ctx, "write ctl", http.MethodPut, c.ctlPath(), hdr, data, maxJSON)
	if err != nil {
		return "", err
	}
	var res WriteResult
	if err := json.Unmarshal(out, &res); err != nil {
		return "", c.fail("write ctl", fmt.Errorf("bad JSON answer: %w", err))
	}
	if res.ETag != ETag(data) {
		return "", c.fail("write ctl", fmt.Errorf("server stored ETag %s, sent %s", res.ETag, ETag(data)))
	}
	if res.Location != c.opt.Location {
		return "", c.fail("write ctl", fmt.Errorf("wrote to alternate location %q, the server reports %q: it does not support alternate locations (PROTOCOL.md)", c.opt.Location, res.Location))
	}
	return res.ETag, nil
}

// GetLock returns the current holder, or an error wrapping ErrNotLocked.
func (c *Client) GetLock(ctx context.Context) (*Lock, error) {
	var l Lock
	if err := c.getJSON(ctx, "get lock", "/lock", &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// Lock takes the update lock (R24); when another client holds it the error wraps ErrLocked and
// its Holder says who.
func (c *Client) Lock(ctx context.Context, req LockRequest) (*Lock, error) {
	if req.Lease > 0 {
		req.LeaseSec = int((req.Lease + time.Second - 1) / time.Second)
	}
	var l Lock
	if err := c.sendJSON(ctx, "take lock", http.MethodPost, "/lock", "", req, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// RenewLock extends the lease of a lock this client holds.
func (c *Client) RenewLock(ctx context.Context, id string, lease time.Duration) (*Lock, error) {
	var l Lock
	req := RenewRequest{LeaseSec: int((lease + time.Second - 1) / time.Second)}
	if err := c.sendJSON(ctx, "renew lock", http.MethodPut, "/lock/"+id, "", req, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// ReleaseLock gives the lock back.
func (c *Client) ReleaseLock(ctx context.Context, id string) error {
	return c.sendJSON(ctx, "release lock", http.MethodDelete, "/lock/"+id, "", nil, nil)
}

// BreakLock removes the lock whoever holds it; the server records who broke it.
func (c *Client) BreakLock(ctx context.Context) (*Lock, error) {
	var l Lock
	if err := c.sendJSON(ctx, "break lock", http.MethodPost, "/lock/break", "", nil, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// SetMode sets the node's security mode (R10; mixed turns auto-registration off, R11).
func (c *Client) SetMode(ctx context.Context, lockID string, mode Mode) error {
	return c.sendJSON(ctx, "set mode", http.MethodPut, "/mode", lockID, ModeRequest{Mode: mode}, nil)
}

// Restart restarts the named services on the node (R23).
func (c *Client) Restart(ctx context.Context, lockID string, services []Service) error {
	return c.sendJSON(ctx, "restart services", http.MethodPost, "/restart", lockID, RestartRequest{Services: services}, nil)
}

// CloseIdleConnections releases pooled connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }
