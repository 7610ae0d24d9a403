package serviceability

import (
	"context"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// RegStatus is the WSDL's CmDevRegStat enumeration.
type RegStatus string

// The values of RegStatus.
const (
	Registered          RegStatus = "Registered"
	UnRegistered        RegStatus = "UnRegistered"
	Rejected            RegStatus = "Rejected"
	PartiallyRegistered RegStatus = "PartiallyRegistered"
	RegUnknown          RegStatus = "Unknown"
)

// MaxReturnedDevices is the most devices one selectCmDevice answer carries (RisPort70's
// documented ceiling is 1000 per request).
const MaxReturnedDevices = 1000

// maxPages bounds the StateInfo paging loop against a server that never stops.
const maxPages = 100

// Criteria select devices. Zero values mean: every phone, any status, any protocol.
type Criteria struct {
	DeviceClass string   // "Phone" when empty
	Status      string   // "Any" when empty
	Protocol    string   // "Any" when empty
	NodeName    string   // "" = every node
	Names       []string // SelectBy Name; ["*"] when empty
}

// Device is one CmDevices item.
type Device struct {
	Name        string
	DirNumber   string
	DeviceClass string
	Model       uint32
	Status      RegStatus
	Reason      uint32 // StatusReason
	Protocol    string
	TimeStamp   int64  // seconds since the epoch of the last status change
	IPAddress   string // the first IP item
	ActiveLoad  string
	Description string
}

// CmNode is one CmNodes item: the devices one CallManager node knows about.
type CmNode struct {
	Name       string
	ReturnCode string // Ok, NotFound, ...
	NoChange   bool
	Devices    []Device
}

// SelectResult is the union of every page of a selectCmDevice query.
type SelectResult struct {
	TotalDevicesFound int
	Nodes             []CmNode
}

type ipXML struct {
	IP       string `xml:"IP"`
	AddrType string `xml:"IPAddrType"`
}

type deviceXML struct {
	Name          string `xml:"Name"`
	DirNumber     string `xml:"DirNumber"`
	DeviceClass   string `xml:"DeviceClass"`
	Model         string `xml:"Model"`
	Status        string `xml:"Status"`
	StatusReason  string `xml:"StatusReason"`
	Protocol      string `xml:"Protocol"`
	TimeStamp     string `xml:"TimeStamp"`
	ActiveLoadID  string `xml:"ActiveLoadID"`
	Description   string `xml:"Description"`
	IPAddressList struct {
		Items []ipXML `xml:"item"`
	} `xml:"IPAddress"`
}

type cmNodeXML struct {
	ReturnCode string `xml:"ReturnCode"`
	Name       string `xml:"Name"`
	NoChange   string `xml:"NoChange"`
	Devices    struct {
		Items []deviceXML `xml:"item"`
	} `xml:"CmDevices"`
}

type selectCmDeviceResponse struct {
	Return *struct {
		Result *struct {
			Total string `xml:"TotalDevicesFound"`
			Nodes struct {
				Items []cmNodeXML `xml:"item"`
			} `xml:"CmNodes"`
		} `xml:"SelectCmDeviceResult"`
		StateInfo string `xml:"StateInfo"`
	} `xml:"selectCmDeviceReturn"`
}

const risPort = "RisPort70"

// SelectCmDevice returns the registration state of the selected devices from every node.
//
// StateInfo paging: each answer carries a StateInfo that the next request sends back. When an
// answer holds fewer distinct devices than TotalDevicesFound the query is repeated with it,
// until every device was seen or a page brings nothing new. How a real node pages with
// StateInfo is not documented beyond "send it back" [?]; the safer reading is taken: if the
// pages end short of TotalDevicesFound, that is an error, never a silently short count.
func (c *Client) SelectCmDevice(ctx context.Context, cr Criteria) (*SelectResult, error) {
	const op = "selectCmDevice"
	res := &SelectResult{}
	seen := map[string]bool{} // node\x00device
	names := map[string]bool{}
	nodeIndex := map[string]int{}
	state := ""
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, c.fail(risPort, op, fmt.Errorf("still short of %d devices after %d pages", res.TotalDevicesFound, maxPages))
		}
		var out selectCmDeviceResponse
		if err := c.call(ctx, risPort, RisPortPath, op, writeEnvelope("soap", NSServiceability, selectRequest(state, cr)),
			xml.Name{Space: NSServiceability, Local: "selectCmDeviceResponse"}, &out); err != nil {
			return nil, err
		}
		total, nodes, next, err := convertSelect(&out)
		if err != nil {
			return nil, c.fail(risPort, op, err)
		}
		res.TotalDevicesFound = total
		added := 0
		for _, n := range nodes {
			i, ok := nodeIndex[n.Name]
			if !ok {
				i = len(res.Nodes)
				nodeIndex[n.Name] = i
				res.Nodes = append(res.Nodes, CmNode{Name: n.Name, ReturnCode: n.ReturnCode, NoChange: n.NoChange})
			}
			for _, d := range n.Devices {
				k := n.Name + "\x00" + d.Name
				if seen[k] {
					continue
				}
				seen[k] = true
				if !names[d.Name] {
					names[d.Name] = true
					added++
				}
				res.Nodes[i].Devices = append(res.Nodes[i].Devices, d)
			}
		}
		if len(names) >= total {
			return res, nil
		}
		if added == 0 || next == "" || next == state {
			return nil, c.fail(risPort, op, fmt.Errorf("TotalDevicesFound is %d but the answers named %d devices", total, len(names)))
		}
		state = next
	}
}

