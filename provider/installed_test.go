package provider_test

import (
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
)

// A provider that cannot read or parse its installed file cannot judge R19: a write by a key
// phones do not know is refused unless it carries the override, and the override is audited
// with what was wrong with the installed file.
func TestBrokenInstalledFileNeedsTheOverride(t *testing.T) {
	tk := testTokens(t)
	v1 := signedCTL(t, tk[0], "cm1", tk[0], tk[1])
	foreign := signedCTL(t, tk[2], "cm1", tk[2], tk[3])
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	cl := c.Client(n.Name)
	lock, err := cl.Lock(ctx(t), provider.LockRequest{User: "alice", Operation: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	installed := filepath.Join(n.FileLocation(), provider.FileName)
	tests := []struct {
		name   string
		break_ func()
		want   string
	}{
		{"truncated", func() { c.PutCTL(n.Name, v1[:len(v1)/2]) }, "the installed CTL does not parse"},
		{"larger than phones load", func() { c.PutCTL(n.Name, make([]byte, ctl.MaxFileSize+1)) }, "the installed CTL cannot be read"},
		{"a FIFO", func() { os.Remove(installed); syscall.Mkfifo(installed, 0o644) }, "the installed CTL cannot be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.break_()
			etag := provider.ETag(v1[:len(v1)/2]) // whatever the client last saw
			_, err := cl.WriteCTL(ctx(t), foreign, provider.WriteOptions{LockID: lock.ID, IfMatch: etag})
			var pe *provider.Error
			if !errors.Is(err, provider.ErrRejected) || !errors.As(err, &pe) || pe.Code != provider.CodeCTLUntrusted || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "Ctl-Override: R19") {
				t.Fatalf("err = %v, want ctl_untrusted saying %q and how to override", err, tt.want)
			}
			if _, err := cl.WriteCTL(ctx(t), foreign, provider.WriteOptions{LockID: lock.ID, IfMatch: etag, OverrideR19: true}); err != nil {
				t.Fatalf("with the override: %v", err)
			}
			got, _, err := cl.CTL(ctx(t))
			if err != nil || string(got) != string(foreign) {
				t.Fatalf("after the override the node serves %d bytes (%v)", len(got), err)
			}
			audit, _ := n.Server.Audit()
			last := audit[len(audit)-1]
			prev := audit[len(audit)-2]
			if prev.Result != provider.CodeCTLUntrusted || last.Result != "ok" || last.Details["override"] != "R19" || last.Details["installed"] == "" {
				t.Errorf("audit: %+v then %+v", prev, last)
			}
			os.Remove(installed)
		})
	}
}

