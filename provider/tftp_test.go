package provider_test

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
)

func TestTFTPReaderAgainstReferenceServer(t *testing.T) {
	tk := testTokens(t)
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	r, err := provider.Open("tftp://"+n.TFTPAddr, provider.Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.CTL(ctx(t)); !errors.Is(err, provider.ErrNoCTL) {
		t.Fatalf("no file yet: %v, want ErrNoCTL", err)
	}
	// A file spanning many 512-byte blocks, and one of exactly a block multiple.
	data := signedCTL(t, tk[0], "cm1", tk[0], tk[1], tk[2])
	for _, d := range [][]byte{data, bytes.Repeat([]byte{7}, 1024)} {
		c.PutCTL(n.Name, d)
		got, etag, err := r.CTL(ctx(t))
		if err != nil || !bytes.Equal(got, d) || etag != provider.ETag(d) {
			t.Fatalf("TFTP read %d bytes (%v), want %d identical", len(got), err, len(d))
		}
	}
	if _, err := r.Cluster(ctx(t)); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Cluster over TFTP: %v", err)
	}
	_, https, err := c.Client(n.Name).CTL(ctx(t))
	if err != nil || https != provider.ETag(bytes.Repeat([]byte{7}, 1024)) {
		t.Fatalf("HTTPS and TFTP ETags differ: %v", err)
	}
}

// The reference server's TFTP against a client no one here wrote: Debian's tftp-hpa.
func TestReferenceServerWithTftpHpaClient(t *testing.T) {
	bin, err := exec.LookPath("tftp")
	if err != nil {
		t.Skip("tftp-hpa client not installed (scripts/install-deps.sh installs it)")
	}
	tk := testTokens(t)
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	data := signedCTL(t, tk[0], "cm1", tk[0], tk[1])
	c.PutCTL(n.Name, data)
	host, port, _ := net.SplitHostPort(n.TFTPAddr)
	out := filepath.Join(t.TempDir(), "got.tlv")
	// tftp-hpa exits 0 even on errors: the file decides.
	cmd := exec.Command(bin, "-m", "binary", host, port, "-c", "get", provider.FileName, out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tftp: %v: %s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("tftp-hpa got %d bytes (%v), want %d identical", len(got), err, len(data))
	}
	// Hidden files and paths outside the FileLocation are not served.
	os.WriteFile(filepath.Join(n.FileLocation(), ".secret"), []byte("x"), 0o644)
	for _, name := range []string{".secret", "../node.yaml", "/etc/passwd"} {
		out := filepath.Join(t.TempDir(), "x")
		exec.Command(bin, "-m", "binary", host, port, "-c", "get", name, out).Run()
		if b, err := os.ReadFile(out); err == nil && len(b) > 0 {
			t.Errorf("%s was served (%d bytes)", name, len(b))
		}
	}
}

// The TFTP reader against a server no one here wrote: Debian's tftpd-hpa. Needs root (in.tftpd
// drops to nobody); CI runs as root.
func TestTFTPReaderAgainstTftpdHpa(t *testing.T) {
	bin, err := exec.LookPath("in.tftpd")
	if err != nil {
		t.Skip("tftpd-hpa not installed (scripts/install-deps.sh installs it)")
	}
	if os.Geteuid() != 0 {
		t.Skip("in.tftpd needs root")
	}
	tk := testTokens(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	cmd := exec.Command(bin, "-L", "-s", dir, "-a", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r, err := provider.Open("tftp://"+addr, provider.Options{Timeout: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Wait for the server by asking until it answers (not found is an answer).
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, err = r.CTL(ctx(t))
		if errors.Is(err, provider.ErrNoCTL) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("in.tftpd on %s never answered: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	data := signedCTL(t, tk[0], "cm1", tk[0], tk[1], tk[2], tk[3])
	if err := provider.WriteCTLFile(dir, data); err != nil {
		t.Fatal(err)
	}
	got, etag, err := r.CTL(ctx(t))
	if err != nil || !bytes.Equal(got, data) || etag != provider.ETag(data) {
		t.Fatalf("read %d bytes (%v), want %d identical", len(got), err, len(data))
	}
	if r.Name() != "tftp://"+addr {
		t.Errorf("Name() = %s", r.Name())
	}
}

func TestTFTPReaderNamesUnreachableServer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	defer pc.Close() // bound, never answers
	r, _ := provider.NewTFTPReader(addr, provider.Options{Timeout: time.Second, Retries: -1})
	_, _, err = r.CTL(ctx(t))
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Server != "tftp://"+addr {
		t.Fatalf("err = %v, want an error naming tftp://%s", err, addr)
	}
}
