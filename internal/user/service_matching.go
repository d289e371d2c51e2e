package user

import (
	"context"

	"github.com/usherhq/usher/internal/errs"
)

// Matching returns the ids of every user the filter matches, for a bulk action on "all users
// matching" a search: at most MaxBulk of them, in the filter's order. More than that is refused
// with a message that says how to go on, rather than acting on some of them. The filter's limit
// and cursor are ignored.
func (s *Service) Matching(ctx context.Context, a Actor, f Filter) ([]string, error) {
	f.Limit, f.Cursor = MaxBulk, ""
	var ids []string
	for {
		page, err := s.ListUsers(ctx, a, f)
		if err != nil {
			return nil, err
		}
		for _, u := range page.Users {
			ids = append(ids, u.ID)
		}
		if len(ids) > MaxBulk {
			return nil, errs.E(errs.Invalid, "bulk.too_many",
				"More than 1,000 users match: narrow the search or the filters, or select users on the page.")
		}
		if page.Next == "" {
			return ids, nil
		}
		f.Cursor = page.Next
		f.Limit = 1 // one more is enough to know there are too many
	}
}
