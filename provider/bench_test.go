package provider_test

import (
	"context"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
)

// BenchmarkGetCTL reads a CTL over HTTPS from one node (connection reused), in MB/s.
func BenchmarkGetCTL(b *testing.B) {
	tk := testTokens(b)
	c := providertest.Start(b, 1)
	name := c.Nodes()[0].Name
	data := signedCTL(b, tk[0], "cm1", tk[0], tk[1], tk[2], tk[3])
	c.PutCTL(name, data)
	cl := c.Client(name)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := cl.CTL(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTFTPGetCTL reads the same file over TFTP, as phones do.
func BenchmarkTFTPGetCTL(b *testing.B) {
	tk := testTokens(b)
	c := providertest.Start(b, 1)
	n := c.Nodes()[0]
	data := signedCTL(b, tk[0], "cm1", tk[0], tk[1], tk[2], tk[3])
	c.PutCTL(n.Name, data)
	r, _ := provider.NewTFTPReader(n.TFTPAddr, provider.Options{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.CTL(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClusterInventory asks one node of a 4-node cluster for the inventory (it fans out
// to the 3 others), with and without 20 ms of WAN latency per request.
func BenchmarkClusterInventory(b *testing.B) {
	for _, delay := range []time.Duration{0, 20 * time.Millisecond} {
		b.Run("delay="+delay.String(), func(b *testing.B) {
			c := providertest.Start(b, 4)
			for _, n := range c.Nodes() {
				c.SetDelay(n.Name, delay)
			}
			cl := c.Client(c.Nodes()[0].Name)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cl.Cluster(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
