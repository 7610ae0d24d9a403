package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
)

// TestApplyCLI is the new user's run, each command in a fresh process: plan --out, apply asks
// (and, without a terminal, refuses to guess), apply signs on the SoftHSM2 token, every node
// then serves the file over TFTP signed by it, the next plan is empty, and the saved plan is
// refused as stale once a node's IP changed. A wrong PIN changes nothing.
func TestApplyCLI(t *testing.T) {
	w := newTokenWorld(t)
	w.leaks = append(w.leaks, providertest.Password)
	pc := providertest.StartNamed(t, "hq", 2)
	dir := t.TempDir()
	for _, tk := range []struct {
		name string
		pem  []byte
	}{{"alice", w.a.CertPEM}, {"bob", w.b.CertPEM}} {
		if err := os.WriteFile(filepath.Join(dir, tk.name+".pem"), tk.pem, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	b.WriteString("version: 1\nclusters:\n  - name: hq\n    mode: mixed\n    providers:\n")
	for _, a := range pc.Addrs() {
		host, port, _ := strings.Cut(a, ":")
		fmt.Fprintf(&b, "      - {host: %s, port: %s}\n", host, port)
	}
	fmt.Fprintf(&b, "    credentials: {username: %s, password: {env: HQ_PASSWORD}}\n    tls: {ca: %s}\n", pc.User, pc.CAFile)
	b.WriteString("    tokens:\n      - {name: alice, certificate: alice.pem}\n      - {name: bob, certificate: bob.pem}\n")
	fmt.Fprintf(&b, "    signWith: {pkcs11: {module: %s, label: %s}}\n", w.env.Module, w.a.Label)
	spec := filepath.Join(dir, "ctlops.yaml")
	if err := os.WriteFile(spec, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(dir, "p")
	env := []string{"HQ_PASSWORD=" + providertest.Password}
	withPIN := append(env[:1:1], "CTLOPS_TOKEN_PIN="+w.a.PIN)

	if code, _, errs := w.run(t, env, "plan", "-f", spec, "--out", planFile); code != 0 {
		t.Fatalf("plan: exit %d: %s", code, errs)
	}
	code, out, errs := w.run(t, withPIN, "apply", "-f", spec, planFile)
	if code != 1 || !strings.Contains(errs, "--auto-approve") || !strings.Contains(out, "Saved plan") {
		t.Fatalf("apply without a terminal: exit %d\n%s\n%s", code, out, errs)
	}
	// No PIN anywhere and no terminal to ask: the error names what answers it.
	code, _, errs = w.run(t, env, "apply", "-f", spec, planFile, "--auto-approve", "--input=false")
	if code != 1 || !strings.Contains(errs, "--pin-file") {
		t.Fatalf("apply without a PIN: exit %d: %s", code, errs)
	}
	// A wrong PIN, in a process that never logged in: refused, nothing written.
	code, _, errs = w.run(t, env, "apply", "-f", spec, planFile, "--auto-approve", "--pin-file", w.pinFile(t, "Zz1-wrong-PIN"))
	if code != 1 || !strings.Contains(errs, "wrong PIN") {
		t.Fatalf("apply with a wrong PIN: exit %d: %s", code, errs)
	}
	for _, n := range pc.Nodes() {
		if _, err := provider.ReadCTLFile(n.FileLocation()); err == nil {
			t.Fatalf("node %s was written despite the wrong PIN", n.Name)
		}
	}

	// Another expiry window than the plan's: refused naming both windows and the flag, before
	// the token is asked for; nothing written.
	code, _, errs = w.run(t, withPIN, "apply", "-f", spec, planFile, "--auto-approve", "--expiry-window", "60d")
	if code != 1 || !strings.Contains(errs, "within 30d, this apply within 60d") || !strings.Contains(errs, "`--expiry-window 30d`") {
		t.Fatalf("apply --expiry-window 60d of a 30-day plan: exit %d: %s", code, errs)
	}
	for _, n := range pc.Nodes() {
		if _, err := provider.ReadCTLFile(n.FileLocation()); err == nil {
			t.Fatalf("node %s was written by the apply of another window", n.Name)
		}
	}

	// Without -f, from a directory with no ctlops.yaml: the spec the plan file recorded.
	code, out, errs = w.run(t, withPIN, "apply", planFile, "--auto-approve")
	if code != 0 || !strings.Contains(out, "Apply complete.") || !strings.Contains(errs, "using the spec the plan file recorded: "+spec) {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errs)
	}
	for _, n := range pc.Nodes() {
		r, err := provider.NewTFTPReader(n.TFTPAddr, provider.Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		data, _, err := r.CTL(context.Background())
		if err != nil {
			t.Fatalf("TFTP %s: %v", n.Name, err)
		}
		f, err := ctl.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Verify(); err != nil {
			t.Errorf("node %s serves a file that does not verify: %v", n.Name, err)
		}
		if i := f.SignerRecord(); i < 0 || ctl.Fingerprint(f.Records[i].Certificate) != ctl.Fingerprint(w.a.Cert.Raw) {
			t.Errorf("node %s serves a file signed by %q, want the token %s", n.Name, f.Header.SignerName, w.a.Label)
		}
	}
	// One result line per apply that reached the servers (the one that pushed also wrote an
	// "intent" line before its first write): the wrong PIN (refused at the token, under
	// the locks) and this one. The missing PIN failed before any lock and left none.
	audit, err := os.ReadFile(filepath.Join(dir, ".ctlops", "audit.jsonl"))
	if err != nil || strings.Count(string(audit), "\n")-strings.Count(string(audit), `"result":"intent"`) != 2 || strings.Count(string(audit), `"result":"failed"`) != 1 || !strings.Contains(string(audit), `"result":"applied"`) {
		t.Errorf("audit log (%v):\n%s", err, audit)
	}
	for _, s := range w.leaks {
		if strings.Contains(string(audit), s) {
			t.Error("a secret appears in the audit log")
		}
	}
	if code, out, errs := w.run(t, env, "plan", "-f", spec, "--detailed-exitcode"); code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s\n%s", code, out, errs)
	}
	// Nothing to do is success, without a question.
	if code, out, _ := w.run(t, env, "apply", "-f", spec); code != 0 || !strings.Contains(out, "No changes") {
		t.Errorf("apply with nothing to do: exit %d\n%s", code, out)
	}

	pc.ChangeIP(pc.Nodes()[1].Name, "192.0.2.42")
	code, _, errs = w.run(t, withPIN, "apply", "-f", spec, planFile, "--auto-approve")
	if code != 1 || !strings.Contains(errs, "is stale") {
		t.Fatalf("stale plan: exit %d: %s", code, errs)
	}
}
