package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ctlops/ctlops/provider"
)

// Step 5: push the file to every target and read it back.

// push writes each cluster's file to every target that does not hold it yet, concurrently
// within the bound, and reads each back.
func (o *Options) push(ctx context.Context, works []*work) {
	var jobs []*target
	var data [][]byte
	for _, w := range works {
		if w.data == nil {
			for _, t := range w.targets {
				t.res.Status = "unchanged"
			}
			continue
		}
		want := provider.ETag(w.data)
		fmt.Fprintf(o.Out, "Pushing %s's CTL (sha256 %s, %d bytes) to %d server(s)...\n", w.c.Name, want, len(w.data), len(w.targets))
		for _, t := range w.targets {
			if t.digest == want {
				t.res.Status = "unchanged"
				continue
			}
			jobs = append(jobs, t)
			data = append(data, w.data)
		}
	}
	parallel(o.Live.Parallelism, len(jobs), func(i int) {
		t, d := jobs[i], data[i]
		o.event(Progress{Kind: "push", Cluster: t.c.Name, Server: t.ts.Server, Address: t.ts.Address})
		err := ctx.Err()
		if err == nil {
			// A node under --replace holds a file the provider cannot judge (or one that
			// trusts nobody declared): the write says so with the override, which the
			// provider records.
			_, err = t.w.WriteCTL(ctx, d, provider.WriteOptions{LockID: t.node.lock.ID, IfMatch: t.digest,
				OverrideR19: t.c.Replacing(t.ts.Server, t.ts.Address)})
		}
		if err == nil {
			var back []byte
			back, _, err = t.w.CTL(ctx)
			if err == nil && !bytes.Equal(back, d) {
				err = fmt.Errorf("read back sha256 %s, pushed %s", provider.ETag(back), provider.ETag(d))
			}
		}
		if err == nil {
			t.res.Status, t.res.Holds = "updated", provider.ETag(d)
			o.event(Progress{Kind: "pushed", Cluster: t.c.Name, Server: t.ts.Server, Address: t.ts.Address})
			return
		}
		t.res.Holds = readBack(t)
		if t.res.Holds == provider.ETag(d) {
			// The write landed although its answer was lost (Ctrl-C, a dropped connection),
			// and reading it back shows the new file: the server is in line, not "failed".
			t.res.Status = "updated"
			return
		}
		t.res.Status, t.res.Error = "failed", t.node.scrub(err)
	})
}

// readBack says what a target holds after a failed push, with a context of its own (the
// apply's may be cancelled): the old digest, the new one, "" for none or unknown.
func readBack(t *target) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	data, _, err := t.w.CTL(ctx)
	switch {
	case errors.Is(err, provider.ErrNoCTL):
		return ""
	case err != nil:
		return unknown
	}
	return provider.ETag(data)
}