func selectRequest(state string, cr Criteria) string {
	def := func(s, d string) string {
		if s == "" {
			return d
		}
		return s
	}
	var b strings.Builder
	b.WriteString("<soap:selectCmDevice>")
	elem(&b, "soap", "StateInfo", state)
	b.WriteString("<soap:CmSelectionCriteria>")
	elem(&b, "soap", "MaxReturnedDevices", strconv.Itoa(MaxReturnedDevices))
	elem(&b, "soap", "DeviceClass", def(cr.DeviceClass, "Phone"))
	elem(&b, "soap", "Model", "255") // 255 = any model
	elem(&b, "soap", "Status", def(cr.Status, "Any"))
	elem(&b, "soap", "NodeName", cr.NodeName)
	elem(&b, "soap", "SelectBy", "Name")
	b.WriteString("<soap:SelectItems>")
	items := cr.Names
	if len(items) == 0 {
		items = []string{"*"}
	}
	for _, n := range items {
		b.WriteString("<soap:item>")
		elem(&b, "soap", "Item", n)
		b.WriteString("</soap:item>")
	}
	b.WriteString("</soap:SelectItems>")
	elem(&b, "soap", "Protocol", def(cr.Protocol, "Any"))
	elem(&b, "soap", "DownloadStatus", "Any")
	b.WriteString("</soap:CmSelectionCriteria></soap:selectCmDevice>")
	return b.String()
}

func convertSelect(out *selectCmDeviceResponse) (int, []CmNode, string, error) {
	if out.Return == nil || out.Return.Result == nil {
		return 0, nil, "", fmt.Errorf("no <SelectCmDeviceResult> in the answer")
	}
	r := out.Return.Result
	total, err := optUint(r.Total)
	if err != nil {
		return 0, nil, "", fmt.Errorf("TotalDevicesFound: %w", err)
	}
	var nodes []CmNode
	for i, nx := range r.Nodes.Items {
		n := CmNode{Name: strings.TrimSpace(nx.Name), ReturnCode: strings.TrimSpace(nx.ReturnCode)}
		switch n.ReturnCode {
		case "Ok", "NotFound", "InvalidRequest", "InternalError", "NodeNotResponding", "InvalidNodeName":
		default:
			return 0, nil, "", fmt.Errorf("CmNodes item %d: unknown ReturnCode %q", i+1, clip(n.ReturnCode))
		}
		switch strings.TrimSpace(nx.NoChange) {
		case "true", "1":
			n.NoChange = true
		case "false", "0", "":
		default:
			return 0, nil, "", fmt.Errorf("CmNodes item %d: NoChange %q is not a boolean", i+1, clip(nx.NoChange))
		}
		for j, dx := range nx.Devices.Items {
			d, err := convertDevice(dx)
			if err != nil {
				return 0, nil, "", fmt.Errorf("node %q device %d: %w", termsafe.Line(n.Name), j+1, err)
			}
			n.Devices = append(n.Devices, d)
		}
		nodes = append(nodes, n)
	}
	return int(total), nodes, strings.TrimSpace(out.Return.StateInfo), nil
}

func convertDevice(dx deviceXML) (Device, error) {
	d := Device{
		Name:        strings.TrimSpace(dx.Name),
		DirNumber:   strings.TrimSpace(dx.DirNumber),
		DeviceClass: strings.TrimSpace(dx.DeviceClass),
		Status:      RegStatus(strings.TrimSpace(dx.Status)),
		Protocol:    strings.TrimSpace(dx.Protocol),
		ActiveLoad:  strings.TrimSpace(dx.ActiveLoadID),
		Description: strings.TrimSpace(dx.Description),
	}
	if d.Name == "" {
		return d, fmt.Errorf("no Name")
	}
	switch d.Status {
	case Registered, UnRegistered, Rejected, PartiallyRegistered, RegUnknown:
	default:
		return d, fmt.Errorf("%q: unknown Status %q", termsafe.Line(d.Name), clip(string(d.Status)))
	}
	switch d.Protocol {
	case "SIP", "SCCP", "Unknown", "Any", "":
	default:
		return d, fmt.Errorf("%q: unknown Protocol %q", termsafe.Line(d.Name), clip(d.Protocol))
	}
	var err error
	var v uint64
	if v, err = optUint(dx.Model); err != nil {
		return d, fmt.Errorf("%q: Model: %w", termsafe.Line(d.Name), err)
	}
	d.Model = uint32(v)
	if v, err = optUint(dx.StatusReason); err != nil {
		return d, fmt.Errorf("%q: StatusReason: %w", termsafe.Line(d.Name), err)
	}
	d.Reason = uint32(v)
	if v, err = optUint(dx.TimeStamp); err != nil {
		return d, fmt.Errorf("%q: TimeStamp: %w", termsafe.Line(d.Name), err)
	}
	d.TimeStamp = int64(v)
	if len(dx.IPAddressList.Items) > 0 {
		d.IPAddress = strings.TrimSpace(dx.IPAddressList.Items[0].IP)
	}
	return d, nil
}

// optUint parses an xsd:unsignedInt that may be absent or nil (empty).
func optUint(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not an unsigned 32-bit integer", clip(s))
	}
	return n, nil
}
