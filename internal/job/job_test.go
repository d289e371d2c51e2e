package job_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/job"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

type markArgs struct {
	Name string `json:"name"`
}

func (markArgs) Kind() string { return "test_mark" }

type markWorker struct {
	river.WorkerDefaults[markArgs]
	ran chan string
}

func (w *markWorker) Work(_ context.Context, j *river.Job[markArgs]) error {
	w.ran <- j.Args.Name
	return nil
}

// newRunner gives a migrated store with a runner whose worker reports every job it runs.
func newRunner(t *testing.T, st *store.Store) (*job.Runner, chan string) {
	t.Helper()
	if err := job.Migrate(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	r, err := job.New(st, job.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan string, 10)
	if err := job.AddWorker(r, &markWorker{ran: ran}); err != nil {
		t.Fatal(err)
	}
	return r, ran
}

func start(t *testing.T, r *job.Runner) {
	t.Helper()
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
}

func count(t *testing.T, st *store.Store, q string) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var errRollback = errors.New("roll back")

func TestInsertInTransaction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		r, ran := newRunner(t, st)
		ctx := context.Background()
		// the job and an application row, in one transaction
		write := func(name string, fail bool) error {
			return st.InTx(ctx, func(ctx context.Context) error {
				if err := st.AppendAudit(ctx, audit.Event{Action: "test." + name, Outcome: audit.Success}); err != nil {
					return err
				}
				if _, err := r.Insert(ctx, markArgs{Name: name}, nil); err != nil {
					return err
				}
				if fail {
					return errRollback
				}
				return nil
			})
		}
		if err := write("rolled back", true); !errors.Is(err, errRollback) {
			t.Fatalf("rolled back transaction: %v", err)
		}
		if n := count(t, st, `SELECT count(*) FROM river_job`); n != 0 {
			t.Fatalf("%d jobs after a rollback, want 0", n)
		}
		if n := count(t, st, `SELECT count(*) FROM audit_events WHERE action = 'test.rolled back'`); n != 0 {
			t.Fatalf("the rolled-back audit row is there")
		}
		if err := write("committed", false); err != nil {
			t.Fatal(err)
		}
		if n := count(t, st, `SELECT count(*) FROM audit_events WHERE action = 'test.committed'`); n != 1 {
			t.Fatalf("%d committed audit rows, want 1", n)
		}
		// outside a transaction, on its own
		if _, err := r.Insert(ctx, markArgs{Name: "alone"}, nil); err != nil {
			t.Fatal(err)
		}
		if n := count(t, st, `SELECT count(*) FROM river_job`); n != 2 {
			t.Fatalf("%d jobs, want 2", n)
		}
		start(t, r)
		got := map[string]bool{}
		timeout := time.After(15 * time.Second)
		for len(got) < 2 {
			select {
			case name := <-ran:
				got[name] = true
			case <-timeout:
				t.Fatalf("ran %v within 15 s, want the committed and the lone job", got)
			}
		}
		select {
		case name := <-ran:
			t.Fatalf("an unexpected job ran: %q", name)
		case <-time.After(300 * time.Millisecond):
		}
		if !got["committed"] || !got["alone"] {
			t.Fatalf("ran %v", got)
		}
	})
}

// TestInsertWhileStarted: a job inserted while River runs is picked up at once, also from a
// transaction that does other writes (on SQLite River and the application share one connection).
func TestInsertWhileStarted(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		r, ran := newRunner(t, st)
		start(t, r)
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Go(func() {
				err := st.InTx(ctx, func(ctx context.Context) error {
					if err := st.AppendAudit(ctx, audit.Event{Action: "test.parallel", Outcome: audit.Success}); err != nil {
						return err
					}
					_, err := r.Insert(ctx, markArgs{Name: string(rune('a' + i))}, nil)
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		for len(seen) < 5 {
			select {
			case name := <-ran:
				seen[name] = true
			case <-time.After(10 * time.Second):
				t.Fatalf("ran %v, want 5 jobs", seen)
			}
		}
	})
}

func TestMigrateAgainAndTogether(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := context.Background()
		together := 3 // replicas starting at once on PostgreSQL
		if st.Dialect == store.SQLite {
			together = 1 // one process per SQLite database (the data directory lock)
		}
		var wg sync.WaitGroup
		for range together {
			wg.Go(func() {
				if err := job.Migrate(ctx, st); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if err := job.Migrate(ctx, st); err != nil {
			t.Fatalf("migrating a migrated database: %v", err)
		}
	})
}

func TestStopWaitsForRunningJob(t *testing.T) {
	t.Parallel()
	st := storetest.Open(t, store.SQLite)
	if err := job.Migrate(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	r, err := job.New(st, job.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	started, finished := make(chan struct{}), make(chan struct{})
	if err := job.AddWorker(r, river.WorkFunc(func(ctx context.Context, j *river.Job[markArgs]) error {
		close(started)
		time.Sleep(300 * time.Millisecond)
		close(finished)
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Insert(context.Background(), markArgs{Name: "slow"}, nil); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-finished:
	default:
		t.Fatal("Stop returned before the running job finished")
	}
}
