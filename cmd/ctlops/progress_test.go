package main

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/ctlops/ctlops/internal/progress"
)

// Off a terminal (a pipe, as in CI) progress is one line per read; a buffer gets nothing.
func TestProgressFor(t *testing.T) {
	if _, ok := progressFor(&bytes.Buffer{}).(progress.Nop); !ok {
		t.Errorf("a buffer gets progress")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p := progressFor(w)
	p.Report(progress.Event{Kind: progress.Started, Cluster: "hq", Server: "cm1"})
	p.Report(progress.Event{Kind: progress.Done, Cluster: "hq", Server: "cm1"})
	w.Close()
	got, _ := io.ReadAll(r)
	if string(got) != "ctlops: read hq/cm1 (1/1)\n" {
		t.Errorf("pipe got %q", got)
	}
}
