package token

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/miekg/pkcs11"

	"github.com/ctlops/ctlops/ctl"
)

// moduleMu serialises loading, initialising and finalising PKCS#11 modules in this process.
// C_Initialize and C_Finalize are process-wide: a listing that finalised the module while a
// signer was being configured would pull the ground from under it.
var moduleMu sync.Mutex

// module is a loaded and initialised PKCS#11 module; release undoes exactly what load did.
type module struct {
	path     string
	ctx      *pkcs11.Ctx
	finalize bool // false when someone else in this process had already initialised it
}

func loadModule(path string) (*module, error) {
	if path == "" {
		return nil, errors.New("no PKCS#11 module given")
	}
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("PKCS#11 module %s: %w", path, errors.Unwrap(err))
	} else if st.IsDir() {
		return nil, fmt.Errorf("PKCS#11 module %s is a directory, not a shared library", path)
	}
	c := pkcs11.New(path)
	if c == nil {
		return nil, fmt.Errorf("PKCS#11 module %s cannot be loaded (not a shared library for this machine, or a library it needs is missing)", path)
	}
	m := &module{path: path, ctx: c, finalize: true}
	if err := c.Initialize(); err != nil {
		if isRV(err, pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			m.finalize = false
			return m, nil
		}
		c.Destroy()
		return nil, initError(path, err)
	}
	return m, nil
}

func (m *module) release() {
	if m.finalize {
		_ = m.ctx.Finalize()
	}
	m.ctx.Destroy()
}

// initError explains a failed C_Initialize; SoftHSM2 reports a missing or unreadable
// SOFTHSM2_CONF as a bare CKR_GENERAL_ERROR.
func initError(path string, err error) error {
	msg := fmt.Sprintf("PKCS#11 module %s failed to initialise: %v", path, err)
	if conf := os.Getenv("SOFTHSM2_CONF"); conf != "" {
		if _, serr := os.Stat(conf); serr != nil {
			msg += fmt.Sprintf(" (SOFTHSM2_CONF=%s: %v)", conf, errors.Unwrap(serr))
		}
	}
	return errors.New(msg)
}

func isRV(err error, rv uint) bool {
	var e pkcs11.Error
	return errors.As(err, &e) && uint(e) == rv
}

// ListOptions asks List to log in to one token so that its private keys, which tokens hide
// until login, can be matched with its certificates.
type ListOptions struct {
	Login Selection // the token to log in to; empty: no login
	PIN   PINSource
	Warn  io.Writer // PIN-counter warnings; nil: discarded
}

// List describes every token present in a slot of module, with its certificates, without
// logging in: on tokens that require login (all eTokens) key presence is then "unknown".
func List(modulePath string) ([]Info, error) {
	return ListWith(modulePath, ListOptions{})
}

// ListWith is List, logging in to the token that o.Login names (R20 applies: it must name
// exactly one present token).
func ListWith(modulePath string, o ListOptions) ([]Info, error) {
	moduleMu.Lock()
	defer moduleMu.Unlock()
	m, err := loadModule(modulePath)
	if err != nil {
		return nil, err
	}
	defer m.release()
	infos, slots, err := tokenInfos(m)
	if err != nil {
		return nil, err
	}
	login := -1
	if o.Login != (Selection{}) {
		chosen, err := Choose(infos, o.Login)
		if err != nil {
			return nil, err
		}
		for i := range infos {
			if infos[i].Serial == chosen.Serial && infos[i].Label == chosen.Label {
				login = i
			}
		}
	}
	for i := range infos {
		if !infos[i].Flags.Initialized {
			continue
		}
		var pin PINSource
		if i == login {
			if o.PIN == nil {
				return nil, fmt.Errorf("token %s: no PIN source to log in with", infos[i].Name())
			}
			pin = o.PIN
		}
		if err := listObjects(m, slots[i], &infos[i], pin, o.Warn); err != nil {
			if i == login {
				return nil, err
			}
			infos[i].Error = err.Error()
		}
	}
	return infos, nil
}

func tokenInfos(m *module) ([]Info, []uint, error) {
	slots, err := m.ctx.GetSlotList(true)
	if err != nil {
		return nil, nil, fmt.Errorf("PKCS#11 module %s: listing slots: %w", m.path, err)
	}
	var infos []Info
	var kept []uint
	for _, s := range slots {
		ti, err := m.ctx.GetTokenInfo(s)
		if err != nil {
			// A token pulled out between the two calls is simply not present.
			continue
		}
		infos = append(infos, infoFrom(s, ti))
		kept = append(kept, s)
	}
	return infos, kept, nil
}

