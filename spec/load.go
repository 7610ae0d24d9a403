package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-multierror"
	"gopkg.in/yaml.v3"
)

// DefaultFile is what Load reads when given no path.
const DefaultFile = "ctlops.yaml"

// Load reads the desired state from path: a YAML file, or a directory whose *.yaml and *.yml
// files are read in name order (one cluster per file is a common layout); "" means
// ./ctlops.yaml. On failure the error is a *multierror.Error of *Error, one per problem, in
// file and line order (see Errors), and the Config is nil. Warnings come back either way.
func Load(path string) (*Config, []Warning, error) {
	return load(path, time.Now())
}

// LoadOptions change what Load reads; the zero value is Load's.
type LoadOptions struct {
	// ExpiryWarning, when set, overrides every expiryWarning of the spec, the file's and each
	// cluster's (the --expiry-window flag of validate, plan, apply, drift and watch): the
	// warnings of validate, and Cluster.ExpiryWarning, which plan and drift warn with, use it.
	// It is not part of the model, so it leaves the spec's digest as it is.
	ExpiryWarning *time.Duration
}

// LoadWith is Load with options.
func LoadWith(path string, o LoadOptions) (*Config, []Warning, error) {
	return (&loader{now: time.Now(), files: map[string][]byte{}, window: o.ExpiryWarning}).load(path)
}

var errNoDefault = fmt.Errorf("no %s here; give the spec with -f FILE or -f DIR", DefaultFile)

// loader holds what is shared across the files of one Load.
type loader struct {
	// trustOnly reads only what carries trust (LoadTrusted): each cluster's name, providers,
	// credentials, tls, alternateTFTP and signWith; other keys are allowed and ignored.
	trustOnly bool
	now       time.Time
	root      string            // absolute directory the digest names files relative to
	files     map[string][]byte // absolute path -> content, for the digest
	errs      []*Error
	warns     []Warning
	total     int                   // bytes of YAML read so far (MaxSpecTotal)
	certs     map[string]certResult // certificate files read, by path and cap
	window    *time.Duration        // LoadOptions.ExpiryWarning: overrides the spec's
}

func load(path string, now time.Time) (*Config, []Warning, error) {
	return (&loader{now: now, files: map[string][]byte{}}).load(path)
}

func (l *loader) load(path string) (*Config, []Warning, error) {
	if path == "" {
		path = DefaultFile
	}
	files, err := l.list(path)
	if err != nil {
		pos := Pos{File: path}
		if errors.Is(err, errNoDefault) {
			pos = Pos{} // the message names the file already
		}
		return nil, nil, multi([]*Error{{Pos: pos, Msg: err.Error()}})
	}
	cfg := &Config{Version: Version, Files: files, root: l.root}
	// refs remembers, per cluster, the nodes needed by checks that span files.
	var refs []clusterRefs
	for _, f := range files {
		cls, r := l.file(f)
		cfg.Clusters = append(cfg.Clusters, cls...)
		refs = append(refs, r...)
	}
	l.crossCheck(cfg, refs)

	sortByPos(l.warns, func(w Warning) Pos { return w.Pos })
	if len(l.errs) > 0 {
		sortByPos(l.errs, func(e *Error) Pos { return e.Pos })
		return nil, l.warns, multi(l.errs)
	}
	cfg.digest = l.digest()
	return cfg, l.warns, nil
}

func multi(es []*Error) error {
	m := &multierror.Error{ErrorFormat: listFormat}
	for _, e := range es {
		m.Errors = append(m.Errors, e)
	}
	return m
}

// list returns the YAML files to read, as the user will see them in messages.
func (l *loader) list(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if path == DefaultFile {
				return nil, errNoDefault
			}
			return nil, errors.New("no such file or directory")
		}
		return nil, err
	}
	if !fi.IsDir() {
		abs, err := filepath.Abs(filepath.Dir(path))
		if err != nil {
			return nil, err
		}
		l.root = abs
		return []string{path}, nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	l.root = abs
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		if strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") {
			out = append(out, filepath.Join(path, n))
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, errors.New("directory holds no *.yaml or *.yml file")
	}
	return out, nil
}

