package directory

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// RunSkipped is an occurrence of a schedule that started no sync: one was already queued or
// running.
const RunSkipped RunStatus = "skipped"

// ScheduleActor is the name a scheduled sync is started by in its history.
const ScheduleActor = "schedule"

// ScheduleEvery is how often the scheduler looks for directories whose scheduled sync is due.
const ScheduleEvery = time.Minute

// ScheduleArgs is the periodic job that starts the scheduled syncs that are due.
type ScheduleArgs struct{}

// Kind names the job in River.
func (ScheduleArgs) Kind() string { return "directory.schedule" }

// InsertOpts: a missed tick is made up by the next one, so a failed one is not retried.
func (ScheduleArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }

// ScheduleWorker is the River worker of ScheduleArgs jobs.
func (s *Service) ScheduleWorker() river.Worker[ScheduleArgs] { return &scheduleWorker{s: s} }

type scheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	s *Service
}

func (*scheduleWorker) Timeout(*river.Job[ScheduleArgs]) time.Duration { return ScheduleEvery }

func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	_, err := w.s.StartDue(ctx)
	return err
}

// maxDue is how many due directories one tick starts; the rest wait for the next.
const maxDue = 100

// StartDue starts the scheduled syncs that are due and returns how many it started. It may run
// on every replica at once: each due occurrence is claimed by one statement that moves the
// directory's next sync on only if it is still the one read, so exactly one scheduler starts
// it. An occurrence that finds a sync of its directory queued or running starts none and is
// recorded in the history as skipped.
func (s *Service) StartDue(ctx context.Context) (started int, err error) {
	now := s.now()
	due, err := s.store.DueDirectories(ctx, now, maxDue)
	if err != nil {
		return 0, err
	}
	for i := range due {
		ok, err := s.startScheduled(ctx, &due[i], now)
		if err != nil {
			s.logger.Error("scheduled sync not started", "directory_id", due[i].ID, "err", err)
			continue // the occurrence stays due: the next tick tries again
		}
		if ok {
			started++
		}
	}
	return started, nil
}

// scheduleActor is who a scheduled sync of d acts as: the administrator who last saved its
// schedule, with the permissions they saved it with (the sync narrows them to what that
// person still holds). A schedule saved before those were recorded has only their id, and
// acts with whatever that person holds.
func scheduleActor(d *Directory) user.Actor {
	a := user.Actor{ID: d.Schedule.SetBy, Name: ScheduleActor, Permissions: user.AllPermissions(), RequestID: "schedule:" + d.ID}
	if by := d.Schedule.SavedBy; by != nil {
		a.ID, a.Permissions = by.ID, user.NewPermissions(by.Permissions...)
	}
	return a
}

func (s *Service) startScheduled(ctx context.Context, d *Directory, now time.Time) (bool, error) {
	seen := *d.NextSyncAt
	var next *time.Time
	if n := d.Schedule.Next(now); !n.IsZero() {
		next = &n
	}
	started := false
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		claimed, err := s.store.ClaimScheduledSync(ctx, d.ID, seen, next)
		if err != nil || !claimed {
			return err // another replica took this occurrence
		}
		if err := s.failStale(ctx, d.ID); err != nil {
			return err
		}
		actor := scheduleActor(d)
		run := &Run{ID: uuid.Must(uuid.NewV7()).String(), DirectoryID: d.ID, Status: RunQueued, ActorID: actor.ID,
			ActorName: actor.Name, ActorPermissions: actor.Permissions, CreatedAt: now}
		active, err := s.store.ActiveRun(ctx, d.ID)
		if err != nil {
			return err
		}
		if active != nil {
			run.Status = RunSkipped
			reason := fmt.Sprintf("Skipped: the sync started %s by %s was still %s when this scheduled sync was due (%s).",
				active.CreatedAt.Format("2006-01-02 15:04 UTC"), active.ActorName, active.Status, seen.Format("2006-01-02 15:04 UTC"))
			if err := s.store.InsertRun(ctx, run); err != nil {
				return err
			}
			if _, err := s.store.FinishRun(ctx, run.ID, RunSkipped, RunSkipped, now, reason); err != nil {
				return err
			}
			s.logger.Info("scheduled sync skipped: one is already queued or running", "directory", d.Name, "active_run", active.ID)
			return s.audit(ctx, actor, "directory.sync_skipped", d, map[string]any{"run_id": run.ID, "active_run_id": active.ID, "due_at": seen})
		}
		if err := s.store.InsertRun(ctx, run); err != nil {
			return err
		}
		if _, err := s.jobs.Insert(ctx, SyncArgs{RunID: run.ID}, nil); err != nil {
			return err
		}
		started = true
		return s.audit(ctx, actor, "directory.sync_start", d, map[string]any{"run_id": run.ID, "scheduled_at": seen})
	})
	if e, ok := errs.As(err); ok && e.Code == "directory.sync_running" {
		return false, nil // a person started one between the check and the insert: the next tick records it
	}
	return started, err
}
