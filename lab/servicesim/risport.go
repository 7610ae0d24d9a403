package servicesim

import (
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/ctlops/ctlops/cucm/serviceability"
)

type risRequest struct {
	Select *struct {
		StateInfo string `xml:"StateInfo"`
		Criteria  *struct {
			MaxReturned string `xml:"MaxReturnedDevices"`
			DeviceClass string `xml:"DeviceClass"`
			Status      string `xml:"Status"`
			NodeName    string `xml:"NodeName"`
			SelectBy    string `xml:"SelectBy"`
			Items       []struct {
				Item string `xml:"Item"`
			} `xml:"SelectItems>item"`
			Protocol string `xml:"Protocol"`
		} `xml:"CmSelectionCriteria"`
	} `xml:"selectCmDevice"`
}

// risEntry is one device under one node.
type risEntry struct {
	node string
	p    Phone
}

func (n *node) risPort(w http.ResponseWriter, r *http.Request) {
	data, ok := readRequest(w, r)
	if !ok {
		return
	}
	op, err := operation(data)
	if err != nil {
		writeFault(w, "Client", err.Error(), "")
		return
	}
	var req risRequest
	if err := decodeBody(data, &req); err != nil {
		writeFault(w, "Client", err.Error(), "")
		return
	}
	if op.Space != serviceability.NSServiceability || op.Local != "selectCmDevice" || req.Select == nil || req.Select.Criteria == nil {
		writeFault(w, "Client", fmt.Sprintf("No such operation '%s' in namespace '%s'", op.Local, op.Space), "")
		return
	}
	cr := req.Select.Criteria
	max := n.c.cfg.PageSize
	if s := strings.TrimSpace(cr.MaxReturned); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			writeFault(w, "Client", "Invalid MaxReturnedDevices: "+s, "")
			return
		}
		if v < max {
			max = v
		}
	}
	if by := strings.TrimSpace(cr.SelectBy); by != "" && by != "Name" {
		// Only names are simulated; the lab phones are selected by name.
		writeFault(w, "Client", "SelectBy "+by+" is not supported by the lab", "")
		return
	}
	var patterns []string
	for _, it := range cr.Items {
		if s := strings.TrimSpace(it.Item); s != "" {
			patterns = append(patterns, s)
		}
	}
	if len(patterns) == 0 {
		patterns = []string{"*"}
	}
	entries := n.c.selectDevices(strings.TrimSpace(cr.DeviceClass), strings.TrimSpace(cr.Status), strings.TrimSpace(cr.Protocol), strings.TrimSpace(cr.NodeName), patterns)
	offset := 0
	if s := strings.TrimSpace(req.Select.StateInfo); s != "" {
		// The lab's StateInfo is an opaque cursor into the sorted answer.
		var err error
		if offset, err = parseCursor(s); err != nil || offset > len(entries) {
			writeFault(w, "Client", "Invalid StateInfo", "")
			return
		}
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.p.Name] = true
	}
	end := offset + max
	if end > len(entries) {
		end = len(entries)
	}
	writeBody(w, serviceability.NSServiceability, n.c.risBody(entries[offset:end], len(names), end))
}

func parseCursor(s string) (int, error) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, `<StateInfo><Cursor Offset="`), `"/></StateInfo>`)
	return strconv.Atoi(s)
}

// selectDevices lists the matching devices, node by node in the cluster's order, each node's by
// name: a registered phone under its node, an unregistered one under the node it left.
func (c *Cluster) selectDevices(class, status, protocol, nodeName string, patterns []string) []risEntry {
	if class != "" && class != "Any" && class != "Phone" {
		return nil
	}
	phones := c.cfg.Devices.Phones()
	var out []risEntry
	for _, nd := range c.nodes {
		if nodeName != "" && !strings.EqualFold(nodeName, nd.Name) {
			continue
		}
		for _, p := range phones {
			if p.Node != nd.Name || !matchAny(patterns, p.Name) {
				continue
			}
			if status != "" && status != "Any" && status != p.Status {
				continue
			}
			if protocol != "" && protocol != "Any" && protocol != p.Protocol {
				continue
			}
			out = append(out, risEntry{node: nd.Name, p: p})
		}
	}
	return out
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(strings.ToUpper(p), strings.ToUpper(name)); ok {
			return true
		}
	}
	return false
}

