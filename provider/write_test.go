package provider_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
)

func TestWriteCTL(t *testing.T) {
	tk := testTokens(t)
	A, B, C, D := tk[0], tk[1], tk[2], tk[3]
	v1 := signedCTL(t, A, "cm1", A, B)
	v2 := signedCTL(t, B, "cm1", A, B, C) // signed by a token v1 trusts: R19 holds
	foreign := signedCTL(t, C, "cm1", C, D)
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	cl := c.Client(n.Name)
	if _, _, err := cl.CTL(ctx(t)); !errors.Is(err, provider.ErrNoCTL) {
		t.Fatalf("empty node: %v, want ErrNoCTL", err)
	}
	lock, err := cl.Lock(ctx(t), provider.LockRequest{User: "alice", Operation: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	write := func(data []byte, o provider.WriteOptions) error {
		_, err := cl.WriteCTL(ctx(t), data, o)
		return err
	}
	// First file: there is none, so If-None-Match: *.
	if err := write(v1, provider.WriteOptions{LockID: lock.ID}); err != nil {
		t.Fatal(err)
	}
	tag1 := provider.ETag(v1)
	tests := []struct {
		name     string
		data     []byte
		opt      provider.WriteOptions
		wantErr  error
		wantCode string
	}{
		{"no lock", v2, provider.WriteOptions{IfMatch: tag1}, provider.ErrNotLocked, provider.CodeLockRequired},
		{"wrong lock", v2, provider.WriteOptions{LockID: "x", IfMatch: tag1}, provider.ErrNotLocked, provider.CodeLockLost},
		{"stale If-Match", v2, provider.WriteOptions{LockID: lock.ID, IfMatch: provider.ETag(v2)}, provider.ErrConflict, provider.CodeETagMismatch},
		{"assumed none", v2, provider.WriteOptions{LockID: lock.ID}, provider.ErrConflict, provider.CodeETagMismatch},
		{"garbage", []byte("not a CTL"), provider.WriteOptions{LockID: lock.ID, IfMatch: tag1}, provider.ErrRejected, provider.CodeCTLInvalid},
		{"bad signature", badSignature(t, v2), provider.WriteOptions{LockID: lock.ID, IfMatch: tag1}, provider.ErrRejected, provider.CodeCTLSignature},
		{"R19: signer unknown to phones", foreign, provider.WriteOptions{LockID: lock.ID, IfMatch: tag1}, provider.ErrRejected, provider.CodeCTLUntrusted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := write(tt.data, tt.opt)
			var pe *provider.Error
			if !errors.Is(err, tt.wantErr) || !errors.As(err, &pe) || pe.Code != tt.wantCode {
				t.Fatalf("err = %v, want %v with code %s", err, tt.wantErr, tt.wantCode)
			}
			got, tag, err := cl.CTL(ctx(t))
			if err != nil || tag != tag1 || string(got) != string(v1) {
				t.Fatalf("a refused write changed the file: %v", err)
			}
		})
	}
	tag2, err := cl.WriteCTL(ctx(t), v2, provider.WriteOptions{LockID: lock.ID, IfMatch: tag1})
	if err != nil {
		t.Fatal(err)
	}
	got, tag, err := cl.CTL(ctx(t))
	if err != nil || tag != tag2 || string(got) != string(v2) {
		t.Fatalf("read back %s, %v; want v2", tag, err)
	}
	prev, err := os.ReadFile(filepath.Join(n.FileLocation(), provider.FileName+provider.PreviousSuffix))
	if err != nil || string(prev) != string(v1) {
		t.Fatalf("previous file not kept: %v", err)
	}
	fi, err := os.Stat(filepath.Join(n.FileLocation(), provider.FileName))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("CTL mode %v (%v); TFTP servers need it world-readable", fi.Mode(), err)
	}
	// The explicit override writes what R19 refuses, and the audit log says so.
	if _, err := cl.WriteCTL(ctx(t), foreign, provider.WriteOptions{LockID: lock.ID, IfMatch: tag2, OverrideR19: true}); err != nil {
		t.Fatal(err)
	}
	audit, err := n.Server.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var writes []string
	for _, e := range audit {
		if e.Op == "write ctl" {
			writes = append(writes, e.Result+":"+e.Details["override"])
		}
	}
	want := "ok:,ctl_invalid:,ctl_signature:,ctl_untrusted:,ok:,ok:R19"
	if got := strings.Join(writes, ","); got != want {
		t.Errorf("audited writes %s, want %s", got, want)
	}
}

