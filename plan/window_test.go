package plan

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/spec"
)

// A plan file is untrusted input: a recorded window below zero or beyond the spec's bound is
// refused by Load; the bound itself, zero and no record at all (an older ctlops: the default)
// load.
func TestLoadWindowBounds(t *testing.T) {
	max := int64(spec.MaxExpiryWarning / time.Second)
	for _, c := range []struct {
		window *int64
		ok     bool
		want   time.Duration
	}{
		{nil, true, ExpiryWarning},
		{ptr(0), true, 0},
		{ptr(max), true, spec.MaxExpiryWarning},
		{ptr(-1), false, 0},
		{ptr(max + 1), false, 0},
		{ptr(1 << 62), false, 0},
	} {
		p := &Plan{FormatVersion: FormatVersion, Created: time.Now(), Clusters: []*Cluster{{Name: "hq", ExpiryWindow: c.window}}}
		path := filepath.Join(t.TempDir(), "p.plan")
		if err := p.Save(path); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path)
		if !c.ok {
			if err == nil || !strings.Contains(err.Error(), "expiry_window_seconds") || !strings.Contains(err.Error(), "out of bounds") {
				t.Errorf("window %d: err %v, want out of bounds", *c.window, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("window %v: %v", c.window, err)
		}
		if w, recorded := got.Clusters[0].Window(); w != c.want || recorded != (c.window != nil) {
			t.Errorf("window %v: Window() = %v, %v", c.window, w, recorded)
		}
	}
}

func ptr(n int64) *int64 { return &n }

// A null cluster in a plan file is refused by Load, not left for apply to trip over.
func TestLoadNullCluster(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.plan")
	if err := (&Plan{FormatVersion: FormatVersion, Created: time.Now(), Clusters: []*Cluster{nil}}).Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "clusters[0] is null") {
		t.Errorf("err %v", err)
	}
}

// The flag a mismatch names: one when the saved plan has one window, none when its clusters
// had the spec's own, different windows (the plan was made without --expiry-window).
func TestWindowMismatch(t *testing.T) {
	const day = int64(24 * 3600)
	mk := func(ws ...int64) *Plan {
		p := &Plan{}
		for i, w := range ws {
			p.Clusters = append(p.Clusters, &Cluster{Name: string(rune('a' + i)), ExpiryWindow: ptr(w)})
		}
		return p
	}
	if why, flag := WindowMismatch(mk(30*day, 30*day), mk(30*day, 30*day)); len(why) != 0 || flag != "" {
		t.Errorf("same windows: %v %q", why, flag)
	}
	if why, flag := WindowMismatch(mk(60*day, 60*day), mk(30*day, 30*day)); len(why) != 2 || flag != "--expiry-window 60d" {
		t.Errorf("one window: %v %q", why, flag)
	}
	if why, flag := WindowMismatch(mk(60*day, 90*day), mk(7*day, 7*day)); len(why) != 2 || flag != "" {
		t.Errorf("the spec's windows: %v %q", why, flag)
	}
	if got := FormatWindow(36 * time.Hour); got != "36h0m0s" {
		t.Errorf("FormatWindow(36h) = %q", got)
	}
}
