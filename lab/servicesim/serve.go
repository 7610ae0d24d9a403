package servicesim

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ServeConfig is a simulated cluster as a file, for a process that serves it (`ctl-provider
// servicesim --config FILE`, started by `ctlops lab up`). Paths are relative to the file.
type ServeConfig struct {
	Cluster      string       `json:"cluster"`
	Username     string       `json:"username"`
	PasswordFile string       `json:"password_file"`
	CertFile     string       `json:"cert_file"` // PEM chain: Tomcat's certificate, then its CA
	KeyFile      string       `json:"key_file"`
	Version      string       `json:"version,omitempty"`
	StopMillis   int          `json:"stop_ms"`
	StartMillis  int          `json:"start_ms"`
	PhoneMillis  int          `json:"phone_ms"`
	Nodes        []NodeConfig `json:"nodes"`
	Phones       []MemPhone   `json:"phones"`
}

// maxServeConfig bounds the file.
const maxServeConfig = 1 << 20

// LoadServeConfig reads a ServeConfig.
func LoadServeConfig(path string) (*ServeConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) > maxServeConfig {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxServeConfig)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var c ServeConfig
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if c.Cluster == "" || c.Username == "" || len(c.Nodes) == 0 {
		return nil, fmt.Errorf("%s: cluster, username and nodes are required", path)
	}
	dir := filepath.Dir(path)
	for _, p := range []*string{&c.PasswordFile, &c.CertFile, &c.KeyFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return &c, nil
}

// Save writes the config (0644; the password lives in its own 0600 file).
func (c *ServeConfig) Save(path string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Serve starts the cluster a ServeConfig describes, with MemDevices holding its phones.
func Serve(c *ServeConfig) (*Cluster, *MemDevices, error) {
	dev := NewMemDevices(c.Phones)
	if c.PhoneMillis > 0 {
		dev.Delay = time.Duration(c.PhoneMillis) * time.Millisecond
	}
	cl, err := ServeWith(c, dev)
	if err != nil {
		dev.Close()
		return nil, nil, err
	}
	return cl, dev, nil
}

// ServeWith starts the cluster a ServeConfig describes with dev as its phones (the lab's
// phones; c.Phones and c.PhoneMillis are then unused).
func ServeWith(c *ServeConfig, dev Devices) (*Cluster, error) {
	pw, err := os.ReadFile(c.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return Start(Config{
		Cluster: c.Cluster, Nodes: c.Nodes, Username: c.Username, Password: strings.TrimRight(string(pw), "\r\n"),
		Version: c.Version, StopTime: time.Duration(c.StopMillis) * time.Millisecond, StartTime: time.Duration(c.StartMillis) * time.Millisecond,
		Devices: dev, Cert: cert,
	})
}
