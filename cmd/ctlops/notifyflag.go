package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/internal/safefile"
)

// notifyEnv gives drift's webhook URL from the environment (a Kubernetes secret, a CI secret),
// so that a URL holding a token is never on the command line, where /proc/PID/cmdline and
// `ps` show it to every user of the machine.
const notifyEnv = "CTLOPS_NOTIFY_URL"

// addNotifySources gives drift's --notify two more sources: --notify-file PATH (the first line
// of the file) and $CTLOPS_NOTIFY_URL. The URL is then set inside the process only.
func addNotifySources(c *cobra.Command) {
	if c.CommandPath() != "ctlops drift" || c.Flags().Lookup("notify") == nil || c.Flags().Lookup("notify-file") != nil {
		return
	}
	c.Flags().String("notify-file", "", "read the webhook URL from the first line of FILE (default $"+notifyEnv+"); keeps a token in the URL off the command line")
	c.Flags().Lookup("notify").Usage += " (better: --notify-file or $" + notifyEnv + ", which ps cannot see)"
	c.Annotations = mergeAnnotations(c.Annotations, map[string]string{"ctlops/notify": "true"})
}

// applyNotifySources sets --notify from --notify-file or the environment, before drift runs.
func applyNotifySources(c *cobra.Command) error {
	if c.Annotations["ctlops/notify"] != "true" {
		return nil
	}
	notify, file := c.Flags().Lookup("notify"), c.Flags().Lookup("notify-file")
	var url string
	switch {
	case file.Changed && notify.Changed:
		return usageError(errors.New("--notify and --notify-file: give one"))
	case file.Changed:
		b, err := safefile.Read(file.Value.String(), 64<<10)
		if err != nil {
			return fmt.Errorf("--notify-file: %w", err)
		}
		url, _, _ = strings.Cut(string(b), "\n")
		if url = strings.TrimSpace(url); url == "" {
			return fmt.Errorf("--notify-file %s: the first line is empty", file.Value.String())
		}
	case notify.Changed:
		return nil
	default:
		url = strings.TrimSpace(os.Getenv(notifyEnv))
		if url == "" {
			return nil
		}
	}
	return notify.Value.Set(url)
}
