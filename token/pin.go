package token

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// PINEnv names the environment variable a PIN may come from (CI, R21).
const PINEnv = "CTLOPS_TOKEN_PIN"

// maxPIN bounds what is read as a PIN; PKCS#11 tokens take at most a few hundred bytes. It
// bounds every line read from the operator's terminal or stdin too (a PIN, a token number).
const maxPIN = 1024

// readLineBounded reads one line from r, its newline included, and stops after maxPIN bytes
// without one: a stdin that never sends a newline (a file, /dev/zero) must not fill memory.
// At the end of r it returns what came and io.EOF, as bufio.Reader.ReadString does.
func readLineBounded(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxPIN+2)).ReadString('\n')
	if len(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")) > maxPIN {
		return "", fmt.Errorf("terminal: a line longer than %d bytes", maxPIN)
	}
	return line, err
}

// PINSource yields the user PIN of the token about to be logged in to. The caller wipes the
// returned bytes after use. Errors never contain the PIN.
type PINSource func(tok Info) ([]byte, error)

// ErrNoPIN: no PIN source is available (no file, no environment variable, no terminal).
var ErrNoPIN = errors.New("no token PIN: give --pin-file FILE, set " + PINEnv + ", or run on a terminal to be asked")

// PINFromFile reads the PIN from the first line of path (a trailing newline is not part of it).
func PINFromFile(path string) PINSource {
	return func(Info) ([]byte, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("PIN file: %w", err)
		}
		defer f.Close()
		buf := make([]byte, maxPIN+1)
		n, err := io.ReadFull(f, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			wipe(buf)
			return nil, fmt.Errorf("PIN file %s: %w", path, err)
		}
		if n > maxPIN {
			wipe(buf)
			return nil, fmt.Errorf("PIN file %s: longer than %d bytes; is it the right file?", path, maxPIN)
		}
		pin := buf[:n]
		if i := bytes.IndexByte(pin, '\n'); i >= 0 {
			wipe(pin[i:])
			pin = pin[:i]
		}
		pin = bytes.TrimSuffix(pin, []byte("\r"))
		if len(pin) == 0 {
			wipe(buf)
			return nil, fmt.Errorf("PIN file %s: first line is empty", path)
		}
		return pin, nil
	}
}

// PINFromEnv reads the PIN from the environment variable name.
func PINFromEnv(name string) PINSource {
	return func(Info) ([]byte, error) {
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return nil, fmt.Errorf("%s is not set or empty", name)
		}
		return []byte(v), nil
	}
}

// PINFromTerminal asks for the PIN on the terminal fd without echo, naming the token (R21).
func PINFromTerminal(fd int, prompt io.Writer) PINSource {
	return PINFromTerminalContext(context.Background(), fd, prompt)
}

// PINFromTerminalContext is PINFromTerminal that gives up when ctx ends (Ctrl-C at the
// prompt: the apply then releases its locks).
func PINFromTerminalContext(ctx context.Context, fd int, prompt io.Writer) PINSource {
	return func(tok Info) ([]byte, error) {
		// The prompt appears only once echo is off (ReadSecret).
		pin, err := ReadSecret(ctx, fd, func() { fmt.Fprintf(prompt, "PIN for security token %s: ", tok.Name()) })
		fmt.Fprintln(prompt)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("reading the PIN from the terminal: %w", err)
		}
		if len(pin) == 0 {
			return nil, errors.New("empty PIN")
		}
		return pin, nil
	}
}

// DefaultPIN picks the PIN source the CLI uses: --pin-file, else $CTLOPS_TOKEN_PIN, else a
// prompt when stdin is a terminal; otherwise it returns ErrNoPIN rather than hang.
func DefaultPIN(pinFile string, stdin io.Reader, prompt io.Writer) (PINSource, error) {
	if pinFile != "" {
		return PINFromFile(pinFile), nil
	}
	if v, ok := os.LookupEnv(PINEnv); ok && v != "" {
		return PINFromEnv(PINEnv), nil
	}
	if fd, ok := TerminalFD(stdin); ok {
		return PINFromTerminal(fd, prompt), nil
	}
	return nil, ErrNoPIN
}

// TerminalFD returns the file descriptor of r when r is a terminal.
func TerminalFD(r io.Reader) (int, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

// wipe overwrites a secret so that it does not linger in memory longer than Go makes it.
func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
