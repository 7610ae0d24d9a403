package serviceability

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	testUser = "axladmin"
	testPass = "s3cret-Pa55"
)

// recorder is a TLS server on 127.0.0.1 answering each request with the next canned answer
// and keeping what it was sent.
type recorder struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []*http.Request
	bod []string
	ans func(r *http.Request, body string) (int, string)
}

func newRecorder(t *testing.T, ans func(r *http.Request, body string) (int, string)) *recorder {
	rec := &recorder{ans: ans}
	rec.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.got = append(rec.got, r)
		rec.bod = append(rec.bod, string(b))
		rec.mu.Unlock()
		code, body := rec.ans(r, string(b))
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(code)
		io.WriteString(w, body)
	}))
	rec.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	rec.srv.StartTLS()
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *recorder) client(t *testing.T, opt Options) *Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(rec.srv.Certificate())
	if opt.RootCAs == nil {
		opt.RootCAs = pool
	}
	if opt.Node == "" {
		opt.Node = "cm2.hq"
	}
	opt.Username, opt.Password = testUser, testPass
	c, err := New(rec.srv.URL, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func fileAnswer(t *testing.T, name string) func(*http.Request, string) (int, string) {
	data := string(readResponse(t, name))
	return func(*http.Request, string) (int, string) { return 200, data }
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "requests", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("request %s differs from the golden file:\n got %s\nwant %s", name, got, want)
	}
}

// The requests as sent: path, SOAPAction, Basic auth and body (golden).
func TestRequestsGolden(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		golden, answer, path, action string
		call                         func(c *Client) error
	}{
		{"soapGetServiceStatus.xml", "status_ns1.xml", ControlCenterPath, `"soapGetServiceStatus"`, func(c *Client) error {
			_, err := c.GetServiceStatus(ctx, ServiceCallManager, ServiceTFTP)
			return err
		}},
		{"soapGetServiceStatus-all.xml", "status_ns1.xml", ControlCenterPath, `"soapGetServiceStatus"`, func(c *Client) error {
			_, err := c.GetServiceStatus(ctx)
			return err
		}},
		{"soapDoControlServices.xml", "control_restart.xml", ControlCenterPath, `"soapDoControlServices"`, func(c *Client) error {
			_, err := c.ControlServices(ctx, Restart, ServiceTFTP)
			return err
		}},
		{"selectCmDevice.xml", "ris_two_nodes.xml", RisPortPath, `"selectCmDevice"`, func(c *Client) error {
			_, err := c.SelectCmDevice(ctx, Criteria{})
			return err
		}},
		{"getCCMVersion.xml", "axl_version.xml", AXLPath, `"CUCM:DB ver=14.0 getCCMVersion"`, func(c *Client) error {
			_, err := c.GetCCMVersion(ctx)
			return err
		}},
		{"listProcessNode.xml", "axl_processnodes.xml", AXLPath, `"CUCM:DB ver=14.0 listProcessNode"`, func(c *Client) error {
			_, err := c.ListProcessNode(ctx)
			return err
		}},
		{"doDeviceReset.xml", "axl_reset.xml", AXLPath, `"CUCM:DB ver=14.0 doDeviceReset"`, func(c *Client) error {
			return c.DoDeviceReset(ctx, "SEP001122334455")
		}},
		{"executeSQLQuery.xml", "axl_sql.xml", AXLPath, `"CUCM:DB ver=14.0 executeSQLQuery"`, func(c *Client) error {
			_, err := c.ExecuteSQLQuery(ctx, "select paramname,paramvalue from processconfig where paramname='ClusterSecurityMode'")
			return err
		}},
	} {
		rec := newRecorder(t, fileAnswer(t, tc.answer))
		if err := tc.call(rec.client(t, Options{})); err != nil {
			t.Fatalf("%s: %v", tc.golden, err)
		}
		r := rec.got[0]
		u, p, ok := r.BasicAuth()
		if r.Method != "POST" || r.URL.Path != tc.path || r.Header.Get("SOAPAction") != tc.action || !ok || u != testUser || p != testPass ||
			!strings.HasPrefix(r.Header.Get("Content-Type"), "text/xml") {
			t.Errorf("%s: %s %s SOAPAction %s auth %v %q", tc.golden, r.Method, r.URL.Path, r.Header.Get("SOAPAction"), ok, u)
		}
		golden(t, tc.golden, rec.bod[0])
	}
}

