package redact

import (
	"encoding/base64"
	"testing"
)

func TestBasicAuth(t *testing.T) {
	token := base64.StdEncoding.EncodeToString([]byte("admin:s3cret"))
	for _, tc := range []struct{ name, in, user, pass, want string }{
		{"nothing secret (control)", "HTTP 500: internal error", "admin", "s3cret", "HTTP 500: internal error"},
		{"the token", "Authorization: Basic " + token, "admin", "s3cret", "Authorization: Basic ***"},
		{"the password", "password s3cret refused", "admin", "s3cret", "password *** refused"},
		{"no credentials", "password s3cret", "", "", "password s3cret"},
	} {
		if got := BasicAuth(tc.in, tc.user, tc.pass); got != tc.want {
			t.Errorf("%s: BasicAuth(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}
