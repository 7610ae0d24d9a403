package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/internal/labtest"
	"github.com/ctlops/ctlops/lab/cucmsim/cucmsimtest"
	"github.com/ctlops/ctlops/provider/providertest"
)

// TestImportCLI adopts a lab cluster over the CTL Provider protocol from the command line,
// then plan and drift of the written directory report no change; the password is in no
// output and no file.
func TestImportCLI(t *testing.T) {
	l := labtest.New(t, map[string]int{"hq": 2})
	l.InstallAll(l.Plan(l.Spec(labtest.Mixed("hq"))), "alice")
	pc := l.Clusters["hq"]
	out := filepath.Join(t.TempDir(), "hq")
	args := []string{"import", "--out", out, "--username", pc.User, "--ca", pc.CAFile, "--password-env", labtest.PasswordEnv, "--timeout", "5s"}
	for _, a := range pc.Addrs() {
		args = append(args, "https://"+a)
	}
	code, stdout, stderr := runCmd(t, args...)
	if code != 0 || !strings.Contains(stdout, "Imported cluster hq (mixed mode)") || !strings.Contains(stdout, "expectServers: cm1, cm2") {
		t.Fatalf("import: exit %d\n%s%s", code, stdout, stderr)
	}
	all := stdout + stderr
	for _, args := range [][]string{{"plan", "-f", out, "--detailed-exitcode"}, {"drift", "-f", out}, {"validate", "-f", out}} {
		code, o, e := runCmd(t, args...)
		all += o + e
		if code != 0 {
			t.Fatalf("%v after import: exit %d\n%s%s", args, code, o, e)
		}
	}
	filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			all += string(b)
		}
		return nil
	})
	if strings.Contains(all, providertest.Password) {
		t.Fatal("the password appears in an output or a written file")
	}
	// Without the password in the environment, nothing is read or written.
	t.Setenv(labtest.PasswordEnv, "")
	code, _, stderr = runCmd(t, append([]string{"import", "--out", filepath.Join(t.TempDir(), "x"), "--username", "admin", "--ca", pc.CAFile, "--password-env", labtest.PasswordEnv}, "https://"+pc.Addrs()[0])...)
	if code != 1 || !strings.Contains(stderr, "set "+labtest.PasswordEnv) {
		t.Fatalf("import without the password: exit %d %s", code, stderr)
	}
}

// TestImportPlatformCLI adopts a tokenless cluster through its publisher's platform CLI from
// the command line: first without a confirmed host key (the keys are printed, nothing is sent
// or written), then with them; validate, plan and drift of the written directory then report
// no change, and the password is in no output and no file.
func TestImportPlatformCLI(t *testing.T) {
	sim := cucmsimtest.Start(t, "12.5.1.11900-146", true)
	t.Setenv(cucmsimtest.PasswordEnv, cucmsimtest.Password)
	pub, sub := sim.Node("mpub"), sim.Node("msub")
	out := filepath.Join(t.TempDir(), "metro")
	args := []string{"import", "ssh://" + cucmsimtest.User + "@" + pub.SSHAddr(), "--out", out, "--name", "metro",
		"--password-env", cucmsimtest.PasswordEnv, "--timeout", "10s",
		"--node-ssh", "msub=" + sub.SSHAddr(), "--node-tftp", "mpub=" + pub.TFTPAddr(), "--node-tftp", "msub=" + sub.TFTPAddr()}
	code, stdout, stderr := runCmd(t, args...)
	if code != 1 || !strings.Contains(stderr, "--host-key "+pub.HostKey()+" --host-key "+sub.HostKey()) || !strings.Contains(stderr, "Nothing was sent") {
		t.Fatalf("import without host keys: exit %d\n%s%s", code, stdout, stderr)
	}
	if pub.PasswordsSeen()+sub.PasswordsSeen() != 0 {
		t.Fatal("a password was sent before the host keys were confirmed")
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("import without host keys wrote something")
	}
	all := stdout + stderr
	code, stdout, stderr = runCmd(t, append(args, "--host-key", pub.HostKey(), "--host-key", sub.HostKey())...)
	if code != 0 || !strings.Contains(stdout, "Imported cluster metro (mixed mode)") || !strings.Contains(stdout, "signing: tokenless") ||
		!strings.Contains(stdout, "roles [CCM, TFTP, CAPF] (publisher)") {
		t.Fatalf("import: exit %d\n%s%s", code, stdout, stderr)
	}
	all += stdout + stderr
	for _, a := range [][]string{{"validate", "-f", out}, {"plan", "-f", out, "--detailed-exitcode"}, {"drift", "-f", out}} {
		code, o, e := runCmd(t, a...)
		all += o + e
		if code != 0 {
			t.Fatalf("%v after import: exit %d\n%s%s", a, code, o, e)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "ctlops.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	all += string(b)
	if strings.Contains(all, cucmsimtest.Password) {
		t.Fatal("the platform password appears in an output or the spec")
	}
	// Control: after a certificate regeneration the same spec drifts (exit 2).
	if err := sim.RegenCert("msub", "CallManager"); err != nil {
		t.Fatal(err)
	}
	if code, o, e := runCmd(t, "drift", "-f", out); code != 2 {
		t.Fatalf("drift after regen-cert: exit %d\n%s%s", code, o, e)
	}
}