func TestClientResults(t *testing.T) {
	ctx := context.Background()
	c := newRecorder(t, fileAnswer(t, "axl_processnodes.xml")).client(t, Options{})
	nodes, err := c.ListProcessNode(ctx)
	if err != nil || len(nodes) != 3 || nodes[0].Name != EnterpriseWideData || nodes[1].NodeUsage != "Publisher" {
		t.Fatalf("%v %+v", err, nodes)
	}
	c = newRecorder(t, fileAnswer(t, "ris_two_nodes.xml")).client(t, Options{})
	res, err := c.SelectCmDevice(ctx, Criteria{})
	if err != nil || res.TotalDevicesFound != 3 || len(res.Phones()) != 3 {
		t.Fatalf("%v %+v", err, res)
	}
}

// Every failure names the node and the operation, and never shows the credentials.
func TestClientErrors(t *testing.T) {
	ctx := context.Background()
	big := strings.Repeat("x", 2048)
	for _, tc := range []struct {
		name string
		ans  func(*http.Request, string) (int, string)
		opt  Options
		call func(c *Client) error
		want []string
	}{
		{"401", func(*http.Request, string) (int, string) { return 401, "<html>HTTP Status 401</html>" }, Options{},
			func(c *Client) error { _, err := c.GetServiceStatus(ctx); return err },
			[]string{"cm2.hq: Control Center soapGetServiceStatus: HTTP 401: the application user's credentials were refused"}},
		{"service fault", fileAnswer500(t, "fault_service.xml"), Options{},
			func(c *Client) error { _, err := c.ControlServices(ctx, Restart, "Cisco Tftpd"); return err },
			[]string{"cm2.hq: Control Center soapDoControlServices: SOAP fault soapenv:Server: Service Not Found: Cisco Tftpd"}},
		{"AXL fault", fileAnswer500(t, "axl_fault.xml"), Options{},
			func(c *Client) error { return c.DoDeviceReset(ctx, "SEPNOPE") },
			[]string{"cm2.hq: AXL doDeviceReset: SOAP fault soapenv:Client: Item not valid", "axlcode 5007"}},
		{"500 without fault", func(*http.Request, string) (int, string) { return 500, "<html>Internal error\x1b[31m</html>" }, Options{},
			func(c *Client) error { _, err := c.GetCCMVersion(ctx); return err },
			[]string{`AXL getCCMVersion: HTTP 500: <html>Internal error\x1b[31m`}},
		{"404", func(*http.Request, string) (int, string) { return 404, "no AXL here" }, Options{},
			func(c *Client) error { _, err := c.GetCCMVersion(ctx); return err },
			[]string{"HTTP 404: no AXL here"}},
		{"redirect", func(*http.Request, string) (int, string) { return 302, "" }, Options{},
			func(c *Client) error { _, err := c.GetCCMVersion(ctx); return err },
			[]string{"HTTP 302"}},
		{"too large", func(*http.Request, string) (int, string) { return 200, big }, Options{MaxResponse: 1024},
			func(c *Client) error { _, err := c.GetCCMVersion(ctx); return err },
			[]string{"answer larger than 1024 bytes"}},
		{"wrong answer", fileAnswer(t, "status_ns1.xml"), Options{},
			func(c *Client) error { _, err := c.ControlServices(ctx, Start, ServiceTFTP); return err },
			[]string{"answer is <soapGetServiceStatusResponse>"}},
		{"bad control type", fileAnswer(t, "control_restart.xml"), Options{},
			func(c *Client) error { _, err := c.ControlServices(ctx, "Reboot", ServiceTFTP); return err },
			[]string{`control type "Reboot"`}},
		// A server that echoes the request's headers (a debugging proxy, a hostile node) in a
		// fault or an error page: the credentials it was sent are not quoted back.
		{"fault echoing the credentials", echoAuth(500, `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>bad request, Authorization: AUTH (user USER, password PASS)</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`), Options{},
			func(c *Client) error { _, err := c.GetCCMVersion(ctx); return err },
			[]string{"SOAP fault soapenv:Server: bad request, Authorization: "}},
		{"error page echoing the credentials", echoAuth(400, "Authorization: AUTH PASS"), Options{},
			func(c *Client) error { _, err := c.GetCCMVersion(ctx); return err },
			[]string{"HTTP 400: Authorization: "}},
		{"the password at the cut of a long error page", echoAuth(400, strings.Repeat("x", 75)+"PASS"), Options{},
			func(c *Client) error { _, err := c.GetCCMVersion(ctx); return err },
			[]string{"HTTP 400: " + strings.Repeat("x", 75) + "***"}},
		{"short RisPort pages", fileAnswer(t, "ris_two_nodes.xml"), Options{},
			func(c *Client) error {
				// TotalDevicesFound 4 but only 3 names, and the next page repeats them.
				rec := newRecorder(t, func(*http.Request, string) (int, string) {
					return 200, strings.Replace(string(readResponse(t, "ris_two_nodes.xml")), ">3</ns1:TotalDevicesFound>", ">4</ns1:TotalDevicesFound>", 1)
				})
				_, err := rec.client(t, Options{}).SelectCmDevice(ctx, Criteria{})
				return err
			},
			[]string{"TotalDevicesFound is 4 but the answers named 3 devices"}},
	} {
		rec := newRecorder(t, tc.ans)
		err := tc.call(rec.client(t, tc.opt))
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not contain %q", tc.name, err, w)
			}
		}
		basic := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPass))
		if strings.Contains(err.Error(), testPass) || strings.Contains(err.Error(), testUser) || strings.Contains(err.Error(), basic) || strings.ContainsRune(err.Error(), 0x1b) {
			t.Errorf("%s: error shows a credential or a raw escape: %q", tc.name, err)
		}
		var e *Error
		if !errors.As(err, &e) || e.Node != "cm2.hq" {
			t.Errorf("%s: not an *Error naming the node: %#v", tc.name, err)
		}
	}
}

