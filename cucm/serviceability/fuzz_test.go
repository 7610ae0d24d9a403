package serviceability

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func seedResponses(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "responses", "*.xml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkErr: a refused answer gives an error without raw control characters or invalid UTF-8.
func checkErr(t *testing.T, err error) {
	if err == nil {
		return
	}
	s := err.Error()
	if !utf8.ValidString(s) || strings.ContainsAny(s, "\x1b\r\x00") {
		t.Fatalf("unsafe error text %q", s)
	}
}

func FuzzServiceResponse(f *testing.F) {
	seedResponses(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, op := range []string{"soapGetServiceStatusResponse", "soapDoControlServicesResponse"} {
			r, err := decodeStatus(data, op, "return")
			checkErr(t, err)
			if err == nil && r == nil {
				t.Fatal("nil result without error")
			}
		}
	})
}

func FuzzSelectCmDevice(f *testing.F) {
	seedResponses(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var out selectCmDeviceResponse
		err := decodeEnvelope(data, xml.Name{Space: NSServiceability, Local: "selectCmDeviceResponse"}, &out)
		if err == nil {
			var nodes []CmNode
			var total int
			total, nodes, _, err = convertSelect(&out)
			if err == nil {
				phones := (&SelectResult{TotalDevicesFound: total, Nodes: nodes}).Phones()
				for _, p := range phones {
					if p.Name == "" || (p.Node != "") != (p.Status == Registered) {
						t.Fatalf("inconsistent phone %+v", p)
					}
				}
			}
		}
		checkErr(t, err)
	})
}

func FuzzAXL(f *testing.F) {
	seedResponses(f)
	ns := NSAXLPrefix + "14.0"
	f.Fuzz(func(t *testing.T, data []byte) {
		var l listProcessNodeResponse
		checkErr(t, decodeEnvelope(data, xml.Name{Space: ns, Local: "listProcessNodeResponse"}, &l))
		var v getCCMVersionResponse
		checkErr(t, decodeEnvelope(data, xml.Name{Space: ns, Local: "getCCMVersionResponse"}, &v))
		var s sqlResponse
		checkErr(t, decodeEnvelope(data, xml.Name{Space: ns, Local: "executeSQLQueryResponse"}, &s))
	})
}
