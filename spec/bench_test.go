package spec

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkLoadLimits loads the two shapes that once blew the loader up, at the size cap:
// a token list naming one certificate per item, and a list of wrong items. It reports MB/s
// and the bytes allocated per byte of input (the "small multiple" of issue 12).
func BenchmarkLoadLimits(b *testing.B) {
	dir := b.TempDir()
	certs, _ := filepath.Abs("testdata/certs")
	var tok strings.Builder
	tok.WriteString("version: 1\nclusters:\n  - name: hq\n    mode: mixed\n    providers: [{url: tftp://127.0.0.1}]\n    tokens:\n")
	for i := 0; tok.Len() < MaxSpecFile-200; i++ {
		tok.WriteString("      - {name: t" + strconv.Itoa(i) + ", certificate: " + certs + "/token1.pem}\n")
	}
	shapes := map[string]string{
		"tokens": tok.String(),
		"wrong":  "version: 1\nclusters: [" + strings.Repeat("a,", maxNodes/2-10) + "a]\n",
	}
	for name, content := range shapes {
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(content)))
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range b.N {
				Load(p)
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(len(content)), "alloc-bytes/input-byte")
		})
	}
}
