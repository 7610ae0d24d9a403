package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ctlops/ctlops/cucm/serviceability"
	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/internal/safefile"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/rollout"
	"github.com/ctlops/ctlops/spec"
)

// RolloutOptions choose the verified rollout (R23) for clusters that declare serviceability
// endpoints; Options.RestartServices turns the restarts on.
type RolloutOptions struct {
	// ResetDevices resets every phone registered before, through AXL, in batches.
	ResetDevices bool
	// Batch is phones per reset batch; 0 is 10% of them.
	Batch int
	// Timeout bounds each node's restart and each batch (10 minutes when zero).
	Timeout time.Duration
	// Poll is the status polling interval (5 s when zero).
	Poll time.Duration
	// PublisherFirst restarts CallManager on the publisher first.
	PublisherFirst bool
	Tolerance      rollout.Tolerance
}

// RolloutReport is a cluster's rollout in the result and the audit line.
type RolloutReport struct {
	Status  string          `json:"status"` // rollout.Applied or rollout.Incomplete
	Before  *rollout.Counts `json:"before,omitempty"`
	After   *rollout.Counts `json:"after,omitempty"`
	Missing []string        `json:"missing,omitempty"`
	Stopped string          `json:"stopped,omitempty"`
	State   *rollout.State  `json:"state"`
	// StopReason and StopPhones split Stopped for the problem line (rollout.Result).
	StopReason string   `json:"-"`
	StopPhones []string `json:"-"`
}

// rolloutRecord is the progress file: the steps asked for and what was done. It is rewritten
// atomically after every step, so a rollout killed with -9 can be continued from it.
type rolloutRecord struct {
	Restart        bool           `json:"restart_services"`
	Reset          bool           `json:"reset_devices"`
	Batch          int            `json:"reset_batch,omitempty"`
	PublisherFirst bool           `json:"publisher_first,omitempty"`
	State          *rollout.State `json:"state"`
}

// rolloutDir holds one progress file per cluster, beside the audit log.
func rolloutPath(auditLog, cluster string) string {
	return filepath.Join(filepath.Dir(auditLog), "rollout", cluster+".json")
}

// serviceabilityCluster builds the rollout's view of a cluster from its spec.
func serviceabilityCluster(sc *spec.Cluster) (rollout.Cluster, func(), error) {
	s := sc.Serviceability
	pw, err := s.Credentials.Password.Resolve()
	if err != nil {
		return rollout.Cluster{}, nil, fmt.Errorf("%s: serviceability password: %w", sc.Name, err)
	}
	c := rollout.Cluster{Name: sc.Name}
	var clients []*serviceability.Client
	done := func() {
		for _, cl := range clients {
			cl.CloseIdleConnections()
		}
	}
	for _, n := range s.Nodes {
		cl, err := serviceability.New(n.URL(), serviceability.Options{Node: n.Name, Username: s.Credentials.Username, Password: pw,
			RootCAs: s.TLS.CertPool(), AXLVersion: s.AXLVersion})
		if err != nil {
			done()
			return rollout.Cluster{}, nil, fmt.Errorf("%s: node %s: %w", sc.Name, n.Name, err)
		}
		clients = append(clients, cl)
		c.Nodes = append(c.Nodes, rollout.Node{Name: n.Name, Publisher: n.Publisher, Services: cl})
		if n.Publisher {
			c.Registry, c.Resetter = cl, cl
		}
	}
	return c, done, nil
}

