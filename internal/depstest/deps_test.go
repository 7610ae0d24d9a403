package depstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/ctlops/ctlops"

// allowed lists, for each package of the module, the project packages it may import
// directly. The layering it writes down: cmd -> apply/drift -> live/plan -> spec,
// provider, token -> ctl, with cucm (the shared value types) and the internal helpers below
// everything. A package that is not listed fails the test: say where it sits first.
var allowed = map[string][]string{
	"ctl":                           {},
	"cucm":                          {"internal/termsafe"},
	"internal/atomicfile":           {},
	"internal/safefile":             {},
	"internal/termsafe":             {},
	"internal/redact":               {},
	"internal/progress":             {"internal/termsafe"},
	"internal/ptytest":              {},
	"internal/golden":               {},
	"internal/testcert":             {},
	"internal/depstest":             {},
	"schemas":                       {},
	"schemas/internal/yaml2json":    {"schemas"},
	"spec":                          {"ctl", "cucm", "phonerules", "internal/safefile", "internal/termsafe"},
	"token":                         {"ctl", "phonerules", "internal/safefile", "internal/termsafe"},
	"token/softhsm":                 {},
	"provider":                      {"ctl", "cucm", "internal/atomicfile", "internal/redact", "internal/safefile", "internal/termsafe"},
	"provider/refserver":            {"ctl", "cucm", "provider", "internal/atomicfile", "internal/safefile", "internal/termsafe"},
	"provider/providertest":         {"ctl", "cucm", "provider", "provider/refserver", "provider/providertest/hostile"},
	"provider/providertest/hostile": {},
	"plan":                          {"ctl", "cucm", "phonerules", "cucm/tokenless", "spec", "internal/atomicfile", "internal/safefile", "internal/termsafe"},
	"live":                          {"ctl", "cucm", "cucm/adapter", "cucm/platform", "cucm/serviceability", "plan", "provider", "spec", "internal/progress", "internal/termsafe"},
	"drift":                         {"ctl", "cucm", "live", "plan", "spec", "internal/atomicfile", "internal/progress", "internal/termsafe"},
	"apply":                         {"ctl", "cucm", "phonerules", "cucm/adapter", "cucm/platform", "live", "plan", "provider", "spec", "token", "internal/atomicfile", "internal/safefile", "internal/termsafe", "cucm/serviceability", "rollout"},
	"lab":                           {"ctl", "cucm", "provider", "provider/refserver", "spec", "token", "token/softhsm", "internal/atomicfile", "internal/safefile", "internal/termsafe", "lab/callmanager", "lab/cnf", "lab/phone", "phonerules", "cucm/serviceability", "lab/servicesim", "lab/cucmsim"},
	"internal/labtest":              {"ctl", "cucm", "live", "plan", "provider", "provider/providertest", "spec", "internal/termsafe"},
	"rollout":                       {"cucm/serviceability", "internal/termsafe"},
	"phonerules":                    {"ctl"},
	"cucm/tokenless":                {"ctl"},
	"cucm/platform":                 {"cucm/tokenless", "internal/safefile", "internal/termsafe"},
	"cucm/adapter":                  {"ctl", "cucm/platform", "cucm/tokenless", "internal/termsafe"},
	"lab/cucmsim":                   {"ctl", "cucm/tokenless", "internal/atomicfile", "internal/safefile"},
	"cucm/serviceability":           {"internal/redact", "internal/termsafe"},
	"lab/servicesim":                {"cucm/serviceability"},
	"lab/servicesim/servicesimtest": {"cucm/serviceability", "lab/servicesim"},
	"adopt":                         {"ctl", "cucm", "cucm/adapter", "cucm/platform", "cucm/tokenless", "provider", "spec", "internal/atomicfile", "internal/safefile", "internal/termsafe"},
	"docs":                          {},
	"lab/cnf":                       {},
	"lab/tvs":                       {"ctl"},
	"lab/phonetest":                 {"ctl"},
	"lab/callmanager":               {"ctl", "internal/atomicfile", "lab/cnf", "lab/tvs"},
	"lab/phone":                     {"ctl", "internal/atomicfile", "lab/callmanager", "lab/cnf", "lab/tvs", "phonerules"},
	"cmd/ctl-provider":              {"provider/refserver", "lab/servicesim", "lab/cucmsim", "internal/safefile", "internal/termsafe"},
	"internal/fleetbench":           {"ctl", "live", "provider", "provider/refserver", "spec", "internal/fleetbench/manifest"},
	"internal/fleetbench/fleetsrv":  {"provider/refserver", "internal/atomicfile", "internal/fleetbench/manifest"},
	"internal/fleetbench/manifest":  {},
	"lab/cucmsim/cucmsimtest":       {"lab/cucmsim", "spec"},
	"cmd/ctlops":                    {"*"},
	"test":                          {"*"},
}

