// Package test holds the end-to-end tests: they build the ctlops and ctl-provider binaries and
// run them as a user would, against a lab of reference providers on loopback with SoftHSM2
// tokens (`ctlops lab up`), Debian's tftp-hpa client and openssl as independent peers.
package test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ctlops/ctlops/ctl"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds ctlops and ctl-provider once per test run into a temporary directory.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "ctlops-e2e-bin-")
		if buildErr != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Dir(filepath.Dir(file))
		for _, cmd := range []string{"ctlops", "ctl-provider"} {
			build := exec.Command("go", "build", "-o", filepath.Join(binDir, cmd), "./cmd/"+cmd)
			build.Dir = root
			if out, err := build.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", cmd, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// endToEndParallel is how many of these tests run at once unless -test.parallel says otherwise.
// Each runs its own lab in its own directory and spends most of its time waiting on the lab's
// scaled-down timings (service restarts, phone keep-alives), not computing, so the default of
// one test per core would leave a 2-core CI machine idle for minutes.
const endToEndParallel = 12

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		_ = flag.Set("test.parallel", strconv.Itoa(endToEndParallel))
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// session is a user at a shell with lab.env sourced.
type session struct {
	t       *testing.T
	bin     string
	lab     string
	env     []string
	secrets []string // values that must never be printed
	mu      sync.Mutex
	outputs []string // everything every command printed
}

// startLab runs `ctlops lab up` in a temporary directory and stops it when the test ends.
func startLab(t *testing.T) *session {
	t.Helper()
	s := &session{t: t, bin: binaries(t), lab: filepath.Join(t.TempDir(), "lab")}
	s.env = os.Environ()
	if r := s.run(0, "lab", "up", "--dir", s.lab); r.code != 0 {
		t.Fatalf("lab up: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	t.Cleanup(func() {
		if r := s.run(-1, "lab", "down", "--dir", s.lab); r.code != 0 {
			t.Errorf("lab down: exit %d\n%s", r.code, r.stderr)
		}
		s.checkNoSecrets()
	})
	data, err := os.ReadFile(filepath.Join(s.lab, "lab.env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v = strings.Trim(v, "'")
		s.env = append(s.env, k+"="+v)
		if strings.Contains(k, "PASSWORD") || k == "CTLOPS_TOKEN_PIN" {
			s.secrets = append(s.secrets, v)
		}
	}
	if len(s.secrets) < 2 {
		t.Fatalf("lab.env exports no password or PIN: %s", data)
	}
	return s
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs bin/ctlops with args; want is the exit status expected (-1: any).
func (s *session) run(want int, args ...string) result {
	s.t.Helper()
	return s.runIn(want, "", args...)
}

func (s *session) runIn(want int, dir string, args ...string) result {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, "ctlops"), args...)
	cmd.Env = s.env
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("ctlops %v: %v", args, err)
	}
	s.mu.Lock()
	s.outputs = append(s.outputs, r.stdout, r.stderr)
	s.mu.Unlock()
	if want >= 0 && r.code != want {
		s.t.Fatalf("ctlops %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

func (s *session) spec() string { return filepath.Join(s.lab, "ctlops.yaml") }

// checkNoSecrets fails when a password or PIN appears in any output or in any file the tools
// wrote beside the spec (plan files, audit log).
func (s *session) checkNoSecrets() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.outputs {
		for _, sec := range s.secrets {
			if strings.Contains(o, sec) {
				s.t.Errorf("a secret appears in the output:\n%s", o)
			}
		}
	}
	for _, dir := range []string{filepath.Join(s.lab, ".ctlops"), filepath.Join(s.lab, "plans")} {
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, sec := range s.secrets {
				if bytes.Contains(b, []byte(sec)) {
					s.t.Errorf("a secret appears in %s", p)
				}
			}
			return nil
		})
	}
}

// node is one line of `lab status --format json`.
type node struct {
	Cluster string   `json:"cluster"`
	Name    string   `json:"name"`
	Roles   []string `json:"roles"`
	HTTPS   string   `json:"https"`
	TFTP    string   `json:"tftp"`
	PID     int      `json:"pid"`
}

func (s *session) nodes() []node {
	s.t.Helper()
	r := s.run(0, "lab", "status", "--dir", s.lab, "--format", "json")
	var ns []node
	if err := json.Unmarshal([]byte(r.stdout), &ns); err != nil {
		s.t.Fatalf("lab status: %v\n%s", err, r.stdout)
	}
	return ns
}

// fetchTFTP downloads CTLFile.tlv from a node with Debian's tftp-hpa client, the way phones
// fetch it (R4).
func (s *session) fetchTFTP(addr string) []byte {
	s.t.Helper()
	if _, err := exec.LookPath("tftp"); err != nil {
		s.t.Fatal("tftp-hpa's client is needed (scripts/install-deps.sh installs it)")
	}
	host, port, _ := strings.Cut(addr, ":")
	out := filepath.Join(s.t.TempDir(), "CTLFile.tlv")
	cmd := exec.Command("tftp", "-m", "binary", host, port, "-c", "get", "CTLFile.tlv", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("tftp %s: %v\n%s", addr, err, b)
	}
	// tftp-hpa exits 0 on "File not found": the file is what tells.
	data, err := os.ReadFile(out)
	if err != nil || len(data) == 0 {
		s.t.Fatalf("tftp %s: no CTLFile.tlv (%v)", addr, err)
	}
	return data
}

// verifyWithOpenSSL checks a CTL's signature with openssl, an implementation ctlops did not
// write, and returns the file's signer subject.
func verifyWithOpenSSL(t *testing.T, data []byte) string {
	t.Helper()
	f, err := ctl.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	i := f.SignerRecord()
	if i < 0 {
		t.Fatal("no signer record")
	}
	cert, err := x509.ParseCertificate(f.Records[i].Certificate)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := f.SignedBytes()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(n string, b []byte) string {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out, err := exec.Command("openssl", "dgst", "-"+f.Header.HashAlgorithm.String(),
		"-verify", write("pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		"-signature", write("sig", f.Header.Signature), write("signed", signed)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verified OK") {
		t.Fatalf("openssl does not verify the CTL: %v\n%s", err, out)
	}
	return f.Header.SignerName
}

// allServeSignedBy fetches the CTL from every node of a cluster over TFTP and checks that each
// verifies with openssl and is signed by the token whose subject contains signer.
func (s *session) allServeSignedBy(cluster, signer string) []byte {
	s.t.Helper()
	var first []byte
	for _, n := range s.nodes() {
		if n.Cluster != cluster {
			continue
		}
		data := s.fetchTFTP(n.TFTP)
		if got := verifyWithOpenSSL(s.t, data); !strings.Contains(got, signer) {
			s.t.Errorf("%s/%s serves a CTL signed by %q, want %s", n.Cluster, n.Name, got, signer)
		}
		if first != nil && !bytes.Equal(first, data) {
			s.t.Errorf("%s/%s serves another file than the first node", n.Cluster, n.Name)
		}
		first = data
	}
	if first == nil {
		s.t.Fatalf("no node of cluster %s", cluster)
	}
	return first
}
