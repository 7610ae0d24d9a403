// Package redact removes the credentials a client sent from what a server says back. A
// server (a debugging proxy, a hostile node) can quote the request's Authorization header or
// the password in a fault or an error page, and errors are printed and logged; the one
// definition of what is removed lives here, for every HTTP client that sends Basic auth.
package redact

import (
	"encoding/base64"
	"strings"
)

// Mask is what a removed secret reads as.
const Mask = "***"

// BasicAuth returns s with the Basic authorization token of user and password, and the
// password itself, replaced by Mask. Run it before a text is clipped, so that no part of a
// secret is left at the cut.
func BasicAuth(s, user, password string) string {
	if user == "" && password == "" {
		return s
	}
	s = strings.ReplaceAll(s, base64.StdEncoding.EncodeToString([]byte(user+":"+password)), Mask)
	if password != "" {
		s = strings.ReplaceAll(s, password, Mask)
	}
	return s
}
