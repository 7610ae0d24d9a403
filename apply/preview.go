package apply

import (
	"context"

	"github.com/ctlops/ctlops/plan"
)

// previewSigner says, before the question, which token will be asked for.
func (o *Options) previewSigner(ctx context.Context, p *plan.Plan) error {
	return nil
}
