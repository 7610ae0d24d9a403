package servicesim

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ctlops/ctlops/cucm/serviceability"
)

// axlVersions are the AXL schema versions the lab accepts (CUCM 14 accepts several older
// ones too).
var axlVersions = map[string]bool{"10.5": true, "11.0": true, "11.5": true, "12.0": true, "12.5": true, "14.0": true, "15.0": true}

type axlRequest struct {
	Version *struct{} `xml:"getCCMVersion"`
	List    *struct {
		Name string `xml:"searchCriteria>name"`
		Desc string `xml:"searchCriteria>description"`
		Role string `xml:"searchCriteria>processNodeRole"`
	} `xml:"listProcessNode"`
	Reset *struct {
		Device    string  `xml:"deviceName"`
		Hard      *string `xml:"isHardReset"`
		ResetType *string `xml:"deviceResetType"`
	} `xml:"doDeviceReset"`
}

func (n *node) axl(w http.ResponseWriter, r *http.Request) {
	data, ok := readRequest(w, r)
	if !ok {
		return
	}
	op, err := operation(data)
	if err != nil {
		writeFault(w, "Client", err.Error(), "")
		return
	}
	ver, isAXL := strings.CutPrefix(op.Space, serviceability.NSAXLPrefix)
	if !isAXL || !axlVersions[ver] {
		writeFault(w, "Client", fmt.Sprintf("Unsupported AXL namespace '%s'", op.Space), "")
		return
	}
	// AXL reads its version from SOAPAction "CUCM:DB ver=<v> <op>"; a header that names another
	// version or operation than the body is refused [?] (leniency of a real node unconfirmed).
	if a := soapAction(r); a != "" && a != "CUCM:DB ver="+ver+" "+op.Local {
		writeFault(w, "Client", fmt.Sprintf("SOAPAction '%s' does not match the request <%s> of AXL %s", a, op.Local, ver), "")
		return
	}
	var req axlRequest
	if err := decodeBody(data, &req); err != nil {
		writeFault(w, "Client", err.Error(), "")
		return
	}
	switch {
	case op.Local == "getCCMVersion" && req.Version != nil:
		var b strings.Builder
		b.WriteString("<ns1:getCCMVersionResponse><return><componentVersion>")
		el(&b, "", "version", n.c.cfg.Version)
		b.WriteString("</componentVersion></return></ns1:getCCMVersionResponse>")
		writeBody(w, op.Space, b.String())
	case op.Local == "listProcessNode" && req.List != nil:
		l := req.List
		if l.Name == "" && l.Desc == "" && l.Role == "" {
			axlFault(w, op.Local, 5003, "At least one element under searchCriteria has to be mentioned") // [?] code
			return
		}
		writeBody(w, op.Space, n.c.processNodes(l.Name, l.Desc, l.Role))
	case op.Local == "doDeviceReset" && req.Reset != nil:
		q := req.Reset
		if strings.TrimSpace(q.Device) == "" || (q.Hard == nil) == (q.ResetType == nil) {
			axlFault(w, op.Local, 5003, "doDeviceReset needs deviceName and one of isHardReset or deviceResetType")
			return
		}
		err := n.c.cfg.Devices.Reset(strings.TrimSpace(q.Device))
		if errors.Is(err, ErrNoDevice) {
			axlFault(w, op.Local, 5007, "Item not valid: The specified Device was not found") // [?] wording
			return
		}
		if err != nil {
			axlFault(w, op.Local, 5000, err.Error())
			return
		}
		writeBody(w, op.Space, "<ns1:doDeviceResetResponse><return>true</return></ns1:doDeviceResetResponse>")
	default:
		writeFault(w, "Client", fmt.Sprintf("No such operation '%s' in AXL %s", op.Local, ver), "")
	}
}

func axlFault(w http.ResponseWriter, op string, code int, msg string) {
	var b strings.Builder
	b.WriteString("<axlError>")
	el(&b, "", "axlcode", fmt.Sprint(code))
	el(&b, "", "axlmessage", msg)
	el(&b, "", "request", op)
	b.WriteString("</axlError>")
	writeFault(w, "Client", msg, b.String())
}

// processNodes lists EnterpriseWideData and every node matching the criteria; "%" is the SQL
// wildcard AXL list operations take.
// NodeLister is what Devices may also implement when the cluster's nodes change while the
// simulator runs (the lab's rename, add-node and remove-node events): listProcessNode then
// answers its names, the publisher first, instead of the configured nodes.
type NodeLister interface {
	ProcessNodes() []string
}

func (c *Cluster) processNodes(name, desc, role string) string {
	var b strings.Builder
	b.WriteString("<ns1:listProcessNodeResponse><return>")
	entry := func(nodeName, description, usage string) {
		if !like(name, nodeName) || !like(desc, description) || !like(role, "CUCM Voice/Video") {
			return
		}
		b.WriteString(`<processNode uuid="` + uuidOf(c.cfg.Cluster+"/"+nodeName) + `">`)
		el(&b, "", "name", nodeName)
		el(&b, "", "description", description)
		el(&b, "", "mac", "")
		el(&b, "", "ipv6Name", "")
		el(&b, "", "nodeUsage", usage)
		el(&b, "", "processNodeRole", "CUCM Voice/Video")
		b.WriteString("</processNode>")
	}
	entry(serviceability.EnterpriseWideData, "", "Publisher")
	if nl, ok := c.cfg.Devices.(NodeLister); ok {
		for i, name := range nl.ProcessNodes() {
			usage := "Subscriber"
			if i == 0 {
				usage = "Publisher"
			}
			entry(name, name, usage)
		}
	} else {
		for _, nd := range c.nodes {
			usage := "Subscriber"
			if nd.Publisher {
				usage = "Publisher"
			}
			entry(nd.Name, nd.Name, usage)
		}
	}
	b.WriteString("</return></ns1:listProcessNodeResponse>")
	return b.String()
}

// like matches an AXL search value: "" matches anything, % is any run of characters, case
// is ignored.
func like(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	parts := strings.Split(strings.ToLower(pattern), "%")
	s = strings.ToLower(s)
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(s, p)
		}
		j := strings.Index(s, p)
		if j < 0 {
			return false
		}
		s = s[j+len(p):]
	}
	return s == ""
}

func uuidOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return fmt.Sprintf("{%X-%X-%X-%X-%X}", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