// echoAuth answers code with body, its AUTH, USER and PASS replaced by the request's
// Authorization header and the credentials it carries.
func echoAuth(code int, body string) func(*http.Request, string) (int, string) {
	return func(r *http.Request, _ string) (int, string) {
		user, pass, _ := r.BasicAuth()
		return code, strings.NewReplacer("AUTH", r.Header.Get("Authorization"), "USER", user, "PASS", pass).Replace(body)
	}
}

func fileAnswer500(t *testing.T, name string) func(*http.Request, string) (int, string) {
	data := string(readResponse(t, name))
	return func(*http.Request, string) (int, string) { return 500, data }
}

func TestClientTimeoutAndTrust(t *testing.T) {
	hang := newRecorder(t, nil)
	hang.ans = func(r *http.Request, _ string) (int, string) {
		<-r.Context().Done() // the client gives up first; the handler ends with it
		return 200, ""
	}
	c := hang.client(t, Options{Timeout: 200 * time.Millisecond})
	start := time.Now()
	if _, err := c.GetServiceStatus(context.Background()); err == nil || !strings.Contains(err.Error(), "cm2.hq: Control Center") {
		t.Errorf("hanging server: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("timeout not applied: %v", d)
	}

	// A node whose certificate the configured trust does not hold is refused.
	rec := newRecorder(t, fileAnswer(t, "status_ns1.xml"))
	c = rec.client(t, Options{RootCAs: x509.NewCertPool()})
	if _, err := c.GetServiceStatus(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if len(rec.got) != 0 {
		t.Errorf("request reached an untrusted server")
	}
}

func TestNewRefusesBadURLs(t *testing.T) {
	for _, u := range []string{"http://cm1:8443", "https://", "https://cm1:8443/axl/", "https://u:p@cm1", "cm1:8443"} {
		if _, err := New(u, Options{}); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if _, err := New("https://cm1:8443", Options{AXLVersion: "14"}); err == nil {
		t.Error("AXL version 14 accepted")
	}
	if c, err := New("https://cm1.hq:8443/", Options{}); err != nil || c.Node() != "cm1.hq" {
		t.Errorf("%v", err)
	}
}

func TestSelectCmDevicePagesWithStateInfo(t *testing.T) {
	page := func(total int, state string, names ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, `<e:Envelope xmlns:e="%s"><e:Body><r:selectCmDeviceResponse xmlns:r="%s"><r:selectCmDeviceReturn><r:SelectCmDeviceResult><r:TotalDevicesFound>%d</r:TotalDevicesFound><r:CmNodes><r:item><r:ReturnCode>Ok</r:ReturnCode><r:Name>cm1</r:Name><r:NoChange>false</r:NoChange><r:CmDevices>`, NSEnvelope, NSServiceability, total)
		for _, n := range names {
			fmt.Fprintf(&b, `<r:item><r:Name>%s</r:Name><r:Status>Registered</r:Status><r:Protocol>SIP</r:Protocol><r:IPAddress/></r:item>`, n)
		}
		fmt.Fprintf(&b, `</r:CmDevices></r:item></r:CmNodes></r:SelectCmDeviceResult><r:StateInfo>%s</r:StateInfo></r:selectCmDeviceReturn></r:selectCmDeviceResponse></e:Body></e:Envelope>`, state)
		return b.String()
	}
	rec := newRecorder(t, func(_ *http.Request, body string) (int, string) {
		if strings.Contains(body, "<soap:StateInfo>page2</soap:StateInfo>") {
			return 200, page(3, "page3", "SEP3")
		}
		return 200, page(3, "page2", "SEP1", "SEP2")
	})
	res, err := rec.client(t, Options{}).SelectCmDevice(context.Background(), Criteria{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Phones()); n != 3 || len(rec.got) != 2 {
		t.Errorf("%d phones in %d requests", n, len(rec.got))
	}
}
