package serviceability

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// ProcessNode is one LProcessNode of listProcessNode.
type ProcessNode struct {
	UUID        string
	Name        string
	Description string
	MAC         string
	IPv6Name    string
	NodeUsage   string // Publisher | Subscriber
	Role        string // "CUCM Voice/Video" | "CUCM IM and Presence"
}

// EnterpriseWideData is the pseudo process node every cluster lists; it is no server.
const EnterpriseWideData = "EnterpriseWideData"

type processNodeXML struct {
	UUID        string `xml:"uuid,attr"`
	Name        string `xml:"name"`
	Description string `xml:"description"`
	MAC         string `xml:"mac"`
	IPv6Name    string `xml:"ipv6Name"`
	NodeUsage   string `xml:"nodeUsage"`
	Role        string `xml:"processNodeRole"`
}

type listProcessNodeResponse struct {
	Return *struct {
		Nodes []processNodeXML `xml:"processNode"`
	} `xml:"return"`
}

type getCCMVersionResponse struct {
	Return *struct {
		Component *struct {
			Version string `xml:"version"`
		} `xml:"componentVersion"`
	} `xml:"return"`
}

type standardResponse struct {
	Return *string `xml:"return"`
}

const axl = "AXL"

func (c *Client) axlNS() string { return NSAXLPrefix + c.opt.AXLVersion }

// axlCall sends op with the body (unqualified children, as AXL's schema has them) and decodes
// <op>Response.
func (c *Client) axlCall(ctx context.Context, op, inner string, out any) error {
	body := "<ns:" + op + ">" + inner + "</ns:" + op + ">"
	action := "CUCM:DB ver=" + c.opt.AXLVersion + " " + op
	err := c.call(ctx, axl, AXLPath, action, writeEnvelope("ns", c.axlNS(), body),
		xml.Name{Space: c.axlNS(), Local: op + "Response"}, out)
	if e, ok := err.(*Error); ok {
		e.Operation = op // not the whole SOAPAction
	}
	return err
}

// GetCCMVersion returns the active Unified CM version, e.g. "14.0.1.13900(155)".
func (c *Client) GetCCMVersion(ctx context.Context) (string, error) {
	var out getCCMVersionResponse
	if err := c.axlCall(ctx, "getCCMVersion", "", &out); err != nil {
		return "", err
	}
	if out.Return == nil || out.Return.Component == nil || strings.TrimSpace(out.Return.Component.Version) == "" {
		return "", c.fail(axl, "getCCMVersion", fmt.Errorf("no return/componentVersion/version in the answer"))
	}
	return strings.TrimSpace(out.Return.Component.Version), nil
}

// ListProcessNode lists every process node (server) of the cluster, EnterpriseWideData
// included as the server sends it.
func (c *Client) ListProcessNode(ctx context.Context) ([]ProcessNode, error) {
	// searchCriteria needs at least one element: a name wildcard matches every node.
	inner := "<searchCriteria><name>%</name></searchCriteria><returnedTags>" +
		"<name/><description/><mac/><ipv6Name/><nodeUsage/><processNodeRole/></returnedTags>"
	var out listProcessNodeResponse
	if err := c.axlCall(ctx, "listProcessNode", inner, &out); err != nil {
		return nil, err
	}
	if out.Return == nil {
		return nil, c.fail(axl, "listProcessNode", fmt.Errorf("no <return> in the answer"))
	}
	var nodes []ProcessNode
	for i, n := range out.Return.Nodes {
		p := ProcessNode{
			UUID: strings.TrimSpace(n.UUID), Name: strings.TrimSpace(n.Name), Description: strings.TrimSpace(n.Description),
			MAC: strings.TrimSpace(n.MAC), IPv6Name: strings.TrimSpace(n.IPv6Name),
			NodeUsage: strings.TrimSpace(n.NodeUsage), Role: strings.TrimSpace(n.Role),
		}
		if p.Name == "" {
			return nil, c.fail(axl, "listProcessNode", fmt.Errorf("processNode %d has no name", i+1))
		}
		switch p.NodeUsage {
		case "Publisher", "Subscriber", "":
		default:
			return nil, c.fail(axl, "listProcessNode", fmt.Errorf("processNode %q: unknown nodeUsage %q", termsafe.Line(p.Name), clip(p.NodeUsage)))
		}
		nodes = append(nodes, p)
	}
	return nodes, nil
}

// DoDeviceReset resets the named device (deviceResetType Reset: the phone restarts and fetches
// its CTL, ITL and configuration again; Restart would not reload them all).
func (c *Client) DoDeviceReset(ctx context.Context, device string) error {
	var b strings.Builder
	elem(&b, "", "deviceName", device)
	elem(&b, "", "deviceResetType", "Reset")
	var out standardResponse
	if err := c.axlCall(ctx, "doDeviceReset", b.String(), &out); err != nil {
		return err
	}
	if out.Return == nil {
		return c.fail(axl, "doDeviceReset", fmt.Errorf("no <return> in the answer"))
	}
	switch r := strings.TrimSpace(*out.Return); {
	case r == "true" || (strings.HasPrefix(r, "{") && strings.HasSuffix(r, "}")):
		return nil
	default:
		return c.fail(axl, "doDeviceReset", fmt.Errorf("device %q: return %q", termsafe.Line(device), clip(r)))
	}
}

type sqlResponse struct {
	Return *struct {
		Rows []struct {
			Cols []struct {
				XMLName xml.Name
				Value   string `xml:",chardata"`
			} `xml:",any"`
		} `xml:"row"`
	} `xml:"return"`
}

// MaxSQLRows bounds executeSQLQuery answers.
const MaxSQLRows = 10000

// ExecuteSQLQuery runs a read-only SQL query; each row maps column name to value.
func (c *Client) ExecuteSQLQuery(ctx context.Context, sql string) ([]map[string]string, error) {
	var b strings.Builder
	elem(&b, "", "sql", sql)
	var out sqlResponse
	if err := c.axlCall(ctx, "executeSQLQuery", b.String(), &out); err != nil {
		return nil, err
	}
	if out.Return == nil {
		return nil, c.fail(axl, "executeSQLQuery", fmt.Errorf("no <return> in the answer"))
	}
	if len(out.Return.Rows) > MaxSQLRows {
		return nil, c.fail(axl, "executeSQLQuery", fmt.Errorf("%d rows, more than %d", len(out.Return.Rows), MaxSQLRows))
	}
	rows := make([]map[string]string, 0, len(out.Return.Rows))
	for _, r := range out.Return.Rows {
		m := map[string]string{}
		for _, col := range r.Cols {
			m[col.XMLName.Local] = col.Value
		}
		rows = append(rows, m)
	}
	return rows, nil
}
