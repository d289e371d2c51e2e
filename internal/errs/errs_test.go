package errs

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestRetryAfterSeconds(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&Error{Kind: TooMany, RetryAfter: 1500 * time.Millisecond}, 2},
		{&Error{Kind: TooMany, RetryAfter: 3 * time.Second}, 3},
		{&Error{Kind: TooMany}, 1},
		{fmt.Errorf("wrapped: %w", &Error{Kind: TooMany, RetryAfter: 10 * time.Second}), 10},
		{&Error{Kind: Invalid, RetryAfter: time.Second}, 0},
		{errors.New("plain"), 0},
	} {
		if got := RetryAfterSeconds(tc.err); got != tc.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
