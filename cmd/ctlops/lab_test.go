package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/lab"
)

func runLab(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"lab"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestLabCLI drives `ctlops lab` as a user does (software keys, so that it runs without
// SoftHSM2 too): up, status in both formats, an event, a bad event, down, status after down,
// a second down; and no password or PIN of lab.env in any output.
func TestLabCLI(t *testing.T) {
	bin := filepath.Join(t.TempDir(), lab.ProviderBinary)
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/ctlops/ctlops/cmd/ctl-provider").CombinedOutput(); err != nil {
		t.Fatalf("building ctl-provider: %v\n%s", err, out)
	}
	lab.NodesDieWithCaller = true
	dir := filepath.Join(t.TempDir(), "lab")
	t.Cleanup(func() { _, _ = lab.Down(dir, false) })
	var all strings.Builder
	step := func(wantCode int, args ...string) (string, string) {
		t.Helper()
		code, out, errs := runLab(t, append(args, "--dir", dir)...)
		all.WriteString(out + errs)
		if code != wantCode {
			t.Fatalf("lab %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, wantCode, out, errs)
		}
		return out, errs
	}

	out, errs := step(0, "up", "--software-keys", "--provider", bin)
	if !strings.Contains(errs, "SOFTWARE KEYS") || !strings.Contains(out, "6 of 6 nodes running") || !strings.Contains(out, ". "+dir+"/lab.env") {
		t.Errorf("up said:\n%s\n%s", out, errs)
	}
	_, errs = step(1, "up", "--provider", bin)
	if !strings.Contains(errs, "already running") {
		t.Errorf("second up: %s", errs)
	}

	out, _ = step(0, "status", "--format", "json")
	var st []lab.NodeStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st) != 6 { // hq 3, branch 1, metro 2
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	for _, s := range st {
		if s.PID == 0 {
			t.Errorf("%s/%s not running", s.Cluster, s.Name)
		}
	}
	out, _ = step(0, "status")
	if !strings.Contains(out, "CLUSTER  NODE") || !strings.Contains(out, "branch   br1") {
		t.Errorf("status text:\n%s", out)
	}

	out, _ = step(0, "event", "ip-change", "cm2", "10.1.1.1")
	if !strings.Contains(out, "hq/cm2 now reports IP 10.1.1.1") {
		t.Errorf("event: %s", out)
	}
	_, errs = step(4, "event", "reboot", "cm2")
	if !strings.Contains(errs, `unknown event "reboot"`) || !strings.Contains(errs, "manual-update NODE") {
		t.Errorf("bad event: %s", errs)
	}
	_, errs = step(1, "event", "tamper", "cm1")
	if !strings.Contains(errs, "no CTLFile.tlv yet") {
		t.Errorf("tamper without CTL: %s", errs)
	}

	out, _ = step(0, "down")
	if !strings.Contains(out, "stopped 6 node(s)") {
		t.Errorf("down: %s", out)
	}
	for _, s := range st {
		if _, err := os.Stat("/proc/" + itoa(s.PID)); err == nil {
			if b, _ := os.ReadFile("/proc/" + itoa(s.PID) + "/cmdline"); bytes.Contains(b, []byte(dir)) {
				t.Errorf("%s/%s pid %d alive after down", s.Cluster, s.Name, s.PID)
			}
		}
	}
	out, _ = step(5, "status")
	if !strings.Contains(out, "0 of 6 nodes running") {
		t.Errorf("status after down:\n%s", out)
	}
	out, _ = step(0, "down")
	if !strings.Contains(out, "was not running") {
		t.Errorf("second down: %s", out)
	}

	env, err := os.ReadFile(filepath.Join(dir, lab.EnvFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(env), "\n") {
		for _, k := range []string{"CTLOPS_TOKEN_PIN=", "LAB_HQ_PASSWORD=", "LAB_BRANCH_PASSWORD="} {
			if v, ok := strings.CutPrefix(line, "export "+k); ok {
				v = strings.Trim(v, "'")
				if len(v) < 8 || strings.Contains(all.String(), v) {
					t.Errorf("%s (%d chars) appears in the output", k, len(v))
				}
			}
		}
	}
	step(0, "down", "--purge")
	if _, err := os.Stat(dir); err == nil {
		t.Error("down --purge left the directory")
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
