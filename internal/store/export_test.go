package store

import "context"

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
