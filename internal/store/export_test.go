package store

// SetMaxSortedMatches lowers how many matches a search sorted by a column may have, so that
// tests can reach the limit with a few hundred users.
func (s *Store) SetMaxSortedMatches(n int) { s.maxSortedMatches = n }
