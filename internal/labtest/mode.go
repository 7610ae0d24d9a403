package labtest

import "github.com/ctlops/ctlops/provider"

func lockRequest() provider.LockRequest {
	return provider.LockRequest{User: "labtest", Host: "labtest", Operation: "set mode", LeaseSec: 60}
}

func modeOf(s string) provider.Mode { return provider.Mode(s) }
