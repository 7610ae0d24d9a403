package cucmsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func twoNodes() []NodeSpec {
	return []NodeSpec{
		{Name: "pub", Domain: "lab.example", IP: netip.MustParseAddr("10.0.0.1"), Publisher: true, CallManager: true, TFTP: true, CAPF: true},
		{Name: "sub", Domain: "lab.example", IP: netip.MustParseAddr("10.0.0.2"), CallManager: true, TFTP: true},
	}
}

// TestSnapshotRestore: a cluster started from its Snapshot has the same host keys, unit
// certificates, mode, CTLs and listeners; a snapshot whose certificate is not its key's is
// refused.
func TestSnapshotRestore(t *testing.T) {
	cfg := Config{Release: "12.5.1.11900-146", Mixed: true, User: "admin1", Password: "pw-1", KeyBits: 1024, NewKey: oneKey, Nodes: twoNodes()}
	c1, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c1.Tamper("sub"); err != nil {
		t.Fatal(err)
	}
	snap, err := c1.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	type node struct{ hostKey, ssh, tftp string }
	before := map[string]node{}
	for _, n := range c1.Nodes() {
		before[n.Name()] = node{n.HostKey(), n.SSHAddr(), n.TFTPAddr()}
	}
	pubCTL, servedSub := c1.Node("pub").CTL(), append([]byte(nil), c1.Node("sub").served...)
	pubCert := c1.Node("pub").Cert("ITLRecovery").Raw
	c1.Close()

	path := filepath.Join(t.TempDir(), "state.json")
	if err := SaveSnapshot(path, snap); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v %v: it holds private keys", fi.Mode(), err)
	}
	loaded, err := LoadSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Start(Config{Release: cfg.Release, User: "admin1", Password: "pw-1", Restore: loaded})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if !c2.Mixed() {
		t.Error("restored cluster is not mixed")
	}
	for _, n := range c2.Nodes() {
		want := before[n.Name()]
		if got := (node{n.HostKey(), n.SSHAddr(), n.TFTPAddr()}); got != want {
			t.Errorf("%s: restored %+v, want %+v", n.Name(), got, want)
		}
		if fp, _ := loaded.Nodes[0].HostKeyFingerprint(); n.Name() == "pub" && fp != n.HostKey() {
			t.Errorf("HostKeyFingerprint %s, the server presents %s", fp, n.HostKey())
		}
	}
	if !bytes.Equal(c2.Node("pub").CTL(), pubCTL) || !bytes.Equal(c2.Node("sub").served, servedSub) || len(servedSub) == 0 {
		t.Error("restored CTLs differ (or the tampered download was lost)")
	}
	if !bytes.Equal(c2.Node("pub").Cert("ITLRecovery").Raw, pubCert) {
		t.Error("restored ITLRecovery certificate differs")
	}

	// Positive control: pub's CallManager certificate saved with another key is refused.
	bad := *loaded
	bad.Nodes = append([]NodeSnapshot(nil), loaded.Nodes...)
	keys := map[string]UnitKey{}
	for u, k := range loaded.Nodes[0].Keys {
		keys[u] = k
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	k := keys["CallManager"]
	if k.Key, err = x509.MarshalPKCS8PrivateKey(otherKey); err != nil {
		t.Fatal(err)
	}
	keys["CallManager"] = k
	bad.Nodes[0].Keys = keys
	c2.Close()
	if _, err := Start(Config{Release: cfg.Release, User: "admin1", Password: "pw-1", Restore: &bad}); err == nil {
		t.Error("a snapshot pairing a certificate with another key started")
	}
}

// TestServeEvents: the control endpoint causes events only with the token, saves the state
// after each, and quotes an unknown event; a served cluster starts from the saved state.
func TestServeEvents(t *testing.T) {
	dir := t.TempDir()
	sc := &ServeConfig{Cluster: "metro", User: "admin1", PasswordFile: "pw", StateFile: "state.json", Control: "127.0.0.1:0", TokenFile: "token"}
	for name, v := range map[string]string{"pw": "pw-1", "token": "tok-1"} {
		if err := WriteSecretFile(filepath.Join(dir, name), v); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "cucmsim.json")
	if err := sc.Save(path); err != nil {
		t.Fatal(err)
	}
	sc, err := LoadServeConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Init(sc, Config{Release: "12.5.1.11900-146", User: "admin1", Password: "pw-1", KeyBits: 1024, Nodes: twoNodes()}); err != nil {
		t.Fatal(err)
	}
	s, err := Serve(sc)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// SendEvent reads the address from the file: write the one the listener got.
	sc.Control = s.ln.Addr().String()
	raw := *sc
	raw.PasswordFile, raw.StateFile, raw.TokenFile = "pw", "state.json", "token"
	if err := raw.Save(path); err != nil {
		t.Fatal(err)
	}
	old := s.Cluster.Node("sub").Cert("CallManager").SerialNumber
	msg, err := SendEvent(context.Background(), path, Event{Kind: "regen-cert", Node: "sub"})
	if err != nil || !strings.Contains(msg, "sub has a new CallManager certificate") {
		t.Fatalf("regen-cert: %q %v", msg, err)
	}
	if s.Cluster.Node("sub").Cert("CallManager").SerialNumber.Cmp(old) == 0 {
		t.Error("regen-cert kept the certificate")
	}
	saved, err := LoadSnapshot(sc.StateFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved.Nodes[1].Keys["CallManager"].Cert, s.Cluster.Node("sub").Cert("CallManager").Raw) {
		t.Error("the state file does not hold the regenerated certificate")
	}
	if _, err := SendEvent(context.Background(), path, Event{Kind: "reboot", Node: "sub"}); err == nil || !strings.Contains(err.Error(), `"reboot"`) {
		t.Errorf("unknown event: %v", err)
	}
	if err := WriteSecretFile(filepath.Join(dir, "token"), "wrong"); err != nil {
		t.Fatal(err)
	}
	if _, err := SendEvent(context.Background(), path, Event{Kind: "tamper", Node: "sub"}); err == nil {
		t.Error("an event with the wrong token was accepted")
	}
}
