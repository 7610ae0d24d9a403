package spec

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestSecretRefResolve(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "s3cret-value\n", 0o600)
	crlf := write("crlf", "s3cret-value\r\n", 0o600)
	empty := write("empty", "\n", 0o600)
	big := write("big", strings.Repeat("x", maxSecretSize+1), 0o600)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("/etc/passwd", link); err != nil {
		t.Fatal(err)
	}
	runLink := filepath.Join(dir, "run-link")
	if err := os.Symlink("/run/secrets/other-cluster", runLink); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, ".git"), 0o700)
	gitcfg := write(".git/config", "[http] extraheader = AUTHORIZATION: basic s3cret\n", 0o600)
	other := t.TempDir()
	inOther := filepath.Join(other, "pw")
	os.WriteFile(inOther, []byte("s3cret-other"), 0o600)
	t.Setenv("CTLOPS_TEST_SET", "env-s3cret")
	t.Setenv("CTLOPS_TEST_EMPTY", "")
	os.Unsetenv("CTLOPS_TEST_UNSET")
	t.Setenv(SecretDirsEnv, "")
	os.Unsetenv(SecretDirsEnv)
	pos := Pos{File: "x.yaml", Line: 3, Col: 7}
	tests := []struct {
		name    string
		dirs    string // CTLOPS_SECRET_DIRS, "-" for unset
		ref     SecretRef
		want    string
		wantErr string
	}{
		{"env", "-", SecretRef{Env: "CTLOPS_TEST_SET"}, "env-s3cret", ""},
		{"env unset", "-", SecretRef{Env: "CTLOPS_TEST_UNSET", Pos: pos}, "", "CTLOPS_TEST_UNSET is not set (referenced at x.yaml:3:7)"},
		{"env empty", "-", SecretRef{Env: "CTLOPS_TEST_EMPTY"}, "", "is empty"},
		{"file", "-", SecretRef{File: good, root: dir}, "s3cret-value", ""},
		{"file crlf", "-", SecretRef{File: crlf, root: dir}, "s3cret-value", ""},
		{"file empty", "-", SecretRef{File: empty, root: dir}, "", "is empty"},
		{"file missing", "-", SecretRef{File: filepath.Join(dir, "nope"), root: dir}, "", "no such file"},
		{"file is dir", "-", SecretRef{File: dir, root: dir}, "", "not a regular file (a directory)"},
		{"file is a FIFO", "-", SecretRef{File: fifo, root: dir}, "", "not a regular file (a named pipe)"},
		{"file too large", "-", SecretRef{File: big, root: dir}, "", "file too large"},
		{"/dev/zero, even where allowed", "/dev", SecretRef{File: "/dev/zero", root: dir}, "", "not a regular file (a device)"},
		{"outside the spec's folder", "-", SecretRef{File: inOther, root: dir, Pos: pos}, "", "secret file " + inOther + " is outside the directories secrets are read from (the spec's folder and /run/secrets; the operator allows others with CTLOPS_SECRET_DIRS) (referenced at x.yaml:3:7)"},
		{"allowed by CTLOPS_SECRET_DIRS", other, SecretRef{File: inOther, root: dir}, "s3cret-other", ""},
		{"CTLOPS_SECRET_DIRS replaces /run/secrets", other, SecretRef{File: "/run/secrets/x", root: dir}, "", "is outside"},
		{"symlink out of the spec's folder", "-", SecretRef{File: link, root: dir}, "", "is a link out of the spec's folder"},
		{"symlink to another allowed secret", "-", SecretRef{File: runLink, root: dir}, "", "is a link out of the spec's folder"},
		{"inside .git", "-", SecretRef{File: gitcfg, root: dir}, "", "inside a .git directory"},
		{"refused by the trusted connections", "-", SecretRef{Env: "CTLOPS_TEST_SET", refused: "cluster hq: providers[0].host differs"}, "", "cluster hq: providers[0].host differs"},
		{"nothing", "-", SecretRef{}, "", "empty secret reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.dirs != "-" {
				t.Setenv(SecretDirsEnv, tt.dirs)
			}
			got, err := tt.ref.Resolve()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want …%s…", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error holds the secret: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve() = %q, %v; want %q", got, err, tt.want)
			}
			if strings.Contains(tt.ref.String(), "s3cret") {
				t.Fatalf("String() holds the secret: %s", tt.ref.String())
			}
		})
	}
}
