package serviceability

import (
	"context"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// Service names as Control Center knows them (CUCM-INTERFACES.md §2.12).
const (
	ServiceTFTP        = "Cisco Tftp"
	ServiceCallManager = "Cisco CallManager"
)

// ServiceStatus is the WSDL's ServiceStatus enumeration.
type ServiceStatus string

// The values of ServiceStatus.
const (
	Started  ServiceStatus = "Started"
	Stopped  ServiceStatus = "Stopped"
	Starting ServiceStatus = "Starting"
	Stopping ServiceStatus = "Stopping"
	Unknown  ServiceStatus = "Unknown"
)

// ControlType is the WSDL's ControlType enumeration.
type ControlType string

// The values of ControlType.
const (
	Start   ControlType = "Start"
	Stop    ControlType = "Stop"
	Restart ControlType = "Restart"
)

// ServiceInfo is one ServiceInformation item.
type ServiceInfo struct {
	Name             string
	Status           ServiceStatus
	ReasonCode       int64 // -1 when there is no reason (a service that runs normally)
	ReasonCodeString string
	StartTime        string
	UpTime           int64 // seconds; -1 when not running
}

// ServiceResponse is ServiceInformationResponse.
type ServiceResponse struct {
	ReturnCode   string
	ReasonCode   int64
	ReasonString string
	Services     []ServiceInfo
}

// Find returns the named service's item.
func (r *ServiceResponse) Find(name string) (ServiceInfo, bool) {
	for _, s := range r.Services {
		if s.Name == name {
			return s, true
		}
	}
	return ServiceInfo{}, false
}

type serviceInfoXML struct {
	ServiceName      string `xml:"ServiceName"`
	ServiceStatus    string `xml:"ServiceStatus"`
	ReasonCode       string `xml:"ReasonCode"`
	ReasonCodeString string `xml:"ReasonCodeString"`
	StartTime        string `xml:"StartTime"`
	UpTime           string `xml:"UpTime"`
}

type serviceResponseXML struct {
	ReturnCode   string `xml:"ReturnCode"`
	ReasonCode   string `xml:"ReasonCode"`
	ReasonString string `xml:"ReasonString"`
	List         *struct {
		Items []serviceInfoXML `xml:"item"`
	} `xml:"ServiceInfoList"`
}

type getServiceStatusResponse struct {
	Return *serviceResponseXML `xml:"soapGetServiceStatusReturn"`
}

type doControlServicesResponse struct {
	Return *serviceResponseXML `xml:"soapDoControlServicesReturn"`
}

const controlCenter = "Control Center"

// GetServiceStatus asks the node for the status of the named services (all when none).
func (c *Client) GetServiceStatus(ctx context.Context, services ...string) (*ServiceResponse, error) {
	var b strings.Builder
	b.WriteString("<soap:soapGetServiceStatus>")
	if len(services) == 0 {
		// The WSDL requires one ServiceStatus element; an empty one asks for every service.
		elem(&b, "soap", "ServiceStatus", "")
	}
	for _, s := range services {
		elem(&b, "soap", "ServiceStatus", s)
	}
	b.WriteString("</soap:soapGetServiceStatus>")
	var out getServiceStatusResponse
	const op = "soapGetServiceStatus"
	if err := c.call(ctx, controlCenter, ControlCenterPath, op, writeEnvelope("soap", NSServiceability, b.String()),
		xml.Name{Space: NSServiceability, Local: "soapGetServiceStatusResponse"}, &out); err != nil {
		return nil, err
	}
	r, err := convertServiceResponse(out.Return, "soapGetServiceStatusReturn")
	if err != nil {
		return nil, c.fail(controlCenter, op, err)
	}
	return r, nil
}

// ControlServices starts, stops or restarts services on the node. The answer is the status
// right after the command, often Starting or Stopping: poll GetServiceStatus until Started.
func (c *Client) ControlServices(ctx context.Context, ct ControlType, services ...string) (*ServiceResponse, error) {
	const op = "soapDoControlServices"
	if ct != Start && ct != Stop && ct != Restart {
		return nil, c.fail(controlCenter, op, fmt.Errorf("control type %q: want Start, Stop or Restart", termsafe.Line(string(ct))))
	}
	if len(services) == 0 {
		return nil, c.fail(controlCenter, op, fmt.Errorf("no service named"))
	}
	var b strings.Builder
	b.WriteString("<soap:soapDoControlServices><soap:ControlServiceRequest>")
	elem(&b, "soap", "NodeName", c.opt.Node)
	elem(&b, "soap", "ControlType", string(ct))
	b.WriteString("<soap:ServiceList>")
	for _, s := range services {
		elem(&b, "soap", "item", s)
	}
	b.WriteString("</soap:ServiceList></soap:ControlServiceRequest></soap:soapDoControlServices>")
	var out doControlServicesResponse
	if err := c.call(ctx, controlCenter, ControlCenterPath, op, writeEnvelope("soap", NSServiceability, b.String()),
		xml.Name{Space: NSServiceability, Local: "soapDoControlServicesResponse"}, &out); err != nil {
		return nil, err
	}
	r, err := convertServiceResponse(out.Return, "soapDoControlServicesReturn")
	if err != nil {
		return nil, c.fail(controlCenter, op, err)
	}
	return r, nil
}

func convertServiceResponse(x *serviceResponseXML, name string) (*ServiceResponse, error) {
	if x == nil {
		return nil, fmt.Errorf("no <%s> in the answer", name)
	}
	r := &ServiceResponse{ReturnCode: strings.TrimSpace(x.ReturnCode), ReasonString: strings.TrimSpace(x.ReasonString)}
	var err error
	if r.ReasonCode, err = optInt(x.ReasonCode, -1); err != nil {
		return nil, fmt.Errorf("ReasonCode: %w", err)
	}
	if x.List == nil {
		return r, nil
	}
	for i, it := range x.List.Items {
		s := ServiceInfo{
			Name:             strings.TrimSpace(it.ServiceName),
			Status:           ServiceStatus(strings.TrimSpace(it.ServiceStatus)),
			ReasonCodeString: strings.TrimSpace(it.ReasonCodeString),
			StartTime:        strings.TrimSpace(it.StartTime),
		}
		if s.Name == "" {
			return nil, fmt.Errorf("ServiceInfoList item %d has no ServiceName", i+1)
		}
		switch s.Status {
		case Started, Stopped, Starting, Stopping, Unknown:
		default:
			return nil, fmt.Errorf("service %q: unknown ServiceStatus %q", termsafe.Line(s.Name), clip(string(s.Status)))
		}
		if s.ReasonCode, err = optInt(it.ReasonCode, -1); err != nil {
			return nil, fmt.Errorf("service %q: ReasonCode: %w", termsafe.Line(s.Name), err)
		}
		if s.UpTime, err = optInt(it.UpTime, -1); err != nil {
			return nil, fmt.Errorf("service %q: UpTime: %w", termsafe.Line(s.Name), err)
		}
		r.Services = append(r.Services, s)
	}
	return r, nil
}

// optInt parses an xsd:integer that may be absent or nil (empty).
func optInt(s string, def int64) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", clip(s))
	}
	return n, nil
}
