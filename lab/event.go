package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/refserver"
	"github.com/ctlops/ctlops/token"
)

// EventKind is one thing `lab event` can cause: its row of the table below holds its usage and
// what causes it, so an event is added in one place.
type EventKind struct {
	Name string
	Args []string // argument names, for usage; "[X]" is optional
	Help string
	// run causes the event; Event has checked the number of arguments.
	run func(l *Lab, ctx context.Context, args []string) (string, error)
	// onMetro: on a metro node (or the metro cluster) metro_events.go handles the event instead:
	// the tokenless simulator causes it, or the error says why metro cannot have it.
	onMetro bool
	// unlocked events do not hold the lab lock: they signal phones and wait for them to boot,
	// changing no node's files through the lab.
	unlocked bool
}

// Events lists the event kinds on nodes, in the order `lab event --help` shows them. NODE is a
// node name (cm2, br1), or cluster/name (hq/cm2); names are unique across the lab unless a
// rename made them clash. The events on phones follow (PhoneEvents, phones_events.go).
var Events = []EventKind{
	{Name: "ip-change", Args: []string{"NODE", "IP"}, Help: "the node now reports another IPv4 address (R22)", run: (*Lab).ipChange, onMetro: true},
	{Name: "rename", Args: []string{"NODE", "NAME"}, Help: "the node gets another host name and a certificate naming it (R22)", run: (*Lab).rename, onMetro: true},
	{Name: "regen-cert", Args: []string{"NODE"}, Help: "the node gets a new CallManager certificate, as when a server is replaced (R22)", run: (*Lab).regenCert, onMetro: true},
	{Name: "add-node", Args: []string{"CLUSTER"}, Help: "a subscriber (CCM, TFTP) joins the cluster and starts (R22)", onMetro: true,
		run: func(l *Lab, _ context.Context, args []string) (string, error) {
			return l.afterNodeEvent(l.addNode(args[0])) // phones_nodes.go: the node's phone side
		}},
	{Name: "remove-node", Args: []string{"NODE"}, Help: "the node is stopped and leaves its cluster (R22); the publisher cannot", onMetro: true,
		run: func(l *Lab, _ context.Context, args []string) (string, error) {
			return l.afterNodeEvent(l.removeNode(args[0]))
		}},
	{Name: "enable-capf", Args: []string{"[CLUSTER]"}, Help: "CAPF is enabled on the cluster's publisher (R22); default: the one cluster without it", onMetro: true,
		run: func(l *Lab, _ context.Context, args []string) (string, error) { return l.enableCAPF(args) }},
	{Name: "tamper", Args: []string{"NODE"}, Help: "one byte of the node's CTLFile.tlv is flipped behind the provider's back", onMetro: true,
		run: func(l *Lab, _ context.Context, args []string) (string, error) { return l.tamper(args[0]) }},
	{Name: "manual-update", Args: []string{"NODE"}, Help: "the node's CTL is re-signed with the second lab token and pushed to that node outside ctlops", onMetro: true,
		run: func(l *Lab, ctx context.Context, args []string) (string, error) { return l.manualUpdate(ctx, args[0]) }},
}

// allEvents is every event kind, nodes' then phones'.
func allEvents() []EventKind { return slices.Concat(Events, PhoneEvents) }

// EventUsage is the list of events in one block, for help texts.
func EventUsage() string {
	var b strings.Builder
	for _, e := range allEvents() {
		fmt.Fprintf(&b, "  %-32s %s\n", e.Name+" "+strings.Join(e.Args, " "), e.Help)
	}
	return b.String()
}

// ErrUsage: an unknown event or wrong arguments.
var ErrUsage = errors.New("bad event")

var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Event causes kind on the running lab and says what happened and what ctlops should now see.
func (l *Lab) Event(ctx context.Context, kind string, args []string) (string, error) {
	all := allEvents()
	i := slices.IndexFunc(all, func(e EventKind) bool { return e.Name == kind })
	if i < 0 {
		var names []string
		for _, e := range all {
			names = append(names, e.Name)
		}
		return "", fmt.Errorf("%w: unknown event %q (events: %s)", ErrUsage, kind, strings.Join(names, ", "))
	}
	ev := all[i]
	min, max := 0, len(ev.Args)
	for _, a := range ev.Args {
		if !strings.HasPrefix(a, "[") {
			min++
		}
	}
	if len(args) < min || len(args) > max {
		return "", fmt.Errorf("%w: %s takes %s", ErrUsage, kind, strings.Join(ev.Args, " "))
	}
	if ev.unlocked {
		return ev.run(l, ctx, args)
	}
	unlock, err := lock(l.Dir)
	if err != nil {
		return "", err
	}
	defer unlock()
	if ev.onMetro {
		if msg, ok, err := l.metroEvent(ctx, kind, args); ok {
			return msg, err
		}
	}
	return ev.run(l, ctx, args)
}

