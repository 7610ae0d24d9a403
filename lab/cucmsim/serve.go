package cucmsim

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/internal/safefile"
)

// The lab runs a simulated cluster as a process of its own (`ctl-provider cucmsim --config
// FILE`), like its other nodes, so that it outlives `ctlops lab up` and `lab down` stops it.
// The process is the only writer of the cluster's Snapshot; `lab event` asks it, over a
// loopback control endpoint guarded by a token file, to cause an event, rather than editing
// the state behind its back.

// ReadyLine is what the serving process prints once every node listens.
const ReadyLine = "cucmsim: cluster ready"

// ServeConfig is the file a serving process reads. Paths are relative to the file.
type ServeConfig struct {
	Cluster      string `json:"cluster"`
	User         string `json:"user"`
	PasswordFile string `json:"passwordFile"`
	StateFile    string `json:"stateFile"`
	Control      string `json:"control"`   // host:port of the control endpoint, loopback
	TokenFile    string `json:"tokenFile"` // the control endpoint's bearer token
	Noise        bool   `json:"noise"`
	// Simulated durations in milliseconds (Delays), scaled down from a real CUCM.
	StartupMillis int `json:"startupMs"`
	CommandMillis int `json:"commandMs"`
	CTLMillis     int `json:"ctlMs"`
	RestartMillis int `json:"restartMs"`
}

const maxServeConfig = 64 << 10

// LoadServeConfig reads a ServeConfig, bounded, unknown fields refused, paths made absolute.
func LoadServeConfig(path string) (*ServeConfig, error) {
	b, err := safefile.Read(path, maxServeConfig)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var c ServeConfig
	if err := d.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Cluster == "" || c.User == "" || c.PasswordFile == "" || c.StateFile == "" || c.Control == "" || c.TokenFile == "" {
		return nil, fmt.Errorf("%s: cluster, user, passwordFile, stateFile, control and tokenFile are required", path)
	}
	if host, _, err := net.SplitHostPort(c.Control); err != nil || !net.ParseIP(host).IsLoopback() {
		return nil, fmt.Errorf("%s: control %q is not a loopback host:port", path, c.Control)
	}
	dir := filepath.Dir(path)
	for _, p := range []*string{&c.PasswordFile, &c.StateFile, &c.TokenFile} {
		if !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return &c, nil
}

// Save writes the config (0644: the secrets live in their own 0600 files).
func (c *ServeConfig) Save(path string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}

func (c *ServeConfig) delays() Delays {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	return Delays{Startup: ms(c.StartupMillis), Command: ms(c.CommandMillis), CTL: ms(c.CTLMillis), Restart: ms(c.RestartMillis)}
}

func readSecret(path string) (string, error) {
	b, err := safefile.Read(path, 4096)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// Init makes a new cluster's first Snapshot from cc (its nodes, release, mode; listeners at
// the nodes' SSHAddr and TFTPAddr, opened and closed again) and writes it to the config's
// StateFile. It returns the snapshot, whose host keys a spec can pin.
func Init(sc *ServeConfig, cc Config) (*Snapshot, error) {
	c, err := Start(cc)
	if err != nil {
		return nil, err
	}
	snap, err := c.Snapshot()
	c.Close()
	if err != nil {
		return nil, err
	}
	return snap, SaveSnapshot(sc.StateFile, snap)
}

// Server is a cluster served from a ServeConfig, with its control endpoint.
type Server struct {
	Cluster *Cluster
	cfg     *ServeConfig
	token   string
	http    *http.Server
	ln      net.Listener
	saveMu  sync.Mutex
}

// Serve starts the cluster the config's StateFile holds and its control endpoint.
func Serve(sc *ServeConfig) (*Server, error) {
	snap, err := LoadSnapshot(sc.StateFile)
	if err != nil {
		return nil, err
	}
	pw, err := readSecret(sc.PasswordFile)
	if err != nil {
		return nil, err
	}
	token, err := readSecret(sc.TokenFile)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: sc, token: token}
	s.Cluster, err = Start(Config{Release: snap.Release, User: sc.User, Password: pw, Delays: sc.delays(), Noise: sc.Noise,
		Restore: snap, OnChange: func(*Cluster) { _ = s.Save() }})
	if err != nil {
		return nil, err
	}
	if s.ln, err = net.Listen("tcp", sc.Control); err != nil {
		s.Cluster.Close()
		return nil, fmt.Errorf("control endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /event", s.handleEvent)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(s.ln) }()
	return s, nil
}

// Save writes the cluster's Snapshot to the StateFile.
func (s *Server) Save() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	snap, err := s.Cluster.Snapshot()
	if err != nil {
		return err
	}
	return SaveSnapshot(s.cfg.StateFile, snap)
}

// Close saves the state and stops the control endpoint and every node.
func (s *Server) Close() error {
	err := s.Save()
	_ = s.http.Close()
	s.Cluster.Close()
	return err
}

type eventReply struct {
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request) {
	got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	var ev Event
	d := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	d.DisallowUnknownFields()
	reply, code := eventReply{}, http.StatusOK
	if err := d.Decode(&ev); err != nil {
		reply.Error, code = "bad event: "+err.Error(), http.StatusBadRequest
	} else if msg, err := s.Cluster.Do(ev); err != nil {
		reply.Error, code = err.Error(), http.StatusUnprocessableEntity
	} else if err := s.Save(); err != nil {
		reply.Error, code = "the event happened but the state was not saved: "+err.Error(), http.StatusInternalServerError
	} else {
		reply.Message = msg
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(reply)
}

// SendEvent asks the process serving the config at path to cause ev, and returns what it
// said happened.
func SendEvent(ctx context.Context, path string, ev Event) (string, error) {
	sc, err := LoadServeConfig(path)
	if err != nil {
		return "", err
	}
	token, err := readSecret(sc.TokenFile)
	if err != nil {
		return "", err
	}
	body, _ := json.Marshal(ev)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+sc.Control+"/event", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("the %s simulator does not answer (is the lab up?): %w", sc.Cluster, err)
	}
	defer resp.Body.Close()
	var reply eventReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&reply); err != nil {
		return "", fmt.Errorf("the %s simulator answered %s: %w", sc.Cluster, resp.Status, err)
	}
	if reply.Error != "" {
		return "", errors.New(reply.Error)
	}
	return reply.Message, nil
}

// WriteSecretFile writes a 0600 file holding one secret line.
func WriteSecretFile(path, secret string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, []byte(secret+"\n"), 0o600)
}
