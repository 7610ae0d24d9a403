package provider_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
)

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
