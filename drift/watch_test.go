package drift_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctlops/ctlops/drift"
	"github.com/ctlops/ctlops/internal/labtest"
	"github.com/ctlops/ctlops/live"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// replace writes a file the way many editors save: a temporary file beside it, then rename.
func replace(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".swp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// overwrite truncates the file, then writes it in two pieces, as other editors do.
func overwrite(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	half := len(data) / 2
	if _, err := f.Write(data[:half]); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data[half:]); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestWatch edits a spec and the certificate it references with real file operations and
// waits, with a deadline, for each new plan.
func TestWatch(t *testing.T) {
	l, _ := installedLab(t, 1)
	path := l.WriteSpec(labtest.Mixed("hq"))
	three := []byte(l.YAML(labtest.ClusterSpec{Name: "hq", Mode: "mixed", Tokens: []string{"alice", "bob", "carol"}}))
	two := []byte(l.YAML(labtest.Mixed("hq")))

	var out, errs labtest.SyncBuffer
	var plans, ready atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- drift.Watch(ctx, drift.WatchOptions{
			Path:     path,
			Debounce: 50 * time.Millisecond,
			Plan: func(ctx context.Context, cfg *spec.Config) (*plan.Plan, error) {
				return live.Plan(ctx, cfg, nil, live.Options{Timeout: 5 * time.Second, Retries: -1}, "test", time.Now())
			},
			Render: func(w io.Writer, p *plan.Plan) error {
				fmt.Fprintf(w, "=== plan %d\n", plans.Add(1))
				return p.WriteText(w, plan.TextOptions{})
			},
			Out: &out, Errs: &errs,
			Ready: func() { ready.Add(1) },
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	// lastPlan is the text of the newest plan once there are n.
	lastPlan := func(n int32) string {
		t.Helper()
		waitFor(t, 15*time.Second, fmt.Sprintf("plan %d (stderr: %s)", n, errs.String()), func() bool { return ready.Load() >= n && plans.Load() >= n })
		s := out.String()
		return s[strings.LastIndex(s, "=== plan"):]
	}

	if p := lastPlan(1); !strings.Contains(p, "No changes") {
		t.Fatalf("first plan:\n%s", p)
	}
	// An unrelated file in the same directory is not a change of the spec.
	if err := os.WriteFile(filepath.Join(l.Dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	replace(t, path, three)
	if p := lastPlan(2); !strings.Contains(p, "SAST-carol") || strings.Contains(p, "No changes") {
		t.Fatalf("plan after temp+rename:\n%s", p)
	}
	if e := errs.String(); strings.Contains(e, "notes.txt") || !strings.Contains(e, "ctlops.yaml changed") {
		t.Errorf("changed files: %s", e)
	}
	overwrite(t, path, two)
	if p := lastPlan(3); !strings.Contains(p, "No changes") {
		t.Fatalf("plan after truncate+write:\n%s", p)
	}

	// A broken spec prints its errors with their place and the watch goes on.
	replace(t, path, []byte("version: 1\nclusters:\n  - name: hq\n    mode: [\n"))
	waitFor(t, 15*time.Second, "the spec error", func() bool { return strings.Contains(errs.String(), "does not load") })
	if e := errs.String(); !strings.Contains(e, "ctlops.yaml:") {
		t.Errorf("spec error without its place:\n%s", e)
	}
	replace(t, path, two)
	if p := lastPlan(4); !strings.Contains(p, "No changes") {
		t.Fatalf("plan after the fix:\n%s", p)
	}

	// A referenced certificate replaced (bob's file now holds carol's certificate).
	carol, err := os.ReadFile(l.Tokens["carol"].File)
	if err != nil {
		t.Fatal(err)
	}
	replace(t, l.Tokens["bob"].File, carol)
	if p := lastPlan(5); !strings.Contains(p, "SAST-carol") {
		t.Fatalf("plan after the certificate changed:\n%s", p)
	}
	if e := errs.String(); !strings.Contains(e, "bob.pem changed") {
		t.Errorf("changed files: %s", e)
	}
	if n := plans.Load(); n != 5 {
		t.Errorf("%d plans, want 5 (one per save, debounced)", n)
	}
}

// A spec that does not load names its files in the errors, and a spec from a pull request
// names files of its choosing: watch prints the errors through the terminal filter. The
// control: a plain name, shown as it is.
func TestWatchSpecErrorsFiltered(t *testing.T) {
	for _, tc := range []struct{ name, yamlName, shown string }{
		{"plain name (control)", "missing.pem", "missing.pem"},
		{"escapes in the name", `\x1b[2Jmissing\u202e.pem`, `\x1b[2Jmissing\u202e.pem`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ctlops.yaml")
			y := "version: 1\nclusters:\n  - name: c\n    mode: mixed\n    providers: [{url: tftp://127.0.0.1}]\n    tokens:\n" +
				"      - {name: a, certificate: \"" + tc.yamlName + "\"}\n      - {name: b, certificate: \"" + tc.yamlName + "\"}\n"
			if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
			var errs labtest.SyncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ready := make(chan struct{}, 1)
			done := make(chan error, 1)
			go func() {
				done <- drift.Watch(ctx, drift.WatchOptions{Path: path, Out: io.Discard, Errs: &errs,
					Plan: func(context.Context, *spec.Config) (*plan.Plan, error) { return nil, fmt.Errorf("the spec loaded") },
					Ready: func() {
						select {
						case ready <- struct{}{}:
						default:
						}
					}})
			}()
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("watch ended: %v", err)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			out := errs.String()
			if !strings.Contains(out, "The spec does not load") || !strings.Contains(out, tc.shown) || strings.ContainsAny(out, "\x1b\u202e") {
				t.Errorf("watch's errors do not name %q filtered:\n%q", tc.shown, out)
			}
		})
	}
}
