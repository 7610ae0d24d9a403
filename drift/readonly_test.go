package drift_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider"
)

// snapshot is every file under dir (the reference servers' CTL files, state, locks and audit
// logs) with its size, digest and modification time: any write a server makes shows in it.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		lines = append(lines, fmt.Sprintf("%s %d %x %d", rel, len(b), sha256.Sum256(b), info.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestDriftWritesNothing: a drift check leaves every server's state as it was. Its positive
// control first takes an update lock through the same protocol and must see the servers'
// state change, so the snapshot can see a write when one is made.
func TestDriftWritesNothing(t *testing.T) {
	l, cfg := installedLab(t, 2)
	pc := l.Clusters["hq"]

	before := snapshot(t, pc.Dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lk, err := pc.Client("cm1").Lock(ctx, provider.LockRequest{User: "test", Host: "test", Operation: "positive control", Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	locked := snapshot(t, pc.Dir)
	if locked == before {
		t.Fatal("taking an update lock changed nothing the snapshot sees: it could not see a drift check write either")
	}
	if err := pc.Client("cm1").ReleaseLock(ctx, lk.ID); err != nil {
		t.Fatal(err)
	}

	before = snapshot(t, pc.Dir)
	for range 3 {
		if r := check(t, cfg); r.ExitCode() != 0 {
			t.Fatalf("drift on an installed cluster: %+v", r.Clusters[0])
		}
	}
	if after := snapshot(t, pc.Dir); after != before {
		t.Errorf("a drift check changed the servers' state:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
