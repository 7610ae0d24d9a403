package lab

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// Ports are drawn below the kernel's ephemeral range, distinct within a process.
func TestFreePortsBelowEphemeral(t *testing.T) {
	lo, hi := portRange()
	tcp, udp, err := freePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, l := range []struct {
		net   string
		ports []int
	}{{"tcp", tcp}, {"udp", udp}} {
		for _, p := range l.ports {
			k := l.net + strconv.Itoa(p)
			if p < lo || p >= hi || seen[k] {
				t.Errorf("%s port %d: outside %d-%d or handed out twice", l.net, p, lo, hi-1)
			}
			seen[k] = true
		}
	}
}

// A port another process has claimed is not handed out here until that process exits; a
// port nobody claimed is (the control).
func TestPortClaimsAcrossProcesses(t *testing.T) {
	port, err := freePort("tcp")
	if err != nil {
		t.Fatal(err)
	}
	// Give this process's claim up, as if another process had made it, then let a child
	// claim it.
	portClaims.Lock()
	k := "tcp-" + strconv.Itoa(port)
	portClaims.m[k].Close()
	delete(portClaims.m, k)
	portClaims.Unlock()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPortClaimHelper$")
	cmd.Env = append(os.Environ(), "CTLOPS_TEST_CLAIM="+strconv.Itoa(port))
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "claimed\n" {
		in.Close()
		_ = cmd.Wait()
		t.Fatalf("helper said %q", line)
	}
	if ok, err := claim("tcp", port); err != nil || ok {
		t.Errorf("claimed port %d while another process holds it: %v %v", port, ok, err)
	}
	if other, err := freePort("tcp"); err != nil || other == port {
		t.Errorf("control: freePort = %d, %v", other, err)
	}
	in.Close() // the helper exits; the kernel releases its lock
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if ok, err := claim("tcp", port); err != nil || !ok {
		t.Errorf("port %d not claimable after its holder exited: %v %v", port, ok, err)
	}
}

// TestPortClaimHelper is the other process of TestPortClaimsAcrossProcesses.
func TestPortClaimHelper(t *testing.T) {
	v := os.Getenv("CTLOPS_TEST_CLAIM")
	if v == "" {
		t.Skip("helper process only")
	}
	port, _ := strconv.Atoi(v)
	if ok, err := claim("tcp", port); err != nil || !ok {
		os.Stdout.WriteString("not claimed\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("claimed\n")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}
