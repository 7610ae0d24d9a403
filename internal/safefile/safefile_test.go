package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.pem")
	if err := os.WriteFile(ok, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, make([]byte, 101), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Positive control: a regular file under the cap reads whole.
	if got, err := Read(ok, 100); err != nil || string(got) != "hello" {
		t.Fatalf("Read(ok) = %q, %v", got, err)
	}
	for _, tc := range []struct {
		path string
		want error
		say  string
	}{
		{big, ErrTooLarge, "101 bytes"},
		{fifo, ErrNotRegular, "named pipe"},
		{"/dev/zero", ErrNotRegular, "device"},
		{dir, ErrNotRegular, "directory"},
	} {
		_, err := Read(tc.path, 100)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("Read(%s) = %v, want %v naming the file and %q", tc.path, err, tc.want, tc.say)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing"), 100); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
