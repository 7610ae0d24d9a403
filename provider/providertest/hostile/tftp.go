package hostile

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TFTPFault is how a hostile TFTP server misbehaves.
type TFTPFault int

const (
	// Silent never answers: a dead server, or a firewall that drops UDP.
	Silent TFTPFault = iota
	// SlowDrip sends a valid file one block per Interval, each in time for the per-packet
	// wait but never finishing within a whole-transfer deadline.
	SlowDrip
	// Endless sends full 512-byte blocks for as long as they are acknowledged.
	Endless
	// WrongBlock answers the first acknowledgement with a block number from the future.
	WrongBlock
	// Huge serves a well-formed file of Size bytes (100 MB, say), as fast as it is acked.
	Huge
	// ErrorPacket answers every request with a TFTP ERROR (code 0) whose text is Message,
	// escape sequences and all.
	ErrorPacket
)

// TFTP is a hostile TFTP server on 127.0.0.1.
type TFTP struct {
	Addr     string // 127.0.0.1:port
	Fault    TFTPFault
	Interval time.Duration // SlowDrip: pause between blocks (default 300 ms)
	Size     int64         // Huge: bytes to serve (default 100 MB)
	Message  string        // ErrorPacket: the error text

	requests atomic.Int64
	blocks   atomic.Int64
	pc       net.PacketConn
	mu       sync.Mutex
	conns    []net.PacketConn // open transfers, closed when the test ends
	wg       sync.WaitGroup
	done     chan struct{}
}

// NewTFTP starts a server with the given fault until the test ends. Each set (for example
// func(s *hostile.TFTP) { s.Interval = 100 * time.Millisecond }) changes Interval, Size or
// Message before the server starts: fields set on the result afterwards race with the
// transfers, which read them (the race detector says so; a UDP request is no
// happens-before edge).
func NewTFTP(t testing.TB, f TFTPFault, set ...func(*TFTP)) *TFTP {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("hostile: %v", err)
	}
	s := &TFTP{Addr: pc.LocalAddr().String(), Fault: f, Interval: 300 * time.Millisecond,
		Size: 100 << 20, pc: pc, done: make(chan struct{})}
	for _, fn := range set {
		fn(s)
	}
	s.wg.Add(1)
	go s.loop()
	t.Cleanup(func() {
		close(s.done)
		pc.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// Requests is how many read requests arrived; Blocks how many DATA packets were sent.
func (s *TFTP) Requests() int64 { return s.requests.Load() }
func (s *TFTP) Blocks() int64   { return s.blocks.Load() }

func (s *TFTP) loop() {
	defer s.wg.Done()
	buf := make([]byte, 1024)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if n < 2 || binary.BigEndian.Uint16(buf) != 1 { // RRQ only
			continue
		}
		s.requests.Add(1)
		if s.Fault == Silent {
			continue
		}
		s.wg.Add(1)
		go s.transfer(from)
	}
}

// transfer serves one read from a port of its own (the TFTP transfer id), as servers do.
func (s *TFTP) transfer(to net.Addr) {
	defer s.wg.Done()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return
	}
	defer c.Close()
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
	if s.Fault == ErrorPacket {
		pkt := []byte{0, 5, 0, 0}
		pkt = append(append(pkt, s.Message...), 0)
		c.WriteTo(pkt, to)
		return
	}
	block := uint16(1)
	var sent int64
	buf := make([]byte, 1024)
	for {
		select {
		case <-s.done:
			return
		default:
		}
		size := 512
		last := false
		if s.Fault == Huge && sent+512 >= s.Size {
			size, last = int(s.Size-sent), true
		}
		if s.Fault == SlowDrip && block == 200 {
			size, last = 0, true
		}
		pkt := make([]byte, 4+size)
		binary.BigEndian.PutUint16(pkt, 3)
		binary.BigEndian.PutUint16(pkt[2:], block)
		if _, err := c.WriteTo(pkt, to); err != nil {
			return
		}
		s.blocks.Add(1)
		sent += int64(size)
		if last {
			return
		}
		// Wait for the acknowledgement; a client that gives up ends the transfer.
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _, err := c.ReadFrom(buf)
		if err != nil || n < 4 || binary.BigEndian.Uint16(buf) != 4 {
			return
		}
		switch s.Fault {
		case WrongBlock:
			block += 5
		case SlowDrip:
			select {
			case <-s.done:
				return
			case <-time.After(s.Interval):
			}
			block++
		default:
			block++
		}
	}
}
