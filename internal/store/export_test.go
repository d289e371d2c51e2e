package store

import (
	"context"
	"fmt"
)

// SetMaxSortedMatches lowers how many matches a search sorted by a column may have, so that
// tests can reach the limit with a few hundred users.
func (s *Store) SetMaxSortedMatches(n int) { s.maxSortedMatches = n }

// MigrateDownTo undoes migrations down to version, so that tests can run a migration on data.
func (s *Store) MigrateDownTo(ctx context.Context, version int64) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}

// TakeListSlots takes every slot of the list queue, as pages running at once would, until the
// returned function gives them back.
func (s *Store) TakeListSlots() func() {
	n := cap(s.lists)
	for range n {
		s.lists <- struct{}{}
	}
	return func() {
		for range n {
			<-s.lists
		}
	}
}

// CountLoginFailures is how many logins have failures on record, for the tests of the cap.
func (s *Store) CountLoginFailures(ctx context.Context) (int, error) {
	var n int
	if err := s.reader(ctx).QueryRowContext(ctx, `SELECT count(*) FROM login_failures`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count sign-in failures: %w", err)
	}
	return n, nil
}
