package user_test

import (
	"testing"

	"github.com/usherhq/usher/internal/user"
)

// The one rule for a list's order and size, which the service and the store both go by.
func TestFilterDefaults(t *testing.T) {
	for _, tc := range []struct {
		f    user.Filter
		sort string
		size int
	}{
		{user.Filter{}, "name", user.DefaultPage},
		{user.Filter{Q: "  "}, "name", user.DefaultPage},
		{user.Filter{Q: "mar"}, user.MatchSort, user.DefaultPage},
		{user.Filter{Sort: user.MatchSort}, "name", user.DefaultPage},
		{user.Filter{Q: "mar", Sort: "-email", Limit: 7}, "-email", 7},
		{user.Filter{Sort: "created_at", Limit: user.MaxPage + 1}, "created_at", user.MaxPage},
	} {
		if got := tc.f.SortOrder(); got != tc.sort {
			t.Errorf("%+v: SortOrder = %q, want %q", tc.f, got, tc.sort)
		}
		if got := tc.f.PageSize(); got != tc.size {
			t.Errorf("%+v: PageSize = %d, want %d", tc.f, got, tc.size)
		}
	}
	if got := (user.GroupFilter{}).PageSize(); got != user.DefaultPage {
		t.Errorf("GroupFilter PageSize = %d, want %d", got, user.DefaultPage)
	}
}
