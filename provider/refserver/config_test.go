package refserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadConfig: a node config, however broken, loads or fails with an error naming the
// file; it never panics. The seeds (a config written by Init, and fragments) run in every
// `go test`; `go test -fuzz FuzzLoadConfig ./provider/refserver` explores further.
func FuzzLoadConfig(f *testing.F) {
	dir := f.TempDir()
	info, err := Init(InitOptions{Dir: dir, Cluster: "fz", Nodes: 1, Password: "fuzz-Secret-1"})
	if err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(info.Nodes[0].Config)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("cluster: x\nunknownKey: 1\n"))
	f.Add([]byte("{}"))
	f.Add([]byte("- a\n- b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "node.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) && !strings.Contains(err.Error(), "node.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if c.Path() != p {
			t.Fatalf("config path %q, want %q", c.Path(), p)
		}
	})
}

func TestLoadConfigErrorsNameTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(p, []byte("cluster: x\nbogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(p)
	if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("err = %v, want the file and the unknown key", err)
	}
}
