package provider_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider"
)

func TestDirReaderWriter(t *testing.T) {
	tk := testTokens(t)
	dir := t.TempDir()
	w, err := provider.OpenWriter("dir://"+dir, provider.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := provider.OpenWriter("dir://"+dir, provider.Options{}) // a second ctlops process
	if _, _, err := w.CTL(ctx(t)); !errors.Is(err, provider.ErrNoCTL) {
		t.Fatalf("empty dir: %v", err)
	}
	l, err := w.Lock(ctx(t), provider.LockRequest{User: "alice", Operation: "apply", Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_, err = other.Lock(ctx(t), provider.LockRequest{User: "bob"})
	var pe *provider.Error
	if !errors.Is(err, provider.ErrLocked) || !errors.As(err, &pe) || pe.Holder == nil || pe.Holder.User != "alice" {
		t.Fatalf("second locker: %v", err)
	}
	v1 := signedCTL(t, tk[0], "cm1", tk[0], tk[1])
	foreign := signedCTL(t, tk[2], "cm1", tk[2], tk[3])
	if _, err := other.WriteCTL(ctx(t), v1, provider.WriteOptions{LockID: "guess"}); !errors.Is(err, provider.ErrNotLocked) {
		t.Fatalf("write without the lock: %v", err)
	}
	tag, err := w.WriteCTL(ctx(t), v1, provider.WriteOptions{LockID: l.ID})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		data []byte
		opt  provider.WriteOptions
		want error
	}{
		"stale":         {v1, provider.WriteOptions{LockID: l.ID}, provider.ErrConflict},
		"bad signature": {badSignature(t, v1), provider.WriteOptions{LockID: l.ID, IfMatch: tag}, provider.ErrRejected},
		"R19":           {foreign, provider.WriteOptions{LockID: l.ID, IfMatch: tag}, provider.ErrRejected},
	} {
		if _, err := w.WriteCTL(ctx(t), tc.data, tc.opt); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	r, err := provider.Open("dir://"+dir, provider.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(provider.Writer); ok {
		t.Fatal("Open handed out a Writer: drift could write")
	}
	got, gtag, err := r.CTL(ctx(t))
	if err != nil || !bytes.Equal(got, v1) || gtag != tag {
		t.Fatalf("read back: %v", err)
	}
	if err := w.SetMode(ctx(t), l.ID, provider.ModeMixed); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("SetMode on a dir: %v", err)
	}
	if err := w.ReleaseLock(ctx(t), l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, provider.LockFileName)); !os.IsNotExist(err) {
		t.Fatalf("lock file left behind: %v", err)
	}
	// An expired lock is taken over.
	if _, err := other.Lock(ctx(t), provider.LockRequest{User: "bob", Lease: time.Nanosecond}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond) // the lease is 1 ns; this only makes sure the clock moved
	if _, err := w.Lock(ctx(t), provider.LockRequest{User: "alice"}); err != nil {
		t.Fatalf("expired lock not taken over: %v", err)
	}
}

func TestOpen(t *testing.T) {
	for _, tc := range []struct {
		src, name string
		writer    bool
		wantErr   bool
	}{
		{"cm1.example.com", "cm1.example.com:2444", true, false},
		{"cm1.example.com:8443", "cm1.example.com:8443", true, false},
		{"https://10.0.0.1:2444/", "10.0.0.1:2444", true, false},
		{"tftp://10.0.0.1", "tftp://10.0.0.1:69", false, false},
		{"tftp://10.0.0.1:6969", "tftp://10.0.0.1:6969", false, false},
		{"ftp://x/y", "", false, true},
		{"dir:///does/not/exist", "", false, true},
	} {
		r, err := provider.Open(tc.src, provider.Options{})
		if (err != nil) != tc.wantErr {
			t.Errorf("Open(%q): %v", tc.src, err)
			continue
		}
		if err != nil {
			continue
		}
		if r.Name() != tc.name {
			t.Errorf("Open(%q).Name() = %s, want %s", tc.src, r.Name(), tc.name)
		}
		if _, ok := r.(provider.Writer); ok {
			t.Errorf("Open(%q) is a Writer", tc.src)
		}
		_, err = provider.OpenWriter(tc.src, provider.Options{})
		if (err == nil) != tc.writer {
			t.Errorf("OpenWriter(%q): %v, want writer=%v", tc.src, err, tc.writer)
		}
	}
}
