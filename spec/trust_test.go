package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// baseSpec is the reviewed spec of the base branch; pull requests below edit copies of it.
const baseSpec = `version: 1
clusters:
  - name: hq
    mode: mixed
    providers:
      - host: cm1.hq.example.com
      - host: 127.0.0.1
        port: 12444
      - url: tftp://tftp.hq.example.com
    credentials:
      username: ctladmin
      password: {env: HQ_PASSWORD}
    tls:
      ca: CERTS/ca.pem
      pin:
        - 31e8324155751bebfa37de91b116228b920c45f1cd745353b69dcf453c078587
        - 41e8324155751bebfa37de91b116228b920c45f1cd745353b69dcf453c078587
    tokens:
      - {name: t1, certificate: CERTS/token1.pem}
      - {name: t2, certificate: CERTS/token2.pem}
    alternateTFTP:
      - {host: tftp.branch.example.com, cluster: branch}
    signWith:
      pkcs11: {module: /usr/lib/libeTPkcs11.so, pin: {file: secrets/hq-pin}}
  - name: branch
    mode: mixed
    providers:
      - host: cm1.branch.example.com
    credentials:
      username: admin
      password: {file: secrets/branch-password}
    tls: {pin: [31e8324155751bebfa37de91b116228b920c45f1cd745353b69dcf453c078587]}
    tokens:
      - {name: t1, certificate: CERTS/token1.pem}
      - {name: t2, certificate: CERTS/token2.pem}
`

