package lab

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestNodeEnvKeepsOnlyWhatNodesNeed(t *testing.T) {
	got := nodeEnv([]string{"PATH=/usr/bin", "CTLOPS_TOKEN_PIN=1234", "LAB_HQ_PASSWORD=pw", "HQ_CTL_PASSWORD=pw2",
		"TZ=UTC", "SOFTHSM2_CONF=/x", "HOME=/root", "GODEBUG=rsa1024min=0", "malformed"})
	want := []string{"PATH=/usr/bin", "TZ=UTC", "GODEBUG=rsa1024min=0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("nodeEnv: %q, want %q", got, want)
	}
}

// A node started the way `lab up` and `lab event add-node` start one sees none of the
// operator's secrets: the fake node below prints its environment into its log. The positive
// control is PATH, which it must see.
func TestStartedNodeInheritsNoSecrets(t *testing.T) {
	NodesDieWithCaller = true
	dir := t.TempDir()
	bin := filepath.Join(dir, "fake-provider")
	script := "#!/bin/sh\ntrap 'kill $!; exit 0' TERM\nenv\necho ' serving https://127.0.0.1:1'\nsleep 60 &\nwait\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"CTLOPS_TOKEN_PIN": "pin-Zq81", "LAB_HQ_PASSWORD": "pw-Hq42", "BRANCH_CTL_PASSWORD": "pw-Br77"}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	cfg := filepath.Join(dir, "node.yaml")
	logPath := filepath.Join(dir, "logs", "node.log")
	pid, err := start(bin, cfg, logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := stop(pid, cfg); err != nil {
			t.Error(err)
		}
	}()
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "PATH="+os.Getenv("PATH")) {
		t.Fatalf("the node did not get PATH; its log:\n%s", log)
	}
	for k, v := range secrets {
		if strings.Contains(string(log), v) || strings.Contains(string(log), k+"=") {
			t.Errorf("the node inherited %s", k)
		}
	}
}
