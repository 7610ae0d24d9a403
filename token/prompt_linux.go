//go:build linux

package token

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/unix"
)

// ReadLine reads one line typed on the terminal fd, without echo when echo is false, and
// gives up when ctx ends: Ctrl-C at a prompt (the CLI turns SIGINT into a cancelled context)
// must stop the apply and release its locks, not wait for Enter. The terminal stays in
// canonical mode with signals on, so the line editing and Ctrl-C the user knows work; it
// is polled rather than read in a goroutine, so that an abandoned read cannot swallow the
// next line typed, and its echo is restored however the read ends.
func ReadLine(ctx context.Context, fd int, echo bool) ([]byte, error) {
	return readLine(ctx, fd, echo, nil)
}

// ReadSecret shows prompt (calling show) only once echo is off, then reads a line without
// echo: a PIN typed or pasted the moment the prompt appears must never be echoed.
func ReadSecret(ctx context.Context, fd int, show func()) ([]byte, error) {
	return readLine(ctx, fd, false, show)
}

func readLine(ctx context.Context, fd int, echo bool, show func()) ([]byte, error) {
	if !echo {
		old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return nil, fmt.Errorf("terminal: %w", err)
		}
		quiet := *old
		quiet.Lflag &^= unix.ECHO
		quiet.Lflag |= unix.ICANON | unix.ISIG
		quiet.Iflag |= unix.ICRNL
		if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
			return nil, fmt.Errorf("terminal: %w", err)
		}
		defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	}
	if show != nil {
		show()
	}
	var line []byte
	buf := make([]byte, 256)
	for {
		if err := ctx.Err(); err != nil {
			wipe(line)
			return nil, err
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 100)
		if errors.Is(err, unix.EINTR) || err == nil && n == 0 {
			continue
		}
		if err != nil {
			wipe(line)
			return nil, fmt.Errorf("terminal: %w", err)
		}
		k, err := unix.Read(fd, buf)
		if k > 0 {
			line = append(line, buf[:k]...)
			wipe(buf[:k])
		}
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			wipe(line[i:])
			return bytes.TrimSuffix(line[:i], []byte("\r")), nil
		}
		switch {
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN):
		case err != nil:
			wipe(line)
			return nil, fmt.Errorf("terminal: %w", err)
		case k == 0:
			return line, io.EOF
		}
		if len(line) > maxPIN {
			wipe(line)
			return nil, fmt.Errorf("terminal: a line longer than %d bytes", maxPIN)
		}
	}
}
