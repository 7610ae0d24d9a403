// Package serviceability speaks three public SOAP 1.1 services of Cisco Unified CM over HTTPS
// with HTTP Basic auth: Control Center Services (service status, start/stop/restart on one
// node), RisPort70 (real-time device registration) and AXL (version, process nodes, device
// resets on the publisher). Element names, namespaces and SOAPAction values follow Cisco's
// WSDLs (CiscoDevNet/serviceability-python-zeep-samples and axl-python-zeep-samples, schema/):
// see ../shared/CUCM-INTERFACES.md §4.
//
// Requests are written with the exact namespaces of the WSDL. Answers are parsed by namespace
// for the envelope and the operation element, and by local name below it: the serviceability
// schemas qualify their children (elementFormDefault="qualified") while AXL leaves them
// unqualified, and servers choose their own prefixes, so a decoder that insisted on one
// spelling would reject valid answers. Content is strict: a wrong operation element, a missing
// required element or an unknown enumeration value is an error quoting what came.
package serviceability

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// Namespaces of the SOAP envelope and of the services.
const (
	NSEnvelope = "http://schemas.xmlsoap.org/soap/envelope/"
	// NSServiceability is the target namespace of ControlCenterServices.wsdl and
	// RISService70.wsdl alike.
	NSServiceability = "http://schemas.cisco.com/ast/soap"
	// NSAXLPrefix is followed by the schema version, e.g. "14.0".
	NSAXLPrefix = "http://www.cisco.com/AXL/API/"
)

// Fault is a SOAP 1.1 fault. For AXL, Code and Message carry the axlError detail.
type Fault struct {
	FaultCode   string
	FaultString string
	AXLCode     string // detail/axlError/axlcode, AXL only
	AXLMessage  string // detail/axlError/axlmessage, AXL only
}

func (f *Fault) Error() string {
	s := "SOAP fault " + termsafe.Line(f.FaultCode) + ": " + termsafe.Line(f.FaultString)
	if f.AXLCode != "" {
		s += " (axlcode " + termsafe.Line(f.AXLCode) + ")"
	}
	return s
}

type faultXML struct {
	FaultCode   string `xml:"faultcode"`
	FaultString string `xml:"faultstring"`
	Detail      struct {
		AXLError struct {
			Code    string `xml:"axlcode"`
			Message string `xml:"axlmessage"`
		} `xml:"axlError"`
	} `xml:"detail"`
}

// decodeEnvelope reads a SOAP 1.1 envelope whose body holds either a fault (returned as a
// *Fault error) or exactly the element want, which is decoded into out.
func decodeEnvelope(data []byte, want xml.Name, out any) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	if err := enter(d, xml.Name{Space: NSEnvelope, Local: "Envelope"}, false); err != nil {
		return err
	}
	if err := enter(d, xml.Name{Space: NSEnvelope, Local: "Body"}, true); err != nil {
		return err
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return syntaxErr(d, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space == NSEnvelope && t.Name.Local == "Fault" {
				var fx faultXML
				if err := d.DecodeElement(&fx, &t); err != nil {
					return syntaxErr(d, err)
				}
				if strings.TrimSpace(fx.FaultString) == "" && strings.TrimSpace(fx.FaultCode) == "" {
					return errors.New("SOAP fault without faultcode or faultstring")
				}
				return &Fault{
					FaultCode:   strings.TrimSpace(fx.FaultCode),
					FaultString: strings.TrimSpace(fx.FaultString),
					AXLCode:     strings.TrimSpace(fx.Detail.AXLError.Code),
					AXLMessage:  strings.TrimSpace(fx.Detail.AXLError.Message),
				}
			}
			if t.Name != want {
				return fmt.Errorf("answer is <%s> in namespace %q, want <%s> in %q",
					termsafe.Line(t.Name.Local), termsafe.Line(t.Name.Space), want.Local, want.Space)
			}
			if err := d.DecodeElement(out, &t); err != nil {
				return syntaxErr(d, err)
			}
			return nil
		case xml.EndElement:
			return errors.New("SOAP body is empty")
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return fmt.Errorf("text %q in the SOAP body", clip(string(t)))
			}
		}
	}
}

// enter reads up to the start of the element name, skipping the prolog, comments and (when
// skipOthers) sibling elements such as a SOAP Header.
func enter(d *xml.Decoder, name xml.Name, skipOthers bool) error {
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return fmt.Errorf("no <%s> in the answer", name.Local)
		}
		if err != nil {
			return syntaxErr(d, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name == name {
				return nil
			}
			if !skipOthers {
				return fmt.Errorf("answer starts with <%s> in namespace %q, want a SOAP 1.1 <%s>",
					termsafe.Line(t.Name.Local), termsafe.Line(t.Name.Space), name.Local)
			}
			if err := d.Skip(); err != nil {
				return syntaxErr(d, err)
			}
		case xml.EndElement:
			return fmt.Errorf("no <%s> in the answer", name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return fmt.Errorf("text %q where <%s> was expected", clip(string(t)), name.Local)
			}
		}
	}
}

func syntaxErr(d *xml.Decoder, err error) error {
	return fmt.Errorf("malformed XML at byte %d: %s", d.InputOffset(), termsafe.Line(err.Error()))
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return termsafe.Line(s)
}

// writeEnvelope wraps body (already-escaped XML) in a SOAP 1.1 envelope declaring prefix for
// ns, as Cisco's documentation writes its requests.
func writeEnvelope(prefix, ns, body string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<soapenv:Envelope xmlns:soapenv="` + NSEnvelope + `" xmlns:` + prefix + `="` + ns + `">`)
	b.WriteString(`<soapenv:Header/><soapenv:Body>`)
	b.WriteString(body)
	b.WriteString(`</soapenv:Body></soapenv:Envelope>`)
	return []byte(b.String())
}

// elem writes <prefix:name>escaped text</prefix:name>; prefix may be "".
func elem(b *strings.Builder, prefix, name, text string) {
	q := name
	if prefix != "" {
		q = prefix + ":" + name
	}
	b.WriteString("<" + q + ">")
	_ = xml.EscapeText(b, []byte(text))
	b.WriteString("</" + q + ">")
}
