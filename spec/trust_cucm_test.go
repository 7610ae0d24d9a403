package spec

import (
	"path/filepath"
	"strings"
	"testing"
)

// cucmBase is a base-branch spec with a tokenless cluster (platform CLI) and a token cluster
// that declares serviceability endpoints: both interfaces get a password.
const cucmBase = `version: 1
clusters:
  - name: metro
    signing: tokenless
    mode: mixed
    platform:
      host: 127.0.0.1
      port: 40022
      hostKeys:
        - SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s
      credentials:
        username: platformadmin
        password: {env: METRO_PASSWORD}
      nodes:
        - {name: mpub, ssh: "127.0.0.1:40022", tftp: "127.0.0.1:40069", roles: [CCM, TFTP, CAPF]}
        - {name: msub, ssh: "127.0.0.1:40023", tftp: "127.0.0.1:40070", roles: [CCM, TFTP]}
  - name: hq
    mode: non-secure
    providers:
      - url: tftp://127.0.0.1:6969
    tokens:
      - {name: t1, certificate: CERTS/token1.pem}
      - {name: t4, certificate: CERTS/token4.der}
    serviceability:
      credentials: {username: axladmin, password: {env: AXL_PASSWORD}}
      tls: {ca: CERTS/ca.pem}
      nodes:
        - {name: cm1, host: 127.0.0.1, port: 18443, publisher: true}
`

// A pull request cannot move the platform CLI or the serviceability APIs, nor change which
// host keys, CA or secrets they use: each is refused naming the cluster and the field, and
// the cluster's secrets are withheld whatever the caller does with the error.
func TestPinCUCMInterfaces(t *testing.T) {
	testEnv(t)
	t.Setenv("METRO_PASSWORD", "metro-s3cret")
	t.Setenv("AXL_PASSWORD", "axl-s3cret")
	trusted, err := LoadTrusted(writeSpec(t, filepath.Join(t.TempDir(), "base"), cucmBase))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string {
		if !strings.Contains(cucmBase, old) {
			t.Fatalf("fixture has no %q", old)
		}
		return strings.Replace(cucmBase, old, new, 1)
	}
	tests := []struct {
		name, pr, want string // want "": accepted
	}{
		{"unchanged", cucmBase, ""},
		{"mode is the pull request's", strings.Replace(cucmBase, "mode: mixed", "mode: non-secure", 1), ""},
		{"a TFTP address changed (no secret)", edit(`tftp: "127.0.0.1:40070"`, `tftp: "127.0.0.1:40071"`), ""},
		{"publisher moved", strings.ReplaceAll(cucmBase, "40022", "41022"), `platform.host: cluster "metro": platform CLI 127.0.0.1:41022 is not a trusted endpoint`},
		{"subscriber moved", edit(`ssh: "127.0.0.1:40023"`, `ssh: "127.0.0.1:40024"`), `platform.nodes[1]: cluster "metro": node msub's platform CLI 127.0.0.1:40024 is not a trusted endpoint`},
		{"host key swapped", edit("SHA256:uNiV", "SHA256:vNiV"), `platform.hostKeys[0]: cluster "metro": host key SHA256:vNiV`},
		{"legacy algorithms switched on", edit("      hostKeys:", "      legacyAlgorithms: true\n      hostKeys:"), `platform.legacyAlgorithms: cluster "metro"`},
		{"platform secret swapped", edit("{env: METRO_PASSWORD}", "{env: AXL_PASSWORD}"), `platform.credentials.password: cluster "metro": the password is read from environment variable AXL_PASSWORD`},
		{"platform user changed", edit("username: platformadmin", "username: root"), `platform.credentials.username: cluster "metro": user "root"`},
		{"serviceability moved", edit("port: 18443", "port: 18444"), `serviceability.nodes[0]: cluster "hq": serviceability endpoint https://127.0.0.1:18444 is not a trusted one`},
		{"serviceability CA swapped", edit("tls: {ca: CERTS/ca.pem}", "tls: {ca: CERTS/token1.pem}"), `serviceability.tls.ca: cluster "hq": CA certificate`},
		{"serviceability secret swapped", edit("{env: AXL_PASSWORD}", "{env: METRO_PASSWORD}"), `serviceability.credentials.password: cluster "hq"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := Load(writeSpec(t, filepath.Join(t.TempDir(), "pr"), tt.pr))
			if err != nil {
				t.Fatalf("the pull request's spec does not load: %v", err)
			}
			err = cfg.Pin(trusted)
			platform := cfg.Cluster("metro").Platform.Credentials.Password
			axl := cfg.Cluster("hq").Serviceability.Credentials.Password
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				// Positive control for the withholding below: accepted secrets resolve.
				if _, err := platform.Resolve(); err != nil {
					t.Fatalf("accepted, but the platform password does not resolve: %v", err)
				}
				if _, err := axl.Resolve(); err != nil {
					t.Fatalf("accepted, but the AXL password does not resolve: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error does not say %q:\n%v", tt.want, err)
			}
			refused := platform
			if strings.Contains(tt.want, `cluster "hq"`) {
				refused = axl
			}
			if _, rerr := refused.Resolve(); rerr == nil || !strings.Contains(rerr.Error(), "secrets withheld") {
				t.Errorf("Resolve after a refusal: %v", rerr)
			}
		})
	}
}
