package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/user"
)

// runGen fills an empty database: custom fields and groups through user.Service (as an
// administrator would make them, audited), then the users through store.InsertUsers in
// batches, with the Viewer role and group memberships.
func runGen(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	n := fs.Int("n", 1_000_000, "users to generate")
	seed := fs.Uint64("seed", 1, "seed of the generator: the same seed and -n give the same users")
	batch := fs.Int("batch", 0, "users per InsertUsers call, each one transaction; 0: 100,000 on SQLite, 10,000 on PostgreSQL")
	writers := fs.Int("writers", 0, "concurrent writers; 0: 1 on SQLite (one writer connection), 2 on PostgreSQL")
	cacheMB := fs.Int("sqlite-cache-mb", 512, "page cache of the SQLite writer connection during the load (PRAGMA cache_size)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, _, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	counts, err := st.CountUsers(ctx)
	if err != nil {
		return err
	}
	if counts.Total > 0 {
		return fmt.Errorf("the %s database already has %d users: give gen an empty one (a fresh -data-dir, or a new PostgreSQL database)", db.name(), counts.Total)
	}
	if *writers <= 0 {
		*writers = 1
		if st.Dialect == store.Postgres {
			*writers = 2
		}
	}
	if *batch <= 0 {
		// Every SQLite commit writes each index page it dirtied to the WAL, and random keys
		// (names, emails) dirty most leaf pages of six indexes in any batch: measured at a
		// million users, batches of 10,000 took 2m16s (43 s of it in the kernel), 50,000 took
		// 1m25s, 100,000 took 1m05s.
		*batch = 10000
		if st.Dialect == store.SQLite {
			*batch = 100000
		}
	}
	if st.Dialect == store.SQLite {
		// Only the load's own connection: the indexes of a million rows stay in memory while they grow.
		if _, err := st.DB().ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", *cacheMB*1024)); err != nil {
			return err
		}
	}

	svc, err := userService(st)
	if err != nil {
		return err
	}
	groupIDs, err := makeGroups(ctx, svc)
	if err != nil {
		return err
	}
	pop, err := newPopulation(*seed, *n)
	if err != nil {
		return err
	}
	fmt.Printf("gen: %d users into %s, batches of %d, %d writer(s), seed %d\n", *n, db.name(), *batch, *writers, *seed)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	batches := make(chan genBatch, 2**writers)
	go func() {
		defer close(batches)
		for {
			b := genBatch{}
			for len(b.users) < *batch {
				m := pop.next()
				if m == nil {
					break
				}
				b.users = append(b.users, m.User)
				for _, g := range m.groups {
					b.members = append(b.members, store.Membership{GroupID: groupIDs[g], UserID: m.ID})
				}
			}
			if len(b.users) == 0 {
				return
			}
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
		}
	}()

	var mu sync.Mutex
	var done, members int
	write := func(b genBatch) error {
		if err := st.InsertUsers(ctx, b.users, user.ViewerRole); err != nil {
			return err
		}
		if err := st.AddGroupMembersBulk(ctx, b.members); err != nil {
			return err
		}
		mu.Lock()
		done += len(b.users)
		members += len(b.members)
		mu.Unlock()
		return nil
	}
	// The first batch holds every possible manager: it goes in before the others refer to it.
	if first, ok := <-batches; ok {
		if err := write(first); err != nil {
			return err
		}
	}
	stopProgress := progress(func() int { mu.Lock(); defer mu.Unlock(); return done }, start)
	var wg sync.WaitGroup
	errc := make(chan error, *writers)
	for range *writers {
		wg.Go(func() {
			for b := range batches {
				if err := write(b); err != nil {
					errc <- err
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	stopProgress()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	fmt.Printf("gen: %d users (%d group memberships) in %s: %.0f users/s\n", done, members,
		elapsed.Round(time.Millisecond), float64(done)/elapsed.Seconds())

	// Leave the database as a running server would find it some time after a bulk load.
	t := time.Now()
	switch st.Dialect {
	case store.SQLite:
		// Fold the WAL into the database file; usher itself never runs ANALYZE, so neither does gen.
		_, err = st.DB().ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	case store.Postgres:
		// What autovacuum does on its own within a minute of a load this size.
		_, err = st.DB().ExecContext(ctx, "VACUUM ANALYZE")
	}
	if err != nil {
		return err
	}
	fmt.Printf("gen: %s in %s\n", map[store.Dialect]string{store.SQLite: "wal_checkpoint(TRUNCATE)", store.Postgres: "VACUUM ANALYZE"}[st.Dialect],
		time.Since(t).Round(time.Millisecond))
	return nil
}

type genBatch struct {
	users   []*user.User
	members []store.Membership
}

// makeGroups creates the custom fields and the groups, privileged ones with their roles.
func makeGroups(ctx context.Context, svc *user.Service) ([]string, error) {
	a := user.System("bench gen")
	opts := []string{"employee", "contractor", "intern"}
	for _, f := range []user.FieldInput{
		{Name: "cost_center", Label: ptr("Cost centre"), Type: user.TextField},
		{Name: "employment", Label: ptr("Employment"), Type: user.EnumField, Options: &opts},
	} {
		if _, err := svc.CreateField(ctx, a, f); err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
	}
	var ids []string
	for _, name := range groupNames() {
		in := user.GroupInput{Name: ptr(name), Description: ptr("Generated by bench gen.")}
		for _, p := range privileged {
			if p.name == name {
				in.RoleIDs = &[]string{p.role}
			}
		}
		g, err := svc.CreateGroup(ctx, a, in)
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", name, err)
		}
		ids = append(ids, g.ID)
	}
	return ids, nil
}

func ptr[T any](v T) *T { return &v }

// progress prints the rate every five seconds until the returned function is called.
func progress(done func() int, start time.Time) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				d := done()
				fmt.Fprintf(os.Stderr, "  %d users, %.0f/s\n", d, float64(d)/time.Since(start).Seconds())
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}
