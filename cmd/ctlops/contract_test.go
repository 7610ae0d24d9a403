package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
)

func runCtl(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// The one exit-status table is in `ctlops --help` and in the README, with the same codes.
func TestExitTableInHelpAndReadme(t *testing.T) {
	code, out, _ := runCtl(t, "--help")
	if code != 0 || !strings.Contains(out, exitTable) {
		t.Fatalf("--help: exit %d, table missing:\n%s", code, out)
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{"| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 5 |", "| 130 |", "| 143 |"} {
		if !bytes.Contains(readme, []byte(row)) {
			t.Errorf("README's exit-status table has no row %q", row)
		}
	}
	for _, c := range []string{"tokens", "resign", "watch", "plan", "apply", "drift", "unlock", "validate", "inspect", "version", "import"} {
		code, out, _ := runCtl(t, c, "--help")
		if code != 0 || !strings.Contains(out, "Exit status") {
			t.Errorf("%s --help: exit %d, no exit-status line", c, code)
		}
	}
}

// Usage errors exit 4 on every command, and only they do.
func TestUsageErrorsExit4(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bogus"}, 4, `unknown command "bogus"`},
		{[]string{"plna"}, 4, `did you mean "plan"`},
		{[]string{"lab", "bogus"}, 4, `unknown command "bogus" for "ctlops lab"`},
		{[]string{"lab", "event"}, 4, "ip-change"},
		{[]string{"plan", "--bogus"}, 4, "unknown flag: --bogus"},
		{[]string{"plan", "--timeout", "soon"}, 4, "--timeout"},
		{[]string{"inspect"}, 4, "arg"},
		{[]string{"validate", "extra"}, 4, "extra"},
		// Not usage: the command line is fine, the spec is not there.
		{[]string{"plan", "-f", missing}, 1, "missing.yaml"},
	} {
		code, _, errs := runCtl(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, want %d; stderr %q, want %q", c.args, code, c.code, errs, c.want)
		}
	}
}

// Terraform's single-dash long flags are accepted; a misspelt one gets "did you mean".
func TestSingleDashLongFlags(t *testing.T) {
	got := dashFlags(newRoot(), []string{"apply", "-auto-approve", "-f", "x.yaml", "-lock-timeout=5s", "-x", "--", "-out"})
	want := []string{"apply", "--auto-approve", "-f", "x.yaml", "--lock-timeout=5s", "-x", "--", "-out"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("dashFlags:\n got %q\nwant %q", got, want)
	}
	if got := dashFlags(newRoot(), []string{"plan", "-out", "p.plan", "-detailed-exitcode"}); !reflect.DeepEqual(got, []string{"plan", "--out", "p.plan", "--detailed-exitcode"}) {
		t.Errorf("plan: %q", got)
	}

	missing := filepath.Join(t.TempDir(), "missing.yaml")
	// Accepted: the run gets as far as the spec, which is missing (exit 1, not a flag error).
	for _, args := range [][]string{
		{"plan", "-out", filepath.Join(t.TempDir(), "p"), "-f", missing},
		{"plan", "-out=" + filepath.Join(t.TempDir(), "p"), "-file", missing},
		{"apply", "-auto-approve", "-f", missing},
	} {
		if code, _, errs := runCtl(t, args...); code != 1 || !strings.Contains(errs, "missing.yaml") || strings.Contains(errs, "flag") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"apply", "-auto-aprove", "-f", missing}, "did you mean --auto-approve?"},
		{[]string{"apply", "--auto-aprove", "-f", missing}, "did you mean --auto-approve?"},
		{[]string{"plan", "-outt", "p", "-f", missing}, "did you mean --out?"},
		{[]string{"plan", "-auto-approve", "-f", missing}, "ctlops plan has no flag --auto-approve"},
	} {
		if code, _, errs := runCtl(t, c.args...); code != 4 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 4 and %q", c.args, code, errs, c.want)
		}
	}
}

// --no-color is taken by every command; --verbose is refused where it would do nothing.
func TestNoColorAndVerbose(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	for _, args := range [][]string{
		{"drift", "--no-color", "-f", missing},
		{"unlock", "--no-color", "-f", missing},
		{"validate", "--no-color", "-f", missing},
		{"--no-color", "plan", "-f", missing},
		{"inspect", "--no-color", missing},
	} {
		if code, _, errs := runCtl(t, args...); code != 1 || strings.Contains(errs, "flag") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
	for _, c := range []string{"drift", "unlock"} {
		code, _, errs := runCtl(t, c, "--verbose", "-f", missing)
		if code != 4 || !strings.Contains(errs, "--verbose") || !strings.Contains(errs, "plan, apply and watch") {
			t.Errorf("%s --verbose: exit %d, stderr %q", c, code, errs)
		}
		_, help, _ := runCtl(t, c, "--help")
		if strings.Contains(help, "--verbose") {
			t.Errorf("%s --help still offers --verbose", c)
		}
	}
	if code, _, errs := runCtl(t, "plan", "--verbose", "-f", missing); code != 1 || strings.Contains(errs, "--verbose") {
		t.Errorf("plan --verbose: exit %d, %q", code, errs)
	}
	if _, set := os.LookupEnv("NO_COLOR"); set && !noColorSet {
		return // the environment had it already
	}
	if os.Getenv("NO_COLOR") != "" {
		t.Error("run() left NO_COLOR set after --no-color")
	}
}

// `lab` commands find the lab that DIR/lab.env names in $CTLOPS_LAB_DIR.
func TestLabDirFromEnvironment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mylab")
	t.Setenv(labDirEnv, dir)
	code, _, errs := runCtl(t, "lab", "status")
	if code != 1 || !strings.Contains(errs, dir) {
		t.Errorf("lab status with %s=%s: exit %d, stderr %q", labDirEnv, dir, code, errs)
	}
	other := filepath.Join(t.TempDir(), "other")
	if _, _, errs := runCtl(t, "lab", "status", "--dir", other); !strings.Contains(errs, other) {
		t.Errorf("--dir does not win over the environment: %q", errs)
	}
}