func (l *Lab) ipChange(_ context.Context, args []string) (string, error) {
	n, err := l.findNode(args[0])
	if err != nil {
		return "", err
	}
	if err := refserver.SetIPv4(n.dir, n.cfg.Name, args[1]); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s now reports IP %s (was %s): its CTL records are stale until the next apply (R22)", n, args[1], n.cfg.IPv4), nil
}

func (l *Lab) rename(_ context.Context, args []string) (string, error) {
	n, err := l.findNode(args[0])
	if err != nil {
		return "", err
	}
	if !hostLabel.MatchString(args[1]) {
		return "", fmt.Errorf("%q is not a host name: lower-case letters, digits and '-', at most 63", args[1])
	}
	if other, err := l.findNode(args[1]); err == nil {
		return "", fmt.Errorf("%s exists already: node names stay unique across the lab", other)
	}
	if err := refserver.Rename(n.dir, n.cfg.Name, args[1]); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s is now %s/%s (%s.%s.example.com) with a new certificate naming it (R22)", n, n.cluster, args[1], args[1], n.cluster), nil
}

func (l *Lab) regenCert(_ context.Context, args []string) (string, error) {
	n, err := l.findNode(args[0])
	if err != nil {
		return "", err
	}
	if err := refserver.RegenCert(n.dir, n.cfg.Name); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s has a new CallManager certificate (R22: a replaced server)", n), nil
}

type nodeRef struct {
	cluster, dir string
	cfg          *refserver.Config
}

func (n nodeRef) String() string { return n.cluster + "/" + n.cfg.Name }

// findNode resolves NODE or CLUSTER/NODE.
func (l *Lab) findNode(ref string) (nodeRef, error) {
	wantCluster, name, qualified := strings.Cut(ref, "/")
	if !qualified {
		name, wantCluster = ref, ""
	}
	var found []nodeRef
	var all []string
	for _, cs := range l.State.Clusters {
		nodes, err := refserver.Nodes(l.path(cs.Dir))
		if err != nil {
			return nodeRef{}, err
		}
		for _, c := range nodes {
			r := nodeRef{cluster: cs.Name, dir: l.path(cs.Dir), cfg: c}
			all = append(all, r.String())
			if c.Name == name && (wantCluster == "" || wantCluster == cs.Name) {
				found = append(found, r)
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nodeRef{}, fmt.Errorf("no node %q in the lab (nodes: %s)", ref, strings.Join(all, ", "))
	}
	var names []string
	for _, f := range found {
		names = append(names, f.String())
	}
	return nodeRef{}, fmt.Errorf("%q is in several clusters: say which (%s)", ref, strings.Join(names, " or "))
}

func (l *Lab) addNode(cluster string) (string, error) {
	dir, err := l.ClusterDir(cluster)
	if err != nil {
		return "", err
	}
	tcp, udp, err := freePorts(1)
	if err != nil {
		return "", err
	}
	ni, err := refserver.AddNode(dir, loopback(tcp[0]), loopback(udp[0]))
	if err != nil {
		return "", err
	}
	if cluster == Branch {
		// Keep node names unique across the lab: hq's nodes are cmN.
		name := "br" + strings.TrimPrefix(ni.Name, "cm")
		if err := refserver.Rename(dir, ni.Name, name); err != nil {
			return "", err
		}
		ni.Name = name
	}
	if err := l.startNode(cluster, ni.Config); err != nil {
		return "", fmt.Errorf("%s/%s was added but did not start: %w", cluster, ni.Name, err)
	}
	return fmt.Sprintf("%s/%s (CCM, TFTP) joined %s and serves https://%s tftp://%s (R22: the CTL must list it)",
		cluster, ni.Name, cluster, ni.Listen, ni.TFTPListen), nil
}

func (l *Lab) removeNode(ref string) (string, error) {
	n, err := l.findNode(ref)
	if err != nil {
		return "", err
	}
	if n.cfg.CAPFCertificate != "" {
		return "", fmt.Errorf("%s is the publisher; a cluster cannot lose it", n)
	}
	keep := l.State.Procs[:0]
	for _, p := range l.State.Procs {
		if p.Config == n.cfg.Path() {
			if err := stop(p.PID, p.Config); err != nil {
				return "", err
			}
			continue
		}
		keep = append(keep, p)
	}
	l.State.Procs = keep
	if err := l.save(); err != nil {
		return "", err
	}
	if err := refserver.RemoveNode(n.dir, n.cfg.Name); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s was stopped and left %s (R22: its CTL records are now stale)", n, n.cluster), nil
}

func (l *Lab) enableCAPF(args []string) (string, error) {
	var candidates []string
	for _, cs := range l.State.Clusters {
		if len(args) == 1 && args[0] != cs.Name {
			continue
		}
		nodes, err := refserver.Nodes(l.path(cs.Dir))
		if err != nil {
			return "", err
		}
		for _, c := range nodes {
			if c.CAPFCertificate != "" && !c.CAPF {
				candidates = append(candidates, cs.Name)
			}
		}
	}
	if len(args) == 1 {
		if _, err := l.ClusterDir(args[0]); err != nil {
			return "", err
		}
		if len(candidates) == 0 {
			return "", fmt.Errorf("CAPF is already enabled in %s", args[0])
		}
	}
	switch len(candidates) {
	case 0:
		return "", errors.New("CAPF is already enabled in every cluster of the lab")
	case 1:
	default:
		return "", fmt.Errorf("CAPF is off in %s: name the cluster", strings.Join(candidates, " and "))
	}
	dir, _ := l.ClusterDir(candidates[0])
	if err := refserver.EnableCAPF(dir); err != nil {
		return "", err
	}
	return fmt.Sprintf("CAPF is enabled on %s's publisher (R22: the CTL must list its certificate)", candidates[0]), nil
}

func ctlPath(n nodeRef) string {
	return filepath.Join(n.cfg.Abs(n.cfg.FileLocation), provider.FileName)
}

// tamper flips one byte of the node's CTLFile.tlv: a byte of the signature when the file parses,
// so that it still parses and only the signature check (and the digest) catch it.
func (l *Lab) tamper(ref string) (string, error) {
	n, err := l.findNode(ref)
	if err != nil {
		return "", err
	}
	path := ctlPath(n)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("%s has no %s yet: apply a CTL first", n, provider.FileName)
	}
	if err != nil {
		return "", err
	}
	if len(data) == 0 {
		return "", fmt.Errorf("%s: %s is empty", n, path)
	}
	off := len(data) / 2
	where := "the middle of the file"
	if f, err := ctl.Parse(data); err == nil && len(f.Header.Signature) > 0 {
		if i := bytes.Index(data, f.Header.Signature); i >= 0 {
			off, where = i+len(f.Header.Signature)/2, "its signature"
		}
	}
	data[off] ^= 0xff
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return "", err
	}
	return fmt.Sprintf("flipped byte %d (in %s) of %s's %s behind the provider's back: the file no longer verifies", off, where, n, provider.FileName), nil
}

