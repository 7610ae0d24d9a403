package spec

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// testEnv makes the environment the fixtures expect: CTLOPS_TEST_PASSWORD set,
// CTLOPS_TEST_PIN unset, so that the warnings in golden files do not depend on the machine.
func testEnv(t testing.TB) {
	t.Setenv("CTLOPS_TEST_PASSWORD", "not-a-secret")
	t.Setenv("CTLOPS_TEST_PIN", "")
	os.Unsetenv("CTLOPS_TEST_PIN")
	t.Setenv(SecretDirsEnv, "")
	os.Unsetenv(SecretDirsEnv)
}

func report(t testing.TB, path string) (*Report, string) {
	t.Helper()
	cfg, warns, err := Load(path)
	r := NewReport(cfg, warns, err)
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return r, b.String()
}

// TestGolden loads every fixture and compares `ctlops validate`'s text with its golden file.
// valid/ must load; invalid/ (also refused by the JSON Schema, see package schemas),
// loader-only/ (needs file contents or cross-references) and broken/ (not a usable YAML
// document) must not.
func TestGolden(t *testing.T) {
	testEnv(t)
	for _, dir := range []string{"valid", "invalid", "loader-only", "broken"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no fixtures in testdata/%s: %v", dir, err)
		}
		for _, f := range files {
			t.Run(dir+"/"+filepath.Base(f), func(t *testing.T) {
				r, got := report(t, f)
				if r.Valid != (dir == "valid") {
					t.Errorf("valid = %v, want %v:\n%s", r.Valid, dir == "valid", got)
				}
				if !r.Valid {
					for _, e := range r.Errors {
						if e.File != f {
							t.Errorf("error without its file: %+v", e)
						}
						if dir != "broken" && (e.Line == 0 || e.Column == 0) {
							t.Errorf("error without line:column: %s", e.Text)
						}
					}
				}
				golden := filepath.Join("testdata", "golden", dir, strings.TrimSuffix(filepath.Base(f), ".yaml")+".txt")
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./spec -update)", err)
				}
				if got != string(want) {
					t.Errorf("report differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
				}
			})
		}
	}
}

// TestFiveErrors is the acceptance case: five different mistakes, all reported in one
// run, each at its own line and column.
func TestFiveErrors(t *testing.T) {
	testEnv(t)
	_, _, err := Load("testdata/invalid/five-errors.yaml")
	es := Errors(err)
	want := []struct {
		line, col int
		path, msg string
	}{
		{6, 11, "clusters[0].mode", `bad mode "mixd"`},
		{11, 17, "clusters[0].credentials.password", "a literal password is refused"},
		{14, 7, "clusters[0].tokens", "needs at least 2 tokens, found 1 (R16)"},
		{18, 18, "clusters[0].alternateTFTP[0].cluster", `names no declared cluster "branch"`},
		{19, 5, "clusters[0]", `unknown key "signWth" (did you mean "signWith"?)`},
	}
	if len(es) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		e := es[i]
		if e.Pos.Line != w.line || e.Pos.Col != w.col || e.Path != w.path || !strings.Contains(e.Msg, w.msg) {
			t.Errorf("error %d = %s\nwant %d:%d: %s: …%s…", i, e, w.line, w.col, w.path, w.msg)
		}
	}
	if strings.Contains(err.Error(), "not-a-real-password") {
		t.Errorf("the literal password appears in the error:\n%v", err)
	}
}

// TestSecretsNeverPrinted checks that refused literals are not repeated in any output form.
func TestSecretsNeverPrinted(t *testing.T) {
	testEnv(t)
	r, text := report(t, "testdata/invalid/literal-secrets.yaml")
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if len(r.Errors) != 5 {
		t.Fatalf("want 5 errors (password, PIN, passwd, user name, env name), got:\n%s", text)
	}
	if len(r.Warnings) < 2 {
		t.Fatalf("want the warnings for the file and the lower-case variable, got:\n%s", text)
	}
	for _, secret := range []string{"S3cr3t-Do-Not-Print", "12345678", "Another-Secret-Value", "Typed-In-User", "Typed-In-Env", "TypedInFile42", "typedInLowerEnv"} {
		if strings.Contains(text, secret) || strings.Contains(js.String(), secret) {
			t.Errorf("%q leaked into the report:\n%s\n%s", secret, text, js.String())
		}
	}
}

