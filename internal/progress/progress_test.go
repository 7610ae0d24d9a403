package progress

import (
	"bytes"
	"testing"
)

func TestLines(t *testing.T) {
	var b bytes.Buffer
	r := Lines(&b)
	r.Report(Event{Kind: Started, Cluster: "hq", Server: "cm1"})
	r.Report(Event{Kind: Started, Cluster: "hq", Server: "cm2"})
	r.Report(Event{Kind: Started, Cluster: "hq", Server: "cm3\x1b[2J"})
	r.Report(Event{Kind: Done, Cluster: "hq", Server: "cm1"})
	r.Report(Event{Kind: Done, Cluster: "hq", Server: "cm2", Err: "cannot reach cm2\n(127.0.0.1:1): connection refused"})
	want := "ctlops: read hq/cm1 (1/3; pending: hq/cm2, hq/cm3\\x1b[2J)\n" +
		"ctlops: failed hq/cm2 (2/3; pending: hq/cm3\\x1b[2J): cannot reach cm2\\n(127.0.0.1:1): connection refused\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
