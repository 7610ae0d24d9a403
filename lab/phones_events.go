package lab

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/lab/phone"
	"github.com/ctlops/ctlops/provider"
)

// PhoneEvents are the events on the lab's phones, listed by `lab event --help` after Events.
var PhoneEvents = []EventKind{
	{Name: "reset-phones", Args: []string{"[CLUSTER]"}, Help: "reset the phones (every cluster's by default), as \"reset all devices\" after a CTL update does (R23)", run: (*Lab).resetPhones, unlocked: true},
	{Name: "erase-ctl", Args: []string{"PHONE"}, Help: "erase a phone's CTL and ITL by hand (P49), then reset it", run: (*Lab).eraseCTL, unlocked: true},
	{Name: "rogue-update", Args: []string{"NODE"}, Help: "push to the node, behind the provider's back, a valid CTL signed by a key no installed CTL trusts", unlocked: true,
		run: func(l *Lab, _ context.Context, args []string) (string, error) { return l.rogueUpdate(args[0]) }},
}

func (l *Lab) resetPhones(ctx context.Context, args []string) (string, error) {
	cluster := ""
	if len(args) == 1 {
		if _, err := l.ClusterDir(args[0]); err != nil && !l.isMetroCluster(args[0]) {
			return "", err
		}
		cluster = args[0]
	}
	return l.signalPhones(ctx, func(s PhoneSpec) bool { return cluster == "" || s.Cluster == cluster }, phone.ResetSignal, "reset")
}

func (l *Lab) eraseCTL(ctx context.Context, args []string) (string, error) {
	pl, err := l.loadPhones()
	if err != nil {
		return "", err
	}
	if !slices.ContainsFunc(pl.Phones, func(s PhoneSpec) bool { return s.Name == args[0] }) {
		return "", fmt.Errorf("no phone %q in the lab (see `ctlops lab phones`)", args[0])
	}
	return l.signalPhones(ctx, func(s PhoneSpec) bool { return s.Name == args[0] }, phone.EraseSignal, "erased and reset")
}

