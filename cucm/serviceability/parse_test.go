package serviceability

import (
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readResponse(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "responses", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// layouts returns the answer as the server wrote it and re-laid out in ways a parser must
// tolerate: other prefixes, CRLF, lone CR, no indentation.
func layouts(data []byte) map[string][]byte {
	s := string(data)
	out := map[string][]byte{"as written": data}
	var pairs []string
	for from, to := range map[string]string{"ns1": "q", "ns": "axl", "soapenv": "SOAP-ENV"} {
		pairs = append(pairs, "<"+from+":", "<"+to+":", "</"+from+":", "</"+to+":", "xmlns:"+from+"=", "xmlns:"+to+"=")
	}
	r := strings.NewReplacer(pairs...)
	out["prefixes renamed"] = []byte(r.Replace(s))
	out["CRLF"] = []byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))
	out["lone CR"] = []byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r"))
	var flat []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		flat = append(flat, strings.TrimSpace(l))
	}
	out["no indentation"] = []byte(strings.Join(flat, ""))
	return out
}

func decodeStatus(data []byte, local, ret string) (*ServiceResponse, error) {
	var out struct {
		Status  *serviceResponseXML `xml:"soapGetServiceStatusReturn"`
		Control *serviceResponseXML `xml:"soapDoControlServicesReturn"`
	}
	if err := decodeEnvelope(data, xml.Name{Space: NSServiceability, Local: local}, &out); err != nil {
		return nil, err
	}
	x := out.Status
	if out.Control != nil {
		x = out.Control
	}
	return convertServiceResponse(x, ret)
}

func TestParseServiceStatus(t *testing.T) {
	want := &ServiceResponse{ReturnCode: "0", ReasonCode: -1, Services: []ServiceInfo{
		{Name: "Cisco CallManager", Status: Started, ReasonCode: -1, StartTime: "Tue Dec  1 06:12:40 2026", UpTime: 93600},
		{Name: "Cisco Tftp", Status: Stopping, ReasonCode: -1, UpTime: -1},
	}}
	for _, file := range []string{"status_ns1.xml", "status_default_ns_crlf.xml"} {
		for name, data := range layouts(readResponse(t, file)) {
			got, err := decodeStatus(data, "soapGetServiceStatusResponse", "soapGetServiceStatusReturn")
			if err != nil {
				t.Fatalf("%s, %s: %v", file, name, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, %s:\n got %+v\nwant %+v", file, name, got, want)
			}
		}
	}
}

func TestParseControlServices(t *testing.T) {
	for name, data := range layouts(readResponse(t, "control_restart.xml")) {
		got, err := decodeStatus(data, "soapDoControlServicesResponse", "soapDoControlServicesReturn")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s, ok := got.Find(ServiceTFTP)
		if !ok || s.Status != Starting || s.UpTime != -1 {
			t.Errorf("%s: %+v", name, got)
		}
	}
}

func TestParseFaults(t *testing.T) {
	for _, tc := range []struct {
		file, local string
		want        Fault
	}{
		{"fault_service.xml", "soapDoControlServicesResponse", Fault{FaultCode: "soapenv:Server", FaultString: "Service Not Found: Cisco Tftpd"}},
		{"axl_fault.xml", "doDeviceResetResponse", Fault{FaultCode: "soapenv:Client", FaultString: "Item not valid: The specified Device was not found",
			AXLCode: "5007", AXLMessage: "Item not valid: The specified Device was not found"}},
	} {
		// Only the envelope prefix may be renamed: faultcode's value is a QName we keep as text.
		data := readResponse(t, tc.file)
		err := decodeEnvelope(data, xml.Name{Space: NSServiceability, Local: tc.local}, &struct{}{})
		var f *Fault
		if !errors.As(err, &f) {
			t.Fatalf("%s: %v, want a fault", tc.file, err)
		}
		if *f != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.file, *f, tc.want)
		}
		if !strings.Contains(f.Error(), tc.want.FaultString) {
			t.Errorf("%s: error %q does not quote the fault string", tc.file, f.Error())
		}
	}
}

