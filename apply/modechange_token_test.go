package apply_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/lab/servicesim"
	"github.com/ctlops/ctlops/lab/servicesim/servicesimtest"
)

// TestTokenModeChangeRollout: a token-based cluster's first CTL switches it to mixed mode;
// with its serviceability endpoints declared, apply passes the plan's mode change to the
// rollout as the tokenless path does (TestTokenlessRolloutThroughAPIs): the phones, which
// register again only after a reset, are not waited for at the CallManager restart and come
// back with the resets. Restarts without resets on the same apply are refused first, with
// nothing pushed.
func TestTokenModeChangeRollout(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	var nodes []servicesim.NodeConfig
	for i, n := range l.clusters["hq"].Nodes() {
		nodes = append(nodes, servicesim.NodeConfig{Name: n.Name, Publisher: i == 0})
	}
	sub := nodes[1].Name
	phones := []string{"SEP0000000000B1", "SEP0000000000B2"}
	var mem []servicesim.MemPhone
	for _, p := range phones {
		mem = append(mem, servicesim.MemPhone{Phone: servicesim.Phone{Name: p, Model: 36213, Protocol: "SIP"}, Group: []string{sub, nodes[0].Name}, TFTP: nodes[0].Name})
	}
	t.Setenv("CTLOPS_TEST_AXL_PW", servicesimtest.Password)
	_, dev, block := servicesimtest.Start(t, servicesimtest.Options{Cluster: "hq", Dir: l.dir, PasswordEnv: "CTLOPS_TEST_AXL_PW", Fast: true, Nodes: nodes, Phones: mem})
	dev.NeedReset(phones...)
	cfg := l.spec(cs{name: "hq", mode: "mixed", tokens: []string{"alice", "bob"}, extra: block})

	o := l.opts(cfg, "alice", nil)
	o.Out = nil // l.run captures the output
	o.RestartServices = true
	_, text, err := l.run(o)
	var me *apply.ModeChangeError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "hq (non-secure → mixed)") {
		t.Fatalf("restarts without resets: %v\n%s", err, text)
	}
	if _, err := os.Stat(filepath.Join(l.dir, ".ctlops", "audit.jsonl")); !os.IsNotExist(err) {
		t.Fatalf("the refused apply wrote an audit line (it reached the servers): %v", err)
	}

	o.Rollout = apply.RolloutOptions{ResetDevices: true, Timeout: 10 * time.Second, Poll: 10 * time.Millisecond}
	res, text, err := l.run(o)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, w := range []string{"Rollout on hq (R23)", sub + ": Cisco CallManager Started; 2 phone(s) not registered again yet, not waited for: the security mode changed",
		"Registration after: 2/2 registered", "Rollout: applied", "Apply complete."} {
		if !strings.Contains(text, w) {
			t.Errorf("output lacks %q:\n%s", w, text)
		}
	}
	if r := res.Clusters[0].Rollout; r == nil || !r.State.ModeChange || r.State.ResetDone != 2 || len(r.State.Deferred) != 2 {
		t.Errorf("rollout %+v", res.Clusters[0].Rollout)
	}
}
