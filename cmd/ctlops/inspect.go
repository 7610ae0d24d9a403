package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/ctlops/ctlops/ctl"
)

func init() { register(newInspectCmd) }

// maxInspectSize bounds what inspect reads: CTL files are a few KiB; phones fail past 64 KiB.
const maxInspectSize = 16 << 20

func newInspectCmd() *cobra.Command {
	var format, installed string
	cmd := &cobra.Command{
		Use:   "inspect FILE...",
		Short: "Show a CTLFile.tlv or ITLFile.tlv and check its signature",
		Long: `Inspect decodes CTL and ITL files ("-" reads standard input) and prints them in a
stable show-ctl style text, or as JSON with --format json (one object per file, an array
when several files are given).

With --installed OLD it also says whether phones that hold OLD would accept each FILE:
the new file's signer must be a SAST record of OLD (rule R19).

Exit status: 0 when every file parses, its signature verifies and (with --installed) it
would be accepted; 1 otherwise, with one line per failing file on standard error.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return fmt.Errorf("--format %q: want text or json", format)
			}
			var old *ctl.File
			if installed != "" {
				data, err := readInput(cmd.InOrStdin(), installed)
				if err != nil {
					return fmt.Errorf("--installed: %w", err)
				}
				if old, err = ctl.Parse(data); err != nil {
					return fmt.Errorf("--installed %s: %w", installed, err)
				}
			}
			out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
			failed := 0
			var summaries []ctl.Summary
			for i, name := range args {
				s, f, problem := inspectOne(cmd.InOrStdin(), name, old, installed)
				if problem != "" {
					failed++
					fmt.Fprintf(errw, "ctlops: %s: %s\n", name, problem)
				}
				if format == "json" {
					summaries = append(summaries, s)
					continue
				}
				if len(args) > 1 {
					if i > 0 {
						fmt.Fprintln(out)
					}
					fmt.Fprintf(out, "==> %s <==\n", name)
				}
				if f != nil {
					fmt.Fprint(out, f.Text())
					fmt.Fprintln(out)
					writeVerdict(out, s)
				}
			}
			if format == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				var err error
				if len(summaries) == 1 {
					err = enc.Encode(summaries[0])
				} else {
					err = enc.Encode(summaries)
				}
				if err != nil {
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
	return cmd
}

// inspectOne reads, parses and checks one file. problem is empty when the file is fine.
func inspectOne(stdin io.Reader, name string, old *ctl.File, oldName string) (s ctl.Summary, f *ctl.File, problem string) {
	data, err := readInput(stdin, name)
	if err != nil {
		msg := err.Error()
		return ctl.Summary{File: name, Error: &msg}, nil, msg
	}
	f, err = ctl.Parse(data)
	if err != nil {
		msg := err.Error()
		return ctl.Summary{File: name, Error: &msg}, nil, msg
	}
	s = ctl.Summarize(name, f)
	if !s.SignatureValid {
		problem = "signature: " + *s.SignatureError
	}
	if old != nil {
		t := &ctl.TrustSummary{File: oldName, Accepted: true}
		if err := ctl.Accepts(old, f); err != nil {
			reason := err.Error()
			t.Accepted, t.Reason = false, &reason
			if problem == "" {
				problem = reason
			}
		}
		s.Installed = t
	}
	return s, f, problem
}

func writeVerdict(w io.Writer, s ctl.Summary) {
	switch {
	case s.SignatureValid:
		fmt.Fprintf(w, "Signature:       valid (signed by record %d)\n", *s.SignerRecord+1)
	default:
		fmt.Fprintf(w, "Signature:       INVALID: %s\n", *s.SignatureError)
	}
	if t := s.Installed; t != nil {
		if t.Accepted {
			fmt.Fprintf(w, "Phones holding %s: accept this file (R19)\n", t.File)
		} else {
			fmt.Fprintf(w, "Phones holding %s: REJECT this file: %s\n", t.File, *t.Reason)
		}
	}
}

// readInput reads a named file, or standard input for "-", refusing anything implausibly large.
func readInput(stdin io.Reader, name string) ([]byte, error) {
	var r io.Reader = stdin
	if name != "-" {
		fh, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r = fh
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInspectSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInspectSize {
		return nil, fmt.Errorf("larger than %d MiB: not a CTL file", maxInspectSize>>20)
	}
	return data, nil
}
