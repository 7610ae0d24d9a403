package plan

import (
	"fmt"
	"time"

	"github.com/ctlops/ctlops/internal/termsafe"
)

// HeldLock is a server's update lock (R24) as it was read with the plan, so that plan and drift
// show a stale lock before an apply waits on it (issue 17). It never holds the lock's id,
// which is a secret. Locks come and go while a plan waits for approval, so they are not part
// of what apply compares (Compare).
type HeldLock struct {
	Holder    string    `json:"holder"` // user@host
	Operation string    `json:"operation"`
	Taken     time.Time `json:"taken"`
	Expires   time.Time `json:"expires"`
	// Expired is whether the lease had run out when the lock was read: the holder is most
	// likely dead, and `ctlops unlock` breaks it.
	Expired bool `json:"expired"`
}

// String is the lock as the views print it; the holder's words come from a server.
func (l *HeldLock) String() string {
	lease := "lease until " + l.Expires.UTC().Format(time.RFC3339)
	if l.Expired {
		lease = "lease expired " + l.Expires.UTC().Format(time.RFC3339) + ": break it with `ctlops unlock` if its apply is dead"
	}
	return fmt.Sprintf("update lock held by %s (%s), taken %s, %s (R24)",
		termsafe.Line(l.Holder), termsafe.Line(l.Operation), l.Taken.UTC().Format(time.RFC3339), lease)
}

// dropLocks removes the targets' locks from a plan's generic JSON (canonicalTree).
func dropLocks(tree map[string]any) {
	clusters, _ := tree["clusters"].(map[string]any)
	for _, c := range clusters {
		cm, _ := c.(map[string]any)
		targets, _ := cm["targets"].([]any)
		for _, t := range targets {
			if tm, ok := t.(map[string]any); ok {
				delete(tm, "lock")
			}
		}
	}
}
