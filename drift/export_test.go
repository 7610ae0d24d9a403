package drift

import (
	"net/http"
	"time"
)

// MetricsServerLimits are the limits of the --listen server, for the tests.
func MetricsServerLimits() (readHeader, read, write, idle time.Duration, maxHeaderBytes int) {
	s := newMetricsServer(http.NotFoundHandler())
	return s.ReadHeaderTimeout, s.ReadTimeout, s.WriteTimeout, s.IdleTimeout, s.MaxHeaderBytes
}
