package adopt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/spec"
)

// Import reads the cluster at o.Sources and writes o.Out/ctlops.yaml with the certificate
// files it names. Nothing is written when anything fails: the directory is checked first
// (a spec there, or any file import would replace, is refused without Force), the spec is
// then built and loaded back with the spec package in a scratch directory (what `ctlops
// validate` will say), and only then are the files written, each atomically, the spec last.
func Import(ctx context.Context, o Options) (*Result, error) {
	if o.Out == "" {
		return nil, errors.New("--out DIR is required")
	}
	if len(o.Sources) == 0 {
		return nil, errors.New("give at least one SOURCE (tftp://host:port, https://host:port, dir://PATH, ssh://user@host:port)")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Name != "" && !namePattern.MatchString(o.Name) {
		return nil, fmt.Errorf("--name %q: letters, digits, '.', '_' and '-', at most 64", o.Name)
	}
	var srcs []source
	seen := map[string]bool{}
	for _, s := range o.Sources {
		src, err := parseSource(s)
		if err != nil {
			return nil, err
		}
		if seen[src.open] {
			return nil, fmt.Errorf("source %s is given twice", s)
		}
		seen[src.open] = true
		srcs = append(srcs, src)
	}
	tokenless := false
	for _, s := range srcs {
		tokenless = tokenless || s.ssh
	}
	if tokenless && len(srcs) > 1 {
		return nil, errors.New("an ssh:// source is the publisher of a tokenless cluster and comes alone: the nodes come from its `show network cluster` (--node-ssh and --node-tftp say where a node is reached)")
	}
	if o.PasswordEnv == "" {
		o.PasswordEnv = DefaultPasswordEnv
		if tokenless {
			o.PasswordEnv = DefaultPlatformPasswordEnv
		}
	}
	if err := checkOut(o.Out, nil, o.Force); err != nil {
		return nil, err
	}
	var (
		c     *cluster
		files []outFile
		res   *Result
	)
	if tokenless {
		r, err := readPlatform(ctx, o, srcs[0])
		if err != nil {
			return nil, err
		}
		if c, res, err = buildPlatform(o, r); err != nil {
			return nil, err
		}
	} else {
		po, err := providerOptions(o, srcs)
		if err != nil {
			return nil, err
		}
		r, err := readAll(ctx, srcs, po)
		if err != nil {
			return nil, err
		}
		if c, files, res, err = build(o, srcs, r); err != nil {
			return nil, err
		}
		res.Signing = spec.SigningTokens
	}
	header := []string{
		"Written by `ctlops import` on " + o.Now.UTC().Format("2006-01-02") + " from " + strings.Join(res.Sources, ", ") + ".",
		"Check it with `ctlops validate -f DIR`; `ctlops drift -f DIR` should report no change.",
	}
	doc, err := c.document(header)
	if err != nil {
		return nil, err
	}
	files = append(files, outFile{path: spec.DefaultFile, data: doc})
	if err := checkOut(o.Out, files, o.Force); err != nil {
		return nil, err
	}
	warns, err := selfCheck(o.Out, files)
	if err != nil {
		return nil, err
	}
	res.SpecWarnings = warns
	if err := writeFiles(o.Out, files); err != nil {
		return nil, err
	}
	for _, f := range files {
		res.Files = append(res.Files, f.path)
	}
	return res, nil
}

// checkOut refuses a directory that already holds a spec (any *.yaml or *.yml, which `-f DIR`
// would read too) and files that would be replaced, unless force.
func checkOut(out string, files []outFile, force bool) error {
	if force {
		return nil
	}
	fi, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("--out %s is not a directory", out)
	}
	ents, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	var specs []string
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, ".") && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			specs = append(specs, n)
		}
	}
	if len(specs) > 0 {
		return fmt.Errorf("%s already holds a spec (%s): import into an empty directory, or give --force to replace it", out, strings.Join(specs, ", "))
	}
	var exist []string
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(out, filepath.FromSlash(f.path))); err == nil {
			exist = append(exist, f.path)
		}
	}
	if len(exist) > 0 {
		sort.Strings(exist)
		return fmt.Errorf("%s: %s already exist(s); nothing was written (--force replaces them)", out, strings.Join(exist, ", "))
	}
	return nil
}

// selfCheck writes the files into a scratch directory and loads the spec from there as
// `ctlops validate` would: a spec import writes must load.
func selfCheck(out string, files []outFile) ([]string, error) {
	tmp, err := os.MkdirTemp("", "ctlops-import-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := writeFiles(tmp, files); err != nil {
		return nil, err
	}
	_, warns, err := spec.Load(filepath.Join(tmp, spec.DefaultFile))
	// Messages name the files where they will be, not the scratch directory.
	rel := strings.NewReplacer(tmp+string(filepath.Separator), filepath.Clean(out)+string(filepath.Separator))
	var ws []string
	for _, w := range warns {
		ws = append(ws, rel.Replace(w.String()))
	}
	if err != nil {
		return nil, fmt.Errorf("the spec import made does not load (please report this): %s", rel.Replace(err.Error()))
	}
	return ws, nil
}

// writeFiles writes each file atomically, creating folders as needed, in order (the spec is
// the last file, so an interrupted import never leaves a spec naming missing certificates).
func writeFiles(dir string, files []outFile) error {
	for _, f := range files {
		// Names are sanitised where they are made (names.go); this is the last line of defence
		// against a path that would leave the directory.
		if !filepath.IsLocal(filepath.FromSlash(f.path)) {
			return fmt.Errorf("refusing to write %q outside %s", f.path, dir)
		}
		p := filepath.Join(dir, filepath.FromSlash(f.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := atomicfile.Write(p, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
