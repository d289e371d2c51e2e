package user

import (
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/errs"
)

// refused marks a transition the state machine must refuse.
const refused Status = ""

// transitions is DESIGN §2's status table, written out for every (status, event, accepted).
var transitions = []struct {
	from     Status
	ev       Event
	accepted bool
	want     Status
}{
	{Invited, Accept, false, Active},
	{Invited, Accept, true, Active},
	{Invited, Lock, false, refused},
	{Invited, Lock, true, refused},
	{Invited, Unlock, false, refused},
	{Invited, Unlock, true, refused},
	{Invited, Disable, false, Disabled},
	{Invited, Disable, true, Disabled},
	{Invited, Enable, false, refused},
	{Invited, Enable, true, refused},

	{Active, Accept, false, refused},
	{Active, Accept, true, refused},
	{Active, Lock, false, Locked},
	{Active, Lock, true, Locked},
	{Active, Unlock, false, refused},
	{Active, Unlock, true, refused},
	{Active, Disable, false, Disabled},
	{Active, Disable, true, Disabled},
	{Active, Enable, false, refused},
	{Active, Enable, true, refused},

	{Locked, Accept, false, refused},
	{Locked, Accept, true, refused},
	{Locked, Lock, false, refused},
	{Locked, Lock, true, refused},
	{Locked, Unlock, false, Active},
	{Locked, Unlock, true, Active},
	{Locked, Disable, false, Disabled},
	{Locked, Disable, true, Disabled},
	{Locked, Enable, false, refused},
	{Locked, Enable, true, refused},

	{Disabled, Accept, false, refused},
	{Disabled, Accept, true, refused},
	{Disabled, Lock, false, refused},
	{Disabled, Lock, true, refused},
	{Disabled, Unlock, false, refused},
	{Disabled, Unlock, true, refused},
	{Disabled, Disable, false, refused},
	{Disabled, Disable, true, refused},
	{Disabled, Enable, false, Invited}, // never accepted: back to invited
	{Disabled, Enable, true, Active},
}

// TestTransitionTableIsComplete fails when a status or an event is added without a row here.
func TestTransitionTableIsComplete(t *testing.T) {
	t.Parallel()
	if want := len(Statuses) * len(Events) * 2; len(transitions) != want {
		t.Fatalf("the table has %d rows, want %d (statuses × events × accepted)", len(transitions), want)
	}
	type key struct {
		from     Status
		ev       Event
		accepted bool
	}
	rows := map[key]int{}
	for _, r := range transitions {
		rows[key{r.from, r.ev, r.accepted}]++
	}
	for _, s := range Statuses {
		if !s.Valid() {
			t.Errorf("Statuses lists %q, which is not Valid", s)
		}
		for _, ev := range Events {
			for _, acc := range []bool{false, true} {
				if n := rows[key{s, ev, acc}]; n != 1 {
					t.Errorf("(%s, %s, accepted=%v) has %d rows, want 1", s, ev, acc, n)
				}
			}
		}
	}
}

func TestTransition(t *testing.T) {
	t.Parallel()
	for _, tc := range transitions {
		name := string(tc.from) + "/" + string(tc.ev)
		if tc.accepted {
			name += "/accepted"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := Transition(tc.from, tc.ev, tc.accepted)
			if tc.want != refused {
				if err != nil || got != tc.want {
					t.Fatalf("Transition = %q, %v; want %q, nil", got, err, tc.want)
				}
				return
			}
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.Conflict || e.Code != "user.invalid_transition" {
				t.Fatalf("Transition = %q, %v; want a conflict user.invalid_transition", got, err)
			}
			if got != tc.from {
				t.Errorf("a refused transition returned %q, want the unchanged %q", got, tc.from)
			}
			if !strings.Contains(e.Message, string(tc.from)) {
				t.Errorf("message %q does not name the status %q", e.Message, tc.from)
			}
		})
	}
}

func TestTransitionUnknown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		from Status
		ev   Event
		want errs.Kind
	}{
		{"unknown event", Active, Event("explode"), errs.Invalid},
		{"empty event", Active, Event(""), errs.Invalid},
		{"unknown status", Status("deleted"), Enable, errs.Conflict},
		{"empty status", Status(""), Disable, errs.Conflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got, err := Transition(tc.from, tc.ev, true); !errs.Is(tc.want, err) || got != tc.from {
				t.Fatalf("Transition(%q, %q) = %q, %v; want %q unchanged and a %v error", tc.from, tc.ev, got, err, tc.from, tc.want)
			}
		})
	}
}

func TestStatusValidAndCanSignIn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		s             Status
		valid, signIn bool
	}{
		{Active, true, true},
		{Invited, true, false},
		{Locked, true, false},
		{Disabled, true, false},
		{"", false, false},
		{"ACTIVE", false, false},
		{"deleted", false, false},
	} {
		t.Run(string(tc.s), func(t *testing.T) {
			t.Parallel()
			if got := tc.s.Valid(); got != tc.valid {
				t.Errorf("Valid() = %v, want %v", got, tc.valid)
			}
			if got := tc.s.CanSignIn(); got != tc.signIn {
				t.Errorf("CanSignIn() = %v, want %v", got, tc.signIn)
			}
		})
	}
}
