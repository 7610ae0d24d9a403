package serviceability

import (
	"context"
)

// AXLReader is the read-only part of AXL on the publisher, for plan and drift, which must not
// be able to change a cluster: it has no restart and no reset.
type AXLReader struct{ c *Client }

// NewAXLReader is New restricted to AXL's reads.
func NewAXLReader(base string, opt Options) (*AXLReader, error) {
	c, err := New(base, opt)
	if err != nil {
		return nil, err
	}
	return &AXLReader{c: c}, nil
}

// ListProcessNode is Client.ListProcessNode.
func (r *AXLReader) ListProcessNode(ctx context.Context) ([]ProcessNode, error) {
	return r.c.ListProcessNode(ctx)
}

// Close drops idle connections.
func (r *AXLReader) Close() { r.c.CloseIdleConnections() }

// RisReader is RisPort70's selectCmDevice alone, for plan's registration counts: it reads
// registration state and has no way to restart a service or reset a phone.
type RisReader struct{ c *Client }

// NewRisReader is New restricted to RisPort70's selectCmDevice.
func NewRisReader(base string, opt Options) (*RisReader, error) {
	c, err := New(base, opt)
	if err != nil {
		return nil, err
	}
	return &RisReader{c: c}, nil
}

// SelectCmDevice is Client.SelectCmDevice: bounded by MaxReturnedDevices per page, a page
// limit and Options.MaxResponse per answer.
func (r *RisReader) SelectCmDevice(ctx context.Context, cr Criteria) (*SelectResult, error) {
	return r.c.SelectCmDevice(ctx, cr)
}

// Close drops idle connections.
func (r *RisReader) Close() { r.c.CloseIdleConnections() }
