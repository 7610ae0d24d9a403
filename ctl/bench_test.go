package ctl

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"testing"
	"time"
)

// The codec's benchmarks (issue 18), all on the real 7166-byte CUCM file:
//
//	go test -run '^$' -bench . -benchmem ./ctl
//
// Each reports MB/s and allocations, and x-floor: its time per operation divided by the
// cryptographic floor (BenchmarkFloor: SHA-1 over the same signed bytes plus one RSA-1024
// verify with the same key), the floor being measured again right after the benchmark's own
// loop so that both see the same machine load. The goals: Parse >= 2 GB/s and <= 4 allocs,
// ParseVerify <= 1.5 x-floor, Marshal one allocation (its output).

func BenchmarkParse(b *testing.B) {
	data := readSample(b, "SCFFile.tlv")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
	reportFloor(b, data)
}

func BenchmarkParseVerify(b *testing.B) {
	data := readSample(b, "SCFFile.tlv")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Verify(); err != nil {
			b.Fatal(err)
		}
	}
	reportFloor(b, data)
}

func BenchmarkMarshal(b *testing.B) {
	data := readSample(b, "SCFFile.tlv")
	f, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
	reportFloor(b, data)
}

// BenchmarkFloor is the least any verifier must do: hash the signed bytes and check one RSA
// signature, with the key already parsed.
func BenchmarkFloor(b *testing.B) {
	data := readSample(b, "SCFFile.tlv")
	floor := floorFunc(b, data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		floor()
	}
}

// floorFunc prepares the floor's inputs from the sample (outside any timing).
func floorFunc(b *testing.B, data []byte) func() {
	f, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	c, err := f.Records[f.SignerRecord()].X509()
	if err != nil {
		b.Fatal(err)
	}
	key := c.PublicKey.(*rsa.PublicKey)
	signed, err := f.SignedBytes()
	if err != nil {
		b.Fatal(err)
	}
	sig := f.Header.Signature
	return func() {
		d := sha1.Sum(signed)
		if err := rsa.VerifyPKCS1v15(key, crypto.SHA1, d[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// reportFloor measures the floor now, right after the benchmark's loop (testing.Benchmark
// cannot be nested in a benchmark), and reports the benchmark's ratio to it.
func reportFloor(b *testing.B, data []byte) {
	if b.N == 0 {
		return
	}
	per := b.Elapsed() / time.Duration(b.N)
	floor := floorFunc(b, data)
	floor() // warm up
	n, start := 0, time.Now()
	for n < 100 || (time.Since(start) < 200*time.Millisecond && n < 1_000_000) {
		floor()
		n++
	}
	b.ReportMetric(float64(per)/float64(time.Since(start)/time.Duration(n)), "x-floor")
}
