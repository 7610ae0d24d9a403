package cnf

import (
	"os"
	"strings"
	"testing"
)

func sample() *Device {
	return &Device{Protocol: "SCCP", SecurityMode: 3,
		CallManagers: []CallManager{
			{Priority: 0, Name: "cm2", Address: "127.0.0.1", EthernetPhonePort: 40000, SIPPort: 40001, SecuredSIPPort: 40002},
			{Priority: 1, Name: "cm1", Address: "127.0.0.1", EthernetPhonePort: 41000, SIPPort: 41001, SecuredSIPPort: 41002},
		},
		TVS: []TVS{{Priority: 0, Address: "127.0.0.1", Port: 42000}}}
}

func TestRoundTripAndGolden(t *testing.T) {
	b, err := sample().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/SEP00AABBCCDDEE.cnf.xml")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(want) {
		t.Fatalf("marshal differs from the golden file:\n%s", b)
	}
	d, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.CallManagers[0].Name != "cm2" || d.TVS[0].Port != 42000 || d.SecurityMode != 3 {
		t.Fatalf("parsed back: %+v", d)
	}
	if p := d.CallManagers[0].Port("SCCP", true); p != 40443 {
		t.Fatalf("SCCP TLS port = %d, want 40000+443 (P40)", p)
	}
	if p := d.CallManagers[0].Port("SIP", true); p != 40002 {
		t.Fatalf("SIP TLS port = %d", p)
	}
}

func TestParseErrors(t *testing.T) {
	good, _ := sample().Marshal()
	cases := []struct {
		name, old, new, want string
	}{
		{"bad protocol", "<deviceProtocol>SCCP", "<deviceProtocol>H323", "deviceProtocol"},
		{"bad mode", "<deviceSecurityMode>3", "<deviceSecurityMode>7", "deviceSecurityMode"},
		{"bad host", "<processNodeName>127.0.0.1", "<processNodeName>a b", "processNodeName"},
		{"trailing element", "</device>", "</device><device></device>", "after </device>"},
		{"not xml", "<device>", "<device", "line"},
		{"entity", "<deviceProtocol>SCCP", "<deviceProtocol>&x;", "line"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := strings.Replace(string(good), c.old, c.new, 1)
			if in == string(good) {
				t.Fatal("edit did nothing")
			}
			_, err := Parse([]byte(in))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
	if _, err := Parse(make([]byte, MaxSize+1)); err == nil {
		t.Fatal("oversize accepted")
	}
}

func FuzzParse(f *testing.F) {
	good, _ := sample().Marshal()
	f.Add(good)
	f.Add([]byte("<device><deviceProtocol>SIP</deviceProtocol></device>"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever parses must marshal and parse back to the same thing.
		b, err := d.Marshal()
		if err != nil {
			t.Fatalf("parsed but does not marshal: %v", err)
		}
		d2, err := Parse(b)
		if err != nil {
			t.Fatalf("marshalled file does not parse: %v", err)
		}
		if len(d2.CallManagers) != len(d.CallManagers) || d2.Protocol != d.Protocol || d2.SecurityMode != d.SecurityMode {
			t.Fatalf("round trip changed the device: %+v vs %+v", d, d2)
		}
	})
}
