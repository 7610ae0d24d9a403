package phone

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/lab/cnf"
	"github.com/ctlops/ctlops/lab/tvs"
	"github.com/ctlops/ctlops/phonerules"
)

func (s TFTPServer) rules() phonerules.Server {
	ip, _ := netip.ParseAddr(s.IP)
	return phonerules.Server{IP: ip, Host: s.Host}
}

func (s TFTPServer) String() string { return s.rules().String() }

// Boot is a power-on or reset (P3): the CTL, then the ITL, then the configuration, then
// registration. It returns the state it ends in; the registration, if any, is kept alive
// until the next Boot or Close.
func (p *Phone) Boot(ctx context.Context) State {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopRegistration()
	p.regGen++
	p.st.Boots++
	p.st.Booting, p.st.Registered, p.st.Secure, p.st.Node, p.st.LastError = true, false, false, nil, nil
	p.bootErr = nil
	p.st.Log = []string{}
	p.publish()

	p.renewLease()
	hadCTL, hadITL := p.ctl != nil, p.itl != nil
	srv, ctlStep := p.trustCTL(ctx)
	itlStep := phonerules.Unchanged
	if srv != nil && p.prof.RequestsITL {
		itlStep = p.trustITL(ctx, *srv)
	}
	if status, alarm := phonerules.Summarize(ctlStep, itlStep, hadCTL, hadITL); status != "" {
		p.st.Status, p.st.Alarm, p.st.AlarmName = status, int(alarm), alarm.String()
		if alarm != phonerules.AlarmNone {
			p.logf("SECUREAPP-sending Trust List update alarm %d %s", alarm, alarm)
		}
	} else if p.ctl == nil && p.itl == nil {
		p.st.Status, p.st.Alarm, p.st.AlarmName = phonerules.StatusNoTrustList, 0, ""
	}
	if p.ctl == nil && p.itl == nil && p.st.Status != phonerules.StatusCTLNotFound && ctlStep != phonerules.Refused {
		p.st.Status = phonerules.StatusNoTrustList // P5
	}
	p.refreshHashes()
	if srv != nil {
		p.st.TFTPServer, p.st.TFTPAddr = srv.String(), srv.Addr
		p.configure(*srv)
	}
	p.register(ctx, p.regGen)
	p.st.Booting = false
	p.publish()
	return p.snapshot()
}

// renewLease asks DHCP for option 150 again (P1); mu must be held.
func (p *Phone) renewLease() {
	if p.cfg.DHCP == nil {
		return
	}
	list, err := p.cfg.DHCP()
	switch {
	case err != nil:
		p.logf("DHCP: %v; keeping the TFTP server list", err)
	case len(list) == 0:
		p.logf("DHCP: no option 150; keeping the TFTP server list")
	default:
		for _, s := range list {
			if _, err := netip.ParseAddr(s.IP); err != nil {
				p.logf("DHCP: option 150 entry %q: %v; keeping the TFTP server list", s.IP, err)
				return
			}
		}
		p.cfg.TFTP = list
		names := make([]string, len(list))
		for i, s := range list {
			names[i] = s.String()
		}
		p.logf("DHCP: option 150 = %s", strings.Join(names, ", "))
	}
}

// trustCTL walks the TFTP servers in order (P1) for CTLSEP<MAC>.tlv (P3). With a CTL
// installed, a server the CTL does not name is skipped with a TFTP authorization failure (P8).
func (p *Phone) trustCTL(ctx context.Context) (*TFTPServer, phonerules.Step) {
	name := "CTLSEP" + p.cfg.MAC + ".tlv"
	var lastErr error
	for i, s := range p.cfg.TFTP {
		if ctx.Err() != nil {
			break
		}
		p.logf("AUTH.SRVR look up server - %d %s", i, s)
		if err := phonerules.TFTPAuthorized(p.ctl, s.rules()); err != nil {
			p.logf("%v", err)
			lastErr = err
			continue
		}
		p.logf("Non secure file requested: %s from %s", name, s)
		b, err := fetch(s.Addr, name, ctl.MaxFileSize, p.cfg.PacketTimeout)
		var tl errTooLarge
		switch {
		case errors.Is(err, errNotFound):
			// P4: no CTL on the server: the cluster is non-secure for a phone without one.
			p.logf("File Not Found <CTLFile.tlv>")
			return &s, phonerules.Absent
		case errors.As(err, &tl):
			// P9: too large to load; the old list stays.
			p.fail(fmt.Errorf("CTL update failed: %s: %w (P9)", s, err))
			return &s, phonerules.Refused
		case err != nil:
			p.logf("%v", err)
			lastErr = err
			continue
		}
		return &s, p.considerCTL(ctx, b)
	}
	if lastErr == nil {
		lastErr = errors.New("no TFTP server answered")
	}
	p.fail(tlFailed("%w", lastErr))
	return nil, phonerules.Refused
}

