package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
)

// CTLLockReader reads a server's file and its update lock (R24) in one request, where the
// server says the lock with the file (HeaderLockHeld): plan and drift show held locks, and a
// second request per server for them cost a fleet as much again in requests.
type CTLLockReader interface {
	// CTLAndLock returns the file and the lock held when it was read (nil: free). told is
	// false when the server did not say; then only GetLock can tell.
	CTLAndLock(ctx context.Context) (data []byte, etag string, lock *Lock, told bool, err error)
}

// maxLockHeader bounds the header a server may send: a lock is a few short fields.
const maxLockHeader = 2048

// CTLAndLock implements CTLLockReader. A header that is too long or does not decode counts
// as not told: the lock is shown best effort, and the file read stands on its own checks.
func (c *Client) CTLAndLock(ctx context.Context) ([]byte, string, *Lock, bool, error) {
	data, etag, hdr, err := c.getCTL(ctx)
	if err != nil {
		return nil, "", nil, false, err
	}
	l, told := DecodeLockHeld(hdr.Get(HeaderLockHeld))
	return data, etag, l, told, nil
}

// EncodeLockHeld is the HeaderLockHeld value for a lock (nil: free). The id is never part of
// it: it is the holder's capability, and anyone who may read the file sees the header.
func EncodeLockHeld(l *Lock) string {
	if l == nil {
		return "none"
	}
	pub := *l
	pub.ID = ""
	b, _ := json.Marshal(&pub) // a struct of strings and times: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeLockHeld reads a HeaderLockHeld value; told is false for an empty or unreadable one.
func DecodeLockHeld(v string) (l *Lock, told bool) {
	switch {
	case v == "":
		return nil, false
	case v == "none":
		return nil, true
	case len(v) > maxLockHeader:
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return nil, false
	}
	var out Lock
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, false
	}
	out.ID = "" // a server that sends one anyway: dropped here, as GetLock's readers do
	return &out, true
}

// CTLAndLock reads through a reader that can say its lock with the file; others answer the
// file alone, not told.
func (r readOnly) CTLAndLock(ctx context.Context) ([]byte, string, *Lock, bool, error) {
	if x, ok := r.r.(CTLLockReader); ok {
		return x.CTLAndLock(ctx)
	}
	data, etag, err := r.r.CTL(ctx)
	return data, etag, nil, false, err
}
