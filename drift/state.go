package drift

import (
	"time"
)

// Change is a change of a cluster's drift state: "drift" when a drift appears (or turns into
// another drift: a new file on a server, a new desired file), "clear" when it is gone. A
// scheduled check reports each state once, not at every tick, so a pager fires once per
// problem.
type Change struct {
	Type          string    `json:"type"` // "drift" or "clear"
	Time          time.Time `json:"time"`
	Cluster       string    `json:"cluster"`
	State         string    `json:"state"`
	Previous      string    `json:"previous_state,omitempty"`
	LiveDigests   []string  `json:"live_digests"`
	DesiredDigest string    `json:"desired_digest,omitempty"`
	Reasons       []string  `json:"reasons,omitempty"`
	Summary       string    `json:"summary,omitempty"`
}

// Tracker remembers each cluster's drift state between checks.
type Tracker struct {
	states map[string]*ClusterResult
}

// NewTracker starts with every cluster in sync: the first drift seen is reported.
func NewTracker() *Tracker { return &Tracker{states: map[string]*ClusterResult{}} }

// Observe returns the events a check causes. A cluster that could not be checked keeps its
// state: an unreachable server neither raises nor clears a drift (metrics and the check log
// report the error).
func (t *Tracker) Observe(r *Result) []Change {
	var out []Change
	for _, c := range r.Clusters {
		if c.Error != "" {
			continue
		}
		prev := t.states[c.Name]
		switch {
		case c.Drift && (prev == nil || prev.State != c.State):
			e := Change{Type: "drift", Time: c.Checked, Cluster: c.Name, State: c.State, LiveDigests: c.LiveDigests,
				DesiredDigest: c.DesiredDigest, Reasons: c.Reasons}
			if c.Plan != nil {
				e.Summary = c.Plan.SummaryLine()
			}
			if prev != nil {
				e.Previous = prev.State
			}
			t.states[c.Name] = c
			out = append(out, e)
		case !c.Drift && prev != nil:
			out = append(out, Change{Type: "clear", Time: c.Checked, Cluster: c.Name, Previous: prev.State,
				LiveDigests: c.LiveDigests})
			delete(t.states, c.Name)
		}
	}
	return out
}
