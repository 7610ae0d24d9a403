package spec

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Spec inputs that are devices, FIFOs or too large are errors naming the file, never a hang or
// an exhausted memory.
func TestSpecInputsAreBounded(t *testing.T) {
	testEnv(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.pem")
	os.WriteFile(big, make([]byte, maxCertFile+1), 0o644)
	bigCA := filepath.Join(dir, "bigca.pem")
	os.WriteFile(bigCA, make([]byte, maxCAFile+1), 0o644)
	certs, _ := filepath.Abs("testdata/certs")
	spec := func(token, ca string) string {
		return "version: 1\nclusters:\n  - name: hq\n    mode: mixed\n    providers: [{host: cm1.example.com}]\n" +
			"    credentials: {username: a, password: {env: X}}\n    tls: {ca: " + ca + "}\n" +
			"    tokens:\n      - {name: t1, certificate: " + token + "}\n      - {name: t2, certificate: " + certs + "/token2.pem}\n"
	}
	yfifo := filepath.Join(dir, "fifo.yaml")
	syscall.Mkfifo(yfifo, 0o600)
	tests := []struct {
		name, content, path string // content written to dir/NAME.yaml, or path loaded as is
		want                string
	}{
		{"token certificate is /dev/zero", spec("/dev/zero", certs+"/ca.pem"), "", "certificate file /dev/zero: not a regular file (a device)"},
		{"token certificate is a FIFO", spec(fifo, certs+"/ca.pem"), "", "certificate file " + fifo + ": not a regular file (a named pipe)"},
		{"token certificate too large", spec(big, certs+"/ca.pem"), "", "certificate file " + big + ": file too large: 65537 bytes, the limit is 65536"},
		{"CA is /dev/urandom", spec(certs+"/token1.pem", "/dev/urandom"), "", "CA file /dev/urandom: not a regular file (a device)"},
		{"CA too large", spec(certs+"/token1.pem", bigCA), "", "CA file " + bigCA + ": file too large"},
		{"spec is /dev/zero", "", "/dev/zero", "/dev/zero: not a regular file (a device)"},
		{"spec is a FIFO", "", yfifo, yfifo + ": not a regular file (a named pipe)"},
		{"spec too large", "version: 1\n#" + strings.Repeat("x", MaxSpecFile) + "\n", "", "the limit is 1048576; a spec file is at most 1048576 bytes"},
		{"a runaway list", "version: 1\nclusters: [" + strings.Repeat("a,", maxNodes) + "a]\n", "", "more than the 100000 a spec file may"},
		{"not UTF-8", "version: 1\nclusters:\n  - name: h\xe9q\n", "", ".yaml:3:12: not UTF-8: byte 0xe9 at offset 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.path
			if p == "" {
				p = filepath.Join(dir, strings.NewReplacer(" ", "-", "/", "-").Replace(tt.name)+".yaml")
				if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := bounded(t, func() (*Config, []Warning, error) { return Load(p) })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant …%s…", err, tt.want)
			}
		})
	}
}

// bounded fails the test when f has not returned in 20 s: a FIFO read that blocked would
// otherwise hang it (a guard, not a timing assertion).
func bounded[A, B, C any](t *testing.T, f func() (A, B, C)) (A, B, C) {
	t.Helper()
	type r struct {
		a A
		b B
		c C
	}
	ch := make(chan r, 1)
	go func() { a, b, c := f(); ch <- r{a, b, c} }()
	select {
	case v := <-ch:
		return v.a, v.b, v.c
	case <-time.After(20 * time.Second):
		t.Fatal("Load did not return: an input blocked it")
	}
	var v r
	return v.a, v.b, v.c
}

// The loader's memory is a small multiple of its input, for the shapes that blew it up: one
// certificate named by every item of a long list, and a long list of wrong items (each an error).
func TestLoaderMemoryIsBounded(t *testing.T) {
	testEnv(t)
	dir := t.TempDir()
	certs, _ := filepath.Abs("testdata/certs")
	var b strings.Builder
	b.WriteString("version: 1\nclusters:\n  - name: hq\n    mode: mixed\n    providers: [{url: tftp://127.0.0.1}]\n    tokens:\n")
	for i := 0; b.Len() < MaxSpecFile-200; i++ {
		b.WriteString("      - {name: t" + itoa(i) + ", certificate: " + certs + "/token1.pem}\n")
	}
	many := filepath.Join(dir, "many-tokens.yaml")
	os.WriteFile(many, []byte(b.String()), 0o644)
	wrong := filepath.Join(dir, "wrong-items.yaml")
	os.WriteFile(wrong, []byte("version: 1\nclusters: ["+strings.Repeat("a,", maxNodes/2-10)+"a]\n"), 0o644)
	for _, p := range []string{many, wrong} {
		fi, _ := os.Stat(p)
		var errs int
		alloc := allocated(func() {
			_, _, err := Load(p)
			errs = len(Errors(err))
		})
		ratio := float64(alloc) / float64(fi.Size())
		t.Logf("%s: %d bytes in, %d allocated (%.0fx), %d errors", filepath.Base(p), fi.Size(), alloc, ratio, errs)
		if ratio > 400 {
			t.Errorf("%s: the loader allocated %.0f times its input", filepath.Base(p), ratio)
		}
		if errs > maxFileErrors+1 {
			t.Errorf("%s: %d errors kept, want at most %d and a count of the rest", filepath.Base(p), errs, maxFileErrors+1)
		}
	}
}

func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

func itoa(i int) string { return strconv.Itoa(i) }

// A YAML syntax error is reported on the line at fault, not where its block starts.
func TestSyntaxErrorLine(t *testing.T) {
	head := "version: 1\nclusters:\n  - name: hq\n    mode: mixed\n    providers:\n      - host: cm1.example.com\n" +
		"    credentials:\n      username: admin\n      password: {env: HQ_PASSWORD}\n    tls:\n      ca: ca.pem\n" +
		"    tokens:\n      - name: t1\n        certificate: t1.pem\n"
	tests := []struct {
		name, tail string
		want       string
	}{
		{"item indented too little", "      - name: t2\n       certificate: t2.pem\n", ":16: YAML syntax: did not find expected '-' indicator"},
		{"item indented too much", "      - name: t2\n          certificate: t2.pem\n", ":16: YAML syntax: mapping values are not allowed in this context"},
		{"list dedented", "    - name: t2\n      certificate: t2.pem\n", ":15: YAML syntax: did not find expected key"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "s.yaml")
			os.WriteFile(p, []byte(head+tt.tail), 0o644)
			_, _, err := Load(p)
			if err == nil || !strings.Contains(err.Error(), p+tt.want) {
				t.Fatalf("err = %v, want %s%s", err, p, tt.want)
			}
		})
	}
}
