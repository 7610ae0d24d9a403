// Package phone is a simulated Cisco IP phone for the lab: a MAC, a model profile
// (phonerules.Profile, P0), a protocol, its TFTP server list (option 150, P1) and, once booted,
// an installed CTL and ITL kept in its "flash" directory across restarts. Boot and reset follow
// P3–P8 over real TFTP; what it accepts is decided by phonerules (which wraps ctl.Accepts);
// registration is TCP or TLS per P38–P43, the TLS peer checked against the installed CTL only.
//
// Not modelled: HTTP :6970 provisioning (P2; the lab serves TFTP only), signed and encrypted
// configuration files (P35–P37; the phone asks for the signed name, gets "File not found" from
// the lab and falls back to the unsigned file, saying so), LSC/MIC client certificates and
// CAPF (P43), NULL ciphers for authenticated mode (P41; Go has none), the empty rollback ITL
// (P23), XmlDefault.cnf.xml auto-registration (P5), SCCP and SIP themselves.
package phone

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/lab/cnf"
	"github.com/ctlops/ctlops/phonerules"
)

// TFTPServer is one entry of the phone's TFTP server list (option 150, P1): the address the
// CTL names the server by (IP, and host name), and where the lab actually reaches it (Addr,
// a loopback host:port), since lab nodes report TEST-NET addresses they do not listen on.
type TFTPServer struct {
	Host string `json:"host,omitempty"`
	IP   string `json:"ip"`
	Addr string `json:"addr"`
}

// Config is a phone's identity and surroundings.
type Config struct {
	Name     string       `json:"name"`
	MAC      string       `json:"mac"`   // 12 hex digits
	Model    string       `json:"model"` // a phonerules.Profiles key or model name
	Cluster  string       `json:"cluster"`
	Protocol string       `json:"protocol"` // SCCP or SIP
	TFTP     []TFTPServer `json:"tftp"`
	// FlashDir keeps the installed CTL, ITL and configuration across restarts.
	FlashDir string `json:"flashDir"`
	// StateFile, when set, receives State as JSON after every change (atomically).
	StateFile string `json:"stateFile,omitempty"`
	// PacketTimeout is the TFTP per-packet timeout; 0 means 500 ms.
	PacketTimeout time.Duration `json:"packetTimeout,omitempty"`
	// DHCP, when set, is asked for the TFTP server list (option 150, P1) at every boot, as a
	// phone renews its lease when it resets: a server that changed its address (R22) or joined
	// the cluster is then where the phone looks. An error or an empty list keeps the last one.
	DHCP func() ([]TFTPServer, error) `json:"-"`
}

var macRE = regexp.MustCompile(`^[0-9A-F]{12}$`)

// Check validates a config.
func (c *Config) Check() error {
	c.MAC = strings.ToUpper(c.MAC)
	if !macRE.MatchString(c.MAC) {
		return fmt.Errorf("phone %q: MAC %q is not 12 hex digits", c.Name, c.MAC)
	}
	p, err := phonerules.Lookup(c.Model)
	if err != nil {
		return fmt.Errorf("phone %q: %w", c.Name, err)
	}
	ok := false
	for _, pr := range p.Protocols {
		ok = ok || string(pr) == c.Protocol
	}
	if !ok {
		return fmt.Errorf("phone %q: a %s does not run %q (it runs %v)", c.Name, p.Model, c.Protocol, p.Protocols)
	}
	if len(c.TFTP) == 0 {
		return fmt.Errorf("phone %q: no TFTP server (option 150)", c.Name)
	}
	for _, s := range c.TFTP {
		if _, err := netip.ParseAddr(s.IP); err != nil {
			return fmt.Errorf("phone %q: TFTP server %q: %v", c.Name, s.IP, err)
		}
	}
	if c.FlashDir == "" {
		return fmt.Errorf("phone %q: no flash directory", c.Name)
	}
	return nil
}

