package mail

import (
	"fmt"
	"time"
)

// Kinds of message about directory syncs, each to an administrator who manages directories.
const (
	KindDirectorySyncFailed  = "directory_sync_failed"
	KindDirectorySyncHeld    = "directory_sync_held"
	KindDirectorySyncSummary = "directory_sync_summary"
)

// SyncCounts are a sync's numbers, as its messages tell them.
type SyncCounts struct {
	Seen, Created, Updated, Disabled, Enabled, Deleted, Failed int64
}

// DirectorySync tells an administrator how a sync of a directory ended: it failed (Reason says
// why), it stopped for a confirmation (Counts are the plan's), or it completed (a summary).
type DirectorySync struct {
	To        Recipient // the administrator
	Directory string    // its name
	StartedBy string    // a person's name, or "schedule"
	At        time.Time // when it ended
	Reason    string
	Counts    SyncCounts
	Link      string // the directory's page in the console
}

// When is the time the sync ended, for the templates.
func (d DirectorySync) When() string { return when(d.At) }

// Who is who started the sync, for the templates.
func (d DirectorySync) Who() string {
	if d.StartedBy == "schedule" {
		return "its schedule"
	}
	return d.StartedBy
}

// Read is how many entries the sync read, in words ("1 entry", "1200 entries").
func (d DirectorySync) Read() string {
	return fmt.Sprintf("%d %s", d.Counts.Seen, plural(d.Counts.Seen, "entry", "entries"))
}

// Lines are the counts worth telling, one a line ("12 created").
func (d DirectorySync) Lines() []string {
	c := d.Counts
	var out []string
	for _, n := range []struct {
		v    int64
		word string
	}{{c.Created, "created"}, {c.Updated, "updated"}, {c.Disabled, "disabled"}, {c.Enabled, "enabled again"},
		{c.Deleted, "deleted"}, {c.Failed, "refused (see the sync's errors)"}} {
		if n.v > 0 {
			out = append(out, fmt.Sprintf("%d %s", n.v, plural(n.v, "user", "users")+" "+n.word))
		}
	}
	if len(out) == 0 {
		out = append(out, "no change")
	}
	return out
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// FailedMessage renders the message of a sync that failed.
func (d DirectorySync) FailedMessage() (*Message, error) {
	return render(KindDirectorySyncFailed, d.To, d)
}

// HeldMessage renders the message of a sync that waits for a confirmation.
func (d DirectorySync) HeldMessage() (*Message, error) { return render(KindDirectorySyncHeld, d.To, d) }

// SummaryMessage renders the summary of a sync that completed.
func (d DirectorySync) SummaryMessage() (*Message, error) {
	return render(KindDirectorySyncSummary, d.To, d)
}
