package provider_test

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ctlops/ctlops/internal/testcert"
	"github.com/ctlops/ctlops/provider"
)

// A CTL Provider whose certificate names another host fails the TLS check, and Go's error
// quotes the certificate's names: they are the server's words and reach the error filtered.
// The control: a plain name is quoted as it is.
func TestTLSErrorQuotesNamesFiltered(t *testing.T) {
	for _, tc := range []struct{ name, dns, want string }{
		{"plain name (control)", "cm9.example", "certificate is valid for cm9.example, not localhost"},
		{"escapes in the name", "cm9\x1b[2J.example", `certificate is valid for cm9\x1b[2J.example, not localhost`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert, pool := testcert.ForName(t, tc.dns)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.StartTLS()
			defer srv.Close()
			c, err := provider.NewClient(strings.Replace(srv.Listener.Addr().String(), "127.0.0.1", "localhost", 1),
				provider.Options{Username: "admin", Password: "pw", CAPool: pool, Timeout: 10 * time.Second, Retries: -1})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Cluster(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.ContainsRune(err.Error(), 0x1b) {
				t.Errorf("err = %q, want it to hold %q filtered", err, tc.want)
			}
		})
	}
}