const twoTokens = `version: 1
clusters:
  - name: c
    mode: mixed
    providers: [{url: tftp://127.0.0.1}]
    tokens:
      - {name: a, certificate: a.pem}
      - {name: b, certificate: b.pem}
`

// TestLoadedValues checks what later stages read: defaults, resolved paths, normalised pins.
func TestLoadedValues(t *testing.T) {
	testEnv(t)
	cfg, _, err := Load("testdata/valid/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata/certs")
	hq, br := cfg.Cluster("hq"), cfg.Cluster("branch")
	if hq == nil || br == nil || cfg.Cluster("nope") != nil {
		t.Fatalf("Cluster lookup: hq=%v branch=%v", hq, br)
	}
	wantProv := []string{"cm-pub.hq.example.com:2444", "127.0.0.1:12444", "[::1]:2445", "tftp://tftp.hq.example.com:69", "dir://" + abs}
	for i, p := range hq.Providers {
		if i >= len(wantProv) || p.String() != wantProv[i] {
			t.Errorf("providers[%d] = %s, want %s", i, p, wantProv[i])
		}
	}
	if len(hq.Providers) != len(wantProv) || hq.Providers[3].ReadOnly() != true || hq.Providers[0].ReadOnly() {
		t.Errorf("providers = %v", hq.Providers)
	}
	if hq.Mode != ModeMixed || hq.Credentials.Username != "ctladmin" || hq.Credentials.Password.Env != "CTLOPS_TEST_PASSWORD" {
		t.Errorf("mode/credentials = %v %+v", hq.Mode, hq.Credentials)
	}
	if pw, err := hq.Credentials.Password.Resolve(); err != nil || pw != "not-a-secret" {
		t.Errorf("password = %q, %v", pw, err)
	}
	if hq.TLS.CAFile != filepath.Join(abs, "ca.pem") || len(hq.TLS.CA) != 1 || hq.TLS.CertPool() == nil {
		t.Errorf("tls ca = %s (%d certs)", hq.TLS.CAFile, len(hq.TLS.CA))
	}
	if len(hq.TLS.Pins) != 2 || hq.TLS.Pins[1] != "31e8324155751bebfa37de91b116228b920c45f1cd745353b69dcf453c078588" {
		t.Errorf("pins = %v", hq.TLS.Pins)
	}
	if len(hq.Tokens) != 3 || hq.Tokens[2].Name != "etoken-3" || hq.Tokens[2].CertFile != filepath.Join(abs, "token3.pem") ||
		hq.Tokens[2].Cert.Subject.CommonName != "SAST-token3" || len(hq.Tokens[2].Fingerprint()) != 64 {
		t.Errorf("tokens = %+v", hq.Tokens)
	}
	if hq.ExpiryWarning != 60*24*time.Hour || cfg.Cluster("branch").ExpiryWarning != 90*24*time.Hour {
		t.Errorf("expiryWarning: hq %v (the file's 60d), branch %v (its own 90d)", hq.ExpiryWarning, cfg.Cluster("branch").ExpiryWarning)
	}
	if hq.Tokens[0].Pos.String() != "testdata/valid/full.yaml:24:9" {
		t.Errorf("token 0 at %s", hq.Tokens[0].Pos)
	}
	alt := hq.AlternateTFTP
	if len(alt) != 2 || alt[0].Cluster != "branch" || alt[1].Addr() != "198.51.100.7:2444" {
		t.Errorf("alternateTFTP = %+v", alt)
	}
	sw := hq.SignWith
	if sw.PKCS11 == nil || sw.PKCS11.TokenLabel != "sast1" || sw.PKCS11.PIN == nil || sw.PKCS11.PIN.Env != "CTLOPS_TEST_PIN" || sw.Hash != "sha512" {
		t.Errorf("signWith = %+v %+v", sw, sw.PKCS11)
	}
	if _, err := sw.PKCS11.PIN.Resolve(); err == nil {
		t.Errorf("an unset PIN variable resolved")
	}
	if br.SignWith.PKCS11.Module != "libsofthsm2.so" || br.SignWith.PKCS11.TokenSerial != "0123456789abcdef" {
		t.Errorf("bare module name or serial changed: %+v", br.SignWith.PKCS11)
	}
	if len(hq.ExpectServers) != 2 || hq.ExpectServers[0].IP != "10.0.0.1" || strings.Join(hq.ExpectServers[0].Roles, ",") != "CCM,TFTP,CAPF" {
		t.Errorf("expectServers = %+v", hq.ExpectServers)
	}
	if hq.Suspend || !br.Suspend {
		t.Errorf("suspend = %v, %v", hq.Suspend, br.Suspend)
	}
	if br.Credentials.Password.File != "/run/secrets/ctlops-test-branch" {
		t.Errorf("secret file = %s", br.Credentials.Password.File)
	}
}

