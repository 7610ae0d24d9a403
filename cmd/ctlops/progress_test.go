package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

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

// The lock countdown rewrites its line only when the seconds change, and erases it when the
// wait ends (a second end erases nothing more).
func TestCountdown(t *testing.T) {
	var b bytes.Buffer
	c := countdown(&b)
	c("127.0.0.1:2444", 90*time.Second)
	c("127.0.0.1:2444", 90*time.Second+100*time.Millisecond) // same second: not written again
	c("127.0.0.1:2444", 89*time.Second)
	c("127.0.0.1:2444", 0)
	c("127.0.0.1:2444", 0)
	const line = "  waiting for the update lock of 127.0.0.1:2444: %s left (Ctrl-C stops and releases every lock)"
	want := "\r\x1b[K" + fmt.Sprintf(line, "1m30s") + "\r\x1b[K" + fmt.Sprintf(line, "1m29s") + "\r\x1b[K"
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
	if lockCountdown(&bytes.Buffer{}) != nil {
		t.Error("a buffer gets a countdown")
	}
}
