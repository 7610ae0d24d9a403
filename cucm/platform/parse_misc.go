package platform

import (
	"crypto/x509"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
)

// ParseCertOwn parses `show cert own <unit>` (§2.11) and returns the certificate of its PEM
// block. The text around the PEM (SignatureAlgorithm, Issuer Name, validity …) is known only
// in part, so it is not parsed; a missing or second PEM block, or one that is not a
// certificate, is an error quoting the answer.
func ParseCertOwn(unit, out string) (*x509.Certificate, error) {
	cmd := "show cert own " + unit
	s := stripEcho(Flat(out), cmd)
	const begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
	if strings.Count(s, begin) != 1 || strings.Count(s, end) != 1 {
		if strings.Contains(strings.ToLower(s), "not found") || strings.Contains(strings.ToLower(s), "invalid") {
			return nil, unknown(cmd, "the node has no such certificate", s)
		}
		return nil, unknown(cmd, "expected exactly one PEM certificate in the answer", s)
	}
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if j < i {
		return nil, unknown(cmd, "PEM end before its beginning", s)
	}
	b64 := strings.Join(strings.Fields(s[i+len(begin):j]), "")
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, unknown(cmd, "PEM body is not base64", s[i:j])
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, unknown(cmd, "PEM is not a certificate ("+err.Error()+")", s[i:min(len(s), i+120)])
	}
	return c, nil
}

// Replication is the parsed `utils dbreplication runtimestate` (§2.14).
type Replication struct {
	Completed bool             `json:"completed"`
	Errors    bool             `json:"errors"`
	Servers   []ReplicationRow `json:"servers"`
	// Single is set when CUCM refuses the check on a one-node cluster: nothing replicates.
	Single bool `json:"single,omitempty"`
}

// ReplicationRow is one server of the Cluster Detailed View.
type ReplicationRow struct {
	Name   string `json:"name"`
	IP     string `json:"ip"`
	DB     string `json:"dbRpcDbMon"`
	Queue  int    `json:"queue"`
	Group  string `json:"group"`
	State  int    `json:"state"`
	Detail string `json:"detail"`
}

// Healthy is Cisco's rule: every row Y/Y/Y and state (2) Setup Completed, the check
// completed without errors or mismatches.
func (r *Replication) Healthy() (bool, string) {
	if r.Single {
		return true, "single-node cluster"
	}
	if !r.Completed {
		return false, "replication status check has not completed"
	}
	if r.Errors {
		return false, "errors or mismatches found"
	}
	for _, s := range r.Servers {
		if s.DB != "Y/Y/Y" || s.State != 2 {
			return false, "server " + s.Name + ": " + s.DB + " (" + strconv.Itoa(s.State) + ") " + s.Detail
		}
	}
	return true, ""
}

const cmdReplication = "utils dbreplication runtimestate"

var (
	replViewRE = regexp.MustCompile(`Cluster Detailed View from (\S+) \((\d+) Servers\): `)
	replHead   = "PING DB/RPC/ REPL. Replication REPLICATION SETUP SERVER-NAME IP ADDRESS (msec) DbMon? QUEUE Group ID (RTMT) & Details ----------- ---------- ------ ------- ----- ----------- ------------------"
	replRowRE  = regexp.MustCompile(`^(\S+) (\d+\.\d+\.\d+\.\d+) (\S+) ([YN]/[YN]/[YN]) (\d+) (\(g_\d+\)|\S+) \((\d)\) `)
)