func TestParseSelectCmDevice(t *testing.T) {
	for name, data := range layouts(readResponse(t, "ris_two_nodes.xml")) {
		var out selectCmDeviceResponse
		if err := decodeEnvelope(data, xml.Name{Space: NSServiceability, Local: "selectCmDeviceResponse"}, &out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		total, nodes, state, err := convertSelect(&out)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if total != 3 || len(nodes) != 3 || nodes[2].ReturnCode != "NotFound" || len(nodes[2].Devices) != 0 {
			t.Fatalf("%s: total %d nodes %+v", name, total, nodes)
		}
		if !strings.Contains(state, `StateId="42"`) {
			t.Errorf("%s: StateInfo %q", name, state)
		}
		d := nodes[0].Devices[0]
		wantDev := Device{Name: "SEP001122334455", DirNumber: "1001-Registered", DeviceClass: "Phone", Model: 36213, Status: Registered,
			Protocol: "SIP", TimeStamp: 1796191960, IPAddress: "10.1.1.20", ActiveLoad: "sip88xx.14-2-1-0001-14", Description: "Lobby"}
		if d != wantDev {
			t.Errorf("%s:\n got %+v\nwant %+v", name, d, wantDev)
		}
		r := &SelectResult{TotalDevicesFound: total, Nodes: nodes}
		want := []Phone{
			{Name: "SEP0000DEADBEEF", Model: 36670, Protocol: "SIP", Status: UnRegistered, TimeStamp: 1796190000},
			{Name: "SEP001122334455", Model: 36213, Protocol: "SIP", IPAddress: "10.1.1.20", Status: Registered, Node: "cm1", TimeStamp: 1796191960},
			// unregistered from cm1, registered to cm2: registered wins.
			{Name: "SEP00AABBCCDDEE", Model: 621, Protocol: "SCCP", IPAddress: "10.1.1.21", Status: Registered, Node: "cm2", TimeStamp: 1796191005},
		}
		if got := r.Phones(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: phones\n got %+v\nwant %+v", name, got, want)
		}
	}
}

func TestParseAXL(t *testing.T) {
	ns := NSAXLPrefix + "14.0"
	for name, data := range layouts(readResponse(t, "axl_version.xml")) {
		var v getCCMVersionResponse
		if err := decodeEnvelope(data, xml.Name{Space: ns, Local: "getCCMVersionResponse"}, &v); err != nil || v.Return.Component.Version != "14.0.1.13900(155)" {
			t.Errorf("version, %s: %v %+v", name, err, v)
		}
	}
	for name, data := range layouts(readResponse(t, "axl_processnodes.xml")) {
		var l listProcessNodeResponse
		if err := decodeEnvelope(data, xml.Name{Space: ns, Local: "listProcessNodeResponse"}, &l); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(l.Return.Nodes) != 3 || l.Return.Nodes[2].Name != "cm2.hq.example.com" || l.Return.Nodes[2].NodeUsage != "Subscriber" ||
			l.Return.Nodes[1].UUID != "{8B5C5E2A-1D1B-4E8E-8F43-7E2A9C4D5B01}" {
			t.Errorf("%s: %+v", name, l.Return.Nodes)
		}
	}
	for name, data := range layouts(readResponse(t, "axl_reset.xml")) {
		var r standardResponse
		if err := decodeEnvelope(data, xml.Name{Space: ns, Local: "doDeviceResetResponse"}, &r); err != nil || r.Return == nil ||
			*r.Return != "{6D2C7F9A-0B11-4E3A-9A0D-000000000001}" {
			t.Errorf("reset, %s: %v", name, err)
		}
	}
	// The response example of CUCM-INTERFACES.md §4.1.
	for name, data := range layouts(readResponse(t, "axl_sql.xml")) {
		var s sqlResponse
		if err := decodeEnvelope(data, xml.Name{Space: ns, Local: "executeSQLQueryResponse"}, &s); err != nil {
			t.Fatalf("sql, %s: %v", name, err)
		}
		if len(s.Return.Rows) != 1 || len(s.Return.Rows[0].Cols) != 2 || s.Return.Rows[0].Cols[1].Value != "1" {
			t.Errorf("sql, %s: %+v", name, s)
		}
	}
}

// Strict about content: each answer below is well-formed XML that must be refused, with an
// error quoting what came.
func TestParseRefusesWrongContent(t *testing.T) {
	status := string(readResponse(t, "status_ns1.xml"))
	ris := string(readResponse(t, "ris_two_nodes.xml"))
	for _, tc := range []struct {
		name, data, local, want string
	}{
		{"not SOAP", `<html><body>Login</body></html>`, "soapGetServiceStatusResponse", `answer starts with <html>`},
		{"SOAP 1.2 envelope", strings.ReplaceAll(status, "http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"), "soapGetServiceStatusResponse", "want a SOAP 1.1 <Envelope>"},
		{"other operation", status, "soapDoControlServicesResponse", `answer is <soapGetServiceStatusResponse>`},
		{"other namespace", strings.ReplaceAll(status, "http://schemas.cisco.com/ast/soap", "urn:other"), "soapGetServiceStatusResponse", `namespace "urn:other"`},
		{"unknown status", strings.Replace(status, ">Started<", ">Running\u202e<", 1), "soapGetServiceStatusResponse", `unknown ServiceStatus "Running\\u202e"`},
		{"bad uptime", strings.Replace(status, ">93600<", ">lots<", 1), "soapGetServiceStatusResponse", `UpTime: "lots" is not an integer`},
		{"empty body", `<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>`, "soapGetServiceStatusResponse", "SOAP body is empty"},
		{"truncated", status[:len(status)/2], "soapGetServiceStatusResponse", "malformed XML"},
		{"unknown reg status", strings.Replace(ris, ">UnRegistered<", ">Gone<", 1), "selectCmDeviceResponse", `unknown Status "Gone"`},
		{"unknown return code", strings.Replace(ris, ">NotFound<", ">Maybe<", 1), "selectCmDeviceResponse", `unknown ReturnCode "Maybe"`},
		{"bad model", strings.Replace(ris, ">36213<", ">-1<", 1), "selectCmDeviceResponse", `Model: "-1"`},
	} {
		var err error
		switch tc.local {
		case "selectCmDeviceResponse":
			var out selectCmDeviceResponse
			if err = decodeEnvelope([]byte(tc.data), xml.Name{Space: NSServiceability, Local: tc.local}, &out); err == nil {
				_, _, _, err = convertSelect(&out)
			}
		default:
			_, err = decodeStatus([]byte(tc.data), tc.local, "return")
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
		if err != nil && strings.ContainsRune(err.Error(), 0x202e) {
			t.Errorf("%s: raw escape in error %q", tc.name, err)
		}
	}
}
