package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/provider/refserver"
)

func TestInitWritesSecretsSafely(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pwFile bool
	}{{"generated password", false}, {"password file", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "lab")
			args := []string{"init", "--dir", dir, "--cluster", "hq", "--nodes", "2", "--base-port", "40444"}
			pw := "from-a-file-42"
			if tc.pwFile {
				f := filepath.Join(t.TempDir(), "pw")
				os.WriteFile(f, []byte(pw+"\n"), 0o600)
				args = append(args, "--password-file", f)
			}
			var out bytes.Buffer
			if err := run(args, &out, &out); err != nil {
				t.Fatal(err)
			}
			if !tc.pwFile {
				fi, err := os.Stat(filepath.Join(dir, refserver.PasswordFile))
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Fatalf("admin.password: %v %v", fi, err)
				}
				b, _ := os.ReadFile(filepath.Join(dir, refserver.PasswordFile))
				pw = strings.TrimSpace(string(b))
			} else if _, err := os.Stat(filepath.Join(dir, refserver.PasswordFile)); err == nil {
				t.Fatal("admin.password written although a password file was given")
			}
			if strings.Contains(out.String(), pw) {
				t.Fatal("init printed the password")
			}
			nodes, err := refserver.Nodes(dir)
			if err != nil || len(nodes) != 2 {
				t.Fatalf("nodes: %v", err)
			}
			for _, n := range nodes {
				raw, _ := os.ReadFile(n.Path())
				if strings.Contains(string(raw), pw) || !refserver.CheckPassword(n.Admin.PasswordHash, pw) {
					t.Fatalf("%s: holds the password, or a hash that does not match it", n.Path())
				}
				if n.Listen == "" || n.TFTPListen == "" || n.FileLocation == "" {
					t.Fatalf("%s: listen/tftpListen/fileLocation missing", n.Path())
				}
			}
			if nodes[1].Listen != "127.0.0.1:40445" {
				t.Errorf("second node listens on %s", nodes[1].Listen)
			}
			if err := run(args, &out, &out); err == nil {
				t.Fatal("init over an existing cluster succeeded")
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"bogus"}, {"init"}, {"serve"}, {"event", "--dir", "x"}} {
		if err := run(args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