// ParseReplication parses `utils dbreplication runtimestate`.
func ParseReplication(out string) (*Replication, error) {
	s := stripEcho(Flat(out), cmdReplication)
	if s == "Runtime state cannot be performed on a cluster with a single active node; aborting operation" {
		return &Replication{Single: true}, nil
	}
	if strings.Contains(s, "Cisco DB is not running") {
		return nil, unknown(cmdReplication, "CUCM's database is down", s)
	}
	r := &Replication{}
	r.Completed = regexp.MustCompile(`Replication status command COMPLETED \d+ tables checked out of \d+`).MatchString(s)
	switch {
	case strings.Contains(s, "No Errors or Mismatches found."):
	case regexp.MustCompile(`(?i)errors|mismatch`).MatchString(s):
		r.Errors = true
	}
	m := replViewRE.FindStringSubmatchIndex(s)
	if m == nil || !strings.HasPrefix(s, "Server Time: ") {
		return nil, unknown(cmdReplication, "expected 'Server Time:' and 'Cluster Detailed View from …'", s)
	}
	want, _ := strconv.Atoi(s[m[4]:m[5]])
	rest := strings.TrimSpace(s[m[1]:])
	if !strings.HasPrefix(rest, replHead) {
		return nil, unknown(cmdReplication, "expected the detailed view's heading", rest)
	}
	rest = strings.TrimSpace(rest[len(replHead):]) + " "
	for rest != "" && rest != " " {
		mm := replRowRE.FindStringSubmatch(rest)
		if mm == nil {
			return nil, unknown(cmdReplication, "expected a server row", rest)
		}
		row := ReplicationRow{Name: mm[1], IP: mm[2], DB: mm[4], Group: mm[6]}
		row.Queue, _ = strconv.Atoi(mm[5])
		row.State, _ = strconv.Atoi(mm[7])
		rest = rest[len(mm[0]):]
		// The detail runs to the next row (a name followed by an IPv4 address) or the end.
		next := regexp.MustCompile(`\S+ \d+\.\d+\.\d+\.\d+ \S+ [YN]/[YN]/[YN] `).FindStringIndex(rest)
		if next == nil {
			row.Detail, rest = strings.TrimSpace(rest), ""
		} else {
			row.Detail, rest = strings.TrimSpace(rest[:next[0]]), rest[next[0]:]
		}
		r.Servers = append(r.Servers, row)
	}
	if len(r.Servers) != want {
		return nil, unknown(cmdReplication, "the view announces "+strconv.Itoa(want)+" servers but lists "+strconv.Itoa(len(r.Servers)), s[m[0]:])
	}
	return r, nil
}

// Service restart banners (§2.12): the current and the older wording.
var restartSentences = []string{
	"Do not press Ctrl+C while the service is restarting. If the service has not restarted properly, execute the same command again.",
	"Don't press Ctrl-c while the service is getting RESTARTED.If Service has not Restarted Properly, execute the same Command Again",
	"Service Manager is running",
}

// ParseServiceRestart parses `utils service restart <svc>`: the banner, then "<svc>[STATE]"
// repeated; the last state must be STARTED. [FAILED] or any other text is an error.
func ParseServiceRestart(svc, out string) error {
	cmd := "utils service restart " + svc
	s := stripEcho(Flat(out), cmd)
	s = removeSentences(s, restartSentences...)
	re := regexp.MustCompile(regexp.QuoteMeta(svc) + `\s*\[([A-Z ]+)\]`)
	states := re.FindAllStringSubmatch(s, -1)
	left := strings.TrimSpace(re.ReplaceAllString(s, " "))
	if left != "" {
		return unknown(cmd, "unexpected text", left)
	}
	if len(states) == 0 {
		return unknown(cmd, "no service state in the answer", s)
	}
	for _, st := range states {
		switch st[1] {
		case "STOPPING", "STARTING", "STARTED", "STOPPED":
		default:
			return unknown(cmd, "service state "+st[1], s)
		}
	}
	if last := states[len(states)-1][1]; last != "STARTED" {
		return unknown(cmd, "service ended "+last+", not STARTED", s)
	}
	return nil
}

// CTLCommand is one of the three publisher commands that change the CTL (§2.5–2.7).
type CTLCommand string

const (
	SetMixedMode     CTLCommand = "utils ctl set-cluster mixed-mode"
	SetNonSecureMode CTLCommand = "utils ctl set-cluster non-secure-mode"
	UpdateCTLFile    CTLCommand = "utils ctl update CTLFile"
)

// Question is the confirmation every utils ctl command asks.
const Question = "Do you want to continue? (y/n):"

// ctlPreamble lists, per command, the sentences CUCM prints before the question. A prompt
// made of anything else is not answered (the Session answers "n" and quotes it).
var ctlPreamble = map[CTLCommand][]string{
	SetMixedMode: {"This operation sets the cluster to Mixed mode.", "This operation will set the cluster to Mixed mode.",
		"Auto-registration is enabled on at least one CM node."},
	SetNonSecureMode: {"This operation will set the cluster to non secure mode.", "This operation sets the cluster to non secure mode."},
	UpdateCTLFile:    {"This operation updates the CTLFile."},
}

