// Package refserver is the reference CTL Provider: one process per simulated CallManager node,
// serving PROTOCOL.md over HTTPS and its FileLocation over read-only TFTP, with state on disk.
//
// It exists so that ctlops, its tests and anyone evaluating it can run against real TLS, real
// TFTP and real files without a CUCM lab. Everything a cluster goes through in R22 (new IP or
// host name, new certificate, a node added or removed, CAPF enabled) is an edit of a node's
// YAML config (see events.go), which a running node notices on its next request: the same
// path serves the CLI (`ctl-provider event …`) and in-process tests (providertest).
package refserver

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ctlops/ctlops/internal/atomicfile"
)

// Config is one node's YAML file. Relative paths are relative to the file's directory.
type Config struct {
	Cluster string `yaml:"cluster"`
	Version string `yaml:"version"` // CallManager version reported to clients (R17)
	Name    string `yaml:"name"`    // short host name
	DNSName string `yaml:"dnsName"`
	IPv4    string `yaml:"ipv4"` // the address reported in the inventory (R22: it can change)
	// Roles are the functions this node runs besides CAPF: CCM and/or TFTP.
	Roles []string `yaml:"roles"`
	// CAPF is on for the publisher once CAPF is enabled (R22); its certificate is then listed.
	CAPF bool `yaml:"capf"`

	Listen       string `yaml:"listen"`       // HTTPS host:port
	TFTPListen   string `yaml:"tftpListen"`   // UDP host:port
	FileLocation string `yaml:"fileLocation"` // the TFTP directory holding CTLFile.tlv (R4)
	StateDir     string `yaml:"stateDir"`     // mode, lock and audit log

	Certificate     string `yaml:"certificate"` // CallManager certificate, also served on TLS
	Key             string `yaml:"key"`
	CAPFCertificate string `yaml:"capfCertificate,omitempty"`
	CA              string `yaml:"ca"` // verifies peers

	Admin struct {
		User         string `yaml:"user"`
		PasswordHash string `yaml:"passwordHash"`
	} `yaml:"admin"`

	Peers []Peer `yaml:"peers"` // the other nodes of the cluster

	// Delay is added to every request, to model WAN latency in benchmarks.
	Delay time.Duration `yaml:"delay,omitempty"`
	// Limits; zero means the default of each.
	Limits Limits `yaml:"limits,omitempty"`

	// Generation is bumped by every event so that a running node reloads even when only a
	// certificate file changed.
	Generation int `yaml:"generation"`

	path string
}

// Peer is another node of the cluster.
type Peer struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"` // HTTPS host:port
}

// Limits protect the node from slow or large requests and from password guessing.
type Limits struct {
	ReadHeaderTimeout time.Duration `yaml:"readHeaderTimeout,omitempty"` // 10s
	ReadTimeout       time.Duration `yaml:"readTimeout,omitempty"`       // 30s
	WriteTimeout      time.Duration `yaml:"writeTimeout,omitempty"`      // 60s
	IdleTimeout       time.Duration `yaml:"idleTimeout,omitempty"`       // 120s
	MaxBody           int64         `yaml:"maxBody,omitempty"`           // 1 MiB + 4 KiB
	LoginFailures     int           `yaml:"loginFailures,omitempty"`     // 5 per window per client address
	UserFailures      int           `yaml:"userFailures,omitempty"`      // 20 per window for the admin user, from all addresses
	LoginWindow       time.Duration `yaml:"loginWindow,omitempty"`       // 1m
	PeerTimeout       time.Duration `yaml:"peerTimeout,omitempty"`       // 5s
}

func (l Limits) withDefaults() Limits {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&l.ReadHeaderTimeout, 10*time.Second)
	def(&l.ReadTimeout, 30*time.Second)
	def(&l.WriteTimeout, 60*time.Second)
	def(&l.IdleTimeout, 120*time.Second)
	def(&l.LoginWindow, time.Minute)
	def(&l.PeerTimeout, 5*time.Second)
	if l.MaxBody <= 0 {
		l.MaxBody = 1<<20 + 4096
	}
	if l.LoginFailures <= 0 {
		l.LoginFailures = 5
	}
	if l.UserFailures <= 0 {
		l.UserFailures = 20
	}
	return l
}

// LoadConfig reads and checks a node config.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.path = path
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

func (c *Config) check() error {
	var missing []string
	for k, v := range map[string]string{"cluster": c.Cluster, "name": c.Name, "listen": c.Listen,
		"tftpListen": c.TFTPListen, "fileLocation": c.FileLocation, "stateDir": c.StateDir,
		"certificate": c.Certificate, "key": c.Key, "ca": c.CA, "admin.user": c.Admin.User,
		"admin.passwordHash": c.Admin.PasswordHash} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing keys: %s", strings.Join(sortStrings(missing), ", "))
	}
	for _, r := range c.Roles {
		if r != "CCM" && r != "TFTP" {
			return fmt.Errorf("roles: %q is not CCM or TFTP (CAPF is the capf key)", r)
		}
	}
	if _, _, _, err := parseHash(c.Admin.PasswordHash); err != nil {
		return fmt.Errorf("admin.passwordHash: %w", err)
	}
	return nil
}

func sortStrings(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// Path returns the file the config was loaded from.
func (c *Config) Path() string { return c.path }

// Abs resolves a path of the config against its directory.
func (c *Config) Abs(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(c.path), p)
}

// Save writes the config atomically, so a running node never reads half of it.
func (c *Config) Save() error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	return atomicfile.Write(c.path, data, 0o600)
}

// UpdateConfig loads, changes and saves a config, bumping its generation.
func UpdateConfig(path string, change func(*Config) error) error {
	c, err := LoadConfig(path)
	if err != nil {
		return err
	}
	if err := change(c); err != nil {
		return err
	}
	c.Generation++
	return c.Save()
}

// Password hashes: "pbkdf2-sha256$<iterations>$<salt b64>$<key b64>". The config holds only
// this, never the password (the cluster dir's admin.password is for the human).
const hashIterations = 100_000

// HashPassword derives the stored form of a password.
func HashPassword(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, hashIterations, 32)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", hashIterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

func parseHash(h string) (iter int, salt, key []byte, err error) {
	parts := strings.Split(h, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return 0, nil, nil, errors.New(`not "pbkdf2-sha256$iterations$salt$key"`)
	}
	iter, err = strconv.Atoi(parts[1])
	if err != nil || iter < 1000 {
		return 0, nil, nil, errors.New("iterations must be a number of at least 1000")
	}
	enc := base64.RawStdEncoding
	if salt, err = enc.DecodeString(parts[2]); err != nil || len(salt) < 8 {
		return 0, nil, nil, errors.New("bad salt")
	}
	if key, err = enc.DecodeString(parts[3]); err != nil || len(key) < 16 {
		return 0, nil, nil, errors.New("bad key")
	}
	return iter, salt, key, nil
}

// CheckPassword compares in constant time.
func CheckPassword(hash, password string) bool {
	iter, salt, key, err := parseHash(hash)
	if err != nil {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, password, salt, iter, len(key))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(got, key) == 1
}
