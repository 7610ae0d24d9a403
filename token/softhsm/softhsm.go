// Package softhsm creates SoftHSM2 tokens that stand in for SafeNet eTokens (R6, R19-R21) in
// tests, end-to-end runs and `ctlops lab up`.
//
// Everything happens in a private SOFTHSM2_CONF and token directory that this package created:
// it never reads or writes the system token directory, and it refuses a directory that already
// holds something it did not make. The real tools do the work (softhsm2-util, pkcs11-tool from
// opensc, certtool from gnutls-bin), so the key is generated on the token and never leaves it,
// and the certificate is imported with the key's CKA_ID, the way an eToken stores them. By
// default the public-key object is deleted afterwards, as eTokens usually hold none: the key
// must then be found through its certificate.
//
// The PINs of these tokens are test fixtures, passed to the tools on their command lines; never
// use this package for a token that guards anything real.
package softhsm

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// KnownModules are the places Debian and other distributions install libsofthsm2.so.
var KnownModules = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
	"/usr/lib64/pkcs11/libsofthsm2.so",
}

// Module returns the path of the SoftHSM2 PKCS#11 module: $CTLOPS_SOFTHSM_MODULE when set,
// else the first of KnownModules that exists.
func Module() (string, error) {
	if m := os.Getenv("CTLOPS_SOFTHSM_MODULE"); m != "" {
		if _, err := os.Stat(m); err != nil {
			return "", fmt.Errorf("CTLOPS_SOFTHSM_MODULE: %w", err)
		}
		return m, nil
	}
	for _, m := range KnownModules {
		if _, err := os.Stat(m); err == nil {
			return m, nil
		}
	}
	return "", errors.New("SoftHSM2 module libsofthsm2.so not found (install the Debian package softhsm2, " +
		"e.g. with scripts/install-deps.sh, or set CTLOPS_SOFTHSM_MODULE)")
}

// Tools lists the programs this package runs, with the Debian package that provides each.
var Tools = map[string]string{
	"softhsm2-util": "softhsm2",
	"pkcs11-tool":   "opensc",
	"certtool":      "gnutls-bin",
}

// CheckTools reports every missing program at once, with the package to install.
func CheckTools() error {
	var missing []string
	for tool, pkg := range Tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", tool, pkg))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing tools for SoftHSM2 tokens: %s; run scripts/install-deps.sh",
			strings.Join(missing, ", "))
	}
	return nil
}

// Env is one private SoftHSM2 world: a configuration file and the token directory it names.
type Env struct {
	Dir      string // the directory this Env owns
	Conf     string // Dir/softhsm2.conf: export it as SOFTHSM2_CONF
	TokenDir string // Dir/tokens
	Module   string // path of libsofthsm2.so
}

const marker = ".ctlops-softhsm"

// NewEnv makes dir (which must be missing or empty, or an Env made earlier by this package) a
// private SoftHSM2 world. Reusing an earlier Env keeps its tokens.
func NewEnv(dir string) (*Env, error) {
	if err := CheckTools(); err != nil {
		return nil, err
	}
	mod, err := Module()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: abs, Conf: filepath.Join(abs, "softhsm2.conf"), TokenDir: filepath.Join(abs, "tokens"), Module: mod}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(abs, marker)); err != nil {
			return nil, fmt.Errorf("%s: directory is not empty and was not made by ctlops; refusing to put tokens there", abs)
		}
		return e, nil
	}
	if err := os.MkdirAll(e.TokenDir, 0o700); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("# made by ctlops (token/softhsm); test tokens only\n"+
		"directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", e.TokenDir)
	if err := os.WriteFile(e.Conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(abs, marker), []byte("ctlops softhsm env\n"), 0o600); err != nil {
		return nil, err
	}
	return e, nil
}

// Environ returns base (os.Environ() when nil) with SOFTHSM2_CONF pointing at this Env.
func (e *Env) Environ(base []string) []string {
	if base == nil {
		base = os.Environ()
	}
	out := make([]string, 0, len(base)+1)
	for _, kv := range base {
		if !strings.HasPrefix(kv, "SOFTHSM2_CONF=") {
			out = append(out, kv)
		}
	}
	return append(out, "SOFTHSM2_CONF="+e.Conf)
}

