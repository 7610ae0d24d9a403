package apply_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/spec"
)

// killChildEnv makes the test binary an apply that kills itself with SIGKILL right after its
// first server took the new file: the crash the audit trail must survive.
const killChildEnv = "APPLY_TEST_KILL_CHILD"

func killChild() int {
	cfg, _, err := spec.Load(os.Getenv("APPLY_TEST_SPEC"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	o := apply.Options{Config: cfg, SpecPath: os.Getenv("APPLY_TEST_SPEC"), Version: "test", AutoApprove: true,
		Live:       live.Options{Timeout: 5 * time.Second, Retries: -1, Parallelism: 1},
		OpenSigner: apply.TokenOpener(apply.TokenOptions{Label: "alice", PINFile: os.Getenv("APPLY_TEST_PIN")}),
		User:       "tester", Host: "testhost",
		Progress: func(e apply.Progress) {
			if e.Kind == "pushed" {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		},
	}
	_, err = apply.Run(context.Background(), o)
	fmt.Fprintln(os.Stderr, "apply returned instead of being killed:", err)
	return 3
}

// TestKilledAfterPushIsAudited: kill -9 of apply after the push leaves an "intent" line in the
// audit log (plan digest, targets) with no result after it, so the interrupted apply can be
// seen although the next plan shows nothing to do for the servers already written.
func TestKilledAfterPushIsAudited(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 2})
	l.mustApply(l.spec(hq("mixed", "alice", "bob")), "alice")
	before := l.digests("hq")
	l.spec(hq("mixed", "alice", "bob", "carol")) // writes ctlops.yaml

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killChildEnv+"=1",
		"APPLY_TEST_SPEC="+filepath.Join(l.dir, "ctlops.yaml"), "APPLY_TEST_PIN="+l.pinFile(tokens["alice"].PIN))
	out, err := cmd.CombinedOutput()
	l.mu.Lock()
	l.captured = append(l.captured, string(out))
	l.mu.Unlock()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the apply was not killed: %v\n%s", err, out)
	}
	changed := 0
	for n, d := range l.digests("hq") {
		if d != before[n] {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("no server took the new file before the kill: the test would not test the crash it names")
	}
	lines := l.auditAll()
	open := apply.Unfinished(lines)
	if len(open) != 1 {
		t.Fatalf("%d unfinished applies in the audit log, want the killed one: %+v", len(open), lines)
	}
	e := open[0]
	if !strings.HasPrefix(e.PlanDigest, "sha256:") || len(e.Targets) != 2 || e.Clusters[0] != "hq" {
		t.Errorf("intent line %+v: want the plan digest and both targets", e)
	}
	// The retry does not wait for the killed apply's locks (their lease is 2 minutes): it
	// recognises its own dead apply (same user@host, a process that no longer runs) and takes
	// them over, saying so in the audit line.
	if lk, err := l.clusters["hq"].Client(l.clusters["hq"].Nodes()[0].Name).GetLock(context.Background()); err != nil {
		t.Fatalf("the killed apply left no lock: the take-over below would test nothing (%v)", err)
	} else if !strings.Contains(lk.Operation, fmt.Sprintf("pid %d,", cmd.Process.Pid)) {
		t.Errorf("the lock names %q, not the killed process %d", lk.Operation, cmd.Process.Pid)
	}
	l.mustApply(l.spec(hq("mixed", "alice", "bob", "carol")), "alice")
	if a := l.auditLines(); len(a[len(a)-1].Broken) != 2 {
		t.Errorf("the retry's audit line records %d taken-over locks, want 2: %+v", len(a[len(a)-1].Broken), a[len(a)-1])
	}
	// The positive control: a completed apply leaves no unfinished intent.
	if got := apply.Unfinished(l.auditAll()); len(got) != 1 || got[0].ApplyID != e.ApplyID {
		t.Errorf("after a completed apply, unfinished %+v, want only the killed one", got)
	}
}

// TestAuditLogCheckedFirst: an audit log that cannot be written fails the apply before any
// lock is taken (it used to fail only after "Apply complete.").
func TestAuditLogCheckedFirst(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 1})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	before := l.digests("hq")
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.AuditLog = filepath.Join(l.dir, "ctlops.yaml", "audit.jsonl") // under a regular file
	locked := false
	o.Progress = func(e apply.Progress) { locked = locked || e.Kind == "locked" }
	_, text, err := l.run(o)
	if err == nil || !strings.Contains(err.Error(), "cannot be written") || !strings.Contains(err.Error(), "nothing was locked") {
		t.Fatalf("err %v\n%s", err, text)
	}
	if locked || strings.Contains(text, "Taking the update lock") {
		t.Errorf("a lock was taken before the audit log was checked:\n%s", text)
	}
	if after := l.digests("hq"); !equalMaps(before, after) {
		t.Errorf("servers changed")
	}
	// The positive control: the default audit log works and the same apply goes through.
	o.AuditLog, o.Progress = "", nil
	out.Reset()
	if _, text, err := l.run(o); err != nil || !locked && !strings.Contains(text, "Taking the update lock") {
		t.Fatalf("apply with a writable audit log: %v\n%s", err, text)
	}
}

// TestInterruptedAfterWriteLanded: Ctrl-C while a pushed file is being read back leaves a
// server that holds the new file; it is reported as updated, not "not brought in line".
func TestInterruptedAfterWriteLanded(t *testing.T) {
	l := newLab(t, map[string]int{"hq": 1})
	cfg := l.spec(hq("mixed", "alice", "bob"))
	pc := l.clusters["hq"]
	node := pc.Nodes()[0].Name
	before := l.digests("hq")[node]
	pc.SetDelay(node, 400*time.Millisecond) // every answer, the read-back too, comes late
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	o := l.opts(cfg, "alice", &out)
	o.Progress = func(e apply.Progress) {
		if e.Kind != "push" {
			return
		}
		go func() { // Ctrl-C as soon as the write has landed, while the read-back waits
			deadline := time.Now().Add(10 * time.Second)
			for l.digests("hq")[node] == before && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
		}()
	}
	res, err := apply.Run(ctx, o)
	l.mu.Lock()
	l.captured = append(l.captured, out.String())
	l.mu.Unlock()
	pc.SetDelay(node, 0)
	if l.digests("hq")[node] == before {
		t.Fatalf("the write never landed: the test would not test what it names\n%s", out.String())
	}
	tg := res.Clusters[0].Targets[0]
	if tg.Status != "updated" || strings.Contains(out.String(), "FAILED") {
		t.Errorf("a server holding the new file is reported %q:\n%s", tg.Status, out.String())
	}
	if err != nil && strings.Contains(err.Error(), "not brought in line") {
		t.Errorf("err %v", err)
	}
}