// TestDirectory reads one file per cluster, with a reference across files, and reports a
// cluster declared in two files at the second place, naming the first.
func TestDirectory(t *testing.T) {
	cfg, _, err := Load("../examples/per-cluster")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Files) != 2 || len(cfg.Clusters) != 2 || cfg.Cluster("hq").AlternateTFTP[0].Cluster != "branch" {
		t.Fatalf("files %v clusters %d", cfg.Files, len(cfg.Clusters))
	}

	dir := t.TempDir()
	for _, n := range []string{"a.pem", "b.pem"} {
		writeCert(t, dir, n, time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	}
	for _, n := range []string{"one.yaml", "two.yml", "ignored.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(twoTokens), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = Load(dir)
	es := Errors(err)
	if len(es) != 1 || es[0].Pos.File != filepath.Join(dir, "two.yml") || es[0].Pos.Line != 3 ||
		!strings.Contains(es[0].Msg, `duplicate cluster name "c" (first at `+filepath.Join(dir, "one.yaml")+":3:11)") {
		t.Fatalf("errors = %v", err)
	}

	empty := t.TempDir()
	if _, _, err := Load(empty); err == nil || !strings.Contains(err.Error(), "no *.yaml or *.yml file") {
		t.Fatalf("empty dir: %v", err)
	}
}

func TestDefaultFile(t *testing.T) {
	t.Chdir(t.TempDir())
	_, _, err := Load("")
	if err == nil || !strings.Contains(err.Error(), "no ctlops.yaml here; give the spec with -f") {
		t.Fatalf("err = %v", err)
	}
	writeCert(t, ".", "a.pem", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	writeCert(t, ".", "b.pem", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	if err := os.WriteFile("ctlops.yaml", []byte(twoTokens), 0o644); err != nil {
		t.Fatal(err)
	}
	if cfg, _, err := Load(""); err != nil || cfg.Cluster("c") == nil {
		t.Fatalf("Load(\"\") = %v", err)
	}
}

// copyTree copies src into dst (files only, one level of subdirectories is enough here).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDigest: stable across runs and checkouts, sensitive to the YAML and the certificates,
// blind to secrets.
func TestDigest(t *testing.T) {
	digest := func(p string) string {
		t.Helper()
		cfg, _, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(cfg.Digest(), "sha256:") || len(cfg.Digest()) != 7+64 {
			t.Fatalf("digest %q", cfg.Digest())
		}
		return cfg.Digest()
	}
	a, b := t.TempDir(), t.TempDir()
	copyTree(t, "../examples", a)
	copyTree(t, "../examples", b)
	secret := filepath.Join(a, "secret")
	if err := os.WriteFile(secret, []byte("one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := filepath.Join(a, "alternate-tftp", "ctlops.yaml")
	y, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	y = bytes.Replace(y, []byte("/run/secrets/branch-ctl-password"), []byte(secret), 1)
	if err := os.WriteFile(spec, y, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, "alternate-tftp", "ctlops.yaml"), y, 0o644); err != nil {
		t.Fatal(err)
	}

	d0 := digest(spec)
	if d := digest(spec); d != d0 {
		t.Fatalf("digest not stable: %s then %s", d0, d)
	}
	if d := digest(filepath.Join(b, "alternate-tftp", "ctlops.yaml")); d != d0 {
		t.Fatalf("digest depends on the checkout's place: %s vs %s", d0, d)
	}
	if err := os.WriteFile(secret, []byte("two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if d := digest(spec); d != d0 {
		t.Fatalf("digest changed with a secret")
	}
	// A certificate named by the spec: swap bob's for dave's.
	dave, _ := os.ReadFile(filepath.Join(a, "certs", "dave.pem"))
	if err := os.WriteFile(filepath.Join(a, "certs", "carol.pem"), dave, 0o644); err != nil {
		t.Fatal(err)
	}
	d1 := digest(spec)
	if d1 == d0 {
		t.Fatalf("digest did not change with a certificate")
	}
	// Comments and layout are not the model: a comment-only edit must not make a saved plan
	// stale (issue 17); a changed value must.
	if err := os.WriteFile(spec, append([]byte("# a comment\n\n"), append(y, []byte("# a comment\n")...)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if d := digest(spec); d != d1 {
		t.Fatalf("digest changed with a comment-only edit")
	}
	if err := os.WriteFile(spec, bytes.Replace(y, []byte("username: ctladmin"), []byte("username: ctladmin2"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if d := digest(spec); d == d1 {
		t.Fatalf("digest did not change with the YAML")
	}
}

func TestAliases(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir, "a.pem", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	writeCert(t, dir, "b.pem", time.Now().Add(-time.Hour), time.Now().AddDate(1, 0, 0))
	ok := `version: 1
clusters:
  - name: c
    mode: mixed
    providers: [{url: tftp://127.0.0.1}]
    tokens: &toks
      - {name: a, certificate: a.pem}
      - {name: b, certificate: b.pem}
  - name: d
    mode: mixed
    providers: [{url: tftp://127.0.0.2}]
    tokens: *toks
`
	f := filepath.Join(dir, "ok.yaml")
	if err := os.WriteFile(f, []byte(ok), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Load(f)
	if err != nil || len(cfg.Cluster("d").Tokens) != 2 {
		t.Fatalf("alias not followed: %v", err)
	}

	// A billion laughs: nine levels of ten aliases each.
	var b strings.Builder
	b.WriteString("version: 1\nl0: &l0 [x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("l" + string(rune('0'+i)) + ": &l" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString("*l" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("clusters:\n  - name: c\n    mode: mixed\n    providers: [{url: tftp://127.0.0.1}]\n    tokens: *l9\n")
	f = filepath.Join(dir, "laughs.yaml")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// The decoder follows aliases only where the format has values, so the laughs stay small:
	// the unknown keys and nine tokens that are lists, not an expansion.
	_, _, err = Load(f)
	if es := Errors(err); len(es) == 0 || len(es) > 30 {
		t.Fatalf("got %d errors: %v", len(es), err)
	}

	// Past the alias budget, decoding stops with one message.
	b.Reset()
	b.WriteString("version: 1\nclusters:\n  - name: c\n    mode: mixed\n    providers: [{url: tftp://127.0.0.1}]\n    tokens: [&t {name: a, certificate: a.pem}")
	for i := 0; i < maxAliases+5; i++ {
		b.WriteString(", *t")
	}
	b.WriteString("]\n")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = Load(f)
	if n := strings.Count(fmtErr(err), "more than 1000 alias dereferences"); n != 1 {
		t.Fatalf("alias budget message %d times in %.500s", n, fmtErr(err))
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestReportJSON(t *testing.T) {
	testEnv(t)
	r, _ := report(t, "testdata/invalid/five-errors.yaml")
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Valid  bool
		Errors []struct {
			File         string
			Line, Column int
			Path         string
			Message      string
		}
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Valid || len(got.Errors) != 5 || got.Errors[2].Line != 14 || got.Errors[2].Column != 7 ||
		got.Errors[2].Path != "clusters[0].tokens" {
		t.Fatalf("JSON report = %s", b.String())
	}
}

func TestSuggest(t *testing.T) {
	known := keys["cluster"]
	for in, want := range map[string]string{
		"signWth": "signWith", "alternatetftp": "alternateTFTP", "token": "tokens", "provider": "providers",
		"expectedServers": "expectServers", "nam": "name", "colour": "", "x": "", "mod": "mode",
	} {
		if got := suggest(in, known); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
