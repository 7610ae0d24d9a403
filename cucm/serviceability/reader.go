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
