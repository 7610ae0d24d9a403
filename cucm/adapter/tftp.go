package adapter

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pin/tftp/v3"

	"github.com/ctlops/ctlops/ctl"
)

// tftpBlockSize keeps a block within one Ethernet frame (1500 - IP - UDP - TFTP headers).
const tftpBlockSize = 1428

// errNoFile is TFTP "File not found": the node serves no such file.
var errNoFile = errors.New("file not found")

type capBuf struct {
	bytes.Buffer
	max int
}

func (c *capBuf) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.max {
		return 0, fmt.Errorf("file larger than %d bytes", c.max)
	}
	return c.Buffer.Write(p)
}

// fetch downloads one file over TFTP, bounded by ctl.MaxFileSize and the timeout.
func fetch(addr, name string, timeout time.Duration) ([]byte, error) {
	c, err := tftp.NewClient(addr)
	if err != nil {
		return nil, err
	}
	c.SetTimeout(timeout)
	c.SetRetries(2)
	// The blksize option (RFC 2348) brings a CTL or ITL in a few blocks rather than a dozen
	// 512-byte round trips. Whether Cisco TFTP honours it is [unconfirmed]; a server that
	// ignores options answers with 512-byte blocks, which the client accepts (RFC 2347).
	c.SetBlockSize(tftpBlockSize)
	wt, err := c.Receive(name, "octet")
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "not found") {
			return nil, errNoFile
		}
		return nil, fmt.Errorf("tftp %s %s: %w", addr, name, err)
	}
	b := &capBuf{max: ctl.MaxFileSize}
	if _, err := wt.WriteTo(b); err != nil {
		return nil, fmt.Errorf("tftp %s %s: %w", addr, name, err)
	}
	return b.Bytes(), nil
}
