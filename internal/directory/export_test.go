package directory

import "context"

// FinishRunForTest ends run as the sync worker does when the sync is over.
func (s *Service) FinishRunForTest(ctx context.Context, run *Run, to RunStatus, reason string) error {
	return s.finishRun(ctx, run, to, reason)
}
