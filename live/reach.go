package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/provider"
)

// serverError is the one line a plan, drift or apply shows for a server that could not be
// read. A server that cannot be reached at all (refused, no route, no answer, unknown name:
// e.g. after `lab down`) says "cannot reach SERVER (ADDR): WHY" and nothing more, so that a
// dead node is not mistaken for a changed one (issue 17); any other error keeps its words, on
// one line.
func serverError(server, addr string, err error) string {
	if why, ok := unreachable(err); ok {
		name := server
		if addr != "" && addr != server {
			name = fmt.Sprintf("%s (%s)", server, addr)
		}
		return termsafe.Line("cannot reach " + name + ": " + why)
	}
	return termsafe.Line(err.Error())
}

// unreachable says why err means the server was never reached, if it does.
func unreachable(err error) (string, bool) {
	var dns *net.DNSError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused", true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to host", true
	case errors.As(err, &dns):
		return "unknown host " + dns.Name, true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, syscall.ETIMEDOUT):
		var pe *provider.Error
		if errors.As(err, &pe) && strings.HasPrefix(pe.Message, "no answer in ") {
			return pe.Message, true
		}
		if msg := err.Error(); strings.Contains(msg, "no answer in ") {
			return msg[strings.Index(msg, "no answer in "):], true
		}
		return "no answer", true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return "cannot connect", true
	}
	return "", false
}