// TokenSpec describes a token to create.
type TokenSpec struct {
	Label string // token label, also the key and certificate label; [A-Za-z0-9._-], 1..32 chars
	PIN   string // user PIN (4..255 chars)
	SOPIN string // security officer PIN; defaults to PIN+"-so"
	// Subject of the self-signed certificate; CommonName defaults to "SAST-"+Label and
	// Organization to "ctlops lab".
	Subject pkix.Name
	// KeyBits of the RSA key; 2048 when zero.
	KeyBits int
	// NoKey makes a token holding only a certificate (whose key lives nowhere): a token that
	// cannot sign.
	NoKey bool
	// KeepPublicKey keeps the public-key object that key generation creates. eTokens usually
	// have none, so by default it is deleted and the key is found through the certificate.
	KeepPublicKey bool
	// ExtraCertWithoutKey also stores a second certificate (CKA_ID 02) with no key beside it.
	ExtraCertWithoutKey bool
	// Days of validity; 3650 when zero.
	Days int
}

// Token is a token created by CreateToken.
type Token struct {
	Label   string
	Serial  string // the token serial SoftHSM2 assigned
	PIN     string
	ID      []byte // CKA_ID of the key and its certificate
	Cert    *x509.Certificate
	CertPEM []byte
	// ExtraCert is the certificate without key (when ExtraCertWithoutKey).
	ExtraCert    *x509.Certificate
	ExtraCertPEM []byte
}

var labelRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)

// CreateToken initialises a free SoftHSM2 slot of this Env as a new token, generates its key on
// it and stores the certificate beside it. It refuses a label already used in this Env.
func (e *Env) CreateToken(ctx context.Context, spec TokenSpec) (*Token, error) {
	if !labelRE.MatchString(spec.Label) {
		return nil, fmt.Errorf("token label %q: use 1 to 32 of A-Z a-z 0-9 . _ -", spec.Label)
	}
	if len(spec.PIN) < 4 {
		return nil, fmt.Errorf("token %s: PIN must have at least 4 characters", spec.Label)
	}
	if spec.SOPIN == "" {
		spec.SOPIN = spec.PIN + "-so"
	}
	if spec.KeyBits == 0 {
		spec.KeyBits = 2048
	}
	if spec.Days == 0 {
		spec.Days = 3650
	}
	if spec.Subject.CommonName == "" {
		spec.Subject.CommonName = "SAST-" + spec.Label
	}
	if len(spec.Subject.Organization) == 0 {
		spec.Subject.Organization = []string{"ctlops lab"}
	}
	slots, err := e.Slots(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range slots {
		if s.Label == spec.Label {
			return nil, fmt.Errorf("token %s already exists in %s", spec.Label, e.Dir)
		}
	}
	if _, err := e.run(ctx, "softhsm2-util", "--init-token", "--free", "--label", spec.Label,
		"--pin", spec.PIN, "--so-pin", spec.SOPIN); err != nil {
		return nil, err
	}
	slots, err = e.Slots(ctx)
	if err != nil {
		return nil, err
	}
	tok := &Token{Label: spec.Label, PIN: spec.PIN, ID: []byte{1}}
	for _, s := range slots {
		if s.Label == spec.Label {
			tok.Serial = s.Serial
		}
	}
	if tok.Serial == "" {
		return nil, fmt.Errorf("token %s: initialised but not listed by softhsm2-util --show-slots", spec.Label)
	}
	p11 := []string{"--module", e.Module, "--token-label", spec.Label, "--login", "--pin", spec.PIN}
	work, err := os.MkdirTemp(e.Dir, "work-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	if spec.NoKey {
		tok.Cert, tok.CertPEM, err = softwareCert(spec.Subject, spec.KeyBits, spec.Days)
		if err != nil {
			return nil, err
		}
	} else {
		if _, err := e.run(ctx, "pkcs11-tool", append(p11, "--keypairgen", "--key-type",
			fmt.Sprintf("rsa:%d", spec.KeyBits), "--label", spec.Label, "--id", "01")...); err != nil {
			return nil, err
		}
		tmpl := filepath.Join(work, "cert.tmpl")
		if err := os.WriteFile(tmpl, []byte(certtoolTemplate(spec.Subject, spec.Days)), 0o600); err != nil {
			return nil, err
		}
		uri := "pkcs11:token=" + url.PathEscape(spec.Label) + ";object=" + url.PathEscape(spec.Label)
		out := filepath.Join(work, "cert.pem")
		cmd := e.command(ctx, "certtool", "--provider", e.Module, "--generate-self-signed",
			"--load-privkey", uri+";type=private", "--load-pubkey", uri+";type=public",
			"--template", tmpl, "--outfile", out)
		cmd.Env = append(cmd.Env, "GNUTLS_PIN="+spec.PIN)
		if err := runCmd(cmd); err != nil {
			return nil, err
		}
		tok.CertPEM, err = os.ReadFile(out)
		if err != nil {
			return nil, err
		}
		if tok.Cert, err = parsePEMCert(tok.CertPEM); err != nil {
			return nil, fmt.Errorf("certtool output: %w", err)
		}
	}
	if err := e.writeCert(ctx, p11, work, tok.Cert, "01", spec.Label); err != nil {
		return nil, err
	}
	if !spec.NoKey && !spec.KeepPublicKey {
		if _, err := e.run(ctx, "pkcs11-tool", append(p11, "--delete-object", "--type", "pubkey", "--id", "01")...); err != nil {
			return nil, err
		}
	}
	if spec.ExtraCertWithoutKey {
		sub := spec.Subject
		sub.CommonName += "-orphan"
		tok.ExtraCert, tok.ExtraCertPEM, err = softwareCert(sub, spec.KeyBits, spec.Days)
		if err != nil {
			return nil, err
		}
		if err := e.writeCert(ctx, p11, work, tok.ExtraCert, "02", spec.Label+"-orphan"); err != nil {
			return nil, err
		}
	}
	return tok, nil
}

func (e *Env) writeCert(ctx context.Context, p11 []string, work string, cert *x509.Certificate, id, label string) error {
	der := filepath.Join(work, "cert-"+id+".der")
	if err := os.WriteFile(der, cert.Raw, 0o600); err != nil {
		return err
	}
	_, err := e.run(ctx, "pkcs11-tool", append(p11, "--write-object", der, "--type", "cert",
		"--id", id, "--label", label)...)
	return err
}

// Slot is one line of `softhsm2-util --show-slots`.
type Slot struct {
	Label       string
	Serial      string
	Initialized bool
}

// Slots lists the slots of this Env as softhsm2-util sees them.
func (e *Env) Slots(ctx context.Context) ([]Slot, error) {
	out, err := e.run(ctx, "softhsm2-util", "--show-slots")
	if err != nil {
		return nil, err
	}
	var slots []Slot
	inToken := false
	for _, line := range strings.Split(string(out), "\n") {
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "Slot ") && !strings.Contains(t, ":"):
			slots = append(slots, Slot{})
			inToken = false
		case t == "Token info:":
			inToken = true
		case inToken && len(slots) > 0:
			k, v, ok := strings.Cut(t, ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			s := &slots[len(slots)-1]
			switch strings.TrimSpace(k) {
			case "Label":
				s.Label = v
			case "Serial number":
				s.Serial = v
			case "Initialized":
				s.Initialized = v == "yes"
			}
		}
	}
	return slots, nil
}

