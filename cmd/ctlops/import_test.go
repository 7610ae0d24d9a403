package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/internal/labtest"
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
