// Package servicesim simulates a Unified CM cluster's Control Center Services, RisPort70 and
// AXL on loopback, faithfully enough that a client written from Cisco's documentation works
// against it: one HTTPS listener per node, HTTP Basic auth (401 on wrong credentials, like
// Tomcat), SOAP 1.1 envelopes and faults with the WSDLs' namespaces, a service state machine
// whose Start/Stop/Restart takes time (Stopping, Stopped, Starting, Started), and a pluggable
// device registry (Devices) that the services drive: while CallManager is down on a node its
// phones fail over, while TFTP is down a reset phone cannot fetch.
package servicesim

import (
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/ctlops/ctlops/cucm/serviceability"
)

// NodeConfig is one node of the cluster.
type NodeConfig struct {
	Name      string
	Publisher bool
	// Services the node runs (activated); DefaultServices when nil.
	Services []string
	// Listen is the address of its HTTPS listener; "127.0.0.1:0" when empty.
	Listen string
}

// DefaultServices is what a lab node runs. CallManager and TFTP are the ones a CTL rollout
// restarts; the others make the list look like a node's.
var DefaultServices = []string{
	serviceability.ServiceCallManager, serviceability.ServiceTFTP, "Cisco CTIManager",
	"Cisco RIS Data Collector", "Cisco AXL Web Service", "Cisco Tomcat",
}

// Config describes a simulated cluster.
type Config struct {
	Cluster  string
	Nodes    []NodeConfig
	Username string // the application user (the lab's is axladmin)
	Password string
	// Version is what getCCMVersion answers; "14.0.1.13900(155)" when empty.
	Version string
	// StopTime and StartTime are how long a service spends Stopping and Starting.
	StopTime, StartTime time.Duration
	// PageSize caps the devices per selectCmDevice answer below MaxReturnedDevices, to
	// exercise StateInfo paging; 1000 when zero.
	PageSize int
	Devices  Devices
	Cert     tls.Certificate
}

// Cluster is a running simulated cluster.
type Cluster struct {
	cfg   Config
	mu    sync.Mutex
	nodes []*node
	hist  []Transition
	tm    []*time.Timer
	done  bool
}

type node struct {
	NodeConfig
	c        *Cluster
	srv      *http.Server
	ln       net.Listener
	services map[string]*service
}

// Start opens every node's listener and serves until Close.
func Start(cfg Config) (*Cluster, error) {
	if cfg.Devices == nil {
		return nil, errors.New("servicesim: no Devices")
	}
	if len(cfg.Nodes) == 0 {
		return nil, errors.New("servicesim: no nodes")
	}
	if cfg.Version == "" {
		cfg.Version = "14.0.1.13900(155)"
	}
	if cfg.PageSize <= 0 || cfg.PageSize > serviceability.MaxReturnedDevices {
		cfg.PageSize = serviceability.MaxReturnedDevices
	}
	c := &Cluster{cfg: cfg}
	for _, nc := range cfg.Nodes {
		n := &node{NodeConfig: nc, c: c, services: map[string]*service{}}
		svcs := nc.Services
		if svcs == nil {
			svcs = DefaultServices
		}
		for _, s := range svcs {
			n.services[s] = &service{status: serviceability.Started, since: time.Now()}
		}
		addr := nc.Listen
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("servicesim: node %s: %w", nc.Name, err)
		}
		n.ln = ln
		mux := http.NewServeMux()
		mux.HandleFunc(serviceability.ControlCenterPath, c.auth(n.controlCenter))
		mux.HandleFunc(serviceability.RisPortPath, c.auth(n.risPort))
		if nc.Publisher {
			mux.HandleFunc(serviceability.AXLPath, c.auth(n.axl))
		}
		n.srv = &http.Server{
			Handler:           mux,
			TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cfg.Cert}},
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			ErrorLog:          log.New(io.Discard, "", 0),
		}
		c.nodes = append(c.nodes, n)
		go n.srv.ServeTLS(ln, "", "")
	}
	return c, nil
}

// Close stops every listener and pending transition.
func (c *Cluster) Close() {
	c.mu.Lock()
	c.done = true
	for _, t := range c.tm {
		t.Stop()
	}
	c.mu.Unlock()
	for _, n := range c.nodes {
		if n.srv != nil {
			n.srv.Close()
		} else if n.ln != nil {
			n.ln.Close()
		}
	}
}

// Addr returns the node's listener address (host:port), "" for an unknown node.
func (c *Cluster) Addr(name string) string {
	if n := c.node(name); n != nil {
		return n.ln.Addr().String()
	}
	return ""
}

// URL returns https://host:port of the node's services.
func (c *Cluster) URL(name string) string { return "https://" + c.Addr(name) }

func (c *Cluster) node(name string) *node {
	for _, n := range c.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// auth checks HTTP Basic credentials as Tomcat does: anything else is a 401 with a
// challenge, before any SOAP is read.
func (c *Cluster) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		uok := subtle.ConstantTimeCompare([]byte(u), []byte(c.cfg.Username)) == 1
		pok := subtle.ConstantTimeCompare([]byte(p), []byte(c.cfg.Password)) == 1
		if !ok || !uok || !pok || c.cfg.Username == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="Cisco Unified Communications Manager"`)
			w.Header().Set("Content-Type", "text/html;charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, "<html><head><title>HTTP Status 401 - Unauthorized</title></head><body><h1>HTTP Status 401 - Unauthorized</h1></body></html>")
			return
		}
		h(w, r)
	}
}