func TestIfMatchBetweenTwoWriters(t *testing.T) {
	tk := testTokens(t)
	c := providertest.Start(t, 1)
	name := c.Nodes()[0].Name
	v1 := signedCTL(t, tk[0], "cm1", tk[0], tk[1])
	c.PutCTL(name, v1)
	alice, bob := c.Client(name), c.Client(name)
	_, aliceTag, err := alice.CTL(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	_, bobTag, _ := bob.CTL(ctx(t))
	l, err := bob.Lock(ctx(t), provider.LockRequest{User: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.WriteCTL(ctx(t), signedCTL(t, tk[1], "bob", tk[0], tk[1]), provider.WriteOptions{LockID: l.ID, IfMatch: bobTag}); err != nil {
		t.Fatal(err)
	}
	bob.ReleaseLock(ctx(t), l.ID)
	l, err = alice.Lock(ctx(t), provider.LockRequest{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = alice.WriteCTL(ctx(t), signedCTL(t, tk[0], "alice", tk[0], tk[1]), provider.WriteOptions{LockID: l.ID, IfMatch: aliceTag})
	if !errors.Is(err, provider.ErrConflict) {
		t.Fatalf("alice overwrote bob's file: %v", err)
	}
}

func TestModeAndRestart(t *testing.T) {
	c := providertest.Start(t, 2)
	name := c.Nodes()[0].Name
	cl := c.Client(name)
	if err := cl.SetMode(ctx(t), "", provider.ModeMixed); !errors.Is(err, provider.ErrNotLocked) {
		t.Fatalf("mode without lock: %v", err)
	}
	l, err := cl.Lock(ctx(t), provider.LockRequest{User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.SetMode(ctx(t), l.ID, "secure"); err == nil {
		t.Fatal("an unknown mode was accepted")
	}
	if err := cl.SetMode(ctx(t), l.ID, provider.ModeMixed); err != nil {
		t.Fatal(err)
	}
	inv, err := cl.Cluster(ctx(t))
	if err != nil || inv.Mode != provider.ModeMixed || inv.AutoRegistration {
		t.Fatalf("after mixed: mode %s autoRegistration %v (%v); R11 wants it off", inv.Mode, inv.AutoRegistration, err)
	}
	if err := cl.Restart(ctx(t), l.ID, []provider.Service{provider.ServiceCallManager, provider.ServiceTFTP}); err != nil {
		t.Fatal(err)
	}
	if err := cl.Restart(ctx(t), l.ID, []provider.Service{"httpd"}); err == nil {
		t.Fatal("an unknown service was accepted")
	}
	r := c.Nodes()[0].Server.Restarts()
	if len(r) != 1 || len(r[0].Services) != 2 || r[0].User != c.User {
		t.Fatalf("restarts recorded: %+v", r)
	}
	c.Restart(c.Nodes()[0])
	inv, err = c.Client(name).Cluster(ctx(t))
	if err != nil || inv.Mode != provider.ModeMixed {
		t.Fatalf("mode lost on restart: %v %v", inv, err)
	}
	if err := c.Client(name).SetMode(ctx(t), l.ID, provider.ModeNonSecure); err != nil {
		t.Fatal(err)
	}
	inv, _ = c.Client(name).Cluster(ctx(t))
	if inv.Mode != provider.ModeNonSecure || !inv.AutoRegistration {
		t.Fatalf("after non-secure: %+v", inv)
	}
}
