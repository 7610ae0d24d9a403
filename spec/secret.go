package spec

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// SecretRef points at a secret without holding it: the YAML is reviewed in pull requests and
// kept in Git, so a password or PIN is never written there.
type SecretRef struct {
	Env  string // environment variable name, or ""
	File string // absolute path of a file holding the secret, or ""
	Pos  Pos
}

// String describes the reference, never the value.
func (s SecretRef) String() string {
	if s.Env != "" {
		return "environment variable " + s.Env
	}
	return "file " + s.File
}

// Resolve returns the secret. Its error names the reference and where it was declared, and
// never contains the value (not even part of it).
func (s SecretRef) Resolve() (string, error) {
	where := ""
	if s.Pos.File != "" {
		where = " (referenced at " + s.Pos.String() + ")"
	}
	switch {
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set%s", s.Env, where)
		}
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty%s", s.Env, where)
		}
		return v, nil
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			// The *PathError names the file and the cause; it holds no content.
			var pe *os.PathError
			if errors.As(err, &pe) {
				return "", fmt.Errorf("secret file %s: %v%s", s.File, pe.Err, where)
			}
			return "", fmt.Errorf("secret file %s: cannot read it%s", s.File, where)
		}
		// One trailing newline is what `echo secret > file` leaves; it is not part of it.
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty%s", s.File, where)
		}
		return v, nil
	}
	return "", errors.New("empty secret reference" + where)
}

// check reports, as a warning text, why the secret could not be resolved right now ("" when it
// could). validate runs on machines (CI, a laptop) that do not hold the secrets, so this is a
// warning there and an error only when the value is needed.
func (s SecretRef) check(neededTo string) string {
	if s.Env != "" {
		if v, ok := os.LookupEnv(s.Env); !ok || v == "" {
			return fmt.Sprintf("environment variable %s is not set here; it is needed to %s", s.Env, neededTo)
		}
		return ""
	}
	fi, err := os.Stat(s.File)
	switch {
	case err != nil:
		return fmt.Sprintf("secret file %s does not exist here; it is needed to %s", s.File, neededTo)
	case fi.IsDir():
		return fmt.Sprintf("secret file %s is a directory", s.File)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Sprintf("secret file %s is readable by other users (mode %04o); chmod 600 it", s.File, fi.Mode().Perm())
	}
	return ""
}