// clusterRefs keeps what crossCheck needs to point at the right line.
type clusterRefs struct {
	cluster  *Cluster
	path     string
	name     *yaml.Node
	altNodes []*yaml.Node // per AlternateTFTP entry: its cluster value node (nil if none)
	dec      *decoder
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// file decodes one YAML file; problems go to l.errs and l.warns.
func (l *loader) file(name string) ([]*Cluster, []clusterRefs) {
	b, err := l.readSpecFile(name)
	d := &decoder{file: name, dir: filepath.Dir(name), root: l.root, src: b}
	defer func() {
		d.flushDropped()
		l.errs = append(l.errs, d.errs...)
		l.warns = append(l.warns, d.warns...)
	}()
	if err != nil {
		d.errorf(nil, "", "%v", err)
		return nil, nil
	}
	if !d.checkInput(b) {
		return nil, nil
	}
	l.addFile(name, b)
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			d.errorf(nil, "", "empty file: want version and clusters")
			return nil, nil
		}
		d.yamlError(err)
		return nil, nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			d.yamlError(err)
		} else {
			d.errorf(&extra, "", "a second YAML document (---): keep one document per file")
		}
		return nil, nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	top, ok := d.mapping(root, "", keys["root"]...)
	if !ok {
		return nil, nil
	}
	d.required(top, "version", "clusters")
	if v, ok := top.get("version"); ok {
		if n, ok := d.integer(v.val, "version"); ok && n != Version {
			d.errorf(v.val, "version", "unsupported version %d: this ctlops reads version %d", n, Version)
		}
	}
	d.window = DefaultExpiryWarning
	if v, ok := top.get("expiryWarning"); ok {
		if w, ok := d.days(v.val, "expiryWarning"); ok {
			d.window = w
		}
	}
	if l.window != nil {
		d.window = *l.window
	}
	var clusters []*Cluster
	var refs []clusterRefs
	if c, ok := top.get("clusters"); ok {
		items, ok := d.list(c.val, "clusters")
		if ok && len(items) == 0 {
			d.errorf(c.val, "clusters", "no cluster declared")
		}
		for i, it := range items {
			cl, r := l.cluster(d, it, index("clusters", i))
			if cl != nil {
				clusters = append(clusters, cl)
				refs = append(refs, r)
			}
		}
	}
	return clusters, refs
}

// yamlError turns a yaml.v3 syntax error, which gives a line but no column, into an *Error.
func (d *decoder) yamlError(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		line = syntaxLine(d.src, line, m[2])
		d.errs = append(d.errs, &Error{Pos: Pos{File: d.file, Line: line}, Msg: "YAML syntax: " + m[2]})
		return
	}
	d.errs = append(d.errs, &Error{Pos: Pos{File: d.file}, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")})
}

// unwrapPath drops the path from an *fs.PathError: messages already start with the file name.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// resolvePath makes a path named in a file relative to that file's directory. It returns the
// absolute path (for the loaded types) and the path as the user will recognise it in messages.
func (d *decoder) resolvePath(p string) (abs, shown string) {
	shown = p
	if !filepath.IsAbs(p) {
		shown = filepath.Join(d.dir, p)
	}
	abs, err := filepath.Abs(shown)
	if err != nil {
		abs = shown
	}
	return abs, shown
}

func (l *loader) addFile(name string, b []byte) {
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = name
	}
	l.files[abs] = b
}

// digest hashes every file read (YAML and certificates; secrets are never read at load) under
// its path relative to the root, so that moving the checkout does not change it.
func (l *loader) digest() string {
	names := make([]string, 0, len(l.files))
	for n := range l.files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		rel, err := filepath.Rel(l.root, n)
		if err != nil {
			rel = n
		}
		sum := sha256.Sum256(modelBytes(n, l.files[n]))
		fmt.Fprintf(h, "%s\x00%x\n", filepath.ToSlash(rel), sum)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// modelBytes is what the digest hashes of one file: for YAML, the decoded documents as JSON
// (sorted keys), so that comments and layout, which are not the model, leave a saved plan fresh
// (issue 17); for certificates, and YAML that does not re-encode (non-string keys), the bytes.
func modelBytes(name string, b []byte) []byte {
	if ext := strings.ToLower(filepath.Ext(name)); ext != ".yaml" && ext != ".yml" {
		return b
	}
	var docs []any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return b
		}
		docs = append(docs, v)
	}
	j, err := json.Marshal(docs)
	if err != nil {
		return b
	}
	return j
}
