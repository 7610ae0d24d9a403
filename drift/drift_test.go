package drift_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/internal/labtest"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
)

// TestDriftScenarios makes one cluster drift the ways a real one does (R22 events, a file
// changed behind ctlops' back, a dead server) and checks the verdict, the exit status and
// that the reasons name the server and the record.
func TestDriftScenarios(t *testing.T) {
	cases := []struct {
		name    string
		event   func(l *labtest.Lab)
		exit    int
		reasons []string // regexps that must all match the reasons (or the error)
	}{
		{"in sync", func(*labtest.Lab) {}, 0, nil},
		{"IP changed", func(l *labtest.Lab) { l.Clusters["hq"].ChangeIP("cm2", "10.9.9.9") },
			2, []string{`~ CCM\+TFTP cm2\S*: IP \S+ → 10\.9\.9\.9 \(R22\)`}},
		{"certificate regenerated", func(l *labtest.Lab) { l.Clusters["hq"].RegenCert("cm1") },
			2, []string{`~ \S+ cm1\S*: certificate [0-9a-f]{12}… → [0-9a-f]{12}…`}},
		{"server added", func(l *labtest.Lab) { l.Clusters["hq"].AddNode() },
			2, []string{`\+ \S+ \S+: server \S+ is missing from the CTL \(R14\)`}},
		{"file tampered on one server", func(l *labtest.Lab) { l.Clusters["hq"].Tamper("cm2", 300) },
			2, []string{`server cm2 holds a CTL that fails its own check`, `refused: .*possible tampering.*\(R19\)`}},
		{"old file on one server", func(l *labtest.Lab) {
			// A file signed by bob with one token fewer: valid, trusted, but not the cluster's.
			c := l.Plan(l.Spec(labtest.ClusterSpec{Name: "hq", Mode: "mixed", Tokens: []string{"alice", "bob", "carol"}})).Clusters[0]
			l.Clusters["hq"].PutCTL("cm2", l.Sign(c.Desired.Data, "bob"))
		}, 2, []string{`server cm2 holds a CTL that differs from the cluster's`}},
		{"server down", func(l *labtest.Lab) { l.Clusters["hq"].Node("cm2").Stop() },
			1, []string{`cm2`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, cfg := installedLab(t, 2)
			tc.event(l)
			r := check(t, cfg)
			if got := r.ExitCode(); got != tc.exit {
				t.Fatalf("exit %d, want %d; result %+v", got, tc.exit, r.Clusters[0])
			}
			c := r.Clusters[0]
			text := reasons(c) + c.Error
			for _, re := range tc.reasons {
				if !regexp.MustCompile(re).MatchString(text) {
					t.Errorf("no reason matches %q:\n%s", re, text)
				}
			}
			switch tc.exit {
			case 0:
				if c.Drift || len(c.Reasons) != 0 || c.State != "" {
					t.Errorf("drift %v, reasons %q, state %q", c.Drift, c.Reasons, c.State)
				}
			case 2:
				if !c.Drift || c.State == "" || len(c.LiveDigests) == 0 {
					t.Errorf("drift %v, state %q, digests %v", c.Drift, c.State, c.LiveDigests)
				}
			case 1:
				if c.FetchErrors["cm2"] == 0 {
					t.Errorf("fetch errors %v: cm2 not counted", c.FetchErrors)
				}
			}
			if strings.Contains(text, providertest.Password) {
				t.Fatal("the provider password appears in a drift reason")
			}
		})
	}
}

