package mail_test

import (
	"testing"

	"github.com/usherhq/usher/internal/mail"
)

func TestPageSize(t *testing.T) {
	for _, tc := range []struct{ limit, want int }{
		{0, mail.DefaultPage}, {-3, mail.DefaultPage}, {1, 1}, {250, 250}, {mail.MaxPage, mail.MaxPage}, {mail.MaxPage + 1, mail.MaxPage},
	} {
		if got := (mail.Filter{Limit: tc.limit}).PageSize(); got != tc.want {
			t.Errorf("PageSize with limit %d = %d, want %d", tc.limit, got, tc.want)
		}
	}
}