// risBody writes one page: the entries grouped by node, every node of the cluster listed.
func (c *Cluster) risBody(page []risEntry, total, next int) string {
	var b strings.Builder
	b.WriteString("<ns1:selectCmDeviceResponse><ns1:selectCmDeviceReturn><ns1:SelectCmDeviceResult>")
	el(&b, "ns1", "TotalDevicesFound", strconv.Itoa(total))
	b.WriteString("<ns1:CmNodes>")
	for _, nd := range c.nodes {
		var devs []Phone
		for _, e := range page {
			if e.node == nd.Name {
				devs = append(devs, e.p)
			}
		}
		b.WriteString("<ns1:item>")
		if len(devs) == 0 {
			el(&b, "ns1", "ReturnCode", "NotFound")
		} else {
			el(&b, "ns1", "ReturnCode", "Ok")
		}
		el(&b, "ns1", "Name", nd.Name)
		el(&b, "ns1", "NoChange", "false")
		b.WriteString("<ns1:CmDevices>")
		for _, p := range devs {
			writeDevice(&b, p)
		}
		b.WriteString("</ns1:CmDevices></ns1:item>")
	}
	b.WriteString("</ns1:CmNodes></ns1:SelectCmDeviceResult>")
	el(&b, "ns1", "StateInfo", fmt.Sprintf(`<StateInfo><Cursor Offset="%d"/></StateInfo>`, next))
	b.WriteString("</ns1:selectCmDeviceReturn></ns1:selectCmDeviceResponse>")
	return b.String()
}

func writeDevice(b *strings.Builder, p Phone) {
	b.WriteString("<ns1:item>")
	el(b, "ns1", "Name", p.Name)
	el(b, "ns1", "DirNumber", p.DirNumber)
	el(b, "ns1", "DeviceClass", "Phone")
	el(b, "ns1", "Model", strconv.FormatUint(uint64(p.Model), 10))
	el(b, "ns1", "Product", strconv.FormatUint(uint64(p.Model), 10))
	el(b, "ns1", "BoxProduct", "0")
	el(b, "ns1", "Httpd", "Yes")
	el(b, "ns1", "RegistrationAttempts", "0")
	el(b, "ns1", "IsCtiControllable", "true")
	el(b, "ns1", "LoginUserId", "")
	el(b, "ns1", "Status", p.Status)
	reason := "0"
	if p.Status != Registered {
		reason = "1" // [?] StatusReason codes are not simulated beyond registered / not
	}
	el(b, "ns1", "StatusReason", reason)
	el(b, "ns1", "PerfMonObject", "2")
	el(b, "ns1", "DChannel", "0")
	el(b, "ns1", "Description", p.Name)
	el(b, "ns1", "TimeStamp", strconv.FormatInt(p.TimeStamp, 10))
	el(b, "ns1", "Protocol", p.Protocol)
	el(b, "ns1", "NumOfLines", "1")
	el(b, "ns1", "ActiveLoadID", "")
	el(b, "ns1", "InactiveLoadID", "")
	el(b, "ns1", "DownloadStatus", "Unknown")
	el(b, "ns1", "DownloadFailureReason", "")
	el(b, "ns1", "DownloadServer", "")
	b.WriteString("<ns1:IPAddress>")
	if p.IP != "" {
		b.WriteString("<ns1:item>")
		el(b, "ns1", "IP", p.IP)
		el(b, "ns1", "IPAddrType", "ipv4")
		el(b, "ns1", "Attribute", "Unknown")
		b.WriteString("</ns1:item>")
	}
	b.WriteString("</ns1:IPAddress></ns1:item>")
}
