package lab

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/ctlops/ctlops/lab/cucmsim"
)

// The lab's third cluster, metro, is a tokenless CUCM (issue 14): two nodes reached only
// through the platform CLI over SSH and TFTP, simulated by lab/cucmsim in one process of the
// lab's own (`ctl-provider cucmsim --config metro/cucmsim.json`). It starts non-secure and
// is declared mixed in the lab's spec, so that the first apply runs `utils ctl set-cluster
// mixed-mode`. Its state (keys, host keys, mode, CTLs) lives in metro/state.json, written
// by that process only, so that it survives `lab down` and `lab up`.
const (
	Metro = "metro"
	// PlatformUser and PlatformPasswordEnv are metro's platform administrator and the
	// lab.env variable holding its password.
	PlatformUser        = "platformadmin"
	PlatformPasswordEnv = "LAB_PLATFORM_PASSWORD"
	// MetroRelease is what `show version active` prints: 12.5, so ITLRecovery signs (§3.1).
	MetroRelease = "12.5.1.11900-146"
	metroDomain  = "metro.example.com"
	// metroProc is the Proc.Node of the simulator process (it serves every metro node).
	metroProc = "cucmsim"
)

func (l *Lab) metroConfig() string { return l.path(Metro, "cucmsim.json") }

// hasMetro reports whether the lab has metro (a lab made before issue 14 has not).
func (l *Lab) hasMetro() bool {
	_, err := os.Stat(l.metroConfig())
	return err == nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// initMetro writes metro's simulator config, password, control token and first state: mpub
// (publisher: CallManager, TFTP, CAPF) and msub (CallManager, TFTP), non-secure, each with
// an SSH and a TFTP port from the lab's allocator, plus one for the control endpoint.
func (l *Lab) initMetro() error {
	tcp, udp, err := freePorts(3)
	if err != nil {
		return err
	}
	pw, err := randomHex(12)
	if err != nil {
		return err
	}
	token, err := randomHex(16)
	if err != nil {
		return err
	}
	sc := &cucmsim.ServeConfig{Cluster: Metro, User: PlatformUser, PasswordFile: "platform.password", StateFile: "state.json",
		Control: loopback(tcp[2]), TokenFile: "control.token", Noise: true,
		StartupMillis: 200, CommandMillis: 5, CTLMillis: 200, RestartMillis: 40}
	if err := cucmsim.WriteSecretFile(l.path(Metro, sc.PasswordFile), pw); err != nil {
		return err
	}
	if err := cucmsim.WriteSecretFile(l.path(Metro, sc.TokenFile), token); err != nil {
		return err
	}
	if err := sc.Save(l.metroConfig()); err != nil {
		return err
	}
	sc, err = cucmsim.LoadServeConfig(l.metroConfig())
	if err != nil {
		return err
	}
	_, err = cucmsim.Init(sc, cucmsim.Config{Release: MetroRelease, User: PlatformUser, Password: pw, Nodes: []cucmsim.NodeSpec{
		{Name: "mpub", Domain: metroDomain, IP: netip.MustParseAddr("10.30.0.1"), Publisher: true, CallManager: true, TFTP: true, CAPF: true,
			SSHAddr: loopback(tcp[0]), TFTPAddr: loopback(udp[0])},
		{Name: "msub", Domain: metroDomain, IP: netip.MustParseAddr("10.30.0.2"), CallManager: true, TFTP: true,
			SSHAddr: loopback(tcp[1]), TFTPAddr: loopback(udp[1])},
	}})
	return err
}

// startMetro starts metro's simulator process unless it runs already.
func (l *Lab) startMetro() error {
	cfg := l.metroConfig()
	if !l.hasMetro() {
		return nil
	}
	keep := l.State.Procs[:0]
	running := false
	for _, p := range l.State.Procs {
		if p.Config == cfg {
			if !alive(p.PID, cfg) {
				continue
			}
			running = true
		}
		keep = append(keep, p)
	}
	l.State.Procs = keep
	if running {
		return nil
	}
	logPath := l.path("logs", Metro+"-cucmsim.log")
	pid, err := startProc(l.State.Provider, []string{"cucmsim", "--config", cfg}, cfg, logPath, cucmsim.ReadyLine)
	if err != nil {
		return fmt.Errorf("%s simulator: %w", Metro, err)
	}
	l.State.Procs = append(l.State.Procs, Proc{Cluster: Metro, Node: metroProc, Config: cfg, PID: pid, Log: logPath})
	return l.save()
}

// metroState is metro's saved state (nil, nil when the lab has no metro).
func (l *Lab) metroState() (*cucmsim.Snapshot, error) {
	if !l.hasMetro() {
		return nil, nil
	}
	sc, err := cucmsim.LoadServeConfig(l.metroConfig())
	if err != nil {
		return nil, err
	}
	return cucmsim.LoadSnapshot(sc.StateFile)
}

// PlatformNodes lists metro's nodes as `lab status` does: roles, SSH and TFTP addresses, and
// the pid of the simulator process serving them (0 when stopped). Names follow renames.
func (l *Lab) PlatformNodes() ([]NodeStatus, error) {
	snap, err := l.metroState()
	if err != nil || snap == nil {
		return nil, err
	}
	pid := 0
	for _, p := range l.State.Procs {
		if p.Config == l.metroConfig() && alive(p.PID, p.Config) {
			pid = p.PID
		}
	}
	var out []NodeStatus
	svc := l.serviceabilityAddrs(Metro)
	for _, n := range snap.Nodes {
		s := n.Spec
		st := NodeStatus{Cluster: Metro, Name: s.Name, Roles: []string{}, SSH: s.SSHAddr, PID: pid, Serviceability: svc[s.Name]}
		if s.CallManager {
			st.Roles = append(st.Roles, "CCM")
		}
		if s.TFTP {
			st.Roles = append(st.Roles, "TFTP")
			st.TFTP = s.TFTPAddr
		}
		if s.CAPF {
			st.Roles = append(st.Roles, "CAPF")
		}
		out = append(out, st)
	}
	return out, nil
}

// metroSpec is metro's part of the lab's spec: tokenless, mixed, the publisher's platform
// CLI with every node's host key pinned, the platform account from lab.env, each node.
func (l *Lab) metroSpec() (string, error) {
	snap, err := l.metroState()
	if err != nil || snap == nil {
		return "", err
	}
	var pub *cucmsim.NodeSpec
	var keys []string
	for i, n := range snap.Nodes {
		if n.Spec.Publisher {
			pub = &snap.Nodes[i].Spec
		}
		fp, err := snap.Nodes[i].HostKeyFingerprint()
		if err != nil {
			return "", err
		}
		keys = append(keys, fp)
	}
	if pub == nil {
		return "", errors.New("metro: the saved state has no publisher")
	}
	host, port, _ := net.SplitHostPort(pub.SSHAddr)
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    signing: tokenless               # CUCM %s signs its CTL itself (ITLRecovery), driven over SSH\n", Metro, MetroRelease)
	b.WriteString("    mode: mixed                      # it starts non-secure: the first apply runs utils ctl set-cluster mixed-mode\n")
	fmt.Fprintf(&b, "    platform:                        # the publisher's platform CLI\n      host: %s\n      port: %s\n", host, port)
	fmt.Fprintf(&b, "      hostKeys: [%s]\n", strings.Join(keys, ", "))
	fmt.Fprintf(&b, "      credentials: {username: %s, password: {env: %s}}\n      nodes:\n", PlatformUser, PlatformPasswordEnv)
	for _, n := range snap.Nodes {
		s := n.Spec
		roles := []string{}
		if s.CallManager {
			roles = append(roles, "CCM")
		}
		if s.TFTP {
			roles = append(roles, "TFTP")
		}
		if s.CAPF {
			roles = append(roles, "CAPF")
		}
		fmt.Fprintf(&b, "        - {name: %s, ssh: \"%s\", tftp: \"%s\", roles: [%s]}\n", s.Name, s.SSHAddr, s.TFTPAddr, strings.Join(roles, ", "))
	}
	// Its Control Center, RisPort70 and AXL: apply's verified rollout restarts and resets
	// through them (issue 16); the platform CLI's restarts are the fallback without them.
	b.WriteString(l.serviceabilitySpec(ClusterState{Name: Metro, Dir: Metro}))
	return b.String(), nil
}

// metroPassword is metro's platform password ("" without metro).
func (l *Lab) metroPassword() string {
	sc, err := cucmsim.LoadServeConfig(l.metroConfig())
	if err != nil {
		return ""
	}
	b, err := os.ReadFile(sc.PasswordFile)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// metroStopped names metro's nodes served by the simulator process pid, for `lab down`.
func (l *Lab) metroStopped(pid int) []string {
	st, err := l.PlatformNodes()
	if err != nil || len(st) == 0 {
		return []string{fmt.Sprintf("%s/%s (pid %d)", Metro, metroProc, pid)}
	}
	var out []string
	for _, s := range st {
		out = append(out, fmt.Sprintf("%s/%s (pid %d)", Metro, s.Name, pid))
	}
	return out
}
