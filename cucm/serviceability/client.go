package serviceability

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ctlops/ctlops/internal/redact"
	"github.com/ctlops/ctlops/internal/termsafe"
)

// URL paths of the services on Tomcat (port 8443 on a real node).
const (
	ControlCenterPath = "/controlcenterservice2/services/ControlCenterServices"
	RisPortPath       = "/realtimeservice2/services/RISService70"
	AXLPath           = "/axl/"
)

// DefaultAXLVersion is the AXL schema version of the WSDL this package follows.
const DefaultAXLVersion = "14.0"

// Limits on an answer.
const (
	DefaultTimeout     = 30 * time.Second
	DefaultMaxResponse = 8 << 20 // a RisPort70 page of 1000 devices is ~1.5 MiB
)

// Options configure a Client.
type Options struct {
	// Node is the name the node goes by in the cluster (Control Center's NodeName, and the
	// name every error starts with). Defaults to the URL's host.
	Node string
	// Username and Password are the CCM application user's (HTTP Basic). The password never
	// appears in an error, and neither does the user name.
	Username string
	Password string
	// RootCAs verifies the node's Tomcat certificate; nil means the system roots. There is
	// no way to switch verification off.
	RootCAs *x509.CertPool
	// Timeout bounds each request; DefaultTimeout when zero.
	Timeout time.Duration
	// MaxResponse bounds each answer's body; DefaultMaxResponse when zero.
	MaxResponse int64
	// AXLVersion is the schema version in AXL's namespace and SOAPAction; DefaultAXLVersion
	// when empty.
	AXLVersion string
}

// Client talks to one node's serviceability and AXL services.
type Client struct {
	base string // https://host:port
	opt  Options
	http *http.Client
}

// New prepares a client for base ("https://host:port"); it does not connect.
func New(base string, opt Options) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil || u.RawQuery != "" {
		return nil, fmt.Errorf("serviceability URL %q: want https://host[:port]", termsafe.Line(base))
	}
	if opt.Node == "" {
		opt.Node = u.Hostname()
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.MaxResponse <= 0 {
		opt.MaxResponse = DefaultMaxResponse
	}
	if opt.AXLVersion == "" {
		opt.AXLVersion = DefaultAXLVersion
	}
	if !validAXLVersion(opt.AXLVersion) {
		return nil, fmt.Errorf("AXL version %q: want major.minor such as 14.0", termsafe.Line(opt.AXLVersion))
	}
	tr := &http.Transport{
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: opt.RootCAs},
		DialContext:           (&net.Dialer{Timeout: opt.Timeout}).DialContext,
		TLSHandshakeTimeout:   opt.Timeout,
		ResponseHeaderTimeout: opt.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
	}
	return &Client{
		base: "https://" + u.Host,
		opt:  opt,
		http: &http.Client{Transport: tr, Timeout: opt.Timeout, CheckRedirect: noRedirect},
	}, nil
}

// noRedirect keeps the Authorization header from following a redirect anywhere: a node that
// redirects a SOAP POST is answering wrongly, and the error says where it pointed.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func validAXLVersion(v string) bool {
	maj, min, ok := strings.Cut(v, ".")
	return ok && digits(maj) && digits(min) && len(maj) <= 2 && len(min) <= 2
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// Node is the node name errors start with.
func (c *Client) Node() string { return c.opt.Node }

// CloseIdleConnections releases pooled connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// call posts one SOAP request and decodes the answer's operation element into out.
func (c *Client) call(ctx context.Context, service, path, action string, body []byte, want xml.Name, out any) error {
	data, status, err := c.post(ctx, path, action, body)
	if err != nil {
		return c.fail(service, action, err)
	}
	err = decodeEnvelope(data, want, out)
	var f *Fault
	if errors.As(err, &f) {
		return c.fail(service, action, err)
	}
	if status != http.StatusOK {
		return c.fail(service, action, fmt.Errorf("HTTP %d: %s", status, clip(c.scrubText(string(data)))))
	}
	if err != nil {
		return c.fail(service, action, err)
	}
	return nil
}

// Error is every failure of a call: which node, which service and operation, and why.
type Error struct {
	Node      string
	Service   string // "Control Center", "RisPort70", "AXL"
	Operation string
	Err       error
}

// Error is filtered whole: besides the node's words (faults, error pages), the transport's
// errors quote the node too (a TLS error names its certificate's names).
func (e *Error) Error() string {
	return termsafe.Line(e.Node + ": " + e.Service + " " + e.Operation + ": " + e.Err.Error())
}

func (e *Error) Unwrap() error { return e.Err }

// ErrUnauthorized is what a 401 becomes: the application user's credentials were refused.
var ErrUnauthorized = errors.New("HTTP 401: the application user's credentials were refused")

func (c *Client) fail(service, op string, err error) error {
	return &Error{Node: c.opt.Node, Service: service, Operation: op, Err: c.scrub(err)}
}

func (c *Client) post(ctx context.Context, path, action string, body []byte) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+action+`"`)
	req.SetBasicAuth(c.opt.Username, c.opt.Password)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, c.scrub(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.opt.MaxResponse+1))
	if err != nil {
		return nil, 0, c.scrub(err)
	}
	if int64(len(data)) > c.opt.MaxResponse {
		return nil, 0, fmt.Errorf("answer larger than %d bytes", c.opt.MaxResponse)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusInternalServerError: // a SOAP 1.1 fault comes with 500
		return data, resp.StatusCode, nil
	case http.StatusUnauthorized:
		return nil, 0, ErrUnauthorized
	case http.StatusForbidden:
		return nil, 0, errors.New("HTTP 403: the application user lacks the role for this API")
	default:
		if loc := resp.Header.Get("Location"); loc != "" {
			return nil, 0, fmt.Errorf("HTTP %d redirect to %s", resp.StatusCode, termsafe.Line(loc))
		}
		return nil, 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, clip(c.scrubText(string(data))))
	}
}

// scrub removes the credentials from an error text (scrubText); an error that held one loses
// its chain, which held it too.
func (c *Client) scrub(err error) error {
	if msg := c.scrubText(err.Error()); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}

// scrubText removes the credentials from a text: the password, the Authorization header's
// token, and the user name (when it is more than a letter or two, which would blot out
// words). net/http never puts them in an error, but a node's answer can: a fault or an error
// page that echoes the request's headers. It runs before a text is clipped, so that no part
// of a secret is left at the cut.
func (c *Client) scrubText(s string) string {
	s = redact.BasicAuth(s, c.opt.Username, c.opt.Password)
	if len(c.opt.Username) >= 3 {
		s = strings.ReplaceAll(s, c.opt.Username, redact.Mask)
	}
	return s
}