func infoFrom(slot uint, ti pkcs11.TokenInfo) Info {
	f := ti.Flags
	return Info{
		Slot:         slot,
		Label:        ti.Label,
		Serial:       ti.SerialNumber,
		Manufacturer: ti.ManufacturerID,
		Model:        ti.Model,
		Flags: Flags{
			Initialized:    f&pkcs11.CKF_TOKEN_INITIALIZED != 0,
			LoginRequired:  f&pkcs11.CKF_LOGIN_REQUIRED != 0,
			PINInitialized: f&pkcs11.CKF_USER_PIN_INITIALIZED != 0,
			PINCountLow:    f&pkcs11.CKF_USER_PIN_COUNT_LOW != 0,
			PINFinalTry:    f&pkcs11.CKF_USER_PIN_FINAL_TRY != 0,
			PINLocked:      f&pkcs11.CKF_USER_PIN_LOCKED != 0,
			PINToBeChanged: f&pkcs11.CKF_USER_PIN_TO_BE_CHANGED != 0,
		},
		Certificates: []CertInfo{},
	}
}

// listObjects reads the certificates of one token, logging in with pin when it is not nil.
func listObjects(m *module, slot uint, info *Info, pin PINSource, warn io.Writer) error {
	sh, err := m.ctx.OpenSession(slot, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		return fmt.Errorf("token %s: opening a session: %w", info.Name(), err)
	}
	defer m.ctx.CloseSession(sh)
	if pin != nil {
		if err := login(m, sh, slot, info, pin, warn); err != nil {
			return err
		}
	}
	certs, err := findObjects(m.ctx, sh, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_CERTIFICATE),
	})
	if err != nil {
		return fmt.Errorf("token %s: finding certificates: %w", info.Name(), err)
	}
	for _, h := range certs {
		attrs, err := m.ctx.GetAttributeValue(sh, h, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil),
		})
		if err != nil {
			return fmt.Errorf("token %s: reading a certificate: %w", info.Name(), err)
		}
		ci := certInfo(attrs[0].Value, string(attrs[1].Value), attrs[2].Value)
		keys, err := findObjects(m.ctx, sh, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_ID, attrs[0].Value),
		})
		switch {
		case err != nil:
			return fmt.Errorf("token %s: finding private keys: %w", info.Name(), err)
		case len(attrs[0].Value) == 0:
			// No CKA_ID: nothing can pair this certificate with a key.
			ci.PrivateKey = KeyAbsent
		case len(keys) > 0:
			ci.PrivateKey = KeyPresent
		case info.LoggedIn || !info.Flags.LoginRequired:
			ci.PrivateKey = KeyAbsent
		default:
			ci.PrivateKey = KeyUnknown
		}
		info.Certificates = append(info.Certificates, ci)
	}
	return nil
}

// login logs a listing session in, warning about the PIN counter before and after.
func login(m *module, sh pkcs11.SessionHandle, slot uint, info *Info, src PINSource, warn io.Writer) error {
	if info.Flags.PINLocked {
		return fmt.Errorf("token %s: %w", info.Name(), ErrPINLocked)
	}
	if w := info.Flags.PINWarning(); w != "" && warn != nil {
		fmt.Fprintf(warn, "warning: token %s: %s\n", info.Name(), w)
	}
	pin, err := src(*info)
	if err != nil {
		return err
	}
	err = m.ctx.Login(sh, pkcs11.CKU_USER, string(pin))
	wipe(pin)
	if err != nil && !isRV(err, pkcs11.CKR_USER_ALREADY_LOGGED_IN) {
		after := Flags{}
		if ti, terr := m.ctx.GetTokenInfo(slot); terr == nil {
			after = infoFrom(slot, ti).Flags
		}
		return loginError(*info, after, err)
	}
	info.LoggedIn = true
	return nil
}

func findObjects(c *pkcs11.Ctx, sh pkcs11.SessionHandle, tmpl []*pkcs11.Attribute) ([]pkcs11.ObjectHandle, error) {
	if err := c.FindObjectsInit(sh, tmpl); err != nil {
		return nil, err
	}
	var all []pkcs11.ObjectHandle
	for {
		hs, _, err := c.FindObjects(sh, 64)
		if err != nil {
			_ = c.FindObjectsFinal(sh)
			return nil, err
		}
		all = append(all, hs...)
		if len(hs) == 0 || len(all) > 4096 {
			break
		}
	}
	return all, c.FindObjectsFinal(sh)
}

func certInfo(id []byte, label string, der []byte) CertInfo {
	sum := sha256.Sum256(der)
	ci := CertInfo{Label: label, ID: hex.EncodeToString(id), SHA256: hex.EncodeToString(sum[:])}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		ci.ParseError = err.Error()
		return ci
	}
	ci.Certificate = cert
	ci.Subject = ctl.NameString(cert.Subject)
	ci.Issuer = ctl.NameString(cert.Issuer)
	ci.Serial = ctl.SerialHex(cert.SerialNumber.Bytes())
	ci.NotBefore = cert.NotBefore.UTC()
	ci.NotAfter = cert.NotAfter.UTC()
	return ci
}
