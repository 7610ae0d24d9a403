package token

import (
	"crypto/x509/pkix"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/token/softhsm"
)

func TestSoftware(t *testing.T) {
	keyPEM, certPEM, err := softhsm.SoftwareKey(pkix.Name{CommonName: "lab-sast"}, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _, err := softhsm.SoftwareKey(pkix.Name{CommonName: "other"}, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSoftware(keyPEM, certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Describe(), "SOFTWARE KEY") {
		t.Errorf("describe: %s", s.Describe())
	}
	r, err := ctl.NewRecord(s.Certificate(), ctl.RoleSAST, "", netip.Addr{})
	if err != nil {
		t.Fatal(err)
	}
	f := ctl.New("CTLFile.tlv", []ctl.Record{r})
	if err := f.Sign(s, s.Certificate(), ctl.SHA256, time.Now()); err != nil {
		t.Fatal(err)
	}
	opensslVerify(t, f, s.Certificate(), ctl.SHA256)
	for _, tc := range []struct {
		name      string
		key, cert []byte
		want      string
	}{
		{"key of another cert", otherKey, certPEM, "does not belong"},
		{"no key", []byte("junk"), certPEM, "private key: no PEM"},
		{"no cert", keyPEM, keyPEM, "certificate: no PEM CERTIFICATE"},
		{"encrypted", []byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"), certPEM, "encrypted"},
	} {
		if _, err := OpenSoftware(tc.key, tc.cert); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// FuzzOpenSoftware: arbitrary PEM input gives an error, never a panic.
func FuzzOpenSoftware(f *testing.F) {
	keyPEM, certPEM, err := softhsm.SoftwareKey(pkix.Name{CommonName: "fuzz"}, 1024)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(keyPEM, certPEM)
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n"), certPEM)
	f.Add([]byte{}, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, k, c []byte) {
		s, err := OpenSoftware(k, c)
		if err == nil && s.Certificate() == nil {
			t.Fatal("signer without certificate")
		}
	})
}

// The key and certificate files are named by the spec (signWith.software): a named pipe
// nobody writes to or a device that never ends is refused at once, naming the file, rather
// than hanging the apply or filling its memory. The control: the same key in regular files.
func TestLoadSoftwareBounded(t *testing.T) {
	keyPEM, certPEM, err := softhsm.SoftwareKey(pkix.Name{CommonName: "lab-sast"}, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key, cert, fifo := filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.pem"), filepath.Join(dir, "fifo")
	if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cert, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, key, cert, want string }{
		{"regular files (control)", key, cert, ""},
		{"key is a named pipe", fifo, cert, fifo + ": not a regular file"},
		{"certificate is a named pipe", key, fifo, fifo + ": not a regular file"},
		{"key is /dev/zero", "/dev/zero", cert, "/dev/zero: not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { _, err := LoadSoftware(tc.key, tc.cert); done <- err }()
			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second): // a guard against a hang, not a timing assertion
				t.Fatal("LoadSoftware still reading after 20s")
			}
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
