package provider_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
	"github.com/ctlops/ctlops/provider/refserver"
)

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestClusterInventoryFromEveryNode(t *testing.T) {
	c := providertest.Start(t, 3)
	certs := map[string]string{}
	for _, n := range c.Nodes() {
		pem, err := os.ReadFile(filepath.Join(filepath.Dir(n.Config), "callmanager.pem"))
		if err != nil {
			t.Fatal(err)
		}
		certs[n.Name] = string(pem)
	}
	for _, n := range c.Nodes() {
		inv, err := c.Client(n.Name).Cluster(ctx(t))
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		if inv.Cluster != "lab" || inv.Mode != provider.ModeNonSecure || !inv.AutoRegistration || inv.Version == "" {
			t.Errorf("%s: header %+v", n.Name, inv)
		}
		if len(inv.Servers) != 3 {
			t.Fatalf("%s lists %d servers, want 3", n.Name, len(inv.Servers))
		}
		for i, s := range inv.Servers {
			want := c.Nodes()[i]
			if s.Name != want.Name || s.Provider != want.Addr || s.Error != "" {
				t.Errorf("%s: server %d = %s %s %q, want %s %s", n.Name, i, s.Name, s.Provider, s.Error, want.Name, want.Addr)
			}
			if !s.HasRole(provider.RoleCCM) || !s.HasRole(provider.RoleTFTP) || s.HasRole(provider.RoleCAPF) {
				t.Errorf("%s: %s roles %v", n.Name, s.Name, s.Roles)
			}
			cc := s.Certificate(provider.RoleCCM)
			if cc == nil || cc.PEM != certs[s.Name] || cc.X509 == nil || cc.X509.Subject.CommonName != s.Name {
				t.Errorf("%s: %s CallManager certificate missing or not the node's own", n.Name, s.Name)
			}
			if !s.IPv4.Is4() || !strings.HasPrefix(s.DNSName, s.Name+".") {
				t.Errorf("%s: %s ip %v dns %q", n.Name, s.Name, s.IPv4, s.DNSName)
			}
		}
	}
}

func TestCredentials(t *testing.T) {
	c := providertest.Start(t, 1)
	addr := c.Nodes()[0].Addr
	tests := []struct {
		name, user, pass string
		wantErr          error
		wantStatus       int
	}{
		{"right", c.User, c.Password, nil, 200},
		{"wrong password", c.User, "Cisco123", provider.ErrUnauthorized, 401},
		{"wrong user", "root", c.Password, provider.ErrUnauthorized, 401},
		{"empty", "", "", provider.ErrUnauthorized, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := c.Options()
			o.Username, o.Password = tt.user, tt.pass
			cl, err := provider.NewClient(addr, o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cl.Cluster(ctx(t))
			if !errors.Is(err, tt.wantErr) && !(tt.wantErr == nil && err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				var pe *provider.Error
				if !errors.As(err, &pe) || pe.Status != tt.wantStatus || pe.Server != addr {
					t.Fatalf("err = %#v, want status %d naming %s", err, tt.wantStatus, addr)
				}
				if tt.pass != "" && strings.Contains(err.Error(), tt.pass) {
					t.Fatalf("error shows the password: %v", err)
				}
			}
		})
	}
}

