package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ctlops/ctlops/internal/redact"
	"github.com/ctlops/ctlops/internal/termsafe"
)

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

// scrub removes the credentials this client sends from a server's words (internal/redact).
func (c *Client) scrub(s string) string {
	return redact.BasicAuth(s, c.opt.Username, c.opt.Password)
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
		e.Code, e.Message = termsafe.Line(truncate(c.scrub(body.Code), 64)), termsafe.Line(truncate(c.scrub(body.Message), 512))
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
	// The mode is shown in every view and compared with the spec's: only the two of R9.
	if _, err := ParseMode(string(inv.Mode)); err != nil {
		return nil, c.fail("get cluster", fmt.Errorf("the answer's security mode \"%s\" is neither %q nor %q (R9)", termsafe.Line(truncate(string(inv.Mode), 64)), ModeMixed, ModeNonSecure))
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
	data, etag, _, err := c.getCTL(ctx)
	return data, etag, err
}

// getCTL is CTL with the response's headers, for CTLAndLock (ctllock.go).
func (c *Client) getCTL(ctx context.Context) ([]byte, string, http.Header, error) {
	resp, data, err := c.do(ctx, "get ctl", http.MethodGet, c.ctlPath(), nil, nil, MaxCTLSize)
	if err != nil {
		return nil, "", nil, err
	}
	if got := resp.Header.Get(HeaderLocation); got != c.opt.Location {
		return nil, "", nil, c.fail("get ctl", fmt.Errorf("asked for alternate location %q, the server answered for %q: it does not support alternate locations (PROTOCOL.md)", c.opt.Location, got))
	}
	etag := ETag(data)
	if got := strings.Trim(resp.Header.Get("ETag"), `"`); got != etag {
		return nil, "", nil, c.fail("get ctl", fmt.Errorf("ETag %q is not the SHA-256 of the %d bytes received", got, len(data)))
	}
	return data, etag, resp.Header, nil
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
