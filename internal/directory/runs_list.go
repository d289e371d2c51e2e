package directory

import (
	"context"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// RunFilter narrows the list of every directory's syncs.
type RunFilter struct {
	Statuses []RunStatus // any of these; every status when empty
	Q        string      // the directory's name contains it, in any letter case
	Limit    int
	Cursor   string
}

// RunListing is a sync with the name of its directory, for lists across directories.
type RunListing struct {
	Run
	DirectoryName string
}

// AllRuns lists the syncs of every directory, newest first (the jobs list's).
func (s *Service) AllRuns(ctx context.Context, a user.Actor, f RunFilter) ([]RunListing, string, error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return nil, "", err
	}
	if f.Limit < 0 || f.Limit > user.MaxPage {
		return nil, "", errs.Field("limit", "filter.limit_invalid", "The limit must be between 1 and 1000.")
	}
	if f.Limit == 0 {
		f.Limit = user.DefaultPage
	}
	for _, st := range f.Statuses {
		switch st {
		case RunQueued, RunRunning, RunHeld, RunCompleted, RunFailed, RunSkipped:
		default:
			return nil, "", errs.Field("status", "filter.status_invalid", "The status of a sync must be one of queued, running, needs_confirmation, completed, failed or skipped.")
		}
	}
	runs, next, err := s.store.AllRuns(ctx, f)
	if err != nil {
		return nil, "", err
	}
	names := map[string]string{}
	out := make([]RunListing, len(runs))
	for i, r := range runs {
		name, ok := names[r.DirectoryID]
		if !ok {
			d, err := s.store.Directory(ctx, r.DirectoryID)
			if err != nil && !errs.Is(errs.NotFound, err) {
				return nil, "", err
			}
			if d != nil {
				name = d.Name
			}
			names[r.DirectoryID] = name
		}
		out[i] = RunListing{Run: r, DirectoryName: name}
	}
	return out, next, nil
}