// TestDriftStateIdentity: the same drift read twice has the same state; another file on a
// server is another state; the state clears when the cluster is fixed.
func TestDriftStateIdentity(t *testing.T) {
	l, cfg := installedLab(t, 2)
	l.Clusters["hq"].ChangeIP("cm2", "10.9.9.9")
	a, b := check(t, cfg).Clusters[0], check(t, cfg).Clusters[0]
	if !a.Drift || a.State != b.State {
		t.Fatalf("same drift, states %q and %q", a.State, b.State)
	}
	l.Clusters["hq"].ChangeIP("cm2", "10.9.9.10")
	if c := check(t, cfg).Clusters[0]; c.State == a.State {
		t.Errorf("another desired file kept the state %q", c.State)
	}
	l.InstallAll(l.Plan(cfg), "alice")
	if c := check(t, cfg).Clusters[0]; c.Drift {
		t.Errorf("still drift after the fix: %q", c.Reasons)
	}
}

// TestDriftNonSecureWithoutCTL: a cluster declared non-secure that never had a CTL is the
// default state (R12), not drift.
func TestDriftNonSecureWithoutCTL(t *testing.T) {
	l := labtest.New(t, map[string]int{"hq": 1})
	cfg := l.Spec(labtest.ClusterSpec{Name: "hq", Mode: "non-secure", Tokens: []string{"alice", "bob"}})
	if r := check(t, cfg); r.ExitCode() != 0 {
		t.Fatalf("exit %d: %q", r.ExitCode(), r.Clusters[0].Reasons)
	}
	cfg = l.Spec(labtest.Mixed("hq"))
	r := check(t, cfg)
	if r.ExitCode() != 2 || !strings.Contains(reasons(r.Clusters[0]), "security mode is non-secure, declared mixed") {
		t.Fatalf("exit %d: %q", r.ExitCode(), r.Clusters[0].Reasons)
	}
}

// TestDriftReadOnlySources checks a cluster through tftp:// (the way phones read the file,
// R4) and dir:// sources.
func TestDriftReadOnlySources(t *testing.T) {
	l, _ := installedLab(t, 2)
	pc := l.Clusters["hq"]
	n1, n2 := pc.Node("cm1"), pc.Node("cm2")
	for _, tc := range []struct {
		name      string
		providers []string
	}{
		{"tftp", []string{"tftp://" + n1.TFTPAddr, "tftp://" + n2.TFTPAddr}},
		{"dir", []string{"dir://" + n1.FileLocation(), "dir://" + n2.FileLocation()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := l.Spec(labtest.ClusterSpec{Name: "hq", Mode: "mixed", Tokens: []string{"alice", "bob"}, Providers: tc.providers})
			if r := check(t, cfg); r.ExitCode() != 0 {
				t.Fatalf("exit %d: %q %s", r.ExitCode(), r.Clusters[0].Reasons, r.Clusters[0].Error)
			}
		})
	}
	// One server holding another valid file is drift, seen over TFTP too.
	c := l.Plan(l.Spec(labtest.ClusterSpec{Name: "hq", Mode: "mixed", Tokens: []string{"alice", "bob", "carol"}})).Clusters[0]
	pc.PutCTL("cm2", l.Sign(c.Desired.Data, "alice"))
	cfg := l.Spec(labtest.ClusterSpec{Name: "hq", Mode: "mixed", Tokens: []string{"alice", "bob"},
		Providers: []string{"tftp://" + n1.TFTPAddr, "tftp://" + n2.TFTPAddr}})
	r := check(t, cfg)
	if r.ExitCode() != 2 || !strings.Contains(reasons(r.Clusters[0]), "tftp://"+n2.TFTPAddr) {
		t.Fatalf("exit %d: %q", r.ExitCode(), r.Clusters[0].Reasons)
	}
}

