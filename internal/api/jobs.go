package api

import (
	"cmp"
	"context"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/user"
)

// jobBody is one piece of background work, whatever its kind.
type jobBody struct {
	Kind       string     `json:"kind" enum:"import,directory_sync" doc:"What the job does: an import of a file, or a directory's sync."`
	ID         string     `json:"id"`
	Title      string     `json:"title" doc:"What it works on: an import's file name, a sync's directory."`
	Status     string     `json:"status" enum:"staging,staged,queued,processing,needs_confirmation,completed,failed,cancelled,skipped" doc:"processing: running now; needs_confirmation: a sync the safety rules hold until a person confirms it; skipped: a scheduled sync not started because another sync of the directory was under way."`
	Done       int64      `json:"done" doc:"Items done: an import's rows, a sync's changes made or refused."`
	Total      int64      `json:"total" doc:"Items in all (a sync's: the changes of its plan, 0 until it is made)."`
	Errors     int64      `json:"errors" doc:"Items that failed so far."`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Link       string     `json:"link" doc:"Where the job's own resource is."`
}

type listJobsInput struct {
	Kind   string `query:"kind" enum:"import,directory_sync," doc:"Only jobs of this kind."`
	Status string `query:"status" enum:"staged,queued,processing,needs_confirmation,completed,failed,cancelled,skipped," doc:"Only jobs in this status."`
	Q      string `query:"q" doc:"Only jobs whose title contains this, in any letter case."`
	Limit  int    `query:"limit" minimum:"0" maximum:"1000" doc:"At most this many (50 unless set)."`
	Cursor string `query:"cursor" doc:"next_cursor of the previous page."`
}

type listJobsOutput struct {
	Body struct {
		Items      []jobBody `json:"items"`
		NextCursor string    `json:"next_cursor,omitempty"`
	}
}

// jobsCursor is where a page of the jobs list ended in each of its sources: their own cursors,
// and which sources have nothing more. It is sealed whole, bound to the list's filters.
type jobsCursor struct {
	Imports     string `json:"i,omitempty"`
	Runs        string `json:"r,omitempty"`
	ImportsDone bool   `json:"id,omitempty"`
	RunsDone    bool   `json:"rd,omitempty"`
}

// runStatuses are the sync statuses a job status filter means; nil for none, empty for all.
func runStatuses(status string) []directory.RunStatus {
	switch status {
	case "":
		return []directory.RunStatus{}
	case "queued":
		return []directory.RunStatus{directory.RunQueued}
	case "processing":
		return []directory.RunStatus{directory.RunRunning}
	case "needs_confirmation":
		return []directory.RunStatus{directory.RunHeld}
	case "completed":
		return []directory.RunStatus{directory.RunCompleted}
	case "failed":
		return []directory.RunStatus{directory.RunFailed}
	case "skipped":
		return []directory.RunStatus{directory.RunSkipped}
	}
	return nil
}

// listJobs lists the background jobs the actor may see, newest first: the imports for whoever
// may import, the directory syncs for whoever manages directories. A page merges the two lists,
// each read from where the last page left it.
func (s *Server) listJobs(ctx context.Context, in *listJobsInput) (*listJobsOutput, error) {
	a := actorFrom(ctx)
	out := &listJobsOutput{}
	out.Body.Items = []jobBody{}
	limit := cmp.Or(in.Limit, user.DefaultPage)
	var c jobsCursor
	query := []string{in.Kind, in.Status, strings.ToLower(strings.TrimSpace(in.Q))}
	if in.Cursor != "" {
		if err := s.deps.Cursors.OpenCursor(in.Cursor, &c, query...); err != nil {
			return nil, err
		}
	}
	withImports := a.Can(user.ImportRun) && (in.Kind == "" || in.Kind == "import") && in.Status != "needs_confirmation" && in.Status != "skipped" && !c.ImportsDone
	statuses := runStatuses(in.Status)
	withRuns := a.Can(user.DirectoryManage) && (in.Kind == "" || in.Kind == "directory_sync") && statuses != nil && !c.RunsDone

	importFilter := imports.Filter{Status: imports.Status(in.Status), Q: in.Q, Limit: limit, Cursor: c.Imports}
	var imps []imports.Import
	var impNext string
	if withImports {
		var err error
		if imps, impNext, err = s.deps.Imports.List(ctx, a, importFilter); err != nil {
			return nil, err
		}
	}
	runFilter := directory.RunFilter{Statuses: statuses, Q: in.Q, Limit: limit, Cursor: c.Runs}
	var runs []directory.RunListing
	var runNext string
	if withRuns {
		var err error
		if runs, runNext, err = s.deps.Directories.AllRuns(ctx, a, runFilter); err != nil {
			return nil, err
		}
	}

	// Newest first across both; a tie in time goes to the import.
	i, r := 0, 0
	for len(out.Body.Items) < limit && (i < len(imps) || r < len(runs)) {
		if r == len(runs) || i < len(imps) && !imps[i].CreatedAt.Before(runs[r].CreatedAt) {
			out.Body.Items = append(out.Body.Items, importJob(&imps[i]))
			i++
		} else {
			out.Body.Items = append(out.Body.Items, runJob(&runs[r]))
			r++
		}
	}
	if i == len(imps) && impNext == "" && r == len(runs) && runNext == "" {
		return out, nil
	}
	next := jobsCursor{Imports: c.Imports, Runs: c.Runs, ImportsDone: c.ImportsDone || withImports && i == len(imps) && impNext == "",
		RunsDone: c.RunsDone || withRuns && r == len(runs) && runNext == ""}
	// A source's next cursor is where this page stopped in it. When the page took all it read,
	// that is the cursor it gave; when it took fewer, the same read cut at what it took gives it
	// (a job made meanwhile only comes first, so the worst is a job shown again, never one
	// skipped).
	if withImports && i > 0 {
		next.Imports = impNext
		if i < len(imps) {
			importFilter.Limit = i
			_, cut, err := s.deps.Imports.List(ctx, a, importFilter)
			if err != nil {
				return nil, err
			}
			next.Imports = cut
		}
	}
	if withRuns && r > 0 {
		next.Runs = runNext
		if r < len(runs) {
			runFilter.Limit = r
			_, cut, err := s.deps.Directories.AllRuns(ctx, a, runFilter)
			if err != nil {
				return nil, err
			}
			next.Runs = cut
		}
	}
	out.Body.NextCursor = s.deps.Cursors.SealCursor(next, query...)
	return out, nil
}

func importJob(imp *imports.Import) jobBody {
	errors := imp.Result.Error
	if imp.StartedAt == nil {
		errors = imp.Plan.Error
	}
	return jobBody{Kind: "import", ID: imp.ID, Title: imp.FileName, Status: string(imp.Status),
		Done: imp.Done, Total: imp.Rows, Errors: errors, CreatedBy: imp.ActorName, CreatedAt: imp.CreatedAt,
		StartedAt: imp.StartedAt, FinishedAt: imp.FinishedAt, Link: "/api/v1/imports/" + imp.ID}
}

func runJob(r *directory.RunListing) jobBody {
	status := string(r.Status)
	if r.Status == directory.RunRunning {
		status = "processing"
	}
	return jobBody{Kind: "directory_sync", ID: r.ID, Title: r.DirectoryName, Status: status,
		Done: r.Applied(), Total: r.Planned(), Errors: r.Done.Failed, CreatedBy: r.ActorName, CreatedAt: r.CreatedAt,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Link: "/api/v1/directories/" + r.DirectoryID + "/runs/" + r.ID}
}
