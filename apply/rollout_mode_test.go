package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/cucm"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/rollout"
)

var labPhones = []string{"SEP000000000001", "SEP000000000002"}

// The rollout after a mode change, as apply runs it: every phone registers again only after
// a reset. The control, without the mode change, stops at the first CallManager node (the
// old limit); with it, the rollout completes after the resets, and the progress file records
// the mode change for a resume.
func TestRolloutModeChange(t *testing.T) {
	for _, tc := range []struct {
		modeChange bool
		status     string
		out        []string
	}{
		{false, rollout.Incomplete, []string{"cm2: STOPPED: cm2: timed out after 300ms: phones not registered again: SEP000000000001, SEP000000000002"}},
		{true, rollout.Applied, []string{"cm2: Cisco CallManager Started; 2 phone(s) not registered again yet, not waited for: " + rollout.DeferReason,
			"Reset batch 2/2: SEP000000000002", "Registration after: 2/2 registered"}},
	} {
		_, dev, cfg, audit := rolloutLab(t)
		dev.NeedReset(labPhones...)
		var out bytes.Buffer
		o := Options{Config: cfg, AuditLog: audit, Out: &out, RestartServices: true,
			Rollout: RolloutOptions{ResetDevices: true, Timeout: 300 * time.Millisecond, Poll: 5 * time.Millisecond}}
		o.defaults()
		rep, err := o.runRollout(context.Background(), cfg.Clusters[0], &rolloutRecord{Restart: true, Reset: true}, tc.modeChange)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Status != tc.status {
			t.Errorf("mode change %v: %s (%s)\n%s", tc.modeChange, rep.Status, rep.Stopped, out.String())
		}
		for _, w := range tc.out {
			if !strings.Contains(out.String(), w) {
				t.Errorf("mode change %v: output lacks %q:\n%s", tc.modeChange, w, out.String())
			}
		}
		saved, err := loadRolloutRecord(audit, "hq")
		if err != nil || saved.State.ModeChange != tc.modeChange {
			t.Errorf("mode change %v: recorded %+v, %v", tc.modeChange, saved, err)
		}
		if !tc.modeChange && !strings.Contains(rolloutProblem(rep), "--resume-rollout") {
			t.Errorf("problem %q", rolloutProblem(rep))
		}
	}
}

// --resume-rollout continues as the recorded rollout began: a progress file with mode_change
// does not wait for the phones at the CallManager restart; one written before the field
// existed loads and waits for them, as it did.
func TestResumeRolloutModeChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		field  string
		status string
		out    string
	}{
		{"mode change recorded", `"mode_change":true,`, rollout.Applied, "not registered again yet, not waited for: the security mode changed"},
		{"old file (control)", "", rollout.Incomplete, "cm2: STOPPED: cm2: timed out after 300ms: phones not registered again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, dev, cfg, audit := rolloutLab(t)
			dev.NeedReset(labPhones...)
			st := `{"version":1,"cluster":"hq","before":{"total":2,"registered":2,"by_status":{"Registered":2},"by_protocol":{"SIP":2},"by_node":{"cm2":2}},` +
				`"phones":["SEP000000000001","SEP000000000002"],"tftp_done":["cm1","cm2"],` + tc.field + `"stopped":"interrupted"}`
			rec := `{"restart_services":true,"reset_devices":true,"state":` + st + `}`
			path := rolloutPath(audit, "hq")
			must(t, os.MkdirAll(filepath.Dir(path), 0o755))
			must(t, os.WriteFile(path, []byte(rec), 0o644))
			var out bytes.Buffer
			o := Options{Config: cfg, AuditLog: audit, Out: &out,
				Rollout: RolloutOptions{Timeout: 300 * time.Millisecond, Poll: 5 * time.Millisecond}}
			res, err := ResumeRollout(context.Background(), o)
			var pe *PushError
			if (tc.status == rollout.Applied) != (err == nil) || err != nil && !errors.As(err, &pe) {
				t.Fatalf("%v\n%s", err, out.String())
			}
			r := res.Clusters[0].Rollout
			if r == nil || r.Status != tc.status || !strings.Contains(out.String(), tc.out) {
				t.Fatalf("%+v\n%s", res.Clusters[0], out.String())
			}
			b, err := os.ReadFile(path)
			must(t, err)
			var back struct {
				State map[string]json.RawMessage `json:"state"`
			}
			must(t, json.Unmarshal(b, &back))
			if _, ok := back.State["mode_change"]; ok != (tc.field != "") {
				t.Errorf("progress file rewritten as %s", b)
			}
		})
	}
}

// checkModeRollout refuses restarts without resets only where the fresh plan changes the
// mode of a cluster applied now that has the verified rollout.
func TestCheckModeRollout(t *testing.T) {
	_, _, cfg, _ := rolloutLab(t)
	changed := plan.ModeChange{From: cucm.ModeNonSecure, To: cucm.ModeMixed, Changed: true}
	for _, tc := range []struct {
		name             string
		mode             plan.ModeChange
		restart, reset   bool
		names            []string
		noServiceability bool
		refused          bool
	}{
		{name: "restarts without resets", mode: changed, restart: true, names: []string{"hq"}, refused: true},
		{name: "restarts and resets", mode: changed, restart: true, reset: true, names: []string{"hq"}},
		{name: "resets only", mode: changed, reset: true, names: []string{"hq"}},
		{name: "no mode change", restart: true, names: []string{"hq"}},
		{name: "cluster not applied now", mode: changed, restart: true},
		{name: "no serviceability endpoints", mode: changed, restart: true, names: []string{"hq"}, noServiceability: true},
	} {
		c := *cfg
		if tc.noServiceability {
			sc := *cfg.Clusters[0]
			sc.Serviceability = nil
			c.Clusters = append(c.Clusters[:0:0], &sc)
		}
		o := Options{Config: &c, RestartServices: tc.restart, Rollout: RolloutOptions{ResetDevices: tc.reset}}
		p := &plan.Plan{Clusters: []*plan.Cluster{{Name: "hq", Mode: tc.mode}}}
		err := o.checkModeRollout(p, tc.names)
		var me *ModeChangeError
		if errors.As(err, &me) != tc.refused {
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.refused && !strings.Contains(err.Error(), "hq (non-secure → mixed)") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
