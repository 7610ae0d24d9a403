package apply_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/apply"
	"github.com/ctlops/ctlops/provider"
)

// TestLockTakeOver: a lock held by someone else names the holder, its lease and the exact
// unlock command; a lock left by this user's own dead apply (same user@host, a process that
// no longer runs) is taken over and audited; one of a live process of ours is not.
func TestLockTakeOver(t *testing.T) {
	self := os.Getpid()
	if apply.StartID(self) == "" {
		t.Skip("no /proc here: a dead apply cannot be told from a live one, so none is taken over")
	}
	mid := apply.MachineID()
	tests := []struct {
		name     string
		holder   provider.LockRequest
		takeOver bool
		want     []string
	}{
		{name: "someone else", holder: provider.LockRequest{User: "bob", Host: "laptop", Operation: "ctlops apply (pid 7, start 9)"},
			want: []string{"bob@laptop", "lease expires in", "`ctlops unlock -f " + "SPEC --cluster hq`", "nothing was changed"}},
		{name: "same user other host", holder: provider.LockRequest{User: "tester", Host: "elsewhere", Operation: apply.HolderOp(self, mid+".1")},
			want: []string{"tester@elsewhere"}},
		{name: "own live apply", holder: provider.LockRequest{User: "tester", Host: "testhost", Operation: apply.HolderOp(self, apply.StartID(self))},
			want: []string{"tester@testhost"}},
		// Same user@host, but another boot or pid namespace (a container sharing both names):
		// its pid means nothing here, so it is never taken for dead.
		{name: "other namespace", holder: provider.LockRequest{User: "tester", Host: "testhost", Operation: apply.HolderOp(1<<22+12345, "0123456789abcdef.1.77")},
			want: []string{"tester@testhost"}},
		{name: "own dead apply pid reused", holder: provider.LockRequest{User: "tester", Host: "testhost", Operation: apply.HolderOp(self, mid+".1")}, takeOver: true},
		{name: "own dead apply no such pid", holder: provider.LockRequest{User: "tester", Host: "testhost", Operation: apply.HolderOp(1<<22+12345, mid+".77")}, takeOver: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t, map[string]int{"hq": 2})
			cfg := l.spec(hq("mixed", "alice", "bob"))
			pc := l.clusters["hq"]
			tc.holder.Lease = time.Minute
			n := pc.Nodes()[1].Name
			if _, err := pc.Client(n).Lock(context.Background(), tc.holder); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			_, text, err := l.run(l.opts(cfg, "alice", &out))
			if !tc.takeOver {
				if err == nil {
					t.Fatalf("applied over a lock of %+v\n%s", tc.holder, text)
				}
				for _, w := range tc.want {
					w = strings.ReplaceAll(w, "SPEC", filepath.Join(l.dir, "ctlops.yaml"))
					if !strings.Contains(err.Error(), w) {
						t.Errorf("lock error lacks %q:\n%v", w, err)
					}
				}
				if strings.Contains(text, "taken over") {
					t.Errorf("a lock that is not ours was taken over:\n%s", text)
				}
				return
			}
			if err != nil {
				t.Fatalf("the lock of our own dead apply was not taken over: %v\n%s", err, text)
			}
			if !strings.Contains(text, "no longer runs on this host; taken over") {
				t.Errorf("the take-over is not said:\n%s", text)
			}
			l.checkServed("hq", "alice")
			l.unlocked("hq")
			a := l.auditLines()
			if len(a) != 1 || len(a[0].Broken) != 1 || a[0].Broken[0].Holder.Operation != tc.holder.Operation || a[0].Broken[0].Holder.ID != "" {
				t.Errorf("audit %+v", a)
			}
		})
	}
}
