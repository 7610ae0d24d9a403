package rollout

import "github.com/ctlops/ctlops/cucm/serviceability"

// Kind says what a Progress reports. They are data, not sentences: a view renders them.
type Kind string

// The kinds of Progress, in the order a full rollout emits them.
const (
	KindCounts          Kind = "counts"           // Phase "before" or "after", Counts
	KindServiceSkipped  Kind = "service-skipped"  // Node, Service, Status: the node does not run it
	KindServiceRestart  Kind = "service-restart"  // Node, Service: restart requested
	KindServiceStatus   Kind = "service-status"   // Node, Service, Status: a new status seen while waiting
	KindServiceStarted  Kind = "service-started"  // Node, Service
	KindPhonesWaiting   Kind = "phones-waiting"   // Node, Phones: registered there before the restart
	KindPhonesReturned  Kind = "phones-returned"  // Node, Phones: all registered again
	KindPhonesDeferred  Kind = "phones-deferred"  // Node, Service, Phones (not verified yet), Reason: ModeChange
	KindNodeFailed      Kind = "node-failed"      // Node, Service, Status, Phones (missing), Err
	KindBatchReset      Kind = "batch-reset"      // Batch, Batches, Phones
	KindBatchRegistered Kind = "batch-registered" // Batch, Batches, Phones
	KindBatchFailed     Kind = "batch-failed"     // Batch, Batches, Phones (missing), Err
	KindDone            Kind = "done"             // Result
)

// Progress is one step of a rollout, reported as it happens.
type Progress struct {
	Kind    Kind
	Cluster string
	Node    string
	Service string
	Status  serviceability.ServiceStatus
	Phase   string // "before" | "after" for KindCounts
	Counts  *Counts
	Batch   int // 1-based
	Batches int
	Phones  []string
	Err     string
	// Reason says why a wait was left to a later step (KindPhonesDeferred).
	Reason string
	Result *Result
}
