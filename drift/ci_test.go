package drift_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestCIExamples: the CI recipes parse and their shard arguments cover every shard once.
func TestCIExamples(t *testing.T) {
	var wf struct {
		On   map[string]any `yaml:"on"`
		Jobs map[string]struct {
			Strategy struct {
				Matrix struct {
					Shard []int `yaml:"shard"`
				} `yaml:"matrix"`
			} `yaml:"strategy"`
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	readYAML(t, "../examples/ci/ctlops-github-workflow.yml.example", &wf)
	for _, k := range []string{"pull_request", "schedule"} {
		if _, ok := wf.On[k]; !ok {
			t.Errorf("workflow: no %s trigger", k)
		}
	}
	runs := func(job string) string {
		var b strings.Builder
		for _, s := range wf.Jobs[job].Steps {
			b.WriteString(s.Run + "\n")
		}
		return b.String()
	}
	if r := runs("plan"); !strings.Contains(r, "ctlops plan ") || !strings.Contains(r, "--format markdown") {
		t.Errorf("plan job runs:\n%s", r)
	}
	shards := wf.Jobs["drift"].Strategy.Matrix.Shard
	if !strings.Contains(runs("drift"), fmt.Sprintf("--shard ${{ matrix.shard }}/%d", len(shards))) {
		t.Errorf("drift job does not shard over its %d matrix entries:\n%s", len(shards), runs("drift"))
	}
	for i, s := range shards {
		if s != i {
			t.Errorf("matrix shards %v, want 0..%d", shards, len(shards)-1)
		}
	}

	var cj struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Schedule    string `yaml:"schedule"`
			JobTemplate struct {
				Spec struct {
					CompletionMode string `yaml:"completionMode"`
					Completions    int    `yaml:"completions"`
					Parallelism    int    `yaml:"parallelism"`
					Template       struct {
						Spec struct {
							SecurityContext struct {
								RunAsUser int `yaml:"runAsUser"`
							} `yaml:"securityContext"`
							Containers []struct {
								Args []string `yaml:"args"`
							} `yaml:"containers"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			} `yaml:"jobTemplate"`
		} `yaml:"spec"`
	}
	readYAML(t, "../examples/ci/ctlops-drift-cronjob.yaml.example", &cj)
	js := cj.Spec.JobTemplate.Spec
	if cj.Kind != "CronJob" || js.CompletionMode != "Indexed" || js.Completions < 2 || js.Parallelism != js.Completions {
		t.Fatalf("cronjob %+v", cj)
	}
	// The recipe names the image the repository's Dockerfile builds, and runs it as that
	// image's user (a CronJob running as another uid could not write the image's /work).
	raw, err := os.ReadFile("../examples/ci/ctlops-drift-cronjob.yaml.example")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "Dockerfile") {
		t.Error("the CronJob recipe does not say which Dockerfile builds its image")
	}
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^USER (\d+)`).FindSubmatch(df)
	if m == nil {
		t.Fatal("the Dockerfile has no numeric USER")
	}
	if uid := string(m[1]); fmt.Sprint(js.Template.Spec.SecurityContext.RunAsUser) != uid {
		t.Errorf("the CronJob runs as uid %d, the Dockerfile's image as %s", js.Template.Spec.SecurityContext.RunAsUser, uid)
	}
	args := strings.Join(js.Template.Spec.Containers[0].Args, "\n")
	for _, want := range []string{fmt.Sprintf(`--shard "${JOB_COMPLETION_INDEX}/%d"`, js.Completions), "--metrics ", "ctlops drift "} {
		if !strings.Contains(args, want) {
			t.Errorf("cronjob args lack %q:\n%s", want, args)
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