// signalPhones signals the phones that match and waits until each has booted again.
func (l *Lab) signalPhones(ctx context.Context, match func(PhoneSpec) bool, sig syscall.Signal, verb string) (string, error) {
	pl, err := l.loadPhones()
	if err != nil {
		return "", err
	}
	before := map[string]int{}
	var names []string
	for _, s := range pl.Phones {
		if !match(s) {
			continue
		}
		pid := 0
		for _, p := range pl.Procs {
			if p.Node == s.Name && alive(p.PID, p.Config) {
				pid = p.PID
			}
		}
		if pid == 0 {
			return "", fmt.Errorf("phone %s does not run: start the lab with `ctlops lab up`", s.Name)
		}
		st, _ := l.phoneState(s)
		before[s.Name] = st.Boots
		if err := syscall.Kill(pid, sig); err != nil {
			return "", fmt.Errorf("phone %s (pid %d): %w", s.Name, pid, err)
		}
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return "", errors.New("no phone matches")
	}
	deadline := time.Now().Add(60 * time.Second)
	var lines []string
	for _, s := range pl.Phones {
		if _, ok := before[s.Name]; !ok {
			continue
		}
		for {
			st, _ := l.phoneState(s)
			if st.Boots > before[s.Name] && !st.Booting {
				lines = append(lines, "  "+phoneLine(st))
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return "", fmt.Errorf("phone %s did not boot again within 60 s", s.Name)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return fmt.Sprintf("%s %d phone(s):\n%s", verb, len(names), strings.Join(lines, "\n")), nil
}

func phoneLine(st phone.State) string {
	reg := "not registered"
	if st.Registered {
		reg = "registered with " + deref(st.Node)
		if st.Secure {
			reg += " (TLS)"
		}
	}
	s := fmt.Sprintf("%s: %s; %q", st.Name, reg, st.Status)
	if st.LastError != nil {
		s += "; " + *st.LastError
	}
	return termsafe.Line(s)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// phoneState reads a phone's state file, as its process last wrote it.
func (l *Lab) phoneState(s PhoneSpec) (phone.State, error) {
	st := phone.State{Name: s.Name, MAC: s.MAC, Model: s.Model, Cluster: s.Cluster, Protocol: s.Protocol, Log: []string{}}
	b, err := os.ReadFile(l.path("phones", s.Name, "state.json"))
	if err != nil {
		return st, err
	}
	if len(b) > 1<<20 {
		return st, fmt.Errorf("phone %s: state file too large", s.Name)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, err
	}
	return st, nil
}

// Phones is what `lab phones` lists: every phone's state, a phone whose process does not run
// shown unregistered with lastError saying so.
func (l *Lab) Phones() ([]phone.State, error) {
	pl, err := l.loadPhones()
	if err != nil {
		return nil, err
	}
	out := []phone.State{}
	for _, s := range pl.Phones {
		st, err := l.phoneState(s)
		running := false
		for _, p := range pl.Procs {
			running = running || (p.Node == s.Name && alive(p.PID, p.Config))
		}
		if err != nil || !running {
			why := "not running"
			if err != nil && running {
				why = "no state yet: " + err.Error()
			}
			st.Registered, st.Secure, st.Node, st.LastError = false, false, nil, &why
		}
		st.Log = nil
		out = append(out, st)
	}
	return out, nil
}

// WritePhonesJSON writes the list as JSON (an array; fields of phone.State).
func WritePhonesJSON(w io.Writer, st []phone.State) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}

// WritePhonesText writes the list as a table.
func WritePhonesText(w io.Writer, st []phone.State) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PHONE\tMODEL\tCLUSTER\tPROTO\tNODE\tREGISTERED\tCTL SHA-256\tSTATUS\tLAST ERROR")
	for _, s := range st {
		reg := "no"
		if s.Registered {
			reg = "yes"
			if s.Secure {
				reg = "yes, TLS"
			}
		}
		ctlSum := "-"
		if s.CTLSHA256 != nil && len(*s.CTLSHA256) >= 16 {
			ctlSum = (*s.CTLSHA256)[:16] + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", termsafe.String(s.Name), s.Model, s.Cluster, s.Protocol,
			termsafe.String(deref(s.Node)), reg, ctlSum, termsafe.String(s.Status), termsafe.String(deref(s.LastError)))
	}
	return tw.Flush()
}

// rogueUpdate writes to the node's FileLocation a CTL with the node's records but a SAST no
// installed CTL holds, signed by it: valid in form and signature, trusted by nobody.
func (l *Lab) rogueUpdate(ref string) (string, error) {
	if _, ok := l.metroNode(ref); ok {
		return "", fmt.Errorf("%w: rogue-update writes into a token cluster node's files; %s keeps its CTL inside its simulator (use tamper to corrupt what its TFTP serves)", ErrUsage, Metro)
	}
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
	f, err := ctl.Parse(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "SAST-rogue", Organization: []string{"not the cluster"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", err
	}
	rec, err := ctl.NewRecord(cert, ctl.RoleSAST, "", netip.Addr{})
	if err != nil {
		return "", err
	}
	recs := []ctl.Record{rec}
	for _, r := range f.Records {
		if r.Role != ctl.RoleSAST {
			recs = append(recs, r)
		}
	}
	rogue := ctl.New(provider.FileName, recs)
	if err := rogue.Sign(key, cert, ctl.SHA1, now); err != nil {
		return "", err
	}
	b, err := rogue.Marshal()
	if err != nil {
		return "", err
	}
	if err := atomicfile.Write(path, b, 0o644); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s now serves a CTL signed by %q, a key no installed CTL trusts, written behind the provider's back: phones must refuse it and keep their CTL (P12, P16)", n, "SAST-rogue"), nil
}
