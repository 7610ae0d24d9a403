package plan

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/spec"
)

// The expiry window of a plan: each cluster records the window its certificate warnings were
// computed with (Cluster.ExpiryWindow), so that `apply PLANFILE` run with another window
// (another --expiry-window) is told so, naming both, rather than shown a difference of
// warnings it cannot explain.

func windowSeconds(d time.Duration) *int64 {
	s := int64(d / time.Second)
	return &s
}

// Window is the expiry window the cluster's warnings were computed with, and whether the plan
// recorded it: a plan file saved before the window was recorded means ExpiryWarning.
func (c *Cluster) Window() (time.Duration, bool) {
	if c.ExpiryWindow == nil {
		return ExpiryWarning, false
	}
	return time.Duration(*c.ExpiryWindow) * time.Second, true
}

// FormatWindow spells a window the way --expiry-window takes it: "60d" for whole days, else
// a Go duration ("36h0m0s").
func FormatWindow(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

// checkWindows refuses a plan file whose recorded window is out of the bounds the spec and
// --expiry-window allow, and one with a null cluster (which every later step would trip
// over): a plan file is untrusted input.
func checkWindows(p *Plan) error {
	for i, c := range p.Clusters {
		if c == nil {
			return fmt.Errorf("clusters[%d] is null", i)
		}
		if c.ExpiryWindow == nil {
			continue
		}
		if s := *c.ExpiryWindow; s < 0 || s > int64(spec.MaxExpiryWarning/time.Second) {
			return fmt.Errorf("cluster %s: expiry_window_seconds %d is out of bounds (0 to %d, %s)",
				termsafe.Line(c.Name), s, int64(spec.MaxExpiryWarning/time.Second), FormatWindow(spec.MaxExpiryWarning))
		}
	}
	return nil
}

// WindowMismatch compares the expiry window of each cluster of a saved plan with the one the
// fresh plan was computed with. It returns one line per cluster whose windows differ, and the
// --expiry-window that would make them agree ("" when no single value would: the saved plan
// was made without the flag, with the spec's windows, which differ by cluster).
func WindowMismatch(saved, now *Plan) (why []string, flag string) {
	fresh := map[string]*Cluster{}
	for _, c := range now.Clusters {
		fresh[c.Name] = c
	}
	windows := map[time.Duration]bool{}
	for _, s := range saved.Clusters {
		sw, recorded := s.Window()
		windows[sw] = true
		n := fresh[s.Name]
		if n == nil {
			continue
		}
		nw, _ := n.Window()
		if sw == nw {
			continue
		}
		was := FormatWindow(sw)
		if !recorded {
			was += " (the default: the plan file records no window, it was saved by an older ctlops)"
		}
		why = append(why, fmt.Sprintf("cluster %s: the plan warns about certificates expiring within %s, this apply within %s", termsafe.Line(s.Name), was, FormatWindow(nw)))
	}
	if len(why) > 0 && len(windows) == 1 {
		for w := range windows {
			flag = "--expiry-window " + FormatWindow(w)
		}
	}
	return why, flag
}

// dropWindows removes the clusters' windows from a plan's generic JSON (canonicalTree): a
// plan file that records none is compared as if it recorded the default, by WindowMismatch.
func dropWindows(tree map[string]any) {
	clusters, _ := tree["clusters"].(map[string]any)
	for _, c := range clusters {
		if cm, ok := c.(map[string]any); ok {
			delete(cm, "expiry_window_seconds")
		}
	}
}
