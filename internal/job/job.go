// Package job runs usher's background work on River, on whichever database the store uses:
// SQLite through the store's one writer connection, PostgreSQL through its pgx pool. Jobs are
// inserted in the caller's store.InTx transaction, so a job exists exactly when the change that
// asks for it commits.
package job

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/usherhq/usher/internal/store"
)

// migrateLockKey is the PostgreSQL advisory lock that keeps replicas starting together from
// applying River's migrations twice.
const migrateLockKey = int64(0x75736865725f6a) // "usher_j"

// Migrate creates or updates River's tables. Call it after store.Migrate, before New.
func Migrate(ctx context.Context, st *store.Store) error {
	quiet := &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)}
	if st.Dialect == store.Postgres {
		m, err := rivermigrate.New(riverpgxv5.New(st.Pool()), quiet)
		if err != nil {
			return fmt.Errorf("job: migrations: %w", err)
		}
		// River's migrations cannot all run in one transaction (one adds an enum value that the
		// next uses), so a session lock held on a connection of its own serialises replicas.
		conn, err := st.Pool().Acquire(ctx)
		if err != nil {
			return fmt.Errorf("job: migrate: %w", err)
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
			return fmt.Errorf("job: migrate: lock: %w", err)
		}
		defer func() {
			ctx := context.WithoutCancel(ctx)
			if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, migrateLockKey); err != nil {
				conn.Conn().Close(ctx) // never hand the pool a connection that holds the lock
			}
		}()
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("job: migrate: %w", err)
		}
		return nil
	}
	m, err := rivermigrate.New(riversqlite.New(st.DB()), quiet)
	if err != nil {
		return fmt.Errorf("job: migrations: %w", err)
	}
	// One process owns an SQLite database (the data directory lock), so nothing runs alongside.
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("job: migrate: %w", err)
	}
	return nil
}

// Options tune a Runner. The zero value is what usher serve uses.
type Options struct {
	Logger *slog.Logger
	// MaxWorkers is how many jobs this process works at once; 0 for 10.
	MaxWorkers int
	// RetryPolicy decides when a failed job runs again; nil for River's default (attempt⁴
	// seconds plus jitter). Tests shorten it.
	RetryPolicy river.ClientRetryPolicy
	// PollInterval is how often to look for jobs that became due (retries, scheduled jobs);
	// 0 for River's default of one second. New jobs are noticed at once on both databases.
	PollInterval time.Duration
}

// Runner is River set up on the store: a registry of workers, insertion into the caller's
// transaction, and a client started and stopped with the application.
type Runner struct {
	workers *river.Workers
	sqlite  *river.Client[*sql.Tx] // on SQLite
	pg      *river.Client[pgx.Tx]  // on PostgreSQL
	client  interface {            // whichever of the two is set
		Start(ctx context.Context) error
		Stop(ctx context.Context) error
		StopAndCancel(ctx context.Context) error
	}
}

// New sets River up on the store. Register workers with AddWorker before Start.
func New(st *store.Store, o Options) (*Runner, error) {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	max := o.MaxWorkers
	if max <= 0 {
		max = 10
	}
	r := &Runner{workers: river.NewWorkers()}
	cfg := &river.Config{
		Logger:      logger.With("component", "jobs"),
		Queues:      map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: max}},
		Workers:     r.workers,
		RetryPolicy: o.RetryPolicy,
	}
	if o.PollInterval > 0 {
		cfg.FetchPollInterval = o.PollInterval
		cfg.FetchCooldown = min(o.PollInterval, 100*time.Millisecond)
	}
	var err error
	if st.Dialect == store.Postgres {
		r.pg, err = river.NewClient(riverpgxv5.New(st.Pool()), cfg)
	} else {
		// River requires the one writer connection (MaxOpenConns 1) that usher writes through.
		r.sqlite, err = river.NewClient(riversqlite.New(st.DB()), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("job: %w", err)
	}
	if r.pg != nil {
		r.client = r.pg
	} else {
		r.client = r.sqlite
	}
	return r, nil
}

// AddWorker registers the worker of one kind of job. Call it before Start.
func AddWorker[T river.JobArgs](r *Runner, w river.Worker[T]) error {
	return river.AddWorkerSafely(r.workers, w)
}

// AddPeriodic has the replica River elects leader insert a job of args every interval, and
// once when it starts leading. Only the leader inserts, but a job may still run twice around a
// change of leader: its worker must decide in the database what it does. Call it before Start.
func AddPeriodic(r *Runner, every time.Duration, args river.JobArgs) error {
	pj := river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) { return args, nil },
		&river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true})
	var err error
	if r.pg != nil {
		_, err = r.pg.PeriodicJobs().AddSafely(pj)
	} else {
		_, err = r.sqlite.PeriodicJobs().AddSafely(pj)
	}
	if err != nil {
		return fmt.Errorf("job: periodic %s: %w", args.Kind(), err)
	}
	return nil
}

// Insert adds a job. Inside store.InTx it is inserted in that transaction, so it exists only if
// the transaction commits; outside one, on its own.
func (r *Runner) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	_, inTx := store.TxFrom(ctx)
	var res *rivertype.JobInsertResult
	var err error
	switch {
	case r.sqlite != nil && inTx:
		tx, _ := store.TxFrom(ctx)
		res, err = r.sqlite.InsertTx(ctx, tx, args, opts)
	case r.sqlite != nil:
		res, err = r.sqlite.Insert(ctx, args, opts)
	case inTx:
		err = store.PgxTx(ctx, func(tx pgx.Tx) error {
			var err error
			res, err = r.pg.InsertTx(ctx, tx, args, opts)
			return err
		})
	default:
		res, err = r.pg.Insert(ctx, args, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("job: insert %s: %w", args.Kind(), err)
	}
	return res, nil
}

// Start starts working jobs. It keeps running until Stop, whatever happens to ctx, so that a
// shutdown lets jobs in flight finish.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("job: start: %w", err)
	}
	return nil
}

// Stop stops fetching new jobs and waits for the running ones until ctx ends; then it cancels
// what still runs (those jobs are retried later, here or on another replica) and waits a few
// seconds more for them to return.
func (r *Runner) Stop(ctx context.Context) error {
	err := r.client.Stop(ctx)
	if err == nil {
		return nil
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("job: stop: %w", err)
	}
	cctx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer done()
	if err := r.client.StopAndCancel(cctx); err != nil {
		return fmt.Errorf("job: stop: jobs still running after cancellation: %w", err)
	}
	return nil
}
