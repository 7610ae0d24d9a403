package apply

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm/serviceability"
	"github.com/ctlops/ctlops/lab/servicesim"
	"github.com/ctlops/ctlops/lab/servicesim/servicesimtest"
	"github.com/ctlops/ctlops/rollout"
	"github.com/ctlops/ctlops/spec"
)

// rolloutLab is a simulated three-node cluster and a spec declaring its serviceability.
func rolloutLab(t *testing.T) (*servicesim.Cluster, *servicesim.MemDevices, *spec.Config, string) {
	t.Helper()
	dir := t.TempDir()
	sim, dev, block := servicesimtest.Start(t, servicesimtest.Options{Cluster: "hq", Dir: dir, PasswordEnv: "SOAP_TEST_AXL_PASSWORD", Fast: true,
		Nodes: []servicesim.NodeConfig{{Name: "cm1", Publisher: true}, {Name: "cm2", Services: []string{serviceability.ServiceCallManager}}},
		Phones: []servicesim.MemPhone{
			{Phone: servicesim.Phone{Name: "SEP000000000001", Model: 36213, Protocol: "SIP"}, Group: []string{"cm2", "cm1"}, TFTP: "cm1"},
			{Phone: servicesim.Phone{Name: "SEP000000000002", Model: 36213, Protocol: "SIP"}, Group: []string{"cm2", "cm1"}, TFTP: "cm1"},
		}})
	for _, f := range []string{"token1.pem", "token4.der"} {
		b, err := os.ReadFile(filepath.Join("..", "spec", "testdata", "certs", f))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	y := `version: 1
clusters:
  - name: hq
    mode: non-secure
    providers: [{url: "tftp://127.0.0.1:6969"}]
    tokens:
      - {name: t1, certificate: token1.pem}
      - {name: t4, certificate: token4.der}
` + block
	path := filepath.Join(dir, "ctlops.yaml")
	must(t, os.WriteFile(path, []byte(y), 0o644))
	t.Setenv("SOAP_TEST_AXL_PASSWORD", servicesimtest.Password)
	cfg, _, err := spec.Load(path)
	must(t, err)
	return sim, dev, cfg, filepath.Join(dir, ".ctlops", "audit.jsonl")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A rollout whose node did not come back is recorded, and --resume-rollout finishes it
// without redoing what was verified; the audit line carries the rollout.
func TestResumeRollout(t *testing.T) {
	sim, dev, cfg, audit := rolloutLab(t)
	var out bytes.Buffer
	o := Options{Config: cfg, AuditLog: audit, Out: &out, RestartServices: true,
		Rollout: RolloutOptions{ResetDevices: true, Timeout: 300 * time.Millisecond, Poll: 5 * time.Millisecond}}
	o.defaults()
	if _, err := ResumeRollout(context.Background(), o); !errors.Is(err, ErrNothingToResume) {
		t.Fatalf("nothing recorded: %v", err)
	}

	sim.Stick("cm2", serviceability.ServiceCallManager, true)
	rec := &rolloutRecord{Restart: true, Reset: true}
	rep, err := o.runRollout(context.Background(), cfg.Clusters[0], rec, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != rollout.Incomplete || !strings.Contains(rolloutProblem(rep), "cm2: Cisco CallManager did not reach Started") ||
		!strings.Contains(rolloutProblem(rep), "--resume-rollout") {
		t.Fatalf("%+v", rep)
	}
	saved, err := loadRolloutRecord(audit, "hq")
	if err != nil || saved == nil || !saved.Reset || len(saved.State.TFTPDone) != 2 || len(saved.State.CallManagerDone) != 0 {
		t.Fatalf("%v %+v", err, saved)
	}

	sim.Stick("cm2", serviceability.ServiceCallManager, false)
	deadline := time.Now().Add(10 * time.Second)
	for sim.Status("cm2", serviceability.ServiceCallManager) != serviceability.Started {
		if time.Now().After(deadline) {
			t.Fatal("cm2 did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	tftpRestarts := 0
	for _, tr := range sim.History() {
		if tr.Service == serviceability.ServiceTFTP && tr.Status == serviceability.Stopping {
			tftpRestarts++
		}
	}
	out.Reset()
	o.Rollout.Timeout = 5 * time.Second
	res, err := ResumeRollout(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if r := res.Clusters[0].Rollout; r == nil || r.Status != rollout.Applied || !r.State.Complete || r.State.ResetDone != 2 {
		t.Fatalf("%+v", res.Clusters[0])
	}
	for _, w := range []string{"Resuming the rollout on hq", "cm2: Cisco CallManager Started;",
		"Reset batch 1/2: SEP000000000001", "Reset batch 2/2: SEP000000000002", "Registration after: 2/2 registered", "Rollout complete."} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	again := 0
	for _, tr := range sim.History() {
		if tr.Service == serviceability.ServiceTFTP && tr.Status == serviceability.Stopping {
			again++
		}
	}
	if again != tftpRestarts {
		t.Errorf("TFTP restarted again on resume")
	}
	if n := len(dev.Changes()); n == 0 {
		t.Error("no phone ever dropped")
	}
	// One audit line, with the rollout and no password.
	b, err := os.ReadFile(audit)
	must(t, err)
	if strings.Contains(string(b), "pw-for-tests") {
		t.Error("password in the audit log")
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	var last AuditEntry
	for sc.Scan() {
		must(t, json.Unmarshal(sc.Bytes(), &last))
	}
	if last.Result != "applied" || len(last.Details) != 1 || last.Details[0].Rollout == nil || last.Details[0].Rollout.Status != rollout.Applied {
		t.Errorf("audit %+v", last)
	}
	if _, err := ResumeRollout(context.Background(), o); !errors.Is(err, ErrNothingToResume) {
		t.Errorf("completed rollout resumed again: %v", err)
	}
}
