package cucmsim

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/pin/tftp/v3"
)

// tftpServer serves the node's CTLFile.tlv and ITLFile.tlv, read-only, as Cisco TFTP does
// for phones. A node that is down or has no such file answers File not found.
type tftpServer struct {
	srv *tftp.Server
	pc  net.PacketConn
}

//lint:ignore ST1005 the wire text of TFTP error 1
var errNotFound = errors.New("File not found")

func startTFTP(n *Node, addr string) (*tftpServer, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, err
	}
	t := &tftpServer{pc: pc}
	t.srv = tftp.NewServer(func(name string, rf io.ReaderFrom) error {
		var b []byte
		n.c.mu.Lock()
		down := n.down
		switch strings.TrimPrefix(name, "/") {
		case "CTLFile.tlv":
			b = n.ctlFile
			if n.served != nil {
				b = n.served
			}
		case "ITLFile.tlv":
			b = n.itlFile
		}
		b = append([]byte(nil), b...)
		n.c.mu.Unlock()
		if down || len(b) == 0 {
			return errNotFound
		}
		if ot, ok := rf.(tftp.OutgoingTransfer); ok {
			ot.SetSize(int64(len(b)))
		}
		_, err := rf.ReadFrom(bytes.NewReader(b))
		return err
	}, nil)
	t.srv.SetTimeout(2 * time.Second)
	go func() { _ = t.srv.Serve(pc.(*net.UDPConn)) }()
	return t, nil
}

func (t *tftpServer) addr() string { return t.pc.LocalAddr().String() }

func (t *tftpServer) close() {
	t.srv.Shutdown()
	t.pc.Close()
}
