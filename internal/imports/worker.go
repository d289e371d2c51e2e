package imports

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// ApplyArgs is the job that applies a started import.
type ApplyArgs struct {
	ImportID string `json:"import_id"`
}

// Kind names the job in River.
func (ApplyArgs) Kind() string { return "import.apply" }

// InsertOpts: an import's job retries for as long as a person would wait; the lease, not River,
// keeps two from applying the same import.
func (ApplyArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 20} }

// Worker is the River worker of ApplyArgs jobs.
func (s *Service) Worker() river.Worker[ApplyArgs] { return &applyWorker{s: s} }

type applyWorker struct {
	river.WorkerDefaults[ApplyArgs]
	s *Service
}

// Timeout: an import of a million rows takes a minute or more. A run that reaches it goes on
// at once in a new run (Work snoozes); one whose process died is rescued by River an hour
// after it, and finds its import done or held by the run that Resume started meanwhile.
func (*applyWorker) Timeout(*river.Job[ApplyArgs]) time.Duration { return time.Hour }

// NextRetry: a run that failed tries again after retryDelay, and keeps the import's lease
// until then, so that Resume does not start a second job beside the one waiting to retry.
func (*applyWorker) NextRetry(j *river.Job[ApplyArgs]) time.Time {
	return time.Now().Add(retryDelay(j.Attempt))
}

// retryDelay is how long a failed run waits before the next: attempt² seconds, at most five
// minutes (twenty attempts span about 45 minutes).
func retryDelay(attempt int) time.Duration {
	return min(time.Duration(attempt*attempt)*time.Second, 5*time.Minute)
}

// Errors that end a run of the job without failing the import.
var (
	errLeaseLost = errors.New("imports: another worker holds this import")
	errCancelled = errors.New("imports: cancelled")
)

// Work applies the import's rows without a result, a batch per transaction, while it holds
// the import's lease. Each batch records its rows' results in the transaction that applies
// them, so a process killed mid-import leaves every row either applied with its result or
// untouched, and the next run (here, after a restart, or on another replica once the lease
// runs out) goes on from the first row without one.
func (w *applyWorker) Work(ctx context.Context, j *river.Job[ApplyArgs]) error {
	s := w.s
	id := j.Args.ImportID
	imp, err := s.store.Import(ctx, id)
	if errs.Is(errs.NotFound, err) {
		return river.JobCancel(fmt.Errorf("imports: import %s is gone", id))
	} else if err != nil {
		return err
	}
	if imp.Status.Final() {
		return nil
	}
	// The lease is this run's: another run of a job for the same import, in this process or
	// another, waits until it ends or dies.
	owner := s.owner + "/" + strconv.FormatInt(j.ID, 10)
	if ok, err := s.store.ClaimImport(ctx, id, owner, s.now(), s.now().Add(s.opts.Lease)); err != nil {
		return err
	} else if !ok {
		return nil // another run holds it; when that one dies, StrayImports finds the import
	}
	release := true
	defer func() {
		if !release {
			return
		}
		if err := s.store.ReleaseImport(context.WithoutCancel(ctx), id, owner); err != nil {
			s.logger.Warn("could not release an import's lease", "import_id", id, "error", err)
		}
	}()
	if _, err := s.store.SetImportStatus(ctx, id, []Status{Queued}, Processing, s.now(), ""); err != nil {
		return err
	}
	s.logger.Info("import applying", "import_id", id, "rows", imp.Rows, "done", imp.Done)
	err = s.run(ctx, imp, owner)
	switch {
	case err == nil:
		return s.finish(ctx, imp, Completed, "")
	case errors.Is(err, errCancelled):
		return s.finish(ctx, imp, Cancelled, "")
	case errors.Is(err, errLeaseLost):
		return nil
	case ctx.Err() != nil:
		// Stopping: the next start goes on from here.
		return river.JobSnooze(0)
	}
	if e, ok := errs.As(err); ok && e.Kind == errs.Forbidden {
		// The one who started it cannot act any more: no later run could go on either.
		return s.finish(ctx, imp, Failed, e.Message)
	}
	s.logger.Error("import batch failed; it will be retried", "import_id", id, "attempt", j.Attempt, "error", err)
	if j.Attempt >= j.MaxAttempts {
		return s.finish(ctx, imp, Failed, "The import stopped after repeated errors of the server; the rows applied so far stay. Download the rows not imported and import them again.")
	}
	// The same job runs again (its id, so its lease owner, stays): it keeps the lease till then.
	now := s.now()
	if _, lerr := s.store.ClaimImport(context.WithoutCancel(ctx), id, owner, now, now.Add(retryDelay(j.Attempt)+s.opts.Lease)); lerr == nil {
		release = false
	}
	return err
}

