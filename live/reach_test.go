package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/spec"
)

// closedPort is a loopback port nothing listens on: taken from the kernel, then released.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestServerError(t *testing.T) {
	addr := closedPort(t)
	_, dialErr := net.Dial("tcp", addr)
	if dialErr == nil {
		t.Skip("something listens on the released port")
	}
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"refused", &provider.Error{Server: addr, Op: "get cluster", Err: dialErr}, "cannot reach cm1 (" + addr + "): connection refused"},
		{"no answer", &provider.Error{Server: addr, Op: "get ctl", Message: "no answer in 30s (3 tries)", Err: context.DeadlineExceeded},
			"cannot reach cm1 (" + addr + "): no answer in 30s (3 tries)"},
		{"tftp no answer", fmt.Errorf("tftp %s: %w", addr, fmt.Errorf("no answer in 5s (3 tries): %w", context.DeadlineExceeded)),
			"cannot reach cm1 (" + addr + "): no answer in 5s (3 tries)"},
		// Positive control: an answer that is an error is not "cannot reach".
		{"answered", &provider.Error{Server: addr, Op: "get ctl", Status: 500, Message: "internal\nerror", Err: errors.New("x")},
			addr + ": get ctl: HTTP 500: internal\\nerror"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := serverError("cm1", addr, c.err)
			if strings.ContainsAny(got, "\n\r") {
				t.Errorf("more than one line: %q", got)
			}
			if !strings.HasPrefix(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// A CTL Provider that is down (after `lab down`) is reported by Fetch as "cannot reach", one
// line, not as the transport's raw error.
func TestFetchUnreachable(t *testing.T) {
	addr := closedPort(t)
	host, port, _ := net.SplitHostPort(addr)
	var p int
	fmt.Sscan(port, &p)
	c := &spec.Cluster{Name: "hq", Mode: spec.ModeMixed, Providers: []spec.Provider{{Kind: spec.KindCTLProvider, Host: host, Port: p}},
		TLS: &spec.TLS{Pins: []string{strings.Repeat("ab", 32)}}}
	cfg := &spec.Config{Clusters: []*spec.Cluster{c}}
	l := Fetch(context.Background(), cfg, cfg.Clusters, testOptions())["hq"]
	if l == nil || len(l.Errors) != 1 {
		t.Fatalf("errors: %#v", l)
	}
	if want := "cannot reach " + addr + ": connection refused"; l.Errors[0] != want {
		t.Errorf("got  %q\nwant %q", l.Errors[0], want)
	}
}