// tokens and resign take -f and use the spec's signWith.pkcs11; the environment's module wins.
//
// The example names SafeNet's real path, which a developer's machine may have; so the test runs
// on a copy of the example whose module is a path under a temporary directory that cannot
// exist, and checks separately that the example itself names SafeNet's file.
func TestSignWithFromSpec(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "mixed", "ctlops.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const real = "/usr/lib/libeTPkcs11.so"
	if !strings.Contains(string(example), "module: "+real) {
		t.Fatalf("examples/mixed/ctlops.yaml no longer names %s", real)
	}
	tmp := t.TempDir()
	certs, err := filepath.Abs(filepath.Join("..", "..", "examples", "certs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(certs, filepath.Join(tmp, "certs")); err != nil {
		t.Fatal(err)
	}
	fromSpec := filepath.Join(tmp, "absent", "libFromSpec.so")
	spec := filepath.Join(tmp, "mixed", "ctlops.yaml")
	if err := os.MkdirAll(filepath.Dir(spec), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(spec, []byte(strings.Replace(string(example), real, fromSpec, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CTLOPS_PKCS11_MODULE", "")
	os.Unsetenv("CTLOPS_PKCS11_MODULE")
	code, _, errs := runCtl(t, "tokens", "-f", spec)
	if code != 1 || !strings.Contains(errs, "libFromSpec.so") {
		t.Errorf("tokens -f: exit %d, stderr %q", code, errs)
	}
	code, _, errs = runCtl(t, "tokens", "-f", spec, "--pkcs11-module", "/nonexistent/flag.so")
	if code != 1 || !strings.Contains(errs, "flag.so") {
		t.Errorf("tokens -f --pkcs11-module: exit %d, stderr %q", code, errs)
	}
	t.Setenv("CTLOPS_PKCS11_MODULE", "/nonexistent/env.so")
	code, _, errs = runCtl(t, "tokens", "-f", spec)
	if code != 1 || !strings.Contains(errs, "env.so") {
		t.Errorf("tokens -f with the variable set: exit %d, stderr %q", code, errs)
	}
}

func TestVersion(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	for _, c := range []struct {
		linked string
		bi     *debug.BuildInfo
		want   string
	}{
		{"dev", bi, "v1.4.0"},                  // go install …@v1.4.0
		{"v1.5.0-3-gabc", bi, "v1.5.0-3-gabc"}, // make build: git describe
		{"dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"}, // go build in a checkout
		{"dev", nil, "dev"},
	} {
		if got := moduleVersion(c.linked, c.bi); got != c.want {
			t.Errorf("moduleVersion(%q): %q, want %q", c.linked, got, c.want)
		}
	}
	d := describe("v1.4.0", bi)
	if !strings.HasPrefix(d, "v1.4.0\n") || !strings.Contains(d, "revision 0123abcd (2026-12-01T10:00:00Z), modified") || !strings.Contains(d, "go1.99") {
		t.Errorf("describe: %q", d)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := runCtl(t, args...)
		if code != 0 || !strings.HasPrefix(out, "ctlops "+version+"\n") {
			t.Errorf("%v: exit %d, %q", args, code, out)
		}
	}
}

// `ctlops completion bash|zsh|fish` writes a script for each shell.
func TestCompletion(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		code, out, _ := runCtl(t, "completion", sh)
		if code != 0 || !strings.Contains(out, "ctlops") || len(out) < 500 {
			t.Errorf("completion %s: exit %d, %d bytes", sh, code, len(out))
		}
	}
}

// drift's webhook URL can come from a file or the environment, so that its token is on no
// command line; it is never echoed.
func TestNotifyURLFromFileOrEnvironment(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad", "ftp://hooks.example/s3cret\n")
	good := write("good", "https://hooks.example/s3cret\nignored\n")
	empty := write("empty", "\n")
	t.Setenv(notifyEnv, "")
	for _, c := range []struct {
		env  string
		args []string
		code int
		want string
	}{
		{"", []string{"--notify-file", bad}, 1, "--notify: want an http:// or https:// URL"},
		{"", []string{"--notify-file", good}, 1, "missing.yaml"}, // taken: drift goes on to the spec
		{"", []string{"--notify-file", empty}, 1, "first line is empty"},
		{"", []string{"--notify-file", filepath.Join(dir, "none")}, 1, "--notify-file"},
		{"ftp://hooks.example/s3cret", nil, 1, "--notify: want"},
		{"https://hooks.example/s3cret", nil, 1, "missing.yaml"},
		{"ftp://ignored/s3cret", []string{"--notify", "https://hooks.example/x"}, 1, "missing.yaml"}, // the flag wins
		{"", []string{"--notify-file", good, "--notify", "https://hooks.example/x"}, 4, "give one"},
	} {
		t.Setenv(notifyEnv, c.env)
		code, out, errs := runCtl(t, append([]string{"drift", "-f", missing}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%s=%q %v: exit %d, stderr %q; want %d and %q", notifyEnv, c.env, c.args, code, errs, c.code, c.want)
		}
		if strings.Contains(out+errs, "s3cret") {
			t.Errorf("%v: the URL's token is in the output", c.args)
		}
	}
}