// Rate limits: a burst of guesses gets exactly the allowed number evaluated, the rest a clear
// throttled error; the admin whose credential already proved itself is never locked out; a
// credential not yet seen waits out the window of the source that guessed.
func TestFailedLoginsAreRateLimited(t *testing.T) {
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	bad := c.Options()
	bad.Password, bad.Retries = "guess", -1
	cl, _ := provider.NewClient(n.Addr, bad)
	good := c.Client(n.Name)
	if _, err := good.Cluster(ctx(t)); err != nil { // the admin, mid-apply
		t.Fatal(err)
	}
	const burst = 200
	errs := make([]error, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = cl.Cluster(ctx(t)) }()
	}
	wg.Wait()
	var refused, throttled int
	for _, err := range errs {
		var pe *provider.Error
		switch {
		case errors.Is(err, provider.ErrUnauthorized) && errors.As(err, &pe) && pe.Status == 401:
			refused++
		case errors.Is(err, provider.ErrThrottled) && errors.As(err, &pe) && pe.Status == 429 && pe.RetryAfter > 0:
			throttled++
		default:
			t.Fatalf("unexpected answer to a guess: %v", err)
		}
	}
	if refused != 5 || throttled != burst-5 {
		t.Fatalf("%d guesses evaluated (401) and %d throttled (429); want exactly 5 and %d", refused, throttled, burst-5)
	}
	audit, err := n.Server.Audit()
	if err != nil {
		t.Fatal(err)
	}
	fails := 0
	for _, e := range audit {
		if e.Op == "login" && e.Result == provider.CodeUnauthorized {
			fails++
		}
	}
	if fails != 5 {
		t.Errorf("audit log holds %d failed logins, want 5 (one per evaluated guess)", fails)
	}
	// The admin's credential proved itself before the burst: it is not locked out, so an
	// apply under way can finish and release its locks.
	if _, err := good.Cluster(ctx(t)); err != nil {
		t.Fatalf("after the burst the admin gets %v, want to be let in", err)
	}
	// After a restart nothing is known-good: the right password from the guessing source
	// waits like any other unknown credential... but the restart also forgot the guesses.
	c.Restart(n)
	guesser, _ := provider.NewClient(n.Addr, bad)
	for i := range 5 {
		if _, err := guesser.Cluster(ctx(t)); !errors.Is(err, provider.ErrUnauthorized) {
			t.Fatalf("guess %d after the restart: %v, want 401", i+1, err)
		}
	}
	fresh, _ := provider.NewClient(n.Addr, c.Options())
	_, err = fresh.Cluster(ctx(t))
	if !errors.Is(err, provider.ErrThrottled) || !strings.Contains(err.Error(), "throttled") {
		t.Fatalf("an unproven credential from a blocked source: %v, want ErrThrottled", err)
	}
	// A request without credentials is answered 401 and counts against nobody.
	c.Restart(n)
	anon := c.Options()
	anon.Username, anon.Password = "", ""
	for range 10 {
		ac, _ := provider.NewClient(n.Addr, anon)
		ac.Cluster(ctx(t))
	}
	if _, err := fresh.Cluster(ctx(t)); err != nil {
		t.Fatalf("anonymous requests locked the admin out: %v", err)
	}
}

func TestTLSVerification(t *testing.T) {
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	pem, err := os.ReadFile(filepath.Join(filepath.Dir(n.Config), "callmanager.pem"))
	if err != nil {
		t.Fatal(err)
	}
	inv, err := c.Client(n.Name).Cluster(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if inv.Servers[0].Certificates[0].PEM != string(pem) {
		t.Fatal("inventory certificate differs from the file")
	}
	sum := sha256.Sum256(inv.Servers[0].Certificates[0].X509.Raw)
	pin := hex.EncodeToString(sum[:])
	other := strings.Repeat("ab", 32)
	tests := []struct {
		name   string
		opt    func(o *provider.Options)
		wantOK bool
		errHas string
	}{
		{"CA file", func(o *provider.Options) { o.CAPool = nil; o.CAFile = c.CAFile }, true, ""},
		{"pin", func(o *provider.Options) { o.CAPool = nil; o.Pins = []string{pin} }, true, ""},
		{"pin with colons, upper case", func(o *provider.Options) { o.CAPool = nil; o.Pins = []string{colons(strings.ToUpper(pin))} }, true, ""},
		{"wrong pin", func(o *provider.Options) { o.CAPool = nil; o.Pins = []string{other} }, false, "not pinned"},
		{"CA right, pin wrong", func(o *provider.Options) { o.Pins = []string{other} }, false, "not pinned"},
		{"system roots only, with a password: not even sent", func(o *provider.Options) { o.CAPool = nil }, false, "refusing to send credentials without a CA or a pinned certificate"},
		{"system roots only, no password", func(o *provider.Options) { o.CAPool = nil; o.Password = "" }, false, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := c.Options()
			o.Retries = -1
			tt.opt(&o)
			cl, err := provider.NewClient(n.Addr, o)
			if err == nil {
				_, err = cl.Cluster(ctx(t))
			}
			if tt.wantOK != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("err = %v, want ok=%v containing %q", err, tt.wantOK, tt.errHas)
			}
			if err != nil && !strings.HasPrefix(err.Error(), n.Addr+": ") {
				t.Fatalf("error does not start with the server: %v", err)
			}
		})
	}
	if _, err := provider.NewClient(n.Addr, provider.Options{Pins: []string{"abc"}}); err == nil {
		t.Fatal("a malformed pin was accepted")
	}
}

