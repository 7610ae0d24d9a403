package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ctlops/ctlops/internal/safefile"
)

// maxSecretSize bounds a {file:} secret: a password or PIN is short, and /dev/zero is not one.
const maxSecretSize = 4 << 10

// SecretDirsEnv names the environment variable that lists (with the OS path-list separator,
// ':' on Linux) the directories {file:} secrets may be read from besides the spec's own
// folder. Unset, that is DefaultSecretDir alone.
const SecretDirsEnv = "CTLOPS_SECRET_DIRS"

// DefaultSecretDir is where container runtimes and Kubernetes mount secrets.
const DefaultSecretDir = "/run/secrets"

// SecretDirs returns the directories {file:} secrets may be read from for a spec whose folder
// is root: root itself (a pull request can only put there what it could write anyway) and
// the operator's list, CTLOPS_SECRET_DIRS, or /run/secrets when that is unset. A pull request
// that names {file: /home/runner/.token-pin} as a password would otherwise send that file to
// whatever server it points the cluster at.
func SecretDirs(root string) []string {
	var dirs []string
	if root != "" {
		dirs = append(dirs, root)
	}
	v, ok := os.LookupEnv(SecretDirsEnv)
	if !ok {
		return append(dirs, DefaultSecretDir)
	}
	for _, d := range filepath.SplitList(v) {
		if d != "" && filepath.IsAbs(d) {
			dirs = append(dirs, filepath.Clean(d))
		}
	}
	return dirs
}

// allowed refuses a {file:} secret outside SecretDirs. Symbolic links are followed first
// (a link in the spec's folder to /etc/shadow is outside), and nothing under a .git directory
// is a secret: actions/checkout keeps a token in .git/config.
func (s SecretRef) allowed() error {
	real := s.File
	if r, err := filepath.EvalSymlinks(s.File); err == nil {
		real = r
	}
	for _, el := range strings.Split(filepath.ToSlash(real), "/") {
		if el == ".git" {
			return fmt.Errorf("secret file %s is inside a .git directory, which holds no secret of ctlops", s.file())
		}
	}
	dirs := SecretDirs(s.root)
	for _, d := range dirs {
		if rd, err := filepath.EvalSymlinks(d); err == nil {
			d = rd
		}
		if rel, err := filepath.Rel(d, real); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return nil
		}
	}
	return fmt.Errorf("secret file %s is outside the directories secrets are read from (%s)", s.file(), describeSecretDirs())
}

// describeSecretDirs names the allowed directories without the spec's absolute folder, so that
// the message is the same on every checkout.
func describeSecretDirs() string {
	v, ok := os.LookupEnv(SecretDirsEnv)
	if !ok {
		return "the spec's folder and " + DefaultSecretDir + "; the operator allows others with " + SecretDirsEnv
	}
	return "the spec's folder and " + SecretDirsEnv + "=" + v
}

// SecretRef points at a secret without holding it: the YAML is reviewed in pull requests and
// kept in Git, so a password or PIN is never written there.
type SecretRef struct {
	Env  string // environment variable name, or ""
	File string // absolute path of a file holding the secret, or ""
	Pos  Pos

	// hidden is set by the loader for a {file:} path written without a '/' (see env/file).
	hidden bool
	// root is the spec's own folder, where {file:} secrets may always be read (SecretDirs).
	root string
	// refused, when set, is why this secret must not be resolved: the cluster's connection
	// settings differ from the trusted ones (Config.Pin). Resolve returns it as its error.
	refused string
}

// String describes the reference, never the value.
func (s SecretRef) String() string {
	if s.Env != "" {
		return "environment variable " + s.env()
	}
	return "file " + s.file()
}

// hidden says whether the reference itself is not shown in messages: an admin who typed the
// password where the variable's name or the file's path goes must not see it echoed into a
// CI log. A variable's name is shown when it is written as variables are (A_Z0_9); a file's
// path when it was written with a '/'.
func (s SecretRef) env() string {
	if s.hidden || !shownEnv.MatchString(s.Env) {
		return "named at " + s.where() + " (its name is not shown: it may be a password typed there)"
	}
	return s.Env
}

func (s SecretRef) file() string {
	if s.hidden {
		return "named at " + s.where() + " (its path is not shown: without a '/' it may be a password typed there)"
	}
	return s.File
}

func (s SecretRef) where() string {
	if s.Pos.File == "" {
		return "an unknown place"
	}
	return s.Pos.String()
}

var shownEnv = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)

// Resolve returns the secret. Its error names the reference and where it was declared, and
// never contains the value (not even part of it).
func (s SecretRef) Resolve() (string, error) {
	where := ""
	if s.Pos.File != "" {
		where = " (referenced at " + s.Pos.String() + ")"
	}
	if s.refused != "" {
		return "", errors.New(s.refused)
	}
	switch {
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set%s", s.env(), where)
		}
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty%s", s.env(), where)
		}
		return v, nil
	case s.File != "":
		if err := s.allowed(); err != nil {
			return "", fmt.Errorf("%v%s", err, where)
		}
		b, err := safefile.Read(s.File, maxSecretSize)
		if err != nil {
			// The *PathError names the file and the cause; it holds no content.
			var pe *os.PathError
			if errors.As(err, &pe) {
				return "", fmt.Errorf("secret file %s: %v%s", s.file(), pe.Err, where)
			}
			return "", fmt.Errorf("secret file %s: cannot read it%s", s.file(), where)
		}
		// One trailing newline is what `echo secret > file` leaves; it is not part of it.
		v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty%s", s.file(), where)
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
			return fmt.Sprintf("environment variable %s is not set here; it is needed to %s", s.env(), neededTo)
		}
		return ""
	}
	if err := s.allowed(); err != nil {
		return err.Error()
	}
	fi, err := os.Stat(s.File)
	switch {
	case err != nil:
		return fmt.Sprintf("secret file %s does not exist here; it is needed to %s", s.file(), neededTo)
	case fi.IsDir():
		return fmt.Sprintf("secret file %s is a directory", s.file())
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Sprintf("secret file %s is readable by other users (mode %04o); chmod 600 it", s.file(), fi.Mode().Perm())
	}
	return ""
}
