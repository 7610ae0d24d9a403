// Package cnf is the part of a phone's configuration file, SEP<MAC>.cnf.xml, that the lab's
// phones act on: the protocol, the device security mode (P38), the CallManager group to
// register with and its ports (P40), and the TVS servers (P26). Element names follow the files
// CUCM writes (U5); everything else a real file holds (lines, soft keys, locales, firmware) is
// left out. The lab's nodes write it (Marshal) and its phones read it (Parse).
package cnf

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net"
	"sort"
	"strings"
)

// MaxSize bounds a configuration file a phone reads. Real phones cap downloads at 2048 KB
// (P9); the lab's files are a few hundred bytes, so a much smaller cap is used.
const MaxSize = 64 << 10

// Limits of a CallManager group (CUCM allows three members) and of the TVS list (P26: up to 5).
const (
	MaxCallManagers = 3
	MaxTVS          = 5
)

// Device is the configuration of one phone.
type Device struct {
	XMLName xml.Name `xml:"device"`
	// Protocol is SCCP or SIP.
	Protocol string `xml:"deviceProtocol"`
	// SecurityMode is deviceSecurityMode: 1 non-secure, 2 authenticated, 3 encrypted (P38).
	SecurityMode int `xml:"deviceSecurityMode"`
	// CallManagers in priority order.
	CallManagers []CallManager `xml:"devicePool>callManagerGroup>members>member"`
	// TVS servers in priority order (P26).
	TVS []TVS `xml:"TVS>members>member"`
}

// CallManager is one member of the device pool's CallManager group.
type CallManager struct {
	Priority int    `xml:"priority,attr"`
	Name     string `xml:"callManager>name"`
	// Address is processNodeName: where the phone connects.
	Address string `xml:"callManager>processNodeName"`
	// EthernetPhonePort is SCCP's TCP port; its TLS port is this plus 443 (P40).
	EthernetPhonePort int `xml:"callManager>ports>ethernetPhonePort"`
	SIPPort           int `xml:"callManager>ports>sipPort"`
	SecuredSIPPort    int `xml:"callManager>ports>securedSipPort"`
}

// SCCPTLSOffset is what SCCP adds to the Ethernet Phone Port for TLS (P40, R8).
const SCCPTLSOffset = 443

// Port is where a phone of protocol proto registers with m, secure or not (P40).
func (m CallManager) Port(proto string, secure bool) int {
	switch {
	case proto == "SIP" && secure:
		return m.SecuredSIPPort
	case proto == "SIP":
		return m.SIPPort
	case secure:
		return m.EthernetPhonePort + SCCPTLSOffset
	}
	return m.EthernetPhonePort
}

// TVS is one TVS server.
type TVS struct {
	Priority int    `xml:"priority,attr"`
	Address  string `xml:"address"`
	Port     int    `xml:"port"`
}

// Marshal writes the file.
func (d *Device) Marshal() ([]byte, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	b, err := xml.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// Parse reads a configuration file: at most MaxSize bytes, one <device> element, values in
// range. Members are returned in priority order.
func Parse(data []byte) (*Device, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("configuration file is %d bytes, more than %d", len(data), MaxSize)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.Entity = nil
	var d Device
	if err := dec.Decode(&d); err != nil {
		line, col := dec.InputPos()
		return nil, fmt.Errorf("configuration file, line %d col %d: %w", line, col, err)
	}
	// Nothing but whitespace, comments or processing instructions may follow.
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if cd, ok := tok.(xml.CharData); ok && len(bytes.TrimSpace(cd)) == 0 {
			continue
		}
		switch tok.(type) {
		case xml.Comment, xml.ProcInst:
			continue
		}
		off := dec.InputOffset()
		return nil, fmt.Errorf("configuration file, offset %d: content after </device>", off)
	}
	sort.SliceStable(d.CallManagers, func(i, j int) bool { return d.CallManagers[i].Priority < d.CallManagers[j].Priority })
	sort.SliceStable(d.TVS, func(i, j int) bool { return d.TVS[i].Priority < d.TVS[j].Priority })
	if err := d.check(); err != nil {
		return nil, fmt.Errorf("configuration file: %w", err)
	}
	return &d, nil
}

func (d *Device) check() error {
	if d.Protocol != "SCCP" && d.Protocol != "SIP" {
		return fmt.Errorf("deviceProtocol %q: want SCCP or SIP", d.Protocol)
	}
	if d.SecurityMode < 1 || d.SecurityMode > 3 {
		return fmt.Errorf("deviceSecurityMode %d: want 1 (non-secure), 2 (authenticated) or 3 (encrypted)", d.SecurityMode)
	}
	if len(d.CallManagers) == 0 || len(d.CallManagers) > MaxCallManagers {
		return fmt.Errorf("%d CallManager group members: want 1 to %d", len(d.CallManagers), MaxCallManagers)
	}
	if len(d.TVS) > MaxTVS {
		return fmt.Errorf("%d TVS members: want at most %d (P26)", len(d.TVS), MaxTVS)
	}
	for i, m := range d.CallManagers {
		if err := checkHost(m.Address); err != nil {
			return fmt.Errorf("CallManager %d (%q): processNodeName: %w", i+1, m.Name, err)
		}
		for _, p := range []struct {
			name string
			v    int
		}{{"ethernetPhonePort", m.EthernetPhonePort}, {"sipPort", m.SIPPort}, {"securedSipPort", m.SecuredSIPPort}} {
			if p.v < 0 || p.v > 65535 || (p.name == "ethernetPhonePort" && p.v+SCCPTLSOffset > 65535) {
				return fmt.Errorf("CallManager %d (%q): %s %d out of range", i+1, m.Name, p.name, p.v)
			}
		}
	}
	for i, t := range d.TVS {
		if err := checkHost(t.Address); err != nil {
			return fmt.Errorf("TVS %d: address: %w", i+1, err)
		}
		if t.Port < 1 || t.Port > 65535 {
			return fmt.Errorf("TVS %d: port %d out of range", i+1, t.Port)
		}
	}
	return nil
}

// checkHost accepts an IP address or a host name of letters, digits, dots and hyphens.
func checkHost(h string) error {
	if h == "" || len(h) > 253 {
		return fmt.Errorf("%q is not a host", h)
	}
	if net.ParseIP(h) != nil {
		return nil
	}
	if strings.Trim(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != "" {
		return fmt.Errorf("%q is not a host name or address", h)
	}
	return nil
}