// fail records a boot error: logged, reported as lastError, and kept through registration.
func (p *Phone) fail(err error) {
	p.logf("%v", err)
	p.bootErr = err
	p.setError(err)
}

// considerCTL decides about a downloaded CTL (P10–P19) and installs it, replacing the old one
// (P18), or keeps the old one (P16).
func (p *Phone) considerCTL(ctx context.Context, b []byte) phonerules.Step {
	if p.ctlRaw != nil && bytes.Equal(b, p.ctlRaw) {
		p.logf("SECUREAPP-CTL file unchanged")
		return phonerules.Unchanged
	}
	f, err := ctl.Parse(b)
	if err != nil {
		p.fail(fmt.Errorf("CTL update failed: the file does not parse: %w (P10)", err))
		return phonerules.Refused
	}
	d := phonerules.CTL(p.prof, p.ctl, p.itl, f)
	if d.Outcome == phonerules.AskTVS {
		d = p.askTVS(ctx, d)
	}
	switch d.Outcome {
	case phonerules.Imprint, phonerules.Accept:
		if d.Outcome == phonerules.Imprint {
			p.logf("Using leap of faith to accept TL file")
		}
		p.logf("SECUREAPP-Hashes match... authentication successful.")
		if err := p.store(flashCTL, b); err != nil {
			p.fail(fmt.Errorf("CTL update failed: writing flash: %w", err))
			return phonerules.Refused
		}
		prev := p.ctl
		p.ctlRaw, p.ctl = b, f
		p.logf("SECUREAPP-TL file updated. (%s: %s)", d.Rule, d.Reason)
		if prev == nil {
			return phonerules.Imprinted
		}
		return phonerules.Updated
	}
	msg := phonerules.StatusTLUpdateFailed
	if !p.prof.RequestsITL {
		msg = phonerules.StatusCTLUpdateFailed
	}
	if d.NeedsErase {
		msg += " (manually delete the CTL and ITL files and reset the phone)"
	}
	p.fail(fmt.Errorf("%s: %s: %s", msg, d.Rule, d.Reason))
	return phonerules.Refused
}

// trustITL fetches ITLSEP<MAC>.tlv, then ITLFile.tlv (P3), from the server the CTL came from,
// which the (possibly new) CTL must authorise (P8).
func (p *Phone) trustITL(ctx context.Context, s TFTPServer) phonerules.Step {
	if err := phonerules.TFTPAuthorized(p.ctl, s.rules()); err != nil {
		p.fail(tlFailed("ITL: %w", err))
		return phonerules.Refused
	}
	var b []byte
	var err error
	for _, name := range []string{"ITLSEP" + p.cfg.MAC + ".tlv", "ITLFile.tlv"} {
		p.logf("Non secure file requested: %s from %s", name, s)
		b, err = fetch(s.Addr, name, ctl.MaxFileSize, p.cfg.PacketTimeout)
		if !errors.Is(err, errNotFound) {
			break
		}
	}
	var tl errTooLarge
	switch {
	case errors.Is(err, errNotFound):
		p.logf("File Not Found <ITLFile.tlv>")
		return phonerules.Absent
	case errors.As(err, &tl):
		p.fail(tlFailed("ITL: %w (P9)", err))
		return phonerules.Refused
	case err != nil:
		p.fail(tlFailed("ITL: %w", err))
		return phonerules.Refused
	}
	if p.itlRaw != nil && bytes.Equal(b, p.itlRaw) {
		p.logf("SECUREAPP-ITL file unchanged")
		return phonerules.Unchanged
	}
	f, err := ctl.Parse(b)
	if err != nil {
		p.fail(tlFailed("the ITL does not parse: %w (P10)", err))
		return phonerules.Refused
	}
	d := phonerules.ITL(p.prof, p.ctl, p.itl, f)
	if d.Outcome == phonerules.AskTVS {
		d = p.askTVS(ctx, d)
	}
	switch d.Outcome {
	case phonerules.Imprint, phonerules.Accept:
		if err := p.store(flashITL, b); err != nil {
			p.fail(tlFailed("writing flash: %w", err))
			return phonerules.Refused
		}
		prev := p.itl
		p.itlRaw, p.itl = b, f
		p.logf("SECUREAPP-ITL file verified successfully. (%s: %s)", d.Rule, d.Reason)
		if prev == nil {
			return phonerules.Imprinted
		}
		return phonerules.Updated
	}
	p.fail(tlFailed("ITL: %s: %s", d.Rule, d.Reason))
	return phonerules.Refused
}