// TestDriftNeverWrites: whatever the state of the cluster, a drift check leaves no write,
// lock, mode change or restart in any node's audit log, and no file changes in a dir://
// source. The values the drift path holds are provider.Readers: they have no write method,
// not even behind a type assertion.
func TestDriftNeverWrites(t *testing.T) {
	l, cfg := installedLab(t, 2)
	pc := l.Clusters["hq"]
	before := map[string]int{}
	for _, n := range pc.Nodes() {
		a, err := n.Server.Audit()
		if err != nil {
			t.Fatal(err)
		}
		before[n.Name] = len(a)
	}
	dirCfg := l.Spec(labtest.ClusterSpec{Name: "hq", Mode: "mixed", Tokens: []string{"alice", "bob", "carol"},
		Providers: []string{"dir://" + pc.Node("cm1").FileLocation()}})
	ctlPath := filepath.Join(pc.Node("cm1").FileLocation(), provider.FileName)
	st0, err := os.Stat(ctlPath)
	if err != nil {
		t.Fatal(err)
	}
	// Drift of every kind at once: the plan has records to add, a server to refresh.
	pc.ChangeIP("cm2", "10.1.2.3")
	for range 3 {
		check(t, cfg)
		check(t, l.Spec(labtest.ClusterSpec{Name: "hq", Mode: "non-secure", Tokens: []string{"alice", "bob", "carol"}}))
		check(t, dirCfg)
	}
	for _, n := range pc.Nodes() {
		a, err := n.Server.Audit()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range a[before[n.Name]:] {
			t.Errorf("node %s audit log: %s %s by %s", n.Name, e.Op, e.Result, e.User)
		}
	}
	st1, err := os.Stat(ctlPath)
	if err != nil {
		t.Fatal(err)
	}
	if !st1.ModTime().Equal(st0.ModTime()) || st1.Size() != st0.Size() {
		t.Error("the dir:// source's CTL file changed")
	}
	if _, err := os.Stat(filepath.Join(pc.Node("cm1").FileLocation(), provider.LockFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a lock file appeared in the dir:// source: %v", err)
	}

	// The types: a Reader has exactly the read methods, and what provider.Open hands out for
	// each kind of source cannot be turned into a Writer.
	var methods []string
	rt := reflect.TypeFor[provider.Reader]()
	for i := range rt.NumMethod() {
		methods = append(methods, rt.Method(i).Name)
	}
	if got := strings.Join(methods, ","); got != "CTL,Cluster,Name" {
		t.Errorf("provider.Reader methods %s, want CTL,Cluster,Name only", got)
	}
	for _, src := range []string{pc.Node("cm1").Addr, "tftp://" + pc.Node("cm1").TFTPAddr, "dir://" + pc.Node("cm1").FileLocation()} {
		r, err := provider.Open(src, pc.Options())
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r.(provider.Writer); ok {
			t.Errorf("provider.Open(%s) returns a value that is a provider.Writer", src)
		}
		for _, m := range []string{"WriteCTL", "Lock", "SetMode", "Restart", "BreakLock"} {
			if _, ok := reflect.TypeOf(r).MethodByName(m); ok {
				t.Errorf("provider.Open(%s) returns a %T with method %s", src, r, m)
			}
		}
	}
}

// TestDriftSources: package drift names no way of getting a writable provider. Together
// with live holding only Readers, this keeps the drift path read-only as code changes.
func TestDriftSources(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := regexp.MustCompile(`provider\.(OpenWriter|NewClient|NewDir|Writer|Client|Dir|WriteCTLFile)\b`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := forbidden.FindString(line); m != "" {
				t.Errorf("%s:%d: the drift path must not use %s", f, i+1, m)
			}
		}
	}
}

// TestCheckSelection: unknown cluster names are an error before anything is read.
func TestCheckSelection(t *testing.T) {
	l := labtest.New(t, map[string]int{"hq": 1})
	cfg := l.Spec(labtest.Mixed("hq"))
	_, err := drift.Check(context.Background(), cfg, []string{"nope"}, opts)
	if err == nil || !strings.Contains(err.Error(), "no cluster named nope") {
		t.Fatalf("error %v", err)
	}
	r, err := drift.Check(context.Background(), cfg, nil, drift.Options{Shard: drift.Shard{I: 1 - drift.Of("hq", 2), N: 2}})
	if err != nil || len(r.Clusters) != 0 {
		t.Fatalf("shard without hq: %v, %d clusters", err, len(r.Clusters))
	}
	_ = fmt.Sprint()
}
