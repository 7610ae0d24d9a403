package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/provider"
)

// Step 3: re-read every target under the lock.

// readUnderLock reads every target again now that nobody else can write, and refuses when
// anything differs from the plan: the plan must be applied to what it was made against.
func (o *Options) readUnderLock(ctx context.Context, works []*work) error {
	ts := allTargets(works)
	errs := make([]string, len(ts))
	parallel(o.Live.Parallelism, len(ts), func(i int) {
		t := ts[i]
		data, _, err := t.w.CTL(ctx)
		switch {
		case errors.Is(err, provider.ErrNoCTL):
		case err != nil:
			errs[i] = err.Error()
			return
		default:
			t.cur, t.digest = data, provider.ETag(data)
		}
		if t.digest != t.ts.Digest {
			errs[i] = fmt.Sprintf("cluster %s: server %s now holds %s, the plan saw %s", t.c.Name, t.ts.Server, shortDigest(t.digest), shortDigest(t.ts.Digest))
			return
		}
		// A node under --replace holds a file that fails its check or trusts nobody declared:
		// it is replaced as it is, not judged (its digest above is still checked).
		if t.cur != nil && !t.c.Replacing(t.ts.Server, t.ts.Address) {
			f, err := ctl.Parse(t.cur)
			if err != nil {
				errs[i] = fmt.Sprintf("cluster %s: server %s: %v", t.c.Name, t.ts.Server, err)
				return
			}
			t.file = f
		}
	})
	var why []string
	for _, e := range errs {
		if e != "" {
			why = append(why, e)
		}
	}
	if len(why) > 0 {
		return fmt.Errorf("the servers changed since the plan was made; nothing was written:\n  %s", strings.Join(why, "\n  "))
	}
	return nil
}

func shortDigest(d string) string {
	switch {
	case d == "":
		return "no file"
	case d == unknown:
		return "an unknown file (not readable)"
	case len(d) > 12:
		return "sha256 " + d[:12] + "…"
	}
	return d
}
