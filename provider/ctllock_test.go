package provider_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
)

// GET /v1/ctl says the lock held when the file was read, without its id: "none" while free
// (the control), the holder once a lock is taken, free again once it is released.
func TestCTLAndLock(t *testing.T) {
	c := providertest.Start(t, 1)
	name := c.Nodes()[0].Name
	cl := c.Client(name)
	check := func(want string) {
		t.Helper()
		_, _, l, told, err := cl.CTLAndLock(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if l != nil {
			got = l.User + "@" + l.Host + " " + l.Operation
			if l.ID != "" {
				t.Errorf("the lock id came with the file")
			}
		}
		if !told || got != want {
			t.Errorf("CTLAndLock: told %v, lock %q; want told, %q", told, got, want)
		}
	}
	c.PutCTL(name, []byte("any bytes: GET serves the file as it is"))
	check("")
	lk, err := cl.Lock(ctx(t), provider.LockRequest{User: "alice", Host: "pc1", Operation: "apply", Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	check("alice@pc1 apply")
	if err := cl.ReleaseLock(ctx(t), lk.ID); err != nil {
		t.Fatal(err)
	}
	check("")
}

// The header codec: a lock round-trips without its id; anything else is "not told", never an
// error nor a guess.
func TestLockHeldHeader(t *testing.T) {
	in := &provider.Lock{ID: "secret", User: "alice", Host: "pc1", Operation: "apply",
		Created: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), Expires: time.Date(2026, 12, 2, 10, 5, 0, 0, time.UTC)}
	v := provider.EncodeLockHeld(in)
	raw, _ := base64.RawURLEncoding.DecodeString(v)
	if strings.Contains(v, "secret") || strings.Contains(string(raw), "secret") {
		t.Fatalf("the header carries the lock id: %s", raw)
	}
	out, told := provider.DecodeLockHeld(v)
	if !told || out == nil || out.User != "alice" || out.Host != "pc1" || !out.Expires.Equal(in.Expires) || out.ID != "" {
		t.Fatalf("round trip: %+v, told %v", out, told)
	}
	if l, told := provider.DecodeLockHeld(provider.EncodeLockHeld(nil)); l != nil || !told {
		t.Fatalf("free: %+v, told %v", l, told)
	}
	withID := base64.RawURLEncoding.EncodeToString([]byte(`{"id":"x","user":"u","host":"h"}`))
	if l, _ := provider.DecodeLockHeld(withID); l == nil || l.ID != "" {
		t.Fatalf("an id a server sent anyway is kept: %+v", l)
	}
	for _, bad := range []string{"", "!!", base64.RawURLEncoding.EncodeToString([]byte("[1,2]")), strings.Repeat("A", 4096)} {
		if l, told := provider.DecodeLockHeld(bad); l != nil || told {
			t.Errorf("DecodeLockHeld(%.20q) = %+v, told %v; want not told", bad, l, told)
		}
	}
}

func FuzzDecodeLockHeld(f *testing.F) {
	f.Add(provider.EncodeLockHeld(&provider.Lock{User: "alice", Host: "pc1"}))
	f.Add("none")
	f.Add("")
	f.Add("e30")
	f.Fuzz(func(t *testing.T, v string) {
		if l, _ := provider.DecodeLockHeld(v); l != nil && l.ID != "" {
			t.Fatalf("id kept: %q", v)
		}
	})
}
