package provider_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/provider"
	"github.com/ctlops/ctlops/provider/providertest"
	"github.com/ctlops/ctlops/provider/refserver"
)

func TestRequestLimits(t *testing.T) {
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	if err := refserver.UpdateConfig(n.Config, func(cfg *refserver.Config) error {
		cfg.Limits.ReadHeaderTimeout = 300 * time.Millisecond
		cfg.Limits.MaxBody = 64 << 10
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c.Restart(n)
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.CAPool}}}
	t.Run("body too large", func(t *testing.T) {
		req, _ := http.NewRequest("PUT", "https://"+n.Addr+"/v1/ctl", bytes.NewReader(make([]byte, 65<<10)))
		req.SetBasicAuth(c.User, c.Password)
		req.Header.Set(provider.HeaderLock, "x")
		req.Header.Set("If-None-Match", "*")
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || !strings.Contains(string(body), provider.CodeTooLarge) {
			t.Fatalf("got %d %s, want 413 too_large", resp.StatusCode, body)
		}
	})
	t.Run("JSON body too large", func(t *testing.T) {
		req, _ := http.NewRequest("POST", "https://"+n.Addr+"/v1/lock", strings.NewReader(`{"user":"`+strings.Repeat("a", 70<<10)+`"}`))
		req.SetBasicAuth(c.User, c.Password)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("got %d, want 413", resp.StatusCode)
		}
	})
	t.Run("unknown path and method", func(t *testing.T) {
		for _, tc := range []struct{ method, path, code string }{
			{"GET", "/v1/nothing", provider.CodeNotFound},
			{"DELETE", "/v1/ctl", provider.CodeMethodNotAllowed},
		} {
			req, _ := http.NewRequest(tc.method, "https://"+n.Addr+tc.path, nil)
			req.SetBasicAuth(c.User, c.Password)
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(body), `"code":"`+tc.code+`"`) {
				t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, body)
			}
		}
	})
	t.Run("slow headers are cut off", func(t *testing.T) {
		conn, err := tls.Dial("tcp", n.Addr, &tls.Config{RootCAs: c.CAPool})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "GET /v1/cluster HTTP/1.1\r\nHost: x\r\n") // never finishes
		// Bound the test, not the server: the server must close long before this.
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err = io.ReadAll(conn)
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the server kept a connection with unfinished headers open")
		}
	})
}

func TestClientTimeoutNamesServer(t *testing.T) {
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	c.SetDelay(n.Name, 3*time.Second)
	o := c.Options()
	o.Timeout, o.Retries = 300*time.Millisecond, -1
	cl, _ := provider.NewClient(n.Addr, o)
	_, err := cl.Cluster(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), n.Addr+": get cluster") {
		t.Fatalf("err = %v, want a timeout naming %s", err, n.Addr)
	}
}

// TestMain doubles as the crash-test helper: with CTLOPS_REFSERVER_CONFIG set, this binary
// is a reference server process that the test can kill with SIGKILL.
func TestMain(m *testing.M) {
	if cfg := os.Getenv("CTLOPS_REFSERVER_CONFIG"); cfg != "" {
		n, err := refserver.New(cfg)
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
		if err := n.ListenAndServe(); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(4)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A node killed at any moment of a stream of writes restarts with a whole file: one of those
// written, never a torn one.
func TestCrashDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns server processes")
	}
	tk := testTokens(t)
	var versions [][]byte
	known := map[string]bool{}
	for i := 0; i < 6; i++ {
		v := signedCTL(t, tk[i%2], "cm"+strings.Repeat("x", i), tk[0], tk[1])
		versions = append(versions, v)
		known[provider.ETag(v)] = true
	}
	c := providertest.Start(t, 1)
	n := c.Nodes()[0]
	n.Stop() // the in-process node gives its ports and files to the child process
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "CTLOPS_REFSERVER_CONFIG="+n.Config)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	o := c.Options()
	o.Timeout, o.Retries = 2*time.Second, -1
	cl, _ := provider.NewClient(n.Addr, o)
	waitUp := func() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := cl.Cluster(context.Background()); err == nil {
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("server did not come up: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	total := 0
	for round := 0; round < 5; round++ {
		cmd := start()
		waitUp()
		lock, err := cl.BreakLock(context.Background()) // the previous round's holder was killed
		_ = lock
		if err != nil && !errors.Is(err, provider.ErrNotLocked) {
			t.Fatal(err)
		}
		l, err := cl.Lock(context.Background(), provider.LockRequest{User: "crash", Lease: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		done := make(chan int)
		go func() {
			writes := 0
			for i := 0; ; i++ {
				select {
				case <-stop:
					done <- writes
					return
				default:
				}
				_, etag, err := cl.CTL(context.Background())
				if errors.Is(err, provider.ErrNoCTL) {
					etag = ""
				} else if err != nil {
					continue
				}
				if _, err := cl.WriteCTL(context.Background(), versions[(i+round)%len(versions)], provider.WriteOptions{LockID: l.ID, IfMatch: etag}); err == nil {
					writes++
				}
			}
		}()
		// Let writes run, then kill without warning. No timing is asserted: whenever the kill
		// lands, the file must be whole.
		time.Sleep(time.Duration(50+round*37) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		close(stop)
		total += <-done
		data, err := os.ReadFile(filepath.Join(n.FileLocation(), provider.FileName))
		if err != nil {
			if round == 0 && errors.Is(err, os.ErrNotExist) {
				continue
			}
			t.Fatalf("round %d: %v", round, err)
		}
		if !known[provider.ETag(data)] {
			t.Fatalf("round %d: CTLFile.tlv (%d bytes) is none of the files written: torn", round, len(data))
		}
	}
	if total == 0 {
		t.Fatal("no write completed in any round: the test proved nothing")
	}
	// And the restarted node serves it.
	cmd := start()
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	waitUp()
	data, _, err := cl.CTL(context.Background())
	if err != nil || !known[provider.ETag(data)] {
		t.Fatalf("after the last restart: %v", err)
	}
}
