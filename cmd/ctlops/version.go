package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is the release name: set with -ldflags "-X main.version=…" by `make build` and
// `make release` (git describe); otherwise it comes from the module's build information, which
// `go install github.com/ctlops/ctlops/cmd/ctlops@v1.2.3` fills with the module version.
var version = "dev"

// revision is the VCS revision given at link time (-X main.revision=…). Go stamps the revision
// itself into binaries built in a git checkout (vcs.revision in the build info), but not in a
// git worktree, whose .git is a file, nor with -buildvcs=false: the Makefile passes it too.
var revision = ""

func init() {
	register(newVersionCmd)
	bi, _ := debug.ReadBuildInfo()
	version = moduleVersion(version, bi)
}

// moduleVersion picks the version to report: the one given at link time, else the module's
// (a tag or a pseudo-version from `go install …@latest`), else "dev".
func moduleVersion(linked string, bi *debug.BuildInfo) string {
	if linked != "" && linked != "dev" {
		return linked
	}
	if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// versionString is what `ctlops version` and `ctlops --version` print after "ctlops ": the
// version, then the VCS revision, its time and whether the tree was modified (Go stamps these
// into binaries built in a checkout), then the Go release and platform.
func versionString() string {
	bi, _ := debug.ReadBuildInfo()
	return describe(version, bi)
}

func describe(v string, bi *debug.BuildInfo) string {
	settings := map[string]string{}
	goVersion := runtime.Version()
	if bi != nil {
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
	}
	if settings["vcs.revision"] == "" {
		settings["vcs.revision"] = revision
	}
	var parts []string
	if rev := settings["vcs.revision"]; rev != "" {
		r := "revision " + rev
		if t := settings["vcs.time"]; t != "" {
			r += " (" + t + ")"
		}
		if settings["vcs.modified"] == "true" {
			r += ", modified"
		}
		parts = append(parts, r)
	}
	parts = append(parts, fmt.Sprintf("%s %s/%s", goVersion, runtime.GOOS, runtime.GOARCH))
	return v + "\n" + strings.Join(parts, "\n")
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print ctlops' version, VCS revision and Go release",
		Long: `version prints the release (a tag, or the module version "go install …@latest" fetched),
the VCS revision the binary was built from, and the Go release and platform. The same as
"ctlops --version".

Exit status: 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "ctlops %s\n", versionString())
			return err
		},
	}
}
