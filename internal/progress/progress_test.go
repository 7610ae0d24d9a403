package progress

import (
	"bytes"
	"fmt"
	"strings"
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

// The terminal view rewrites one line in place, makes outside names safe, and erases the line
// once nothing is pending.
func TestTerminal(t *testing.T) {
	var b bytes.Buffer
	r := Terminal(&b)
	r.Report(Event{Kind: Started, Cluster: "hq", Server: "cm1"})
	r.Report(Event{Kind: Started, Cluster: "hq", Server: "cm2\x1b[2J"})
	r.Report(Event{Kind: Done, Cluster: "hq", Server: "cm1"})
	r.Report(Event{Kind: Done, Cluster: "hq", Server: "cm2\x1b[2J", Err: "cannot reach"})
	want := ClearLine + "reading 0/1 (pending: hq/cm1)" +
		ClearLine + "reading 0/2 (pending: hq/cm1, hq/cm2\\x1b[2J)" +
		ClearLine + "reading 1/2 (pending: hq/cm2\\x1b[2J)" +
		ClearLine
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
	// A long list is cut to one line.
	b.Reset()
	r = Terminal(&b)
	for i := 0; i < 30; i++ {
		r.Report(Event{Kind: Started, Cluster: "hq", Server: fmt.Sprintf("node-with-a-long-name-%02d", i)})
	}
	last := b.String()[strings.LastIndex(b.String(), ClearLine)+len(ClearLine):]
	if n := len([]rune(last)); n > 76 || !strings.HasSuffix(last, "…") {
		t.Errorf("status line of %d runes: %q", n, last)
	}
}