// runRollout runs (or continues) one cluster's rollout and reports it on out. modeChange
// says this apply's fresh plan changes the cluster's security mode (rollout.Options.
// ModeChange); a resumed rollout passes false and continues as its recorded State began.
func (o *Options) runRollout(ctx context.Context, sc *spec.Cluster, rec *rolloutRecord, modeChange bool) (*RolloutReport, error) {
	c, done, err := serviceabilityCluster(sc)
	if err != nil {
		return nil, err
	}
	defer done()
	path := rolloutPath(o.AuditLog, sc.Name)
	opt := rollout.Options{
		RestartServices: rec.Restart, ResetDevices: rec.Reset, Batch: rec.Batch, PublisherFirst: rec.PublisherFirst,
		ModeChange: modeChange, Timeout: o.Rollout.Timeout, Poll: o.Rollout.Poll, Tolerance: o.Rollout.Tolerance,
		Emit: func(e rollout.Progress) { writeRolloutEvent(o.Out, e) },
		Save: func(st *rollout.State) error {
			rec.State = st
			b, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			return atomicfile.Write(path, b, 0o644)
		},
	}
	res, err := rollout.Run(ctx, c, opt, rec.State)
	if err != nil {
		return nil, err
	}
	return &RolloutReport{Status: res.Status, Before: res.Before, After: res.After, Missing: res.Missing, Stopped: res.Stopped, State: res.State,
		StopReason: res.StopReason, StopPhones: res.StopPhones}, nil
}

// rolloutProblem is the problem line of an incomplete rollout ("" when applied): where it
// stopped, then the phones still not registered, each named once. Those come from the after
// counts; only when those could not be read are they the phones the stopping step was still
// waiting for.
func rolloutProblem(r *RolloutReport) string {
	if r.Status == rollout.Applied {
		return ""
	}
	msg := rollout.Incomplete
	reason := r.StopReason
	if reason == "" {
		reason = r.Stopped
	}
	if reason != "" {
		msg += ": " + termsafe.Line(reason)
	}
	switch {
	case len(r.Missing) > 0:
		msg += fmt.Sprintf("; %d phone(s) still not registered: %s", len(r.Missing), rollout.NameList(r.Missing))
		if r.State != nil && r.State.ModeChange && r.State.ResetDone < len(r.State.Phones) {
			msg += " (after the security mode change they need a reset, which the resumed rollout does)"
		}
	case r.After == nil && len(r.StopPhones) > 0:
		msg += fmt.Sprintf("; %d phone(s) not registered again when it stopped (the after counts could not be read): %s",
			len(r.StopPhones), rollout.NameList(r.StopPhones))
	}
	return msg + "; continue with `ctlops apply --resume-rollout` (nothing is signed or pushed again)"
}

// writeRolloutEvent renders one event as a progress line.
func writeRolloutEvent(w io.Writer, e rollout.Progress) {
	node := termsafe.Line(e.Node)
	switch e.Kind {
	case rollout.KindCounts:
		fmt.Fprintf(w, "  Registration %s: %s\n", e.Phase, e.Counts)
		if e.Phase == "after" && len(e.Phones) > 0 {
			fmt.Fprintf(w, "    not registered: %s\n", rollout.NameList(e.Phones))
		}
	case rollout.KindServiceSkipped:
		fmt.Fprintf(w, "  %s: %s not running here (%s), not restarted\n", node, e.Service, e.Status)
	case rollout.KindServiceRestart:
		fmt.Fprintf(w, "  %s: restarting %s\n", node, e.Service)
	case rollout.KindServiceStatus:
		fmt.Fprintf(w, "    %s %s: %s\n", node, e.Service, e.Status)
	case rollout.KindPhonesWaiting:
		fmt.Fprintf(w, "    %s: %d phone(s) registered here before the restart\n", node, len(e.Phones))
	case rollout.KindPhonesReturned:
		fmt.Fprintf(w, "  %s: %s Started; %d phone(s) registered again\n", node, e.Service, len(e.Phones))
	case rollout.KindPhonesDeferred:
		fmt.Fprintf(w, "  %s: %s Started; %d phone(s) not registered again yet, not waited for: %s\n", node, e.Service, len(e.Phones), e.Reason)
	case rollout.KindNodeFailed:
		fmt.Fprintf(w, "  %s: STOPPED: %s; the remaining nodes are untouched\n", node, termsafe.Line(e.Err))
	case rollout.KindBatchReset:
		fmt.Fprintf(w, "  Reset batch %d/%d: %s\n", e.Batch, e.Batches, rollout.NameList(e.Phones))
	case rollout.KindBatchRegistered:
		fmt.Fprintf(w, "    batch %d/%d registered again\n", e.Batch, e.Batches)
	case rollout.KindBatchFailed:
		fmt.Fprintf(w, "  Reset STOPPED: %s\n", termsafe.Line(e.Err))
	case rollout.KindDone:
		fmt.Fprintf(w, "  Rollout: %s\n", e.Result.Status)
	}
}

