// Package safefile reads files named by untrusted input (a spec from a pull request, a path
// on the command line) without letting them hang or exhaust the process: only regular files
// are read, never more than a cap, and a FIFO, a device (/dev/zero, /dev/urandom), a
// directory or an oversize file is an error that names the file.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// ErrTooLarge is wrapped by Read when a file exceeds its cap.
var ErrTooLarge = errors.New("file too large")

// ErrNotRegular is wrapped by Read when the path is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// Read returns the contents of the regular file at path, at most max bytes. The file is
// opened without blocking (a FIFO with no writer would otherwise hang the open) and checked
// with fstat on the open descriptor, so a path swapped between check and read cannot slip a
// device in. A file that grows past max while being read is refused too.
func Read(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kind(st.Mode()))}
	}
	if st.Size() > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, st.Size(), max)}
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)}
	}
	return data, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return "mode " + m.String()
	}
}
