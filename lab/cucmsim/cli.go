package cucmsim

import (
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Texts of the session that the reference has verbatim (§2.1) or describes.
const (
	startingUp = "Command Line Interface is starting up, please wait ..."
	welcome    = "   Welcome to the Platform Command Line Interface"
	vmware     = "VMware Installation:\n\t2 vCPU: Intel(R) Xeon(R) CPU E5-4669 v4 @ 2.20GHz\n\tDisk 1: 146GB, Partitions aligned\n\t10240 Mbytes RAM"
	// The exact texts of these refusals are [unconfirmed]; they are the reference's words.
	notOnPublisher = "The CLI must be executed on the publisher. On all other nodes, this CLI command is disabled."
	replPublisher  = "Database replication commands must be run from the publisher."
	noCommand      = "Executed command unsuccessfully\nNo valid command entered"
)

// term writes CLI text with CRLF line ends and, with Noise, VT100 escapes around the prompt.
type term struct {
	w     io.Writer
	noise bool
}

func (t term) print(s string) {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
	_, _ = io.WriteString(t.w, s)
}

func (t term) prompt() {
	if t.noise {
		t.print("\x1b[0m\x1b[K\nadmin:")
		return
	}
	t.print("\nadmin:")
}

// wait sleeps d, or returns false if the server is closing.
func wait(d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// lineReader reads typed lines from the PTY, echoing them as a terminal does.
type lineReader struct {
	r    io.Reader
	t    term
	prev byte
	buf  []byte
}

func (l *lineReader) line() (string, error) {
	var cur []byte
	one := make([]byte, 1)
	for {
		if len(l.buf) == 0 {
			n, err := l.r.Read(one)
			if err != nil {
				return "", err
			}
			l.buf = append(l.buf, one[:n]...)
			continue
		}
		b := l.buf[0]
		l.buf = l.buf[1:]
		prev := l.prev
		l.prev = b
		switch {
		case b == '\n' && prev == '\r':
			continue
		case b == '\r' || b == '\n':
			l.t.print("\n")
			return string(cur), nil
		case b == 0x7f || b == 0x08:
			if len(cur) > 0 {
				cur = cur[:len(cur)-1]
				l.t.print("\b \b")
			}
		case b == 0x04:
			return "", io.EOF
		case b >= 0x20 && b < 0x7f:
			if len(cur) < 4096 {
				cur = append(cur, b)
				_, _ = l.t.w.Write([]byte{b})
			}
		}
	}
}

// runCLI is one interactive session: banner and start-up delay, then one command per line.
func (n *Node) runCLI(ch ssh.Channel, done <-chan struct{}) {
	c := n.c
	t := term{w: ch, noise: c.cfg.Noise}
	t.print(startingUp + "\n\n")
	if !wait(c.cfg.Delays.Startup/2, done) {
		return
	}
	t.print(welcome + "\n\n" + vmware + "\n\n")
	if !wait(c.cfg.Delays.Startup/2, done) {
		return
	}
	t.prompt()
	lr := &lineReader{r: ch, t: t}
	for {
		line, err := lr.line()
		if err != nil {
			return
		}
		cmd := strings.Join(strings.Fields(line), " ")
		if cmd == "" {
			t.prompt()
			continue
		}
		if strings.EqualFold(cmd, "exit") || strings.EqualFold(cmd, "quit") {
			return
		}
		c.mu.Lock()
		c.commands = append(c.commands, n.spec.Name+": "+cmd)
		c.mu.Unlock()
		if !wait(c.cfg.Delays.Command, done) {
			return
		}
		if !n.command(cmd, t, lr, done) {
			return
		}
		t.prompt()
	}
}

// command runs one command; false ends the session.
func (n *Node) command(cmd string, t term, lr *lineReader, done <-chan struct{}) bool {
	c := n.c
	c.mu.Lock()
	script, scripted := c.override[strings.ToLower(cmd)]
	c.mu.Unlock()
	if scripted {
		t.print(script + "\n")
		return true
	}
	lc := strings.ToLower(cmd)
	switch {
	case lc == "set cli pagination off":
		return true
	case lc == "show cli pagination":
		t.print("Automatic Pagination : Off.\n")
	case lc == "show network cluster":
		t.print(n.showNetworkCluster())
	case lc == "show version active":
		t.print("Active Master Version: " + c.cfg.Release + "\nActive Version Installed Software Options:\nNo Installed Software Options Found.\n")
	case strings.HasPrefix(lc, "show cert own "):
		t.print(n.showCertOwn(cmd[len("show cert own "):]))
	case lc == "show ctl":
		t.print(n.showCTL())
	case lc == "utils dbreplication runtimestate":
		t.print(n.replication())
	case lc == strings.ToLower(sqlMode):
		t.print(n.securityMode())
	case strings.HasPrefix(lc, "utils ctl "):
		return n.utilsCTL(lc, t, lr, done)
	case strings.HasPrefix(lc, "utils service restart "):
		return n.restart(cmd[len("utils service restart "):], t, done)
	default:
		t.print(noCommand + "\n")
	}
	return true
}

const sqlMode = "run sql select paramname,paramvalue from processconfig where paramname='ClusterSecurityMode'"

func (n *Node) securityMode() string {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	v := "0"
	if n.c.mixed {
		v = "1"
	}
	return "paramname           paramvalue\n=================== ==========\nClusterSecurityMode " + v + "\n"
}

// utilsCTL runs the three CTL commands on the publisher, with their confirmation.
func (n *Node) utilsCTL(lc string, t term, lr *lineReader, done <-chan struct{}) bool {
	c := n.c
	c.mu.Lock()
	pub := n.spec.Publisher
	rel := c.release
	custom := c.prompt
	c.mu.Unlock()
	var preamble, moving, doneMsg string
	var mixed bool
	switch lc {
	case "utils ctl set-cluster mixed-mode":
		preamble, moving, doneMsg, mixed = "This operation sets the cluster to Mixed mode.", "Moving Cluster to Mixed Mode", "Cluster set to Mixed Mode", true
		if rel.Major >= 12 {
			preamble = "This operation will set the cluster to Mixed mode."
		}
	case "utils ctl set-cluster non-secure-mode":
		preamble, moving, doneMsg = "This operation will set the cluster to non secure mode.", "Moving Cluster to Non Secure Mode", "Cluster set to Non Secure Mode"
	case "utils ctl update ctlfile":
		preamble, moving, doneMsg = "This operation updates the CTLFile.", "Updating CTL file", "CTL file Updated"
	default:
		t.print(noCommand + "\n")
		return true
	}
	if !pub {
		t.print(notOnPublisher + "\n")
		return true
	}
	if custom != "" {
		preamble = custom
	}
	t.print(preamble + " Do you want to continue? (y/n):")
	ans, err := lr.line()
	if err != nil {
		return false
	}
	if strings.TrimSpace(ans) != "y" {
		return true
	}
	t.print(moving + "\n")
	if !wait(c.cfg.Delays.CTL, done) {
		return false
	}
	c.mu.Lock()
	if lc != "utils ctl update ctlfile" {
		c.mixed = mixed
	}
	err = c.updateCTLLocked()
	c.mu.Unlock()
	if err == nil && c.cfg.OnChange != nil {
		c.cfg.OnChange(c)
	}
	if err != nil {
		t.print("Error: " + err.Error() + "\n")
		return true
	}
	t.print(doneMsg + "\n")
	if rel.Major >= 12 {
		t.print("You must reset all phones to ensure they received the updated CTL file.\nYou must restart Cisco CTIManager services on all the nodes in the cluster that have the service activated.\n")
	} else {
		t.print("Please Restart the TFTP and Cisco CallManager services on all nodes in the cluster that run these services\n")
	}
	return true
}

// restart runs `utils service restart` with the current banner wording (§2.12).
func (n *Node) restart(svc string, t term, done <-chan struct{}) bool {
	c := n.c
	c.mu.Lock()
	runs := (svc == "Cisco Tftp" && n.spec.TFTP) || (svc == "Cisco CallManager" && n.spec.CallManager)
	c.mu.Unlock()
	if !runs {
		// Wording for a service not activated on the node is [unconfirmed].
		t.print(svc + "[NOTRUNNING]\n")
		return true
	}
	t.print("Do not press Ctrl+C while the service is restarting. If the service has not restarted properly, execute the same command again.\nService Manager is running\n")
	for _, st := range []string{"STOPPING", "STOPPING", "STARTING", "STARTING", "STARTED"} {
		if !wait(c.cfg.Delays.Restart, done) {
			return false
		}
		t.print(svc + "[" + st + "]\n")
	}
	c.mu.Lock()
	c.restarts = append(c.restarts, n.spec.Name+" "+svc)
	var err error
	if svc == "Cisco Tftp" {
		err = n.rebuildITLLocked() // the TFTP service builds the ITL when it starts
	}
	c.mu.Unlock()
	if err != nil {
		t.print("Error: " + err.Error() + "\n")
	}
	return true
}