// loadRolloutRecord reads a cluster's progress file (nil, nil when there is none).
func loadRolloutRecord(auditLog, cluster string) (*rolloutRecord, error) {
	path := rolloutPath(auditLog, cluster)
	b, err := safefile.Read(path, rollout.MaxStateSize)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var raw struct {
		rolloutRecord
		State json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	st, err := rollout.DecodeState(string(raw.State))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Cluster != cluster {
		return nil, fmt.Errorf("%s: state of cluster %s", path, termsafe.Line(st.Cluster))
	}
	rec := raw.rolloutRecord
	rec.State = st
	return &rec, nil
}

// rolloutOrRestart runs the verified rollout where the cluster declares serviceability
// endpoints; elsewhere the CTL Provider's restart call stays the fallback, and resets are
// left to the admin.
func (o *Options) rolloutOrRestart(ctx context.Context, w *work) {
	if w.spec == nil || w.spec.Serviceability == nil {
		if o.RestartServices {
			o.restart(ctx, w)
		}
		if o.Rollout.ResetDevices {
			w.res.Problems = append(w.res.Problems, "phones not reset: the cluster declares no serviceability endpoints (AXL); reset them by hand")
		}
		return
	}
	o.verifiedRollout(ctx, w.spec, w.res, w.c.Mode.Changed)
}

// verifiedRollout runs the steps the flags ask for through the cluster's serviceability APIs
// and records it in its result: the one rollout of token-based and tokenless clusters alike.
// modeChange is the fresh plan's Mode.Changed for the cluster (never a saved plan file's
// text: apply decides everything from the fresh plan).
func (o *Options) verifiedRollout(ctx context.Context, sc *spec.Cluster, res *ClusterResult, modeChange bool) {
	fmt.Fprintf(o.Out, "\nRollout on %s (R23):\n", sc.Name)
	rec := &rolloutRecord{Restart: o.RestartServices, Reset: o.Rollout.ResetDevices, Batch: o.Rollout.Batch, PublisherFirst: o.Rollout.PublisherFirst}
	rep, err := o.runRollout(ctx, sc, rec, modeChange)
	if err != nil {
		res.Problems = append(res.Problems, rollout.Incomplete+": "+termsafe.Line(err.Error()))
		return
	}
	res.Rollout = rep
	res.Restarted = append(res.Restarted, restartedNodes(rep.State)...)
	if p := rolloutProblem(rep); p != "" {
		res.Problems = append(res.Problems, p)
	}
}

func restartedNodes(st *rollout.State) []string {
	var out []string
	add := func(nodes []string, svc string) {
		for _, n := range nodes {
			if !contains(st.Skipped, n+" "+svc) {
				out = append(out, n+" ("+svc+")")
			}
		}
	}
	add(st.TFTPDone, serviceability.ServiceTFTP)
	add(st.CallManagerDone, serviceability.ServiceCallManager)
	return out
}

// rolledOut says whether a next step of the plan was done by the rollout.
func rolledOut(r *ClusterResult, k plan.StepKind) bool {
	if r.Rollout == nil || r.Rollout.Status != rollout.Applied {
		return false
	}
	switch k {
	case plan.StepRestart:
		return len(r.Rollout.State.CallManagerDone) > 0
	case plan.StepResetDevices:
		return r.Rollout.State.ResetDone > 0 && r.Rollout.State.ResetDone == len(r.Rollout.State.Phones)
	}
	return false
}
