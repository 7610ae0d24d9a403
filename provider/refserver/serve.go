package refserver

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ctlops/ctlops/provider"
	"github.com/pin/tftp/v3"
)

// ListenAndServe binds the config's addresses and serves until Close.
func (n *Node) ListenAndServe() error {
	cfg := n.Config()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", cfg.TFTPListen)
	if err != nil {
		ln.Close()
		return err
	}
	return n.Serve(ln, pc)
}

// Serve serves HTTPS on ln and TFTP on pc until Close.
func (n *Node) Serve(ln net.Listener, pc net.PacketConn) error {
	cfg := n.Config()
	lim := cfg.Limits.withDefaults()
	tc := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: provider.CipherSuites,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			n.current()
			n.mu.Lock()
			defer n.mu.Unlock()
			return n.cert, nil
		},
	}
	n.mu.Lock()
	n.httpSrv = &http.Server{
		Handler:           n.Handler(),
		TLSConfig:         tc,
		ReadHeaderTimeout: lim.ReadHeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          nil,
	}
	n.tftpSrv = tftp.NewServer(n.tftpRead, nil)
	n.tftpSrv.SetTimeout(2 * time.Second)
	n.tftpPC = pc
	hs, ts, closed := n.httpSrv, n.tftpSrv, n.closed
	n.mu.Unlock()
	if closed {
		ln.Close()
		pc.Close()
		return nil
	}

	errc := make(chan error, 2)
	go func() { errc <- ts.Serve(pc) }()
	go func() { errc <- hs.ServeTLS(ln, "", "") }()
	err := <-errc
	// Whichever stopped first, stop the other too and wait for it: a node is up or down.
	n.Close()
	<-errc
	if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Close stops both servers at once, as a killed node would.
func (n *Node) Close() {
	n.mu.Lock()
	hs, ts, pc := n.httpSrv, n.tftpSrv, n.tftpPC
	n.closed = true
	n.mu.Unlock()
	if hs != nil {
		hs.Close()
	}
	if ts != nil {
		// The library closes its connection only if Serve already stored it, and loops on
		// read errors until cancelled: cancel first, then close the socket ourselves.
		ts.Shutdown()
	}
	if pc != nil {
		pc.Close()
	}
}

// errFileNotFound is the text of TFTP error code 1 (RFC 1350) that clients show as is.
//
//lint:ignore ST1005 the wire text of TFTP error 1, as tftpd-hpa sends it
var errFileNotFound = errors.New("File not found")

// tftpRead serves files of the FileLocation, read-only, flat: the way phones fetch
// CTLFile.tlv (R4). Hidden files (temporaries, the lock) are never served.
func (n *Node) tftpRead(filename string, rf io.ReaderFrom) error {
	name := strings.TrimPrefix(filename, "/")
	if name == "" || strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		return errFileNotFound
	}
	cfg := n.Config()
	f, err := os.Open(filepath.Join(cfg.Abs(cfg.FileLocation), name))
	if err != nil {
		return errFileNotFound
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return errFileNotFound
	}
	if ot, ok := rf.(tftp.OutgoingTransfer); ok {
		ot.SetSize(fi.Size())
	}
	_, err = rf.ReadFrom(f)
	return err
}
