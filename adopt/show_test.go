package adopt

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/ctl"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// showNow is the clock of the golden files: expiry is relative to it.
var showNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// The samples: a real CUCM 10.5 tokenless CTL and a certutils-made ITL (no DNS names, no IP
// addresses: tags the records do not carry are not printed).
func TestShowCTLGolden(t *testing.T) {
	for _, name := range []string{"SCFFile.tlv", "ciscoprovsionerweb-ITLFile.tlv"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "ctl", "testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := ShowCTL(&b, data, showNow); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", name+".show.txt")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./adopt -run ShowCTLGolden -update)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Fatalf("show ctl of %s differs from %s:\n%s", name, golden, b.String())
			}
		})
	}
}

// The lengths printed are the file's: the header length plus every RECORDLENGTH is the file
// size, as CTL-FORMAT §1 says; and the checksums are those of the whole file.
func TestShowLengthsAndChecksums(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "ctl", "testdata", "SCFFile.tlv"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ctl.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	total := int(f.Header.HeaderLength)
	for i := range f.Records {
		total += RecordLength(&f.Records[i])
	}
	if total != len(data) || RecordLength(&f.Records[0]) != 1147 {
		t.Fatalf("header + records = %d bytes (first record %d), file is %d", total, RecordLength(&f.Records[0]), len(data))
	}
	// Computed with md5sum and sha1sum on the sample.
	s := Sum(data)
	if s.MD5 != md5sum || s.SHA1 != sha1sum {
		t.Fatalf("checksums %+v", s)
	}
}

func TestShowHostileNames(t *testing.T) {
	var b bytes.Buffer
	if err := ShowCTL(&b, hostileCTL(t), time.Now()); err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsRune(b.Bytes(), 0x1b) || !strings.Contains(b.String(), `\x1b[2J`) {
		t.Fatalf("a name reached the terminal unescaped:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "verified successfully") {
		t.Fatalf("the hostile file is validly signed:\n%s", b.String())
	}
}

func TestExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		at   time.Time
		want string
	}{
		{now.AddDate(0, 0, -10), "EXPIRED 10 days ago"},
		{now.Add(time.Hour), "expires today"},
		{now.AddDate(0, 0, 45), "expires in 45 days"},
		{now, "EXPIRED 0 days ago"},
	}
	for _, tt := range tests {
		if got := Expiry(tt.at, now); !strings.HasSuffix(got, tt.want) {
			t.Errorf("Expiry(%v) = %q, want …%s", tt.at, got, tt.want)
		}
	}
}

// md5sum and sha1sum of ctl/testdata/SCFFile.tlv, computed with coreutils.
const (
	md5sum  = "0c43d702a9bc273d1ba7e9512877ab6a"
	sha1sum = "7bc2b30ebc2c52dcb6af9389af7a32e4a65be824"
)
