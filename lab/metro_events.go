package lab

import (
	"context"
	"fmt"
	"strings"

	"github.com/ctlops/ctlops/lab/cucmsim"
)

// metroEvent causes a lab event on metro, when its NODE (metro/NAME or a bare metro node
// name) or CLUSTER argument is metro's; handled is false otherwise. The simulator process
// changes what its CLI and TFTP report; as on a real CUCM nothing touches the CTL, which
// changes only through `utils ctl …` (R22), so each event is drift until the next apply.
// The caller holds the lab lock and has checked the argument count.
func (l *Lab) metroEvent(ctx context.Context, kind string, args []string) (msg string, handled bool, err error) {
	if !l.hasMetro() || len(args) == 0 {
		return "", false, nil
	}
	if kind == "add-node" || kind == "enable-capf" {
		if args[0] != Metro {
			return "", false, nil
		}
	} else if _, ok := l.metroNode(args[0]); !ok {
		return "", false, nil
	}
	msg, err = l.doMetroEvent(ctx, kind, args)
	return msg, true, err
}

// metroNode resolves metro/NAME, or NAME when it is a metro node's and no other cluster's.
func (l *Lab) metroNode(ref string) (string, bool) {
	cluster, name, qualified := strings.Cut(ref, "/")
	if !qualified {
		name = ref
	} else if cluster != Metro {
		return "", false
	}
	st, err := l.PlatformNodes()
	if err != nil {
		return "", false
	}
	for _, s := range st {
		if s.Name == name {
			if !qualified {
				if _, err := l.findNode(name); err == nil {
					return "", false // a bare name another cluster also has: findNode says so
				}
			}
			return name, true
		}
	}
	if qualified {
		return name, true // metro/unknown: the simulator names its nodes in its error
	}
	return "", false
}

func (l *Lab) doMetroEvent(ctx context.Context, kind string, args []string) (string, error) {
	ev := cucmsim.Event{Kind: kind}
	if kind != "add-node" && kind != "enable-capf" {
		ev.Node, _ = l.metroNode(args[0])
	}
	stale := "its CTL records are stale until an apply runs utils ctl update CTLFile (R22)"
	switch kind {
	case "regen-cert", "tamper", "remove-node":
	case "ip-change":
		ev.Arg = args[1]
	case "rename":
		if !hostLabel.MatchString(args[1]) {
			return "", fmt.Errorf("%q is not a host name: lower-case letters, digits and '-', at most 63", args[1])
		}
		if l.nameTaken(args[1]) {
			return "", fmt.Errorf("%s exists already: node names stay unique across the lab", args[1])
		}
		ev.Arg = args[1]
	case "add-node":
		for i := 2; ; i++ {
			if name := fmt.Sprintf("msub%d", i); !l.nameTaken(name) {
				ev.Arg = name
				break
			}
		}
		tcp, udp, err := freePorts(1)
		if err != nil {
			return "", err
		}
		ev.SSH, ev.TFTP = loopback(tcp[0]), loopback(udp[0])
		stale = "the CTL must list it (R22); declare it under platform.nodes with its host key to manage it"
	case "enable-capf":
		return "", fmt.Errorf("%s's publisher runs CAPF already", Metro)
	case "manual-update":
		return "", fmt.Errorf("manual-update pushes a token-signed CTL through the CTL Provider protocol, which %s (tokenless, platform CLI only) does not speak: use tamper", Metro)
	default:
		return "", fmt.Errorf("%w: %s does not apply to %s", ErrUsage, kind, Metro)
	}
	msg, err := cucmsim.SendEvent(ctx, l.metroConfig(), ev)
	if err != nil {
		return "", fmt.Errorf("%s: %w", Metro, err)
	}
	if kind == "tamper" {
		stale = "phones downloading it get a file that does not verify, until the next utils ctl command rewrites it"
	} else if kind == "remove-node" {
		stale = "if the CTL lists it, its records are stale until an apply runs utils ctl update CTLFile (R22)"
	}
	return fmt.Sprintf("%s/%s: %s", Metro, msg, stale), nil
}

// nameTaken reports whether any node of the lab (any cluster) has that name.
func (l *Lab) nameTaken(name string) bool {
	if _, err := l.findNode(name); err == nil || strings.Contains(fmt.Sprint(err), "several clusters") {
		return true
	}
	st, _ := l.PlatformNodes()
	for _, s := range st {
		if s.Name == name {
			return true
		}
	}
	return false
}
