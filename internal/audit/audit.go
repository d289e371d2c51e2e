// Package audit is usher's append-only record of who did what. Services write one Event in
// the same transaction as the change it records; this package defines the event and reads the log.
package audit

import "time"

// Outcomes of an audited action.
const (
	Success = "success"
	Failure = "failure"
)

// Event is one audited action.
type Event struct {
	ID         int64
	Time       time.Time // UTC
	ActorID    string    // empty for usher itself and for anonymous sign-in attempts
	ActorName  string
	Action     string // dotted: user.create, user.lock, auth.login
	TargetType string // user, role, group, field, token, session
	TargetID   string
	TargetName string
	Outcome    string
	// Details holds what changed. It never holds a secret: services put field names and
	// non-secret values here, never passwords, tokens or hashes.
	Details   map[string]any
	RequestID string
	ClientIP  string
}

// Filter narrows a read of the log. Zero values match everything.
type Filter struct {
	ActorID    string
	TargetID   string
	TargetType string // user, role, group, field, token, session
	Action     string // exact, or a prefix ending in "." (user.)
	Outcome    string
	From, To   time.Time
	Limit      int    // see PageSize
	Cursor     string // the next cursor of the page before; the store made it and checks it
}

// A read of the log returns DefaultPage events when it names no limit, and never more than MaxPage.
const (
	DefaultPage = 100
	MaxPage     = 500
)

// PageSize is how many events a read of f returns at most: its Limit, within the bounds above.
// Every surface and the store go by it.
func (f Filter) PageSize() int {
	switch {
	case f.Limit <= 0:
		return DefaultPage
	case f.Limit > MaxPage:
		return MaxPage
	}
	return f.Limit
}
