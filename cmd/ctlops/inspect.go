package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/ctl"
	"github.com/ctlops/ctlops/internal/atomicfile"
	"github.com/ctlops/ctlops/internal/safefile"
	"github.com/ctlops/ctlops/internal/termsafe"
)

func init() { register(newInspectCmd) }

// inspected is one file's JSON: ctl's summary and, with --installed, each phone model's verdict.
type inspected struct {
	ctl.Summary
	Phones []phoneVerdict `json:"phones,omitempty"`
}

func newInspectCmd() *cobra.Command {
	var format, installed, window, exportDir, phoneModels string
	cmd := &cobra.Command{
		Use:   "inspect FILE...",
		Short: "Show a CTLFile.tlv or ITLFile.tlv and check its signature",
		Long: `Inspect decodes CTL and ITL files ("-" reads standard input) and prints them in a
stable show-ctl style text, or as JSON with --format json (one object per file, an array
when several files are given). Records are numbered from 1 in both. Each file gets its
MD5 and SHA-1 checksums as CUCM's "show ctl" and the phone's Trust List menu show them,
and its SHA-256; certificates that have expired or expire within --expiry-window (default
30d) are marked (a warning: the exit status does not change).

With --installed OLD it also says whether phones that hold OLD would accept each FILE:
the new file's signer must be a SAST record of OLD (rule R19), and what each phone model
would do with it (phonerules: the digest it verifies, P32; its key size, P33; TVS or a
manual erase for an unknown signer, P15-P17). --phone-models 7960,8861 makes a refusal by
one of those models fail the check too.

--export-certs DIR writes each record's certificate of the one FILE as a PEM file
DIR/NN-ROLE-NAME.pem (DIR is made when missing); an existing file is never overwritten (it
is named and skipped).

Exit status: 0 when every file parses, its signature verifies and (with --installed) it
would be accepted; 1 otherwise, with one line per failing file on standard error.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: want text or json", format)
			}
			win, err := parseWindow(window)
			if err != nil {
				return fmt.Errorf("--expiry-window: %w", err)
			}
			if exportDir != "" && len(args) != 1 {
				return errors.New("--export-certs takes exactly one FILE")
			}
			models, err := phoneModelsFlag(phoneModels)
			if err != nil {
				return err
			}
			o := ctl.InspectOptions{ExpiryWindow: win, InstalledName: installed}
			if installed != "" {
				data, err := readInput(cmd.InOrStdin(), installed)
				if err != nil {
					return fmt.Errorf("--installed: %s", termsafe.Error(err))
				}
				if o.Installed, err = ctl.Parse(data); err != nil {
					return fmt.Errorf("--installed %s: %s", termsafe.String(installed), termsafe.Error(err))
				}
			}
			out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
			failed := 0
			var summaries []inspected
			for i, name := range args {
				var s ctl.Summary
				var f *ctl.File
				var problem string
				if data, err := readInput(cmd.InOrStdin(), name); err != nil {
					msg := err.Error()
					s, problem = ctl.Summary{File: name, Error: &msg}, msg
				} else {
					s, f, problem = ctl.Inspect(name, data, o)
				}
				var phones []phoneVerdict
				if o.Installed != nil && f != nil {
					var pp string
					if phones, pp = inspectPhones(o.Installed, f, models); problem == "" {
						problem = pp
					}
				}
				if problem != "" {
					failed++
					fmt.Fprintf(errw, "ctlops: %s: %s\n", termsafe.String(name), termsafe.Line(problem))
				}
				if exportDir != "" && f != nil {
					failed += exportCerts(out, errw, exportDir, f)
				}
				if format == "json" {
					summaries = append(summaries, inspected{Summary: s, Phones: phones})
					continue
				}
				if i > 0 {
					fmt.Fprintln(out)
				}
				var b bytes.Buffer
				ctl.WriteInspectText(&b, s, f, len(args) > 1)
				writePhoneVerdicts(&b, phones)
				fmt.Fprint(out, termsafe.String(b.String()))
			}
			if format == "json" {
				var v any = summaries
				if len(summaries) == 1 {
					v = summaries[0]
				}
				if err := termsafe.WriteJSON(out, v); err != nil { // the files' words, escaped
					return err
				}
			}
			if failed > 0 {
				return exitCode(1, nil)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().StringVar(&installed, "installed", "", "the CTL file phones hold now; say whether they would accept FILE (R19)")
	cmd.Flags().StringVar(&phoneModels, "phone-models", "", "with --installed: the phone models whose refusal fails the check (7960,7965,8861; default: every model shown, R19 alone decides)")
	cmd.Flags().StringVar(&window, "expiry-window", "30d", "mark certificates expiring within this time (e.g. 90d, 720h)")
	cmd.Flags().StringVar(&exportDir, "export-certs", "", "write each record's certificate as PEM into DIR (never overwriting)")
	return cmd
}

// parseWindow reads a duration as Go writes it (720h) or in days (30d).
func parseWindow(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q: want a number of days such as 30d, or a duration such as 720h", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a number of days such as 30d, or a duration such as 720h", s)
	}
	return d, nil
}

// exportCerts writes f's certificates into dir and returns how many could not be written.
func exportCerts(out, errw io.Writer, dir string, f *ctl.File) int {
	certs := ctl.CertFiles(f)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(errw, "ctlops: --export-certs: %s\n", termsafe.Error(err))
		return len(certs)
	}
	failed := 0
	for _, c := range certs {
		path := filepath.Join(dir, c.Name)
		if _, err := os.Lstat(path); err == nil {
			fmt.Fprintf(errw, "ctlops: %s exists: not overwritten\n", termsafe.String(path))
			failed++
			continue
		}
		if err := atomicfile.Write(path, c.PEM, 0o644); err != nil {
			fmt.Fprintf(errw, "ctlops: %s\n", termsafe.Error(err))
			failed++
			continue
		}
		fmt.Fprintf(out, "wrote %s\n", termsafe.String(path))
	}
	return failed
}

// readInput reads a named file (a regular file, at most ctl.MaxFileSize: phones load nothing
// larger) or standard input for "-".
func readInput(stdin io.Reader, name string) ([]byte, error) {
	if name != "-" {
		return safefile.Read(name, ctl.MaxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(stdin, ctl.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > ctl.MaxFileSize {
		return nil, fmt.Errorf("standard input: larger than %d KiB: not a CTL file", ctl.MaxFileSize>>10)
	}
	return data, nil
}