// run applies batches until no row is left, the import is cancelled, or something fails.
func (s *Service) run(ctx context.Context, imp *Import, owner string) error {
	r := newRows(s, imp, false)
	var after int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, last, err := s.batch(ctx, r, owner, after)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		after = last
	}
}

// batch applies up to BatchSize rows after row number after in one transaction, which also
// records their results; it returns how many and the last row number.
func (s *Service) batch(ctx context.Context, r *rows, owner string, after int64) (int, int64, error) {
	n, last, err := s.tryBatch(ctx, r, owner, after)
	if errors.Is(err, errRedoCarefully) && ctx.Err() == nil {
		r.careful = true
		defer func() { r.careful = false }()
		n, last, err = s.tryBatch(ctx, r, owner, after)
	}
	return n, last, err
}

// errRedoCarefully is a run of new users that failed as a whole outside a savepoint: the batch
// is rolled back and applied again with each run in one, which goes row by row on failure.
var errRedoCarefully = errors.New("imports: a run of new users failed")

func (s *Service) tryBatch(ctx context.Context, r *rows, owner string, after int64) (int, int64, error) {
	var n int
	var last int64
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		imp, err := s.store.LockImport(ctx, r.imp.ID)
		if err != nil {
			return err
		}
		if imp.CancelAskedAt != nil {
			return errCancelled
		}
		now := s.now()
		if ok, err := s.store.ClaimImport(ctx, imp.ID, owner, now, now.Add(s.opts.Lease)); err != nil {
			return err
		} else if !ok {
			return errLeaseLost
		}
		a, err := s.users.Narrow(ctx, user.Actor{ID: imp.ActorID, Name: imp.ActorName, Permissions: imp.ActorPermissions,
			RequestID: "import:" + imp.ID, ClientIP: imp.ClientIP})
		if err != nil {
			return err
		}
		if !a.Can(user.ImportRun) {
			return errs.E(errs.Forbidden, "import.actor_lost_rights", imp.ActorName+", who started this import, may no longer import users.")
		}
		rows, err := s.store.PendingImportRows(ctx, imp.ID, after, s.opts.BatchSize)
		if err != nil || len(rows) == 0 {
			return err
		}
		for i := range rows {
			if rows[i].Plan == Error {
				rows[i].Result = Error // the preview's reason stands
			} else {
				rows[i].Field, rows[i].Value, rows[i].Reason = "", "", ""
			}
		}
		outs, err := r.applyAll(ctx, a, rows, func(row *Row) bool { return row.Plan == Error })
		if err != nil {
			return err
		}
		for i, o := range outs {
			if o != "" {
				rows[i].Result = o
			}
		}
		n, last = len(rows), rows[len(rows)-1].No
		return s.store.RecordImportRows(ctx, imp.ID, rows)
	})
	return n, last, err
}

// finish ends an import: rows left without a result when it is cancelled are skipped, and the
// one finishing event is written.
func (s *Service) finish(ctx context.Context, imp *Import, to Status, failure string) error {
	ctx = context.WithoutCancel(ctx)
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if to != Completed {
			reason := "The import was cancelled before this row."
			if to == Failed {
				reason = "The import stopped before this row: " + failure
			}
			if err := s.store.SkipPendingImportRows(ctx, imp.ID, reason); err != nil {
				return err
			}
		}
		ok, err := s.store.SetImportStatus(ctx, imp.ID, []Status{Queued, Processing}, to, s.now(), failure)
		if err != nil || !ok {
			return err
		}
		done, err := s.store.Import(ctx, imp.ID)
		if err != nil {
			return err
		}
		s.logger.Info("import finished", "import_id", imp.ID, "status", string(to), "rows", done.Rows,
			"created", done.Result.Create, "updated", done.Result.Update, "deleted", done.Result.Delete,
			"skipped", done.Result.Skip, "errors", done.Result.Error)
		a := user.Actor{ID: imp.ActorID, Name: imp.ActorName, RequestID: "import:" + imp.ID, ClientIP: imp.ClientIP}
		details := map[string]any{"file": imp.FileName, "status": string(to), "rows": done.Rows, "result": countsMap(done.Result)}
		if failure != "" {
			details["error"] = failure
		}
		return s.audit(ctx, a, "import.finish", done, details)
	})
}

// Resume queues a job for every import whose job died (its lease ran out, or it never got
// one). Call it at start and now and then; takeOver, when this process alone can be working
// imports (SQLite: the data directory is locked), ends every lease but this process's own.
func (s *Service) Resume(ctx context.Context, takeOver bool) error {
	if takeOver {
		if err := s.store.ForgetImportLeases(ctx, s.owner+"/"); err != nil {
			return err
		}
	}
	ids, err := s.store.StrayImports(ctx, s.now())
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := s.jobs.Insert(ctx, ApplyArgs{ImportID: id}, nil); err != nil {
			return err
		}
		s.logger.Info("import resumed", "import_id", id)
	}
	return nil
}
