package provider

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ctlops/ctlops/provider/providertest/hostile"
)

// The client's transport refuses any request that is not HTTPS, whatever URL reaches it.
func TestTransportRefusesPlainHTTP(t *testing.T) {
	plain := hostile.NewPlain(t)
	c, err := NewClient("127.0.0.1:1", Options{Username: "admin", Password: "pw", Pins: []string{strings.Repeat("ab", 32)}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+plain.Addr+"/v1/cluster", nil)
	req.SetBasicAuth("admin", "pw")
	_, err = c.http.Do(req)
	if err == nil || !strings.Contains(err.Error(), "HTTPS only") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if conns, _ := plain.Seen(); conns != 0 {
		t.Fatalf("the plain listener got %d connections", conns)
	}
}
