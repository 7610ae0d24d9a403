package provider

// Wire types of PROTOCOL.md shared by the client and the reference server.

// ProtocolVersion is the path prefix of every operation; a breaking change gets a new one.
const ProtocolVersion = "v1"

// Header names of PROTOCOL.md.
const (
	HeaderLock     = "Ctl-Lock"     // the lock id a change is made under (R24)
	HeaderOverride = "Ctl-Override" // "R19": write a file phones would reject, recorded
	// HeaderLocation answers GET /v1/ctl?location=… with the location served, so that a
	// client never mistakes a server that ignores the parameter for one that honours it.
	HeaderLocation = "Ctl-Location"
	// HeaderLockHeld answers GET /v1/ctl with the node's update lock as it was when the file
	// was read: "none", or the lock without its id as base64url JSON, so that a reader sees
	// the lock with the file in one request (protocol.md, "Reading the file").
	HeaderLockHeld = "Ctl-Lock-Held"
)

// Error codes of PROTOCOL.md.
const (
	CodeBadRequest       = "bad_request"
	CodeUnauthorized     = "unauthorized"
	CodeTooManyAttempts  = "too_many_attempts"
	CodeNotFound         = "not_found"
	CodeNoCTL            = "no_ctl"
	CodeLocked           = "locked"
	CodeNoLock           = "no_lock"
	CodeLockRequired     = "lock_required"
	CodeLockLost         = "lock_lost"
	CodePreconditionReq  = "precondition_required"
	CodeETagMismatch     = "etag_mismatch"
	CodeCTLInvalid       = "ctl_invalid"
	CodeCTLSignature     = "ctl_signature"
	CodeCTLUntrusted     = "ctl_untrusted"
	CodeTooLarge         = "too_large"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeUnsupported      = "unsupported"
	CodeInternal         = "internal"
)

// ErrorBody is the JSON of every error response.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Lock    *Lock  `json:"lock,omitempty"` // with locked / lock_lost: the current holder
}

// ModeRequest is the body of PUT /v1/mode.
type ModeRequest struct {
	Mode Mode `json:"mode"`
}

// RestartRequest is the body of POST /v1/restart.
type RestartRequest struct {
	Services []Service `json:"services"`
}

// RenewRequest is the body of PUT /v1/lock/{id}.
type RenewRequest struct {
	LeaseSec int `json:"leaseSeconds"`
}

// WriteResult is the body of a successful PUT /v1/ctl.
type WriteResult struct {
	ETag     string `json:"etag"`
	Previous string `json:"previous,omitempty"` // ETag of the file kept as CTLFile.tlv.previous
	Override bool   `json:"override,omitempty"`
	Location string `json:"location,omitempty"` // the alternate location written, "" for the FileLocation
}
