package provider_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
)

// An alternate TFTP server keeps another cluster's CTL apart from its own (R4, R17): writes
// and reads with a location touch only <fileLocation>/alternate/<cluster>/CTLFile.tlv.
func TestAlternateLocation(t *testing.T) {
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	toks := testTokens(t)
	own := signedCTL(t, toks[0], "own", toks[0], toks[1])
	c.PutCTL(n.Name, own)

	opt := c.Options()
	opt.Location = "hq"
	w, err := provider.OpenWriter(n.Addr, opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.CTL(ctx(t)); !errors.Is(err, provider.ErrNoCTL) {
		t.Fatalf("empty alternate location: err = %v, want ErrNoCTL", err)
	}
	lk, err := w.Lock(ctx(t), provider.LockRequest{User: "t", Host: "t", Operation: "test", LeaseSec: 60})
	if err != nil {
		t.Fatal(err)
	}
	hq := signedCTL(t, toks[1], "hq", toks[1], toks[2])
	if _, err := w.WriteCTL(ctx(t), hq, provider.WriteOptions{LockID: lk.ID}); err != nil {
		t.Fatal(err)
	}
	got, _, err := w.CTL(ctx(t))
	if err != nil || !bytes.Equal(got, hq) {
		t.Fatalf("alternate read back: %v", err)
	}
	onDisk, err := os.ReadFile(filepath.Join(n.FileLocation(), provider.AlternateDir, "hq", provider.FileName))
	if err != nil || !bytes.Equal(onDisk, hq) {
		t.Fatalf("alternate file on disk: %v", err)
	}
	// The node's own CTL is untouched.
	mine, _, err := c.Client(n.Name).CTL(ctx(t))
	if err != nil || !bytes.Equal(mine, own) {
		t.Fatalf("own CTL changed: %v", err)
	}
	// Names that could leave the folder are refused before any request.
	for _, bad := range []string{"../x", ".hidden", "a/b", string(bytes.Repeat([]byte("x"), 65))} {
		o := c.Options()
		o.Location = bad
		if _, err := provider.Open(n.Addr, o); err == nil {
			t.Errorf("location %q accepted", bad)
		}
	}
	// tftp:// and dir:// have no alternate locations.
	if _, err := provider.Open("tftp://"+n.TFTPAddr, opt); err == nil {
		t.Error("tftp:// with a location accepted")
	}
}