// manualUpdate re-signs the node's CTL with the second lab token and pushes it to that node only,
// through the provider protocol, as someone with a token and the admin password could outside
// ctlops. The file is valid (the token is a SAST record, R19), so only the comparison with the
// other servers and the desired state shows it.
func (l *Lab) manualUpdate(ctx context.Context, ref string) (string, error) {
	n, err := l.findNode(ref)
	if err != nil {
		return "", err
	}
	c, err := l.client(n)
	if err != nil {
		return "", err
	}
	defer c.CloseIdleConnections()
	data, etag, err := c.CTL(ctx)
	if errors.Is(err, provider.ErrNoCTL) {
		return "", fmt.Errorf("%s has no %s yet: apply a CTL first", n, provider.FileName)
	}
	if err != nil {
		return "", err
	}
	label := TokenLabels[1]
	s, err := l.Signer(ctx, label)
	if err != nil {
		return "", err
	}
	res, err := token.Resign(data, s, token.ResignOptions{})
	s.Close()
	if err != nil {
		return "", fmt.Errorf("re-signing %s's CTL with %s: %w", n, label, err)
	}
	lk, err := c.Lock(ctx, provider.LockRequest{User: "someone-else", Host: "lab", Operation: "manual update outside ctlops", Lease: time.Minute})
	if err != nil {
		return "", err
	}
	newTag, werr := c.WriteCTL(ctx, res.Data, provider.WriteOptions{LockID: lk.ID, IfMatch: etag})
	if err := c.ReleaseLock(ctx, lk.ID); err != nil && werr == nil {
		werr = err
	}
	if werr != nil {
		return "", werr
	}
	return fmt.Sprintf("%s's CTL was re-signed with %s and pushed to %s only, outside ctlops (ETag %s…, was %s…)", n, label, n, newTag[:12], etag[:12]), nil
}

// client is a CTL Provider client of the node, with its cluster's CA and admin password.
func (l *Lab) client(n nodeRef) (*provider.Client, error) {
	pw, err := os.ReadFile(filepath.Join(n.dir, refserver.PasswordFile))
	if err != nil {
		return nil, err
	}
	return provider.NewClient(n.cfg.Listen, provider.Options{Username: refserver.AdminUser, Password: string(trimNL(pw)),
		CAFile: filepath.Join(n.dir, refserver.CAFile), Timeout: 10 * time.Second})
}

// Client returns a CTL Provider client of the node NODE (or CLUSTER/NODE), for tests and tools.
func (l *Lab) Client(ref string) (*provider.Client, error) {
	n, err := l.findNode(ref)
	if err != nil {
		return nil, err
	}
	return l.client(n)
}
