package audit_test

import (
	"testing"

	"github.com/usherhq/usher/internal/audit"
)

func TestPageSize(t *testing.T) {
	for _, tc := range []struct{ limit, want int }{
		{0, audit.DefaultPage}, {-3, audit.DefaultPage}, {1, 1}, {250, 250}, {audit.MaxPage, audit.MaxPage}, {audit.MaxPage + 1, audit.MaxPage},
	} {
		if got := (audit.Filter{Limit: tc.limit}).PageSize(); got != tc.want {
			t.Errorf("PageSize with limit %d = %d, want %d", tc.limit, got, tc.want)
		}
	}
}