// ctlDone lists the sentences after the answer: progress, the success sentence (first), and
// the advice CUCM prints (10.x and later wording).
var ctlDone = map[CTLCommand][]string{
	SetMixedMode:     {"Cluster set to Mixed Mode", "Moving Cluster to Mixed Mode"},
	SetNonSecureMode: {"Cluster set to Non Secure Mode", "Moving Cluster to Non Secure Mode"},
	UpdateCTLFile:    {"CTL file Updated", "Updating CTL file"},
}

var ctlAdvice = []string{
	"Please Restart the TFTP and Cisco CallManager services on all nodes in the cluster that run these services",
	"You must reset all phones to ensure they received the updated CTL file.",
	"You must restart Cisco CTIManager services on all the nodes in the cluster that have the service activated.",
}

// CheckPrompt reports whether a confirmation prompt (Flat form, the text between the echoed
// command and the end of the question) is exactly what cmd asks.
func CheckPrompt(cmd CTLCommand, prompt string) error {
	p := Flat(prompt)
	if !strings.HasSuffix(p, Question) {
		return unknown(string(cmd), "unexpected confirmation prompt", p)
	}
	if left := removeSentences(strings.TrimSuffix(p, Question), ctlPreamble[cmd]...); left != "" {
		return unknown(string(cmd), "unexpected confirmation prompt", p)
	}
	return nil
}

// ParseCTLCommand checks the answer after "y": the success sentence must be there and
// nothing unknown may be.
func ParseCTLCommand(cmd CTLCommand, out string) error {
	s := stripEcho(Flat(out), string(cmd))
	if i := strings.Index(s, Question); i >= 0 {
		if err := CheckPrompt(cmd, s[:i+len(Question)]); err != nil {
			return err
		}
		s = strings.TrimSpace(s[i+len(Question):])
		s = strings.TrimSpace(strings.TrimPrefix(s, "y"))
	}
	done := ctlDone[cmd]
	if done == nil {
		return unknown(string(cmd), "not a CTL command", string(cmd))
	}
	if !strings.Contains(s, done[0]) {
		return unknown(string(cmd), "CUCM did not say '"+done[0]+"'", s)
	}
	if left := removeSentences(s, append(append([]string{}, done...), ctlAdvice...)...); left != "" {
		return unknown(string(cmd), "unexpected text", left)
	}
	return nil
}

// ParsePaginationOff checks `set cli pagination off`: empty, or the state line of `show cli
// pagination` (the set command's own answer is [unconfirmed]).
func ParsePaginationOff(out string) error {
	s := stripEcho(Flat(out), "set cli pagination off")
	if s == "" || s == "Automatic Pagination : Off." || s == "Automatic Pagination : Off" {
		return nil
	}
	return unknown("set cli pagination off", "unexpected answer", s)
}

// ParseSecurityMode parses `run sql select paramname,paramvalue from processconfig where
// paramname='ClusterSecurityMode'` (§2.5): 0 is non-secure, 1 mixed.
func ParseSecurityMode(out string) (mixed bool, err error) {
	s := stripEcho(Flat(out), SQLSecurityMode)
	tok := strings.Fields(s)
	if len(tok) != 6 || tok[0] != "paramname" || tok[1] != "paramvalue" || strings.Trim(tok[2], "=") != "" ||
		strings.Trim(tok[3], "=") != "" || tok[4] != "ClusterSecurityMode" {
		return false, unknown(SQLSecurityMode, "expected one ClusterSecurityMode row", s)
	}
	switch tok[5] {
	case "0":
		return false, nil
	case "1":
		return true, nil
	}
	return false, unknown(SQLSecurityMode, "ClusterSecurityMode is neither 0 nor 1", s)
}

// SQLSecurityMode reads the cluster security mode (TN 118893).
const SQLSecurityMode = "run sql select paramname,paramvalue from processconfig where paramname='ClusterSecurityMode'"

// SplitBanner returns what a node printed before its first admin: prompt, and whether the
// prompt came.
func SplitBanner(out string) (string, bool) {
	c := Clean(out)
	loc := regexp.MustCompile(`(?:^|\s)admin:`).FindStringIndex(c)
	if loc == nil {
		return strings.TrimSpace(c), false
	}
	return strings.TrimSpace(c[:loc[0]]), true
}
