package servicesim

import (
	"errors"
	"sort"
	"sync"
	"time"
)

// Registration states as RisPort70 names them.
const (
	Registered   = "Registered"
	UnRegistered = "UnRegistered"
)

// Phone is one device as RisPort70 reports it.
type Phone struct {
	Name      string
	Model     uint32 // RisPort70 model code, e.g. 36213
	Protocol  string // SIP | SCCP
	IP        string
	DirNumber string
	Status    string // Registered | UnRegistered
	// Node is the node the phone is registered to, or, when unregistered, the node it was
	// last registered to (RisPort lists it there as UnRegistered); "" if it never registered.
	Node      string
	TimeStamp int64 // unix seconds of the last status change
}

// ErrNoDevice is what Reset returns for a name it does not know (AXL faults then).
var ErrNoDevice = errors.New("no such device")

// Devices is the phone registry behind the simulators: RisPort70 answers from Phones, and
// the service state machine and AXL drive it. The lab's phones implement it; MemDevices is
// the in-memory one for tests.
type Devices interface {
	Phones() []Phone
	// CallManagerChanged is called when Cisco CallManager on node stops (up false: its
	// phones lose registration and fail over) or has started again (up true).
	CallManagerChanged(node string, up bool)
	// TFTPChanged is called when Cisco Tftp on node stops or has started again; a phone
	// that resets while its TFTP server is down cannot fetch its files.
	TFTPChanged(node string, up bool)
	// Reset resets the named phone (AXL doDeviceReset): it drops its registration, fetches
	// CTL, ITL and configuration from its TFTP server and registers again.
	Reset(name string) error
}

// MemPhone is a phone of MemDevices with its CallManager group and TFTP server.
type MemPhone struct {
	Phone
	Group []string // CallManager group, in order of preference
	TFTP  string   // the node it fetches files from
}

// Change is one registration change MemDevices made, for tests to check the order.
type Change struct {
	Phone  string
	Status string
	Node   string
}

// MemDevices is an in-memory Devices with failover: phones re-register, after Delay, to the
// first node of their group whose CallManager runs (and fall back to a preferred one when it
// returns); a reset phone stays unregistered until its TFTP server is up.
type MemDevices struct {
	// Delay is how long a phone takes to (re-)register or fetch; set before use.
	Delay time.Duration

	mu      sync.Mutex
	phones  map[string]*memPhone
	cmDown  map[string]bool
	tftpDn  map[string]bool
	changes []Change
	timers  []*time.Timer
	closed  bool
}

type memPhone struct {
	MemPhone
	broken     bool // never registers again once it dropped
	fetching   bool // reset, waiting to fetch from TFTP
	needsReset bool // registers again only after a reset (NeedReset)
	gen        int  // cancels stale scheduled registrations
}

// NewMemDevices registers every phone to the first node of its group.
func NewMemDevices(phones []MemPhone) *MemDevices {
	m := &MemDevices{Delay: 20 * time.Millisecond, phones: map[string]*memPhone{}, cmDown: map[string]bool{}, tftpDn: map[string]bool{}}
	now := time.Now().Unix()
	for _, p := range phones {
		mp := &memPhone{MemPhone: p}
		if len(p.Group) > 0 {
			mp.Status, mp.Node, mp.TimeStamp = Registered, p.Group[0], now
		} else {
			mp.Status = UnRegistered
		}
		m.phones[p.Name] = mp
	}
	return m
}

// Break makes the phone never come back once it drops (a phone that cannot take the new CTL).
func (m *MemDevices) Break(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.phones[name]; p != nil {
		p.broken = true
	}
}

// NeedReset makes the named phones behave as phones whose security profile asks for
// encryption when the cluster's security mode has just changed (R10, R11): they hold no CTL
// of the new mode and their configuration file is the old one, so once their registration
// drops, a CallManager restart for one, they do not register again on any node until a reset
// makes them fetch the new CTL and configuration. The lab's process phones behave so through
// P39 and the node's "Device security mismatch: expected TLS"; this is the in-memory one. A
// registration that does not drop is kept.
func (m *MemDevices) NeedReset(names ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range names {
		if p := m.phones[n]; p != nil {
			p.needsReset = true
		}
	}
}

// Changes returns the registration changes so far, in order.
func (m *MemDevices) Changes() []Change {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Change(nil), m.changes...)
}

// Close cancels pending registrations.
func (m *MemDevices) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, t := range m.timers {
		t.Stop()
	}
}

// Phones returns every phone, sorted by name.
func (m *MemDevices) Phones() []Phone {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Phone, 0, len(m.phones))
	for _, p := range m.phones {
		out = append(out, p.Phone)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Phone returns one phone.
func (m *MemDevices) Phone(name string) (Phone, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.phones[name]
	if !ok {
		return Phone{}, false
	}
	return p.Phone, true
}

func (m *MemDevices) set(p *memPhone, status, node string) {
	if p.Status == status && p.Node == node {
		return
	}
	p.Status, p.Node, p.TimeStamp = status, node, time.Now().Unix()
	m.changes = append(m.changes, Change{Phone: p.Name, Status: status, Node: node})
}

// best is the first node of the group whose CallManager runs.
func (m *MemDevices) best(p *memPhone) string {
	for _, n := range p.Group {
		if !m.cmDown[n] {
			return n
		}
	}
	return ""
}

// later runs f under the lock after Delay, unless the phone's generation moved on.
func (m *MemDevices) later(p *memPhone, f func()) {
	p.gen++
	gen := p.gen
	m.timers = append(m.timers, time.AfterFunc(m.Delay, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.closed || p.gen != gen {
			return
		}
		f()
	}))
}

// register schedules the phone's registration to its best node, if it can register.
func (m *MemDevices) register(p *memPhone) {
	if p.broken || p.fetching || p.needsReset {
		return
	}
	m.later(p, func() {
		if n := m.best(p); n != "" && !p.broken && !p.fetching && !p.needsReset {
			m.set(p, Registered, n)
		}
	})
}

// CallManagerChanged implements Devices.
func (m *MemDevices) CallManagerChanged(node string, up bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cmDown[node] = !up
	for _, p := range m.sorted() {
		switch {
		case !up && p.Status == Registered && p.Node == node:
			m.set(p, UnRegistered, node)
			m.register(p)
		case up && p.Status == UnRegistered && contains(p.Group, node):
			m.register(p)
		case up && p.Status == Registered && p.Node != node && m.best(p) == node:
			m.register(p) // fallback to the preferred node
		}
	}
}

// TFTPChanged implements Devices.
func (m *MemDevices) TFTPChanged(node string, up bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tftpDn[node] = !up
	if !up {
		return
	}
	for _, p := range m.sorted() {
		if p.fetching && p.TFTP == node {
			m.fetch(p)
		}
	}
}

// Reset implements Devices.
func (m *MemDevices) Reset(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.phones[name]
	if !ok {
		return ErrNoDevice
	}
	m.set(p, UnRegistered, p.Node)
	p.fetching = true
	m.fetch(p)
	return nil
}

// fetch schedules the TFTP download of a reset phone; while its TFTP server is down the
// phone keeps waiting (TFTPChanged retries it).
func (m *MemDevices) fetch(p *memPhone) {
	m.later(p, func() {
		if m.tftpDn[p.TFTP] || p.broken {
			return
		}
		p.fetching, p.needsReset = false, false
		if n := m.best(p); n != "" {
			m.set(p, Registered, n)
		}
	})
}

func (m *MemDevices) sorted() []*memPhone {
	out := make([]*memPhone, 0, len(m.phones))
	for _, p := range m.phones {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