func colons(h string) string {
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

func TestLockContention(t *testing.T) {
	c := providertest.Start(t, 1)
	name := c.Nodes()[0].Name
	a, b := c.Client(name), c.Client(name)
	type res struct {
		who  string
		lock *provider.Lock
		err  error
	}
	out := make(chan res, 2)
	var start sync.WaitGroup
	start.Add(1)
	for who, cl := range map[string]*provider.Client{"alice": a, "bob": b} {
		go func() {
			start.Wait()
			l, err := cl.Lock(ctx(t), provider.LockRequest{User: who, Host: who + "-pc", Operation: "apply", Lease: time.Minute})
			out <- res{who, l, err}
		}()
	}
	start.Done()
	r1, r2 := <-out, <-out
	if (r1.err == nil) == (r2.err == nil) {
		t.Fatalf("both or neither got the lock: %v / %v", r1.err, r2.err)
	}
	win, lose := r1, r2
	if r1.err != nil {
		win, lose = r2, r1
	}
	var pe *provider.Error
	if !errors.Is(lose.err, provider.ErrLocked) || !errors.As(lose.err, &pe) || pe.Status != 409 ||
		pe.Holder == nil || pe.Holder.User != win.who || pe.Holder.Operation != "apply" || pe.Holder.ID != "" {
		t.Fatalf("loser got %v (holder %+v), want 409 naming %s without the lock id", lose.err, pe, win.who)
	}
	if !strings.Contains(lose.err.Error(), win.who+"@"+win.who+"-pc") {
		t.Errorf("error does not say who holds the lock: %v", lose.err)
	}
	// The loser cannot renew or release the winner's lock by guessing; the winner can.
	if _, err := b.RenewLock(ctx(t), "not-the-id", time.Minute); !errors.Is(err, provider.ErrNotLocked) {
		t.Fatalf("renew with a wrong id: %v", err)
	}
	l, err := a.RenewLock(ctx(t), win.lock.ID, 2*time.Minute)
	if err != nil || !l.Expires.After(win.lock.Expires) {
		t.Fatalf("renew: %v %v", l, err)
	}
	if err := a.ReleaseLock(ctx(t), win.lock.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.ReleaseLock(ctx(t), win.lock.ID); !errors.Is(err, provider.ErrNotLocked) {
		t.Fatalf("second release: %v", err)
	}
	l2, err := b.Lock(ctx(t), provider.LockRequest{User: "bob", Operation: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	// An admin breaks a lock left by a crashed apply; the holder's id is then worthless.
	broken, err := a.BreakLock(ctx(t))
	if err != nil || broken.User != "bob" {
		t.Fatalf("break: %v %v", broken, err)
	}
	if _, err := b.RenewLock(ctx(t), l2.ID, time.Minute); !errors.Is(err, provider.ErrNotLocked) {
		t.Fatalf("renew after break: %v", err)
	}
	if _, err := a.BreakLock(ctx(t)); !errors.Is(err, provider.ErrNotLocked) {
		t.Fatalf("break of a free lock: %v", err)
	}
	audit, _ := c.Nodes()[0].Server.Audit()
	var ops []string
	for _, e := range audit {
		ops = append(ops, e.Op)
	}
	if got := strings.Join(ops, ","); got != "take lock,release lock,take lock,break lock" {
		t.Errorf("audit ops = %s", got)
	}
}

func TestLockSurvivesRestart(t *testing.T) {
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	l, err := c.Client(n.Name).Lock(ctx(t), provider.LockRequest{User: "alice", Operation: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	c.Restart(n)
	_, err = c.Client(n.Name).Lock(ctx(t), provider.LockRequest{User: "bob"})
	if !errors.Is(err, provider.ErrLocked) {
		t.Fatalf("after restart the lock is gone: %v", err)
	}
	if err := c.Client(n.Name).ReleaseLock(ctx(t), l.ID); err != nil {
		t.Fatal(err)
	}
}

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

func TestR22EventsShowInEveryInventory(t *testing.T) {
	c := providertest.Start(t, 2)
	first := c.Nodes()[0].Name
	serial := func(inv *provider.Inventory, name string) string {
		for _, s := range inv.Servers {
			if s.Name == name {
				return s.Certificates[0].X509.SerialNumber.String()
			}
		}
		return ""
	}
	view := func(node string) *provider.Inventory {
		t.Helper()
		inv, err := c.Client(node).Cluster(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	before := view(first)
	c.ChangeIP("cm2", "192.0.2.77")
	c.RegenCert("cm2")
	c.EnableCAPF()
	added := c.AddNode()
	for _, n := range c.Nodes() {
		inv := view(n.Name)
		if len(inv.Servers) != 3 {
			t.Fatalf("%s lists %d servers after add", n.Name, len(inv.Servers))
		}
		cm1, cm2 := inv.Servers[0], inv.Servers[1]
		if cm2.IPv4.String() != "192.0.2.77" {
			t.Errorf("%s: cm2 IP %v", n.Name, cm2.IPv4)
		}
		if serial(inv, "cm2") == serial(before, "cm2") || serial(inv, "cm1") != serial(before, "cm1") {
			t.Errorf("%s: only cm2's certificate should be new", n.Name)
		}
		if !cm1.HasRole(provider.RoleCAPF) || cm1.Certificate(provider.RoleCAPF) == nil || cm2.HasRole(provider.RoleCAPF) {
			t.Errorf("%s: CAPF on cm1 not listed", n.Name)
		}
		if inv.Servers[2].Name != added.Name || inv.Servers[2].Error != "" {
			t.Errorf("%s: added node %+v", n.Name, inv.Servers[2])
		}
	}
	// The node now serves its new certificate on TLS too (the client verifies against the CA).
	c.Rename("cm2", "cm2b")
	inv := view(first)
	if inv.Servers[1].Name != "cm2b" || inv.Servers[1].Certificates[0].X509.Subject.CommonName != "cm2b" {
		t.Errorf("rename not seen: %+v", inv.Servers[1].Name)
	}
	c.RemoveNode(added.Name)
	inv = view(first)
	if len(inv.Servers) != 2 {
		t.Errorf("after remove: %d servers", len(inv.Servers))
	}
}

func TestUnreachablePeerIsReported(t *testing.T) {
	c := providertest.Start(t, 2)
	c.Nodes()[1].Stop()
	inv, err := c.Client(c.Nodes()[0].Name).Cluster(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Servers) != 2 || inv.Servers[1].Error == "" || inv.Servers[1].Name != "cm2" {
		t.Fatalf("a stopped peer must be listed with an error (R26): %+v", inv.Servers)
	}
}

func TestConfigErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "node.yaml")
	os.WriteFile(p, []byte("cluster: x\nbogus: 1\n"), 0o600)
	if _, err := refserver.LoadConfig(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("err = %v", err)
	}
	os.WriteFile(p, []byte("cluster: x\n"), 0o600)
	if _, err := refserver.LoadConfig(p); err == nil || !strings.Contains(err.Error(), "missing keys") {
		t.Fatalf("err = %v", err)
	}
}