// askTVS asks the TVS servers of the current configuration, in priority order (P26), about an
// unknown signer, trusting each server only by the ITL's TVS records (P27); answers are
// cached for their TTL (P29).
func (p *Phone) askTVS(ctx context.Context, d phonerules.Decision) phonerules.Decision {
	if d.Signer == nil || len(d.Signer.Certificate) == 0 {
		return phonerules.NoTVS(d, "the signer's record carries no certificate to ask TVS about")
	}
	fp := ctl.Fingerprint(d.Signer.Certificate)
	if e, ok := p.tvsCache[fp]; ok && time.Now().Before(e.expires) {
		p.logf("SECUREAPP-TVS cache hit for %s", fp)
		return phonerules.AfterTVS(d, true, d.Signer.Certificate, e.roles)
	}
	if !phonerules.HasTVSRecord(p.itl) {
		p.logf("Not using TVS - TVS not in Trust list")
		return phonerules.NoTVS(d, "Not using TVS - TVS not in Trust list (P24)")
	}
	if p.cnf == nil || len(p.cnf.TVS) == 0 {
		return phonerules.NoTVS(d, "the current configuration names no TVS server (P26)")
	}
	itl := p.itl
	var lastErr error
	for _, m := range p.cnf.TVS {
		addr := net.JoinHostPort(m.Address, strconv.Itoa(m.Port))
		p.logf("SECUREAPP-Attempting connect to TVS server addr [%s]", addr)
		c := &tvs.Client{Addr: addr, Device: p.prof.Model + "-SEP" + p.cfg.MAC, TLSMax: p.prof.TLSMax,
			TrustServer: func(der []byte) error { return phonerules.TVSTrusted(itl, der) }, Timeout: 3 * time.Second}
		a, err := c.Verify(ctx, d.Signer.Certificate)
		if err != nil {
			p.logf("%v", err)
			lastErr = err
			continue
		}
		p.logf("SECUREAPP-TVS process request - valid=%v roles=%v", a.Valid, a.Roles)
		if a.Valid {
			p.tvsCache[fp] = tvsEntry{roles: a.Roles, expires: time.Now().Add(a.TTL)}
			p.logf("SECUREAPP-TVS added cert to TVS cache - expires in %s", a.TTL)
		}
		return phonerules.AfterTVS(d, a.Valid, d.Signer.Certificate, a.Roles)
	}
	return phonerules.NoTVS(d, fmt.Sprintf("no TVS server answered: %v", lastErr))
}

// configure downloads the configuration file named by P6 from s (which the CTL must authorise,
// P8) and keeps it; on failure the previous configuration stays (P36).
func (p *Phone) configure(s TFTPServer) {
	if err := phonerules.TFTPAuthorized(p.ctl, s.rules()); err != nil {
		p.fail(fmt.Errorf("configuration: %w", err))
		return
	}
	name := phonerules.ConfigFileName(p.cfg.MAC, p.ctl, p.itl)
	if strings.HasSuffix(name, ".sgn") {
		p.logf("Secure file requested: %s", name)
	}
	b, err := fetch(s.Addr, name, cnf.MaxSize, p.cfg.PacketTimeout)
	if errors.Is(err, errNotFound) && strings.HasSuffix(name, ".sgn") {
		// The lab signs no configuration files (P35–P37 not modelled): it answers the signed
		// name with "File not found", and the lab phone takes the unsigned file instead.
		name = strings.TrimSuffix(name, ".sgn")
		p.logf("lab: no signed configuration (P35-P37 not modelled); requesting %s", name)
		b, err = fetch(s.Addr, name, cnf.MaxSize, p.cfg.PacketTimeout)
	}
	if err != nil {
		p.fail(fmt.Errorf("configuration %s: %w", name, err))
		return
	}
	d, err := cnf.Parse(b)
	if err != nil {
		p.fail(fmt.Errorf("configuration %s from %s: %w", name, s, err))
		return
	}
	if !bytes.Equal(b, p.cnfRaw) {
		if err := p.store(flashCnf, b); err != nil {
			p.fail(err)
			return
		}
	}
	p.cnfRaw, p.cnf = b, d
	p.st.ConfigFile, p.st.SecurityMode = name, d.SecurityMode
	p.logf("configuration %s: %s, deviceSecurityMode %d", name, d.Protocol, d.SecurityMode)
}

// tlFailed is an error that starts with the phone's status message (P46).
func tlFailed(format string, a ...any) error {
	return fmt.Errorf("%s: %w", phonerules.StatusTLUpdateFailed, fmt.Errorf(format, a...))
}
