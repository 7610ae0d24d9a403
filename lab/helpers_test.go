package lab

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/token/softhsm"
)

func haveSoftHSM() error {
	if err := softhsm.CheckTools(); err != nil {
		return err
	}
	_, err := softhsm.Module()
	return err
}

// up starts a lab in a temporary directory and makes sure it is down when the test ends.
func up(t *testing.T, software bool) *Lab {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lab")
	var out bytes.Buffer
	l, err := Up(context.Background(), UpOptions{Dir: dir, Provider: providerBin, SoftwareKeys: software, Out: &out})
	if err != nil {
		_, _ = Down(dir, false)
		t.Fatalf("lab up: %v\n%s", err, out.String())
	}
	t.Cleanup(func() {
		if _, err := Down(dir, false); err != nil {
			t.Errorf("cleanup: lab down: %v", err)
		}
	})
	if software != strings.Contains(out.String(), "SOFTWARE KEYS") {
		t.Errorf("software=%v but up said: %q", software, out.String())
	}
	return l
}

// setEnv exports lab.env into the test process, as `. DIR/lab.env` does for a user.
func setEnv(t *testing.T, l *Lab) map[string]string {
	t.Helper()
	env, err := l.Env()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	return env
}

func inventory(t *testing.T, l *Lab, node string) *provider.Inventory {
	t.Helper()
	c, err := l.Client(node)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	inv, err := c.Cluster(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", node, err)
	}
	for _, s := range inv.Servers {
		if s.Error != "" {
			t.Fatalf("%s lists %s with error %s", node, s.Name, s.Error)
		}
	}
	return inv
}

func server(inv *provider.Inventory, name string) *provider.Server {
	for i := range inv.Servers {
		if inv.Servers[i].Name == name {
			return &inv.Servers[i]
		}
	}
	return nil
}

func names(inv *provider.Inventory) []string {
	var out []string
	for _, s := range inv.Servers {
		out = append(out, s.Name)
	}
	return out
}

func procAlive(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	if err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

func status(t *testing.T, l *Lab) []NodeStatus {
	t.Helper()
	st, err := l.Status()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// pushFirstCTL writes a CTL signed by the first lab token to every node of hq, the way apply
// will: SAST records of the two declared tokens and a record per discovered function (R14).
// The lab tests need one to tamper with and to update by hand.
func pushFirstCTL(t *testing.T, l *Lab) []byte {
	t.Helper()
	ctx := context.Background()
	inv := inventory(t, l, "cm1")
	var recs []ctl.Record
	for _, label := range TokenLabels[:2] {
		b, err := os.ReadFile(l.path("tokens", label+".pem"))
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ctl.NewRecord(cert, ctl.RoleSAST, "", netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	for _, s := range inv.Servers {
		role := ctl.RoleTFTP
		if s.HasRole(provider.RoleCCM) {
			role = ctl.RoleCCMTFTP
		}
		r, err := ctl.NewRecord(s.Certificate(provider.RoleCCM).X509, role, s.Name, s.IPv4)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	f := ctl.New(provider.FileName, recs)
	signer, err := l.Signer(ctx, TokenLabels[0])
	if err != nil {
		t.Fatal(err)
	}
	defer signer.Close()
	if err := f.Sign(signer, signer.Certificate(), ctl.SHA256, time.Now()); err != nil {
		t.Fatal(err)
	}
	data, err := f.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range inv.Servers {
		c, err := l.Client(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		lk, err := c.Lock(ctx, provider.LockRequest{Operation: "lab test"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.WriteCTL(ctx, data, provider.WriteOptions{LockID: lk.ID}); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		if err := c.ReleaseLock(ctx, lk.ID); err != nil {
			t.Fatal(err)
		}
		c.CloseIdleConnections()
	}
	return data
}

func nodeCTL(t *testing.T, l *Lab, node string) []byte {
	t.Helper()
	c, err := l.Client(node)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	data, _, err := c.CTL(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", node, err)
	}
	return data
}