// writeSpec writes content (CERTS replaced by the fixtures' folder) as dir/ctlops.yaml.
func writeSpec(t *testing.T, dir, content string) string {
	t.Helper()
	certs, _ := filepath.Abs("testdata/certs")
	p := filepath.Join(dir, "ctlops.yaml")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(content, "CERTS", certs)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPinToTrustedConnections(t *testing.T) {
	testEnv(t)
	t.Setenv("HQ_PASSWORD", "hq-s3cret")
	base := writeSpec(t, filepath.Join(t.TempDir(), "base"), baseSpec)
	trusted, err := LoadTrusted(base)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string {
		if !strings.Contains(baseSpec, old) {
			t.Fatalf("fixture has no %q", old)
		}
		return strings.Replace(baseSpec, old, new, 1)
	}
	tests := []struct {
		name string
		pr   string
		want []string // substrings of the error, each naming cluster and field; nil: accepted
	}{
		{"unchanged", baseSpec, nil},
		{"mode, tokens and tftp sources are the pull request's to change",
			strings.ReplaceAll(baseSpec, "mode: mixed", "mode: non-secure") +
				"      - {name: t3, certificate: CERTS/token3.pem}\n", nil},
		{"another tftp source", edit("url: tftp://tftp.hq.example.com", "url: tftp://203.0.113.9:69"), nil},
		{"fewer pins, no CA", edit("      ca: CERTS/ca.pem\n", ""), nil},
		{"a provider removed", edit("      - host: 127.0.0.1\n        port: 12444\n", ""), nil},
		{"host moved", edit("host: cm1.hq.example.com", "host: cm1.evil.example.com"),
			[]string{`providers[0]: cluster "hq": CTL Provider cm1.evil.example.com:2444 is not a trusted endpoint (trusted: cm1.hq.example.com:2444, 127.0.0.1:12444); no credential is sent`}},
		{"port moved", edit("port: 12444", "port: 12445"), []string{`providers[1]: cluster "hq": CTL Provider 127.0.0.1:12445 is not a trusted endpoint`}},
		{"pin swapped", edit("- 41e83", "- 51e83"), []string{`tls.pin[1]: cluster "hq": pin 51e8324155751bebfa37de91b116228b920c45f1cd745353b69dcf453c078587 is not a trusted pin`}},
		{"CA swapped", edit("ca: CERTS/ca.pem", "ca: CERTS/token3.pem"), []string{`tls.ca: cluster "hq": CA certificate`, "is not a trusted CA"}},
		{"CA added", strings.Replace(baseSpec, "tls: {pin: [31e8", "tls: {ca: CERTS/ca.pem, pin: [31e8", 1), []string{`tls.ca: cluster "branch": CA certificate`}},
		{"another secret", edit("password: {env: HQ_PASSWORD}", "password: {env: BRANCH_PASSWORD}"),
			[]string{`credentials.password: cluster "hq": the password is read from environment variable BRANCH_PASSWORD, the trusted connections read it from environment variable HQ_PASSWORD`}},
		{"another secret file", strings.Replace(baseSpec, "secrets/branch-password", "secrets/hq-pin", 1), []string{`credentials.password: cluster "branch"`}},
		{"another user", edit("username: ctladmin", "username: root"), []string{`credentials.username: cluster "hq": user "root" is not the trusted user "ctladmin"`}},
		{"alternate added", edit("alternateTFTP:\n", "alternateTFTP:\n      - {host: 127.0.0.1, port: 9999}\n"),
			[]string{`alternateTFTP[0]: cluster "hq": alternate TFTP server 127.0.0.1:9999 (credentials of cluster "hq") is not a trusted one`}},
		{"alternate given another cluster's credentials", edit("cluster: branch}", "cluster: hq2}") + "  - name: hq2\n    mode: mixed\n    providers: [{url: tftp://x.example.com}]\n    tokens: [{name: t1, certificate: CERTS/token1.pem}, {name: t2, certificate: CERTS/token2.pem}]\n",
			[]string{`alternateTFTP[0]: cluster "hq": alternate TFTP server tftp.branch.example.com:2444 (credentials of cluster "hq2")`}},
		{"module swapped", edit("module: /usr/lib/libeTPkcs11.so", "module: ./evil.so"), []string{`signWith.pkcs11.module: cluster "hq": module evil.so (in the spec's folder) is not the trusted module /usr/lib/libeTPkcs11.so`}},
		{"PIN from elsewhere", edit("pin: {file: secrets/hq-pin}", "pin: {env: HOME}"), []string{`signWith.pkcs11.pin: cluster "hq": the PIN is read from environment variable HOME`}},
		{"a new cluster with credentials", baseSpec + "  - name: evil\n    mode: mixed\n    providers: [{host: 127.0.0.1, port: 4444}]\n    credentials: {username: admin, password: {env: HQ_PASSWORD}}\n    tls: {pin: [31e8324155751bebfa37de91b116228b920c45f1cd745353b69dcf453c078587]}\n    tokens: [{name: t1, certificate: CERTS/token1.pem}, {name: t2, certificate: CERTS/token2.pem}]\n",
			[]string{`name: cluster "evil": not in the trusted connections`}},
		{"a new read-only cluster", baseSpec + "  - name: ro\n    mode: mixed\n    providers: [{url: tftp://127.0.0.1:6969}]\n    tokens: [{name: t1, certificate: CERTS/token1.pem}, {name: t2, certificate: CERTS/token2.pem}]\n", nil},
		{"two at once", edit("host: cm1.hq.example.com", "host: 127.0.0.1\n        port: 4444\n      - host: cm1.hq.example.com") + "",
			[]string{`providers[0]: cluster "hq": CTL Provider 127.0.0.1:4444`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The pull request is another checkout: relative secret paths must still match.
			pr := writeSpec(t, filepath.Join(t.TempDir(), "pr"), tt.pr)
			cfg, _, err := Load(pr)
			if err != nil {
				t.Fatalf("the pull request's spec does not load: %v", err)
			}
			err = cfg.Pin(trusted)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if v, err := cfg.Cluster("hq").Credentials.Password.Resolve(); err != nil || v != "hq-s3cret" {
					t.Fatalf("accepted, but the password does not resolve: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
			if !strings.HasPrefix(err.Error(), pr+":") {
				t.Errorf("error does not start at the pull request's file:line: %v", err)
			}
			// Whatever the caller does with the error, the refused cluster's secrets stay put.
			for _, cl := range cfg.Clusters {
				if !strings.Contains(err.Error(), `cluster "`+cl.Name+`"`) || cl.Credentials == nil {
					continue
				}
				if _, rerr := cl.Credentials.Password.Resolve(); rerr == nil || !strings.Contains(rerr.Error(), "secrets withheld") {
					t.Errorf("cluster %s: Resolve after a refusal: %v", cl.Name, rerr)
				}
			}
		})
	}
}

// A connections file kept on the runner: only names and trust-carrying keys, no tokens.
func TestLoadTrustedConnectionsFile(t *testing.T) {
	testEnv(t)
	conn := writeSpec(t, t.TempDir(), `version: 1
clusters:
  - name: hq
    providers: [{host: cm1.hq.example.com}]
    credentials: {username: ctladmin, password: {env: HQ_PASSWORD}}
    tls: {pin: [31e8324155751bebfa37de91b116228b920c45f1cd745353b69dcf453c078587]}
`)
	trusted, err := LoadTrusted(conn)
	if err != nil {
		t.Fatal(err)
	}
	pr := writeSpec(t, t.TempDir(), strings.Replace(baseSpec, "      - host: 127.0.0.1\n        port: 12444\n", "", 1))
	cfg, _, err := Load(pr)
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.Pin(trusted)
	for _, w := range []string{`cluster "hq": CA certificate`, `tls.pin[1]: cluster "hq"`, `alternateTFTP[0]: cluster "hq"`, `signWith.pkcs11: cluster "hq"`, `cluster "branch": not in the trusted connections`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error does not say %q:\n%v", w, err)
		}
	}
	if err != nil && strings.Contains(err.Error(), "providers[0]") {
		t.Errorf("the trusted provider was refused: %v", err)
	}
	// A connections file is still checked like a spec: a typo is an error with its line.
	bad := writeSpec(t, t.TempDir(), "version: 1\nclusters:\n  - name: hq\n    provders: []\n")
	if _, err := LoadTrusted(bad); err == nil || !strings.Contains(err.Error(), `ctlops.yaml:4:5: clusters[0]: unknown key "provders" (did you mean "providers"?)`) {
		t.Errorf("typo in a connections file: %v", err)
	}
}
