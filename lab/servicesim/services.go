package servicesim

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ctlops/ctlops/cucm/serviceability"
)

// service is one service's state on one node.
type service struct {
	status serviceability.ServiceStatus
	since  time.Time
	stuck  bool // Starting never reaches Started (a node whose service does not come back)
	gen    int
}

// Transition is one status change, for tests to check order.
type Transition struct {
	Node    string
	Service string
	Status  serviceability.ServiceStatus
}

// History returns every status change so far, in order.
func (c *Cluster) History() []Transition {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Transition(nil), c.hist...)
}

// Status returns a service's status on a node ("" if the node does not run it).
func (c *Cluster) Status(nodeName, svc string) serviceability.ServiceStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.node(nodeName); n != nil {
		if s := n.services[svc]; s != nil {
			return s.status
		}
	}
	return ""
}

// Stick makes the service on the node hang in Starting from its next start on (stuck true),
// or lets it start again (false; a service already hanging then completes its start).
func (c *Cluster) Stick(nodeName, svc string, stuck bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.node(nodeName)
	if n == nil || n.services[svc] == nil {
		return
	}
	s := n.services[svc]
	s.stuck = stuck
	if !stuck && s.status == serviceability.Starting {
		c.after(s, c.cfg.StartTime, func() { c.set(n, svc, s, serviceability.Started) })
	}
}

// set changes a status and tells the devices about CallManager and TFTP going down or up.
// Called with c.mu held; the Devices hooks take their own lock, never ours.
func (c *Cluster) set(n *node, name string, s *service, st serviceability.ServiceStatus) {
	s.status, s.since = st, time.Now()
	c.hist = append(c.hist, Transition{Node: n.Name, Service: name, Status: st})
	up := st == serviceability.Started
	if !up && st != serviceability.Stopped {
		return
	}
	switch name {
	case serviceability.ServiceCallManager:
		c.cfg.Devices.CallManagerChanged(n.Name, up)
	case serviceability.ServiceTFTP:
		c.cfg.Devices.TFTPChanged(n.Name, up)
	}
}

// after runs f under c.mu once d has passed, unless the service moved on meanwhile.
func (c *Cluster) after(s *service, d time.Duration, f func()) {
	s.gen++
	gen := s.gen
	c.tm = append(c.tm, time.AfterFunc(d, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.done || s.gen != gen {
			return
		}
		f()
	}))
}

// control starts a Start, Stop or Restart; the status moves on by itself.
func (c *Cluster) control(n *node, name string, s *service, ct serviceability.ControlType) {
	start := func() {
		c.set(n, name, s, serviceability.Starting)
		if !s.stuck {
			c.after(s, c.cfg.StartTime, func() { c.set(n, name, s, serviceability.Started) })
		}
	}
	stop := func(then func()) {
		c.set(n, name, s, serviceability.Stopping)
		c.after(s, c.cfg.StopTime, func() {
			c.set(n, name, s, serviceability.Stopped)
			if then != nil {
				then()
			}
		})
	}
	switch ct {
	case serviceability.Start:
		if s.status == serviceability.Stopped {
			start()
		}
	case serviceability.Stop:
		if s.status == serviceability.Started || s.status == serviceability.Starting {
			stop(nil)
		}
	case serviceability.Restart:
		switch s.status {
		case serviceability.Started, serviceability.Starting:
			stop(start)
		case serviceability.Stopped:
			start()
		}
	}
}

// knownServices are the names Control Center knows on any node; a name outside them is an
// unknown service.
var knownServices = map[string]bool{
	serviceability.ServiceCallManager: true, serviceability.ServiceTFTP: true, "Cisco CTIManager": true,
	"Cisco RIS Data Collector": true, "Cisco AXL Web Service": true, "Cisco Tomcat": true,
	"Cisco CDR Agent": true, "Cisco DRF Local": true, "Cisco Certificate Authority Proxy Function": true,
	"Cisco Trust Verification Service": true, "Cisco Certificate Change Notification": true,
}

type ccRequest struct {
	Status *struct {
		Names []string `xml:"ServiceStatus"`
	} `xml:"soapGetServiceStatus"`
	Control *struct {
		Req *struct {
			NodeName    string   `xml:"NodeName"`
			ControlType string   `xml:"ControlType"`
			Services    []string `xml:"ServiceList>item"`
		} `xml:"ControlServiceRequest"`
	} `xml:"soapDoControlServices"`
}