func (e *Env) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = e.Environ(nil)
	return cmd
}

func (e *Env) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := e.command(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := runCmd(cmd); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// runCmd runs cmd and turns a failure into an error naming the tool and its stderr, with the
// PIN arguments masked (they are fixtures, but output should not teach bad habits).
func runCmd(cmd *exec.Cmd) error {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		args := append([]string(nil), cmd.Args...)
		for i := 1; i < len(args); i++ {
			if args[i-1] == "--pin" || args[i-1] == "--so-pin" {
				args[i] = "****"
			}
		}
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

func certtoolTemplate(n pkix.Name, days int) string {
	var b strings.Builder
	q := func(k, v string) { fmt.Fprintf(&b, "%s = %q\n", k, v) }
	q("cn", n.CommonName)
	for _, v := range n.OrganizationalUnit {
		q("unit", v)
	}
	for _, v := range n.Organization {
		q("organization", v)
	}
	for _, v := range n.Locality {
		q("locality", v)
	}
	for _, v := range n.Province {
		q("state", v)
	}
	for _, v := range n.Country {
		q("country", v)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	fmt.Fprintf(&b, "serial = %d\nexpiration_days = %d\nsigning_key\n", serial.Int64()+1, days)
	return b.String()
}

func softwareCert(sub pkix.Name, bits, days int) (*x509.Certificate, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, nil, err
	}
	_, certPEM, err := selfSigned(key, sub, days)
	if err != nil {
		return nil, nil, err
	}
	cert, err := parsePEMCert(certPEM)
	return cert, certPEM, err
}

func selfSigned(key *rsa.PrivateKey, sub pkix.Name, days int) ([]byte, []byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               sub,
		NotBefore:             now,
		NotAfter:              now.AddDate(0, 0, days),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func parsePEMCert(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// SoftwareKey makes an RSA key and a self-signed certificate for it, both PEM, for labs and
// tests that sign without a token (token.OpenSoftware). Never use such a key in production: a
// key in a file is not a Site Administrator Security Token.
func SoftwareKey(sub pkix.Name, bits int) (keyPEM, certPEM []byte, err error) {
	if bits == 0 {
		bits = 2048
	}
	if sub.CommonName == "" {
		return nil, nil, errors.New("software key: subject needs a CommonName")
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, nil, err
	}
	return selfSigned(key, sub, 3650)
}
