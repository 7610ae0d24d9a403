package apply_test

import (
	"bytes"
	"fmt"
	"testing"
)

// BenchmarkApply measures whole applies against a 4-node reference cluster: plan, lock every
// node, sign on the SoftHSM2 token, push to every node, read back, release, audit. Each
// iteration adds or removes a token so that there is always a file to sign and push.
func BenchmarkApply(b *testing.B) {
	for _, nodes := range []int{1, 4} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			l := newLab(b, map[string]int{"hq": nodes})
			specs := []cs{hq("mixed", "alice", "bob"), hq("mixed", "alice", "bob", "carol")}
			var pushed int64
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cfg := l.spec(specs[i%2])
				var out bytes.Buffer
				res, text, err := l.run(l.opts(cfg, "alice", &out))
				if err != nil {
					b.Fatalf("%v\n%s", err, text)
				}
				for _, c := range res.Clusters {
					for _, tg := range c.Targets {
						if tg.Status == "updated" {
							pushed++
						}
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "applies/s")
			b.ReportMetric(float64(pushed)/b.Elapsed().Seconds(), "pushes/s")
		})
	}
}
