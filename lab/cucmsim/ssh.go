package cucmsim

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshServer is one node's CLI endpoint: password and keyboard-interactive logins, lockout
// after 3 failures in a row (`show accountlocking` default, §2.1), PTY shells only.
type sshServer struct {
	n           *Node
	ln          net.Listener
	cfg         *ssh.ServerConfig
	fingerprint string
	hostKey     ssh.PublicKey
	private     ed25519.PrivateKey // kept for Snapshot
	done        chan struct{}
	once        sync.Once
	mu          sync.Mutex
	conns       map[net.Conn]bool
}

var errLogin = errors.New("permission denied")

// startSSH serves the node's CLI on addr with host key priv (nil: a new one).
func startSSH(n *Node, addr string, priv ed25519.PrivateKey) (*sshServer, error) {
	var err error
	if priv == nil {
		if _, priv, err = ed25519.GenerateKey(rand.Reader); err != nil {
			return nil, err
		}
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	s := &sshServer{n: n, done: make(chan struct{}), conns: map[net.Conn]bool{}, private: priv}
	check := func(user, pw string) error {
		c := n.c
		c.mu.Lock()
		defer c.mu.Unlock()
		n.attempts++
		if n.failed >= 3 {
			return errLogin // locked: even the right password is refused until an unlock
		}
		if user == c.cfg.User && pw == c.cfg.Password {
			n.failed = 0
			return nil
		}
		n.failed++
		return errLogin
	}
	s.cfg = &ssh.ServerConfig{
		PasswordCallback: func(m ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			return nil, check(m.User(), string(pw))
		},
		KeyboardInteractiveCallback: func(m ssh.ConnMetadata, ask ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			ans, err := ask("", "", []string{"Password: "}, []bool{false})
			if err != nil {
				return nil, err
			}
			if len(ans) != 1 {
				return nil, errLogin
			}
			return nil, check(m.User(), ans[0])
		},
		// OpenSSH_5.3 is what an 11.5 publisher announced (§2.1).
		ServerVersion: "SSH-2.0-OpenSSH_5.3",
	}
	s.cfg.AddHostKey(signer)
	s.hostKey = signer.PublicKey()
	s.fingerprint = ssh.FingerprintSHA256(s.hostKey)
	if s.ln, err = listen(addr); err != nil {
		return nil, err
	}
	go s.serve()
	return s, nil
}

func (s *sshServer) addr() string { return s.ln.Addr().String() }

func (s *sshServer) serve() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.n.c.mu.Lock()
		down := s.n.down
		s.n.conns++
		s.n.c.mu.Unlock()
		if down {
			conn.Close()
			continue
		}
		s.mu.Lock()
		s.conns[conn] = true
		s.mu.Unlock()
		go s.handle(conn)
	}
}

func (s *sshServer) handle(conn net.Conn) {
	defer func() {
		conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	sc, chans, reqs, err := ssh.NewServerConn(conn, s.cfg)
	if err != nil {
		return
	}
	_ = conn.SetDeadline(time.Time{})
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go s.session(ch, creqs)
	}
}

// session honours pty-req and shell; exec is refused, as CUCM has no exec channel (§2.1).
func (s *sshServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	pty, started := false, false
	for r := range reqs {
		switch r.Type {
		case "pty-req":
			pty = true
			_ = r.Reply(true, nil)
		case "shell":
			if !pty || started {
				_ = r.Reply(false, nil)
				if !pty {
					_, _ = ch.Write([]byte("PTY allocation request required\r\n"))
					ch.Close()
				}
				continue
			}
			started = true
			_ = r.Reply(true, nil)
			go func() {
				s.n.runCLI(ch, s.done)
				_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ C uint32 }{0}))
				ch.Close()
			}()
		case "env", "window-change":
			_ = r.Reply(true, nil)
		default: // exec, subsystem (sftp): not offered
			_ = r.Reply(false, nil)
		}
	}
}

func (s *sshServer) close() {
	s.once.Do(func() { close(s.done) })
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
}

// dropConns closes the open sessions (a node going down).
func (s *sshServer) dropConns() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
}