// LoadConfig reads a phone config file (JSON, at most 64 KiB).
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) > 64<<10 {
		return nil, fmt.Errorf("%s: larger than 64 KiB", path)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// State is what the phone reports (P44–P48). JSON names are those of `ctlops lab phones`.
type State struct {
	Name       string  `json:"name"`
	MAC        string  `json:"mac"`
	Model      string  `json:"model"`
	Cluster    string  `json:"cluster"`
	Protocol   string  `json:"protocol"`
	Node       *string `json:"node"`
	Registered bool    `json:"registered"`
	Secure     bool    `json:"secure"`
	CTLSHA256  *string `json:"ctlSHA256"`
	ITLSHA256  *string `json:"itlSHA256"`
	// CTLSHA1 is what the 88xx Trust List menu shows as "CTL Signature" (P34, P45).
	CTLSHA1 *string `json:"ctlSHA1"`
	ITLSHA1 *string `json:"itlSHA1"`
	// Status is the last trust-list status message, in Cisco's words (P46).
	Status    string  `json:"status"`
	Alarm     int     `json:"alarm"`     // P47 code, 0 when none was sent
	AlarmName string  `json:"alarmName"` // TL_SUCCESS …
	LastError *string `json:"lastError"`
	// TFTPServer is the server the trust lists came from at the last boot.
	TFTPServer string `json:"tftpServer,omitempty"`
	// TFTPAddr is where the lab reaches that server (loopback host:port).
	TFTPAddr string `json:"tftpAddr,omitempty"`
	// ConfigFile is the configuration file name the phone used.
	ConfigFile   string    `json:"configFile,omitempty"`
	SecurityMode int       `json:"securityMode,omitempty"`
	Boots        int       `json:"boots"`
	Booting      bool      `json:"booting"`
	Updated      time.Time `json:"updated"`
	// Log is the last boot's console log (P48-style lines).
	Log []string `json:"log,omitempty"`
}

// Phone is one simulated phone.
type Phone struct {
	cfg  Config
	prof phonerules.Profile

	mu       sync.Mutex
	ctlRaw   []byte
	itlRaw   []byte
	ctl, itl *ctl.File
	cnfRaw   []byte
	cnf      *cnf.Device
	tvsCache map[string]tvsEntry
	st       State
	regGen   int // bumped by every boot; a registration loop of an older boot stops
	// bootErr is the last trust-list or configuration error of the current boot: a later
	// registration does not make it go away.
	bootErr error
	stopReg func()
}

type tvsEntry struct {
	roles   []ctl.Role
	expires time.Time
}

// New makes a phone from cfg and loads what its flash holds.
func New(cfg Config) (*Phone, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	prof, _ := phonerules.Lookup(cfg.Model)
	if cfg.PacketTimeout <= 0 {
		cfg.PacketTimeout = 500 * time.Millisecond
	}
	if err := os.MkdirAll(cfg.FlashDir, 0o755); err != nil {
		return nil, err
	}
	p := &Phone{cfg: cfg, prof: prof, tvsCache: map[string]tvsEntry{}}
	p.st = State{Name: cfg.Name, MAC: cfg.MAC, Model: prof.Model, Cluster: cfg.Cluster, Protocol: cfg.Protocol,
		Status: phonerules.StatusNoTrustList, Log: []string{}}
	p.loadFlash()
	p.refreshHashes()
	p.loadPrevious()
	return p, nil
}

// Profile returns the phone's model profile.
func (p *Phone) Profile() phonerules.Profile { return p.prof }

const (
	flashCTL = "CTLFile.tlv"
	flashITL = "ITLFile.tlv"
	flashCnf = "config.cnf.xml"
)

// loadFlash reads the installed lists; a file that no longer parses is dropped with the log
// line firmware prints (P48, O5).
func (p *Phone) loadFlash() {
	load := func(name, what string) ([]byte, *ctl.File) {
		b, err := os.ReadFile(filepath.Join(p.cfg.FlashDir, name))
		if err != nil {
			return nil, nil
		}
		f, err := ctl.Parse(b)
		if err != nil || len(b) > ctl.MaxFileSize {
			p.logf("Could not load %s File from persistent memory.", what)
			return nil, nil
		}
		return b, f
	}
	p.ctlRaw, p.ctl = load(flashCTL, "CTL")
	p.itlRaw, p.itl = load(flashITL, "ITL")
	if b, err := os.ReadFile(filepath.Join(p.cfg.FlashDir, flashCnf)); err == nil {
		if d, err := cnf.Parse(b); err == nil {
			p.cnfRaw, p.cnf = b, d
		}
	}
}

// loadPrevious takes the status message, alarm and boot count from the state file a previous
// process of this phone left: status messages survive a power cycle on a real phone too.
func (p *Phone) loadPrevious() {
	if p.cfg.StateFile == "" || (p.ctl == nil && p.itl == nil) {
		return
	}
	b, err := os.ReadFile(p.cfg.StateFile)
	if err != nil || len(b) > 1<<20 {
		return
	}
	var prev State
	if json.Unmarshal(b, &prev) != nil || prev.MAC != p.cfg.MAC {
		return
	}
	p.st.Status, p.st.Alarm, p.st.AlarmName, p.st.Boots = prev.Status, prev.Alarm, prev.AlarmName, prev.Boots
}

// store writes (or, for nil, removes) a flash file.
func (p *Phone) store(name string, b []byte) error {
	path := filepath.Join(p.cfg.FlashDir, name)
	if b == nil {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return atomicfile.Write(path, b, 0o644)
}

func hexOf(b []byte, sum func([]byte) []byte) *string {
	if b == nil {
		return nil
	}
	s := hex.EncodeToString(sum(b))
	return &s
}

func s256(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
func s1(b []byte) []byte   { s := sha1.Sum(b); return s[:] }

// refreshHashes must be called with mu held (or before the phone is shared).
func (p *Phone) refreshHashes() {
	p.st.CTLSHA256, p.st.CTLSHA1 = hexOf(p.ctlRaw, s256), hexOf(p.ctlRaw, s1)
	p.st.ITLSHA256, p.st.ITLSHA1 = hexOf(p.itlRaw, s256), hexOf(p.itlRaw, s1)
}

// logf appends a console line; mu must be held (or the phone not yet shared).
func (p *Phone) logf(format string, a ...any) {
	p.st.Log = append(p.st.Log, fmt.Sprintf(format, a...))
	if len(p.st.Log) > 60 {
		p.st.Log = p.st.Log[len(p.st.Log)-60:]
	}
}

func (p *Phone) setError(err error) {
	if err == nil {
		p.st.LastError = nil
		return
	}
	s := err.Error()
	p.st.LastError = &s
}

// State returns a copy of the phone's state.
func (p *Phone) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snapshot()
}

func (p *Phone) snapshot() State {
	s := p.st
	s.Log = append([]string(nil), p.st.Log...)
	return s
}

// publish writes the state file; mu must be held.
func (p *Phone) publish() {
	p.st.Updated = time.Now().UTC()
	if p.cfg.StateFile == "" {
		return
	}
	b, err := json.MarshalIndent(p.snapshot(), "", "  ")
	if err != nil {
		return
	}
	_ = atomicfile.Write(p.cfg.StateFile, append(b, '\n'), 0o644)
}

// Erase deletes the installed CTL and ITL (P49: "Erasing CTL and ITL files"), as the Security
// Settings reset does, and forgets TVS answers. The phone keeps its registration until the
// next boot.
func (p *Phone) Erase() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.logf("Erasing CTL and ITL files")
	for _, n := range []string{flashCTL, flashITL} {
		if err := p.store(n, nil); err != nil {
			return err
		}
	}
	p.ctlRaw, p.ctl, p.itlRaw, p.itl = nil, nil, nil, nil
	p.tvsCache = map[string]tvsEntry{}
	p.st.Status, p.st.Alarm, p.st.AlarmName = phonerules.StatusErasing, 0, ""
	p.refreshHashes()
	p.publish()
	return nil
}
