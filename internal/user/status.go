package user

import (
	"fmt"
	"slices"

	"github.com/usherhq/usher/internal/errs"
)

// Status is where a user is in their life cycle.
type Status string

// The statuses of DESIGN §2.
const (
	Invited  Status = "invited"  // invitation sent, not accepted
	Active   Status = "active"   // can sign in
	Locked   Status = "locked"   // too many failed sign-ins, or locked by an administrator
	Disabled Status = "disabled" // deactivated; cannot sign in
)

// Statuses lists every status in display order.
var Statuses = []Status{Active, Invited, Locked, Disabled}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case Invited, Active, Locked, Disabled:
		return true
	}
	return false
}

// Event is something that may move a user from one status to another.
type Event string

// The events of the status state machine.
const (
	Accept  Event = "accept" // the invitation is accepted
	Lock    Event = "lock"   // failed sign-ins reached the threshold, or an administrator locked
	Unlock  Event = "unlock" // an administrator unlocked, an auto-unlock delay passed, or (by policy) a reset completed
	Disable Event = "disable"
	Enable  Event = "enable"
)

// Events lists every event.
var Events = []Event{Accept, Lock, Unlock, Disable, Enable}

// Transition is the one place that decides status changes. accepted says whether the user ever
// accepted an invitation or had a password set (enabling a never-accepted user makes them invited
// again, not active). It returns the new status, a Conflict error naming the refused move, or an
// Invalid error for an event it does not know.
func Transition(from Status, ev Event, accepted bool) (Status, error) {
	if !slices.Contains(Events, ev) {
		return from, errs.E(errs.Invalid, "user.unknown_event",
			fmt.Sprintf("There is no status change called %q; use accept, lock, unlock, disable or enable.", ev))
	}
	to, ok := next(from, ev, accepted)
	if !ok {
		return from, errs.E(errs.Conflict, "user.invalid_transition",
			fmt.Sprintf("A user who is %s cannot be %s.", from, pastTense[ev]))
	}
	return to, nil
}

var pastTense = map[Event]string{Accept: "accepted", Lock: "locked", Unlock: "unlocked",
	Disable: "disabled", Enable: "enabled"}

func next(from Status, ev Event, accepted bool) (Status, bool) {
	switch ev {
	case Accept:
		return Active, from == Invited
	case Lock:
		return Locked, from == Active
	case Unlock:
		return Active, from == Locked
	case Disable:
		return Disabled, from == Invited || from == Active || from == Locked
	case Enable:
		if from != Disabled {
			return from, false
		}
		if accepted {
			return Active, true
		}
		return Invited, true
	}
	return from, false
}

// CanSignIn reports whether a user in status s may sign in.
func (s Status) CanSignIn() bool { return s == Active }