// The provider refuses files phones cannot load, whatever their signature says.
func TestFilesPhonesCannotLoadAreRefused(t *testing.T) {
	tk := testTokens(t)
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	cl := c.Client(n.Name)
	lock, _ := cl.Lock(ctx(t), provider.LockRequest{User: "alice"})
	// A CCM record whose certificate is not DER, in a file signed properly.
	r1, _ := ctl.NewRecord(tk[0].cert, ctl.RoleSAST, "", netip.Addr{})
	r2, _ := ctl.NewRecord(tk[1].cert, ctl.RoleSAST, "", netip.Addr{})
	bad, _ := ctl.NewRecord(tk[2].cert, ctl.RoleCCMTFTP, "cm1", netip.MustParseAddr("192.0.2.11"))
	f := ctl.New("CTLFile.tlv", []ctl.Record{r1, r2, bad})
	if err := f.Sign(tk[0].key, tk[0].cert, ctl.SHA1, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	// ctl.Sign refuses to sign such a file, so break the certificate after signing and sign the
	// bytes again by hand, the way a tool other than ctlops could.
	f.Records[2].Certificate = []byte("not a certificate")
	signed, err := f.SignedBytes()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(signed)
	sig, err := tk[0].key.Sign(rand.Reader, sum[:], crypto.SHA1)
	if err != nil {
		t.Fatal(err)
	}
	f.Header.Signature = sig
	data, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.WriteCTL(ctx(t), data, provider.WriteOptions{LockID: lock.ID})
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Code != provider.CodeCTLInvalid || !strings.Contains(err.Error(), "record 3") || !strings.Contains(err.Error(), "does not parse") {
		t.Fatalf("record with a broken certificate: %v", err)
	}
	// Over ctl.MaxFileSize: refused before anything is parsed.
	_, err = cl.WriteCTL(ctx(t), make([]byte, ctl.MaxFileSize+1), provider.WriteOptions{LockID: lock.ID})
	if !errors.As(err, &pe) || pe.Code != provider.CodeTooLarge {
		t.Fatalf("oversize: %v", err)
	}
	if _, _, err := cl.CTL(ctx(t)); !errors.Is(err, provider.ErrNoCTL) {
		t.Fatalf("a refused write left a file: %v", err)
	}
	// Positive control: the same file with a real certificate is written.
	ok := signedCTL(t, tk[0], "cm1", tk[0], tk[1])
	if _, err := cl.WriteCTL(ctx(t), ok, provider.WriteOptions{LockID: lock.ID}); err != nil {
		t.Fatal(err)
	}
}

// The node's audit log names lock holders, never a lock id (an id is the holder's capability).
func TestAuditHoldsNoLockID(t *testing.T) {
	tk := testTokens(t)
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	cl := c.Client(n.Name)
	lock, err := cl.Lock(ctx(t), provider.LockRequest{User: "alice", Operation: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.WriteCTL(ctx(t), signedCTL(t, tk[0], "cm1", tk[0], tk[1]), provider.WriteOptions{LockID: lock.ID}); err != nil {
		t.Fatal(err)
	}
	cl.SetMode(ctx(t), lock.ID, provider.ModeMixed)
	cl.BreakLock(ctx(t))
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(n.Config), "state", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"write ctl"`) || !strings.Contains(string(raw), "alice@") {
		t.Fatalf("audit log lacks the write or its holder:\n%s", raw)
	}
	if strings.Contains(string(raw), lock.ID) {
		t.Fatalf("audit log holds the lock id:\n%s", raw)
	}
}

// Temporary files a crash left in the FileLocation are removed when the node starts.
func TestTemporaryFilesCleanedAtStart(t *testing.T) {
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	left := filepath.Join(n.FileLocation(), "."+provider.FileName+".tmp-12345")
	alt := filepath.Join(n.FileLocation(), provider.AlternateDir, "branch")
	os.MkdirAll(alt, 0o755)
	leftAlt := filepath.Join(alt, "."+provider.FileName+".tmp-6789")
	keep := filepath.Join(n.FileLocation(), "SEPDEFAULT.cnf.xml")
	for _, f := range []string{left, leftAlt, keep} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.Restart(n)
	for _, f := range []string{left, leftAlt} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived the restart", f)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("an ordinary file was removed: %v", err)
	}
}

// A FIFO in place of a file never hangs a reader: the reference server's TFTP answers
// "File not found", and a mapped directory's lock that is a FIFO is an error naming it.
func TestFIFOsNeverHang(t *testing.T) {
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	if err := syscall.Mkfifo(filepath.Join(n.FileLocation(), provider.FileName), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ := provider.Open("tftp://"+n.TFTPAddr, provider.Options{Timeout: 5 * time.Second})
	if _, _, err := r.CTL(ctx(t)); !errors.Is(err, provider.ErrNoCTL) {
		t.Fatalf("TFTP read of a FIFO: %v, want File not found at once", err)
	}
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, provider.LockFileName), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := provider.OpenWriter("dir://"+dir, provider.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Lock(ctx(t), provider.LockRequest{User: "alice", Lease: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("lock over a FIFO lock file: %v", err)
	}
}
