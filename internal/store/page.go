package store

// pageSize keeps a list's limit in 1..1000, 50 when none was given.
func pageSize(limit int) int {
	switch {
	case limit <= 0:
		return 50
	case limit > 1000:
		return 1000
	}
	return limit
}