func (n *node) controlCenter(w http.ResponseWriter, r *http.Request) {
	data, ok := readRequest(w, r)
	if !ok {
		return
	}
	op, err := operation(data)
	if err != nil {
		writeFault(w, "Client", err.Error(), "")
		return
	}
	if op.Space != serviceability.NSServiceability {
		writeFault(w, "Client", fmt.Sprintf("No such operation '%s' in namespace '%s'", op.Local, op.Space), "")
		return
	}
	var req ccRequest
	if err := decodeBody(data, &req); err != nil {
		writeFault(w, "Client", err.Error(), "")
		return
	}
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case op.Local == "soapGetServiceStatus" && req.Status != nil:
		var names []string
		for _, s := range req.Status.Names {
			if s = strings.TrimSpace(s); s != "" {
				names = append(names, s)
			}
		}
		if len(names) == 0 {
			for s := range n.services {
				names = append(names, s)
			}
			sort.Strings(names)
		}
		if bad := unknown(names); bad != "" {
			writeFault(w, "Server", "Service Not Found: "+bad, "") // [?] wording of CUCM's fault unconfirmed
			return
		}
		writeBody(w, serviceability.NSServiceability, n.serviceResponse("soapGetServiceStatus", names))
	case op.Local == "soapDoControlServices" && req.Control != nil && req.Control.Req != nil:
		q := req.Control.Req
		// "All Control Center Services operations work only on the local node identified by
		// the NodeName element": another node's name is refused [?] (an empty one means this node).
		if nn := strings.TrimSpace(q.NodeName); nn != "" && !strings.EqualFold(nn, n.Name) {
			writeFault(w, "Server", fmt.Sprintf("NodeName %s is not the local node %s", nn, n.Name), "")
			return
		}
		ct := serviceability.ControlType(strings.TrimSpace(q.ControlType))
		if ct != serviceability.Start && ct != serviceability.Stop && ct != serviceability.Restart {
			writeFault(w, "Client", "Invalid ControlType: "+string(ct), "")
			return
		}
		var names []string
		for _, s := range q.Services {
			if s = strings.TrimSpace(s); s != "" {
				names = append(names, s)
			}
		}
		if len(names) == 0 {
			writeFault(w, "Client", "ServiceList is empty", "")
			return
		}
		if bad := unknown(names); bad != "" {
			writeFault(w, "Server", "Service Not Found: "+bad, "")
			return
		}
		for _, name := range names {
			if s := n.services[name]; s != nil {
				c.control(n, name, s, ct)
			}
		}
		writeBody(w, serviceability.NSServiceability, n.serviceResponse("soapDoControlServices", names))
	default:
		writeFault(w, "Client", fmt.Sprintf("No such operation '%s'", op.Local), "")
	}
}

func unknown(names []string) string {
	for _, s := range names {
		if !knownServices[s] {
			return s
		}
	}
	return ""
}

// serviceResponse writes <ns1:opResponse> with one item per name; c.mu is held.
func (n *node) serviceResponse(op string, names []string) string {
	var b strings.Builder
	b.WriteString("<ns1:" + op + "Response><ns1:" + op + "Return>")
	el(&b, "ns1", "ReturnCode", "0")
	el(&b, "ns1", "ReasonCode", "-1")
	el(&b, "ns1", "ReasonString", "")
	b.WriteString("<ns1:ServiceInfoList>")
	for _, name := range names {
		b.WriteString("<ns1:item>")
		el(&b, "ns1", "ServiceName", name)
		s := n.services[name]
		switch {
		case s == nil:
			// A known service that this node does not run: not activated [?] (code unconfirmed).
			el(&b, "ns1", "ServiceStatus", string(serviceability.Stopped))
			el(&b, "ns1", "ReasonCode", "-1068")
			el(&b, "ns1", "ReasonCodeString", "Service Not Activated")
			el(&b, "ns1", "StartTime", "")
			el(&b, "ns1", "UpTime", "-1")
		default:
			el(&b, "ns1", "ServiceStatus", string(s.status))
			el(&b, "ns1", "ReasonCode", "-1")
			el(&b, "ns1", "ReasonCodeString", " ")
			if s.status == serviceability.Started {
				el(&b, "ns1", "StartTime", s.since.UTC().Format("Mon Jan _2 15:04:05 2006"))
				el(&b, "ns1", "UpTime", strconv.FormatInt(int64(time.Since(s.since)/time.Second), 10))
			} else {
				el(&b, "ns1", "StartTime", "")
				el(&b, "ns1", "UpTime", "-1")
			}
		}
		b.WriteString("</ns1:item>")
	}
	b.WriteString("</ns1:ServiceInfoList></ns1:" + op + "Return></ns1:" + op + "Response>")
	return b.String()
}
