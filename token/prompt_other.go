//go:build !linux

package token

import (
	"context"
	"os"
	"strings"

	"golang.org/x/term"
)

// ReadLine reads one line typed on the terminal fd, without echo when echo is false. Off
// Linux it cannot be interrupted by ctx [?]: the read is not polled there, and Ctrl-C then
// ends the process as a second signal does (locks expire with their lease).
func ReadLine(ctx context.Context, fd int, echo bool) ([]byte, error) {
	return readLine(ctx, fd, echo, nil)
}

// ReadSecret shows the prompt and reads a line without echo. Off Linux term.ReadPassword
// turns echo off only once called, so show runs first there [?]: a PIN pasted in that instant
// may be echoed.
func ReadSecret(ctx context.Context, fd int, show func()) ([]byte, error) {
	return readLine(ctx, fd, false, show)
}

func readLine(ctx context.Context, fd int, echo bool, show func()) ([]byte, error) {
	if show != nil {
		show()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !echo {
		return term.ReadPassword(fd)
	}
	line, err := readLineBounded(os.NewFile(uintptr(fd), "terminal"))
	if err != nil && line == "" {
		return nil, err // io.EOF, or a line longer than maxPIN
	}
	return []byte(strings.TrimRight(line, "\r\n")), nil
}
