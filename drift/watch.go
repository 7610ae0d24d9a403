package drift

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/ctlops/ctlops/internal/termsafe"
	"github.com/ctlops/ctlops/plan"
	"github.com/ctlops/ctlops/spec"
)

// WatchOptions configure Watch.
type WatchOptions struct {
	// Path is the spec file or directory ("" means ./ctlops.yaml), as spec.Load takes it.
	Path string
	// Load are the options of every load of the spec (watch's --expiry-window).
	Load spec.LoadOptions
	// Debounce is how long the files must stay quiet before a re-plan (200 ms when zero):
	// an editor's save is several events (truncate, write, chmod; or create, write, rename).
	Debounce time.Duration
	// Plan fetches and plans a loaded spec.
	Plan func(ctx context.Context, cfg *spec.Config) (*plan.Plan, error)
	// Render prints a plan to Out.
	Render func(w io.Writer, p *plan.Plan) error
	Out    io.Writer
	// Errs gets spec errors and warnings, fetch errors and the watcher's own messages.
	Errs io.Writer
	// Ready, when set, is called each time the watches are in place after a (re)load.
	Ready func()
}

// Watch plans the spec, then re-plans whenever a spec file or a file it references (token
// certificates, the CA, a software signing certificate, a password file) changes, until ctx
// ends. It watches directories, not files: editors replace a file by writing a temporary one
// and renaming it, which a watch on the old file never sees. A spec that does not load prints
// its errors and the watch goes on with the last known set of files.
func Watch(ctx context.Context, o WatchOptions) error {
	if o.Debounce <= 0 {
		o.Debounce = 200 * time.Millisecond
	}
	path := o.Path
	if path == "" {
		path = spec.DefaultFile
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	ws := &watchSet{w: w, dirs: map[string]bool{}}
	var refs []string // files referenced by the last spec that loaded
	reload := func(why string) {
		if why != "" {
			fmt.Fprintf(o.Errs, "\n%s changed; planning again at %s\n\n", termsafe.Line(why), time.Now().Format("15:04:05"))
		}
		cfg, warnings, err := spec.LoadWith(path, o.Load)
		// The spec's errors and warnings name its files, and a spec from a pull request names
		// files of its choosing: they go through the terminal filter, as validate's do.
		for _, wn := range warnings {
			fmt.Fprintln(o.Errs, termsafe.String(wn.String()))
		}
		if err != nil {
			fmt.Fprintf(o.Errs, "%s\nThe spec does not load; watching for the next change.\n", termsafe.Error(err))
		} else {
			refs = referenced(cfg)
			if p, err := o.Plan(ctx, cfg); err != nil {
				fmt.Fprintf(o.Errs, "plan: %s\n", termsafe.Error(err))
			} else if err := o.Render(o.Out, p); err != nil {
				fmt.Fprintf(o.Errs, "render: %s\n", termsafe.Error(err))
			}
		}
		if err := ws.set(path, refs); err != nil {
			fmt.Fprintf(o.Errs, "watch: %v\n", err)
		}
		if o.Ready != nil {
			o.Ready()
		}
	}
	reload("")

	var timer *time.Timer
	var fire <-chan time.Time
	changed := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case e, ok := <-w.Events:
			if !ok {
				return errors.New("watch: the file watcher stopped")
			}
			if !ws.relevant(e.Name) || e.Op == fsnotify.Chmod {
				continue
			}
			changed[e.Name] = true
			if timer == nil {
				timer = time.NewTimer(o.Debounce)
			} else {
				timer.Reset(o.Debounce)
			}
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("watch: the file watcher stopped")
			}
			fmt.Fprintf(o.Errs, "watch: %v\n", err)
		case <-fire:
			fire = nil
			var names []string
			for n := range changed {
				names = append(names, n)
			}
			sort.Strings(names)
			changed = map[string]bool{}
			reload(strings.Join(names, ", "))
		}
	}
}

// referenced lists every file the spec names beside its own YAML files.
func referenced(cfg *spec.Config) []string {
	var out []string
	add := func(p string) {
		if p != "" {
			out = append(out, p)
		}
	}
	for _, f := range cfg.Files {
		add(f)
	}
	for _, c := range cfg.Clusters {
		for _, t := range c.Tokens {
			add(t.CertFile)
		}
		if c.TLS != nil {
			add(c.TLS.CAFile)
		}
		if c.Credentials != nil {
			add(c.Credentials.Password.File)
		}
		if s := c.SignWith; s != nil && s.Software != nil {
			add(s.Software.CertFile)
		}
	}
	return out
}

// watchSet is the directories watched and the files in them that matter.
type watchSet struct {
	w       *fsnotify.Watcher
	dirs    map[string]bool
	files   map[string]bool
	specDir string // when the spec is a directory: any *.yaml / *.yml in it
}

func (s *watchSet) set(specPath string, refs []string) error {
	files := map[string]bool{}
	want := map[string]bool{}
	s.specDir = ""
	abs, err := filepath.Abs(specPath)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		s.specDir = abs
		want[abs] = true
	} else {
		files[abs] = true
		want[filepath.Dir(abs)] = true
	}
	for _, r := range refs {
		a, err := filepath.Abs(r)
		if err != nil {
			continue
		}
		files[a] = true
		want[filepath.Dir(a)] = true
	}
	s.files = files
	var errs []error
	for d := range want {
		if !s.dirs[d] {
			if err := s.w.Add(d); err != nil {
				errs = append(errs, err)
				continue
			}
			s.dirs[d] = true
		}
	}
	for d := range s.dirs {
		if !want[d] {
			_ = s.w.Remove(d)
			delete(s.dirs, d)
		}
	}
	return errors.Join(errs...)
}

func (s *watchSet) relevant(name string) bool {
	a, err := filepath.Abs(name)
	if err != nil {
		return false
	}
	if s.files[a] {
		return true
	}
	if s.specDir != "" && filepath.Dir(a) == s.specDir {
		b := filepath.Base(a)
		return !strings.HasPrefix(b, ".") && (strings.HasSuffix(b, ".yaml") || strings.HasSuffix(b, ".yml"))
	}
	return false
}