// pure are the layers that decide without touching the network, a process or a terminal:
// none of them may reach these packages, directly or through anything they import.
var pure = []string{"ctl", "cucm", "cucm/tokenless", "spec", "plan", "phonerules"}

var forbiddenForPure = []string{
	"net/http", "crypto/tls", "net/rpc", "net/smtp",
	"os/exec", "golang.org/x/term", "golang.org/x/crypto/ssh", "github.com/pin/tftp/v3",
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// check returns every edge that breaks the policy, one line each.
func check(pkgs []pkg) []string {
	var bad []string
	for _, p := range pkgs {
		name, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		may, listed := allowed[name]
		if !listed {
			bad = append(bad, fmt.Sprintf("package %s has no entry in the dependency policy: add it to allowed with the project packages it may import", name))
			continue
		}
		for _, imp := range p.Imports {
			dep, ok := strings.CutPrefix(imp, module+"/")
			if ok && !slices.Contains(may, "*") && !slices.Contains(may, dep) {
				bad = append(bad, fmt.Sprintf("new edge %s -> %s: not allowed by the dependency policy", name, dep))
			}
		}
		if slices.Contains(pure, name) {
			for _, d := range p.Deps {
				for _, f := range forbiddenForPure {
					if d == f || strings.HasPrefix(d, f+"/") {
						bad = append(bad, fmt.Sprintf("%s reaches %s (transitively): the pure layers touch no network, process or terminal", name, d))
					}
				}
			}
		}
	}
	sort.Strings(bad)
	return bad
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestDependencyPolicy(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages of the module; the test would prove nothing", len(pkgs))
	}
	var seenPlan bool
	for _, p := range pkgs {
		seenPlan = seenPlan || p.ImportPath == module+"/plan"
	}
	if !seenPlan {
		t.Fatal("the plan package is not in go list's answer")
	}
	for _, b := range check(pkgs) {
		t.Error(b)
	}
}

// TestDependencyPolicyControls: the checker catches a forbidden direct edge, a forbidden
// package reached transitively, and a package nobody placed, so a passing
// TestDependencyPolicy means something.
func TestDependencyPolicyControls(t *testing.T) {
	for _, c := range []struct {
		name string
		pkg  pkg
		want string
	}{
		{"direct edge", pkg{ImportPath: module + "/plan", Imports: []string{module + "/provider"}}, "new edge plan -> provider"},
		{"transitive network", pkg{ImportPath: module + "/spec", Deps: []string{"fmt", "net/http", "net/http/internal"}}, "spec reaches net/http"},
		{"transitive terminal", pkg{ImportPath: module + "/ctl", Deps: []string{"golang.org/x/term"}}, "ctl reaches golang.org/x/term"},
		{"unplaced package", pkg{ImportPath: module + "/newthing"}, "package newthing has no entry"},
		{"drift writes", pkg{ImportPath: module + "/drift", Imports: []string{module + "/provider"}}, "new edge drift -> provider"},
	} {
		got := strings.Join(check([]pkg{c.pkg}), "\n")
		if !strings.Contains(got, c.want) {
			t.Errorf("%s: check says %q, want it to contain %q", c.name, got, c.want)
		}
	}
	if got := check([]pkg{{ImportPath: module + "/plan", Imports: []string{module + "/ctl", "fmt"}, Deps: []string{"net", "net/url"}}}); len(got) != 0 {
		t.Errorf("an allowed package is reported: %v", got)
	}
}
