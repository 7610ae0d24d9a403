package lab

import (
	"errors"
	"fmt"
)

// upPhones starts the phones at `lab up` (issue 15). Without a ctlops program to run them (a
// test binary runs the lab in-process) the default layout is skipped with a notice; phones
// asked for explicitly are an error.
func (l *Lab) upPhones(o UpOptions) error {
	if o.Phones < 0 {
		return nil
	}
	bin := o.Ctlops
	if bin == "" {
		bin = FindCtlops(l.State.Provider)
	}
	if bin == "" {
		if o.Phones > 0 {
			return errors.New("--phones: the ctlops program was found neither as the running program, next to ctl-provider, nor on PATH")
		}
		if o.Out != nil {
			fmt.Fprintln(o.Out, "phones: not started (no ctlops program next to ctl-provider or on PATH)")
		}
		return nil
	}
	if err := l.StartPhones(bin, o.Phones); err != nil {
		return err
	}
	if pl, err := l.loadPhones(); err == nil && o.Out != nil {
		fmt.Fprintf(o.Out, "phones: %d booted (see `ctlops lab phones --dir %s`; `ctlops lab event reset-phones` after an apply)\n", len(pl.Phones), l.Dir)
	}
	return nil
}
