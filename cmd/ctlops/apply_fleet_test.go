package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
)

// TestApplyFleetPartialExit: with one suspended cluster the other is applied and apply exits
// 6 (the exit table's "partial"), naming the skipped cluster and why; with nothing left to
// apply but the suspended one it is an error, 1.
func TestApplyFleetPartialExit(t *testing.T) {
	w := newTokenWorld(t)
	dir := t.TempDir()
	for name, pem := range map[string][]byte{"alice": w.a.CertPEM, "bob": w.b.CertPEM} {
		if err := os.WriteFile(filepath.Join(dir, name+".pem"), pem, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	b.WriteString("version: 1\nclusters:\n")
	clusters := map[string]*providertest.Cluster{}
	for _, name := range []string{"good", "paused"} {
		pc := providertest.StartNamed(t, name, 1)
		clusters[name] = pc
		host, port, _ := strings.Cut(pc.Addrs()[0], ":")
		fmt.Fprintf(&b, "  - name: %s\n    mode: mixed\n    providers: [{host: %s, port: %s}]\n"+
			"    credentials: {username: %s, password: {env: PW_%s}}\n    tls: {ca: %s}\n"+
			"    tokens: [{name: alice, certificate: alice.pem}, {name: bob, certificate: bob.pem}]\n"+
			"    signWith: {pkcs11: {module: %s, label: %s}}\n", name, host, port, pc.User, strings.ToUpper(name), pc.CAFile, w.env.Module, w.a.Label)
		if name == "paused" {
			b.WriteString("    suspend: true\n")
		}
	}
	spec := filepath.Join(dir, "ctlops.yaml")
	if err := os.WriteFile(spec, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PW_GOOD=" + providertest.Password, "PW_PAUSED=" + providertest.Password, "CTLOPS_TOKEN_PIN=" + w.a.PIN}
	code, out, errs := w.run(t, env, "apply", "-f", spec, "--auto-approve")
	if code != exitPartial || !strings.Contains(errs, "applied good; skipped 1 cluster(s)") || !strings.Contains(errs, "cluster paused: suspended") {
		t.Fatalf("fleet with a suspended cluster: exit %d\n%s\n%s", code, out, errs)
	}
	if _, err := provider.ReadCTLFile(clusters["good"].Nodes()[0].FileLocation()); err != nil {
		t.Errorf("the good cluster was not applied: %v", err)
	}
	if _, err := provider.ReadCTLFile(clusters["paused"].Nodes()[0].FileLocation()); err == nil {
		t.Error("the suspended cluster was written")
	}
	code, out, errs = w.run(t, env, "apply", "-f", spec, "--auto-approve")
	if code != exitFailed || !strings.Contains(errs, "cannot be applied") {
		t.Fatalf("only the suspended cluster left: exit %d\n%s\n%s", code, out, errs)
	}
}
