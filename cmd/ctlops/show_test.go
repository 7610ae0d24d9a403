package main

import (
	"strings"
	"testing"

	"github.com/ctlops/ctlops/adopt"
	"github.com/ctlops/ctlops/internal/labtest"
	"github.com/ctlops/ctlops/provider"
)

// TestShowCLI: servers holding the same file are shown once, with the file's checksums; a
// server with another file is shown apart; --node shows one server; show never writes.
func TestShowCLI(t *testing.T) {
	l := labtest.New(t, map[string]int{"hq": 3})
	cfg := l.Spec(labtest.Mixed("hq"))
	p := l.Plan(cfg)
	data := l.Install(p.Clusters[0], "alice")
	spec := l.WriteSpec(labtest.Mixed("hq"))
	sum := adopt.Sum(data)

	code, out, errs := runCmd(t, "show", "-f", spec, "--timeout", "5s")
	if code != 0 || strings.Count(out, "The checksum value of the CTL file:") != 1 ||
		!strings.Contains(out, sum.MD5+"(MD5)") || !strings.Contains(out, sum.SHA1+"(SHA1)") ||
		!strings.Contains(out, "Servers: cm1") || !strings.Contains(out, "This etoken was used to sign the CTL file.") ||
		!strings.Contains(out, "expires in") || !strings.Contains(out, "verified successfully") {
		t.Fatalf("show: exit %d\n%s%s", code, out, errs)
	}

	other := l.Sign(p.Clusters[0].Desired.Data, "bob")
	l.Clusters["hq"].PutCTL("cm3", other)
	code, out, errs = runCmd(t, "show", "-f", spec, "--timeout", "5s")
	if code != 0 || strings.Count(out, "The checksum value of the CTL file:") != 2 || !strings.Contains(out, "file 2 of 2 different files") {
		t.Fatalf("show with a differing node: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCmd(t, "show", "-f", spec, "--node", "cm3", "--timeout", "5s")
	if code != 0 || !strings.Contains(out, "Server: cm3") || strings.Contains(out, "Servers:") || !strings.Contains(out, adopt.Sum(other).MD5) {
		t.Fatalf("show --node cm3: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs = runCmd(t, "show", "-f", spec, "--node", "cm9"); code != 1 || !strings.Contains(errs, "no server named cm9") {
		t.Fatalf("show --node cm9: exit %d %s", code, errs)
	}
	// Read-only: every node still holds what it held.
	for _, n := range l.Clusters["hq"].Nodes() {
		want := data
		if n.Name == "cm3" {
			want = other
		}
		if got, err := provider.ReadCTLFile(n.FileLocation()); err != nil || string(got) != string(want) {
			t.Errorf("show changed %s's file", n.Name)
		}
	}
	// A dead server: exit 1, naming it.
	l.Clusters["hq"].Close()
	code, out, _ = runCmd(t, "show", "-f", spec, "--timeout", "2s")
	if code != 1 || !strings.Contains(out, "cannot read") {
		t.Fatalf("show of a dead cluster: exit %d\n%s", code, out)
	}
}
