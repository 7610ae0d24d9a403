package test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider"
)

// serveTftpdHpa serves dir with Debian's in.tftpd on a 127.0.0.1 port and returns the
// address once it answers. in.tftpd drops to nobody, so it needs root (CI runs as root).
func serveTftpdHpa(t *testing.T, dir string) string {
	t.Helper()
	bin, err := exec.LookPath("in.tftpd")
	if err != nil {
		t.Skip("tftpd-hpa not installed (scripts/install-deps.sh installs it)")
	}
	if os.Geteuid() != 0 {
		t.Skip("in.tftpd needs root")
	}
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o755) // nobody must reach the files
	}
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
	// Ask until it answers (a file or "not found" are both answers), with a deadline.
	r, err := provider.Open("tftp://"+addr, provider.Options{Timeout: 2 * time.Second, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, _, err := r.CTL(ctx)
		cancel()
		if err == nil || errors.Is(err, provider.ErrNoCTL) {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("in.tftpd on %s never answered: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sampleCTL is the real CUCM 10.5 tokenless CTL of the shared samples.
func sampleCTL(t *testing.T) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(file)), "ctl", "testdata", "SCFFile.tlv"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Issue 17's "done when": a real CUCM's tokenless CTL, whose certificates expired years ago,
// served by in.tftpd; import into an empty directory, then validate and drift exit 0.
func TestImportRealCUCMOverTftpdHpa(t *testing.T) {
	t.Parallel() // its own lab and temporary directories; most of its time is spent waiting on the lab's scaled-down timings
	root := t.TempDir()
	data := sampleCTL(t)
	if err := os.WriteFile(filepath.Join(root, provider.FileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := serveTftpdHpa(t, root)
	s := &session{t: t, bin: binaries(t), env: os.Environ()}
	out := t.TempDir()

	r := s.run(0, "import", "tftp://"+addr, "--out", out)
	for _, want := range []string{"gigantic-6", "6 records", "tokenless", "ctlops.yaml"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("import output lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "expired on 2016-02-10") {
		t.Errorf("import does not warn that the certificates expired:\n%s", r.stderr)
	}
	r = s.run(0, "validate", "-f", out)
	if !strings.Contains(r.stdout+r.stderr, "expired") {
		t.Errorf("validate does not warn about expiry:\n%s%s", r.stdout, r.stderr)
	}
	s.run(0, "drift", "-f", out)
	r = s.run(0, "plan", "-f", out, "--detailed-exitcode")
	if !strings.Contains(r.stdout, "No changes") {
		t.Errorf("plan after import:\n%s", r.stdout)
	}

	// show reads the same server: CUCM's checksums of the real file (md5sum, sha1sum) and
	// the expiry of its certificates.
	r = s.run(0, "show", "-f", out)
	for _, want := range []string{"0c43d702a9bc273d1ba7e9512877ab6a(MD5)", "7bc2b30ebc2c52dcb6af9389af7a32e4a65be824(SHA1)",
		"Length of CTL file: 7166", "EXPIRED", "This etoken was used to sign the CTL file.", "verified successfully"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}

	// A second import into the same directory is refused and changes nothing.
	before, _ := os.ReadFile(filepath.Join(out, "ctlops.yaml"))
	r = s.run(1, "import", "tftp://"+addr, "--out", out)
	if !strings.Contains(r.stderr, "already holds a spec") {
		t.Errorf("second import: %s", r.stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(out, "ctlops.yaml")); !bytes.Equal(before, after) {
		t.Error("a refused import changed the spec")
	}

	// Control: drift does read the server. A tampered copy is found (exit 2, naming it).
	bad := append([]byte(nil), data...)
	bad[len(bad)-40] ^= 0xff
	if err := os.WriteFile(filepath.Join(root, provider.FileName), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	r = s.run(-1, "drift", "-f", out)
	if r.code == 0 {
		t.Fatalf("drift of a tampered file exited 0:\n%s", r.stdout)
	}
}

// TestImportMetroPlatformCLI adopts the lab's tokenless metro through its publisher's
// platform CLI with the built binary: without confirmed host keys import prints the two keys
// the lab's spec pins and writes nothing; with them the written spec validates, and plan and
// drift report no change. After the lab's apply makes metro mixed, that spec drifts (the
// control) and a second import, whose roles come from the CTL, round-trips again.
func TestImportMetroPlatformCLI(t *testing.T) {
	t.Parallel() // its own lab and temporary directories
	s := startLab(t)
	nodes := s.metroNodes()
	labSpec, err := os.ReadFile(s.spec())
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`hostKeys: \[(SHA256:\S+), (SHA256:\S+)\]`).FindStringSubmatch(string(labSpec))
	if m == nil || len(nodes) != 2 {
		t.Fatalf("metro in the lab: nodes %+v, spec:\n%s", nodes, labSpec)
	}
	imp := func(want int, out string, extra ...string) result {
		args := []string{"import", "ssh://platformadmin@" + nodes[0].SSH, "--out", out, "--name", "metro",
			"--password-env", "LAB_PLATFORM_PASSWORD", "--node-ssh", "msub=" + nodes[1].SSH,
			"--node-tftp", "mpub=" + nodes[0].TFTP, "--node-tftp", "msub=" + nodes[1].TFTP}
		return s.run(want, append(args, extra...)...)
	}
	out := filepath.Join(t.TempDir(), "metro")
	r := imp(1, out)
	if !strings.Contains(r.stderr, "--host-key "+m[1]+" --host-key "+m[2]) || !strings.Contains(r.stderr, "Nothing was sent") {
		t.Fatalf("import without host keys:\n%s", r.stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("import without host keys wrote something")
	}
	keys := []string{"--host-key", m[1], "--host-key", m[2]}
	r = imp(0, out, keys...)
	if !strings.Contains(r.stdout, "Imported cluster metro (non-secure mode)") || !strings.Contains(r.stdout, "guessed") {
		t.Errorf("import:\n%s", r.stdout)
	}
	s.run(0, "validate", "-f", out)
	s.run(0, "plan", "-f", out, "--detailed-exitcode")
	s.run(0, "drift", "-f", out)

	s.run(0, "apply", "-f", s.spec(), "--cluster", "metro", "--auto-approve")
	s.run(2, "drift", "-f", out) // the control: the adopted spec says non-secure

	out2 := filepath.Join(t.TempDir(), "metro")
	r = imp(0, out2, keys...)
	if !strings.Contains(r.stdout, "Imported cluster metro (mixed mode)") || !strings.Contains(r.stdout, "roles [CCM, TFTP, CAPF] (publisher)") {
		t.Errorf("import of mixed metro:\n%s", r.stdout)
	}
	s.run(0, "plan", "-f", out2, "--detailed-exitcode")
	s.run(0, "drift", "-f", out2)
	for _, d := range []string{out, out2} {
		b, _ := os.ReadFile(filepath.Join(d, "ctlops.yaml"))
		for _, sec := range s.secrets {
			if strings.Contains(string(b), sec) {
				t.Errorf("a secret appears in %s/ctlops.yaml", d)
			}
		}
	}
}
