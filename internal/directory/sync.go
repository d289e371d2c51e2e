package directory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"golang.org/x/text/unicode/norm"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// RunStatus is where a sync stands.
type RunStatus string

// The statuses of a sync.
const (
	RunQueued    RunStatus = "queued"
	RunRunning   RunStatus = "running"
	RunHeld      RunStatus = "needs_confirmation" // stopped by the safety rules until confirmed
	RunCompleted RunStatus = "completed"
	RunFailed    RunStatus = "failed"
)

// Planned is how many changes a run's plan makes, for its progress: 0 before it is made.
func (r *Run) Planned() int64 {
	if r.Plan == nil {
		return 0
	}
	c := r.Plan.Counts
	return c.Created + c.Updated + c.Disabled + c.Enabled + c.Deleted + c.GroupsCreated + c.GroupsUpdated + c.GroupsDeleted
}

// Applied is how many of the plan's changes a run made or refused so far.
func (r *Run) Applied() int64 {
	c := r.Done
	n := c.Created + c.Updated + c.Disabled + c.Enabled + c.Deleted + c.Failed + c.GroupsCreated + c.GroupsUpdated + c.GroupsDeleted
	if r.Plan != nil {
		n -= r.Plan.Counts.Failed // refused while reading, not among the changes
	}
	return max(n, 0)
}

// Outcome is the counts that tell how a run went: for a run held for a confirmation, its
// plan's (it changed nothing yet: the plan is what it would do); else what it did.
func (r *Run) Outcome() Counts {
	if r.Status == RunHeld && r.Plan != nil {
		return r.Plan.Counts
	}
	return r.Done
}

// Final reports whether a run is over (a held run waits for a person, not for the server).
func (s RunStatus) Final() bool {
	return s == RunCompleted || s == RunFailed || s == RunHeld || s == RunSkipped
}

// Counts are a sync's numbers: entries seen, and users created, updated, disabled, enabled and
// deleted, and entries that failed.
type Counts struct {
	Seen     int64 `json:"seen"`
	Created  int64 `json:"created"`
	Updated  int64 `json:"updated"`
	Disabled int64 `json:"disabled"`
	Enabled  int64 `json:"enabled"`
	Deleted  int64 `json:"deleted"`
	Failed   int64 `json:"failed"`
	// The directory's groups (with a group mapping): created, renamed, deleted (they left the
	// directory or the mapping), and the members they gained and lost.
	GroupsCreated  int64 `json:"groups_created"`
	GroupsUpdated  int64 `json:"groups_updated"`
	GroupsDeleted  int64 `json:"groups_deleted"`
	MembersAdded   int64 `json:"members_added"`
	MembersRemoved int64 `json:"members_removed"`
}

// ChangeKind is what a sync does to one user.
type ChangeKind string

// The changes of a plan.
const (
	Create  ChangeKind = "create"
	Update  ChangeKind = "update"
	Disable ChangeKind = "disable"
	Enable  ChangeKind = "enable"
	Delete  ChangeKind = "delete"
)

// Change is one user's change in a plan: for an update, each attribute's value before and after.
type Change struct {
	Kind     ChangeKind        `json:"kind"`
	DN       string            `json:"dn,omitempty"` // empty for a user who left the directory
	UserID   string            `json:"user_id,omitempty"`
	Username string            `json:"username"`
	Email    string            `json:"email"`
	Before   map[string]string `json:"before,omitempty"`
	After    map[string]string `json:"after,omitempty"`
}

// Plan is what a sync would do: the counts, the first changes of each kind, the entries refused.
type Plan struct {
	Counts  Counts       `json:"counts"`
	Changes []Change     `json:"changes"`
	Errors  []EntryError `json:"errors"`
	// Users is how many users the directory had in usher when the plan was made.
	Users int64 `json:"users"`
	// Active is how many of them were not disabled: the share a sync may disable or delete is
	// of these (users disabled long ago do not make a mass disable look small).
	Active int64 `json:"active"`
	// Version is the directory's version the plan was made with.
	Version int64 `json:"version"`
	// Full is a plan of every entry in scope, users who left included; otherwise only the
	// entries changed since the last sync were read (and no one leaves).
	Full bool `json:"full"`
	// With a group mapping: the first changes of each kind to the directory's groups, how many
	// groups the directory had in usher and how many memberships they held, and how many
	// groups were read (a group named by a DN the directory does not have is not).
	GroupChanges []GroupChange `json:"group_changes,omitempty"`
	Groups       int64         `json:"groups,omitempty"`
	Memberships  int64         `json:"memberships,omitempty"`
	GroupsSeen   int64         `json:"groups_seen,omitempty"`
	// Lost names the users the plan disables or deletes: a digest of their ids, so that a
	// confirmation applies to the same people, not only to as many.
	Lost string `json:"lost,omitempty"`
}

// Confirmation is what a person confirmed of a held plan: its counts and whom it loses.
type Confirmation struct {
	Counts
	Lost string `json:"lost,omitempty"`
}

// lostDigest is Plan.Lost of the users with these ids.
func lostDigest(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// planShown is how many changes of each kind, and how many refused entries, a plan keeps.
const planShown = 20

// maxErrors is how many refused entries a run keeps.
const maxErrors = 100

// Run is one sync of a directory.
type Run struct {
	ID          string
	DirectoryID string
	Status      RunStatus
	Full        bool
	Confirmed   bool // started again by a person over the safety rules
	// For a confirmed sync: the counts of the held plan the person confirmed, and the
	// directory's version then. It applies a plan no worse, of the same configuration.
	ConfirmedPlan    *Confirmation
	ConfirmedVersion int64
	// Who started it: the sync acts with these permissions at most, narrowed to what they
	// still hold when it runs.
	ActorID, ActorName string
	ActorPermissions   user.Permissions
	ClientIP           string
	Done               Counts // what it did so far
	Plan               *Plan  // the plan it applies, once made; a held run's is what confirming applies
	Errors             []EntryError
	Reason             string // why it is held, or why it failed
	CreatedAt          time.Time
	StartedAt          *time.Time
	FinishedAt         *time.Time
}

// SyncArgs is the job that runs a sync.
type SyncArgs struct {
	RunID string `json:"run_id"`
}

// Kind names the job in River.
func (SyncArgs) Kind() string { return "directory.sync" }

// InsertOpts: a sync that failed on the server's side tries again a few times.
func (SyncArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 5} }

// Jobs inserts background jobs in the caller's transaction (job.Runner does).
type Jobs interface {
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// SyncOptions are a sync's options.
type SyncOptions struct {
	DryRun bool // answer with the plan, write nothing
	Full   bool // read every entry, and find who left (else only what changed since the last sync, when one completed within FullEvery)
}

// Sync starts a sync of a directory in the background, or with DryRun answers with its plan
// without writing anything. At most one sync of a directory is queued or running at once.
func (s *Service) Sync(ctx context.Context, a user.Actor, id string, o SyncOptions) (*Run, *Plan, error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return nil, nil, err
	}
	d, err := s.store.Directory(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if o.DryRun {
		p, pl, err := s.plan(ctx, d, s.fullSync(d, o.Full))
		if err != nil {
			return nil, nil, err
		}
		if err := s.checkCreates(ctx, a, d, p, pl); err != nil {
			return nil, nil, err
		}
		return nil, p, nil
	}
	run := &Run{ID: uuid.Must(uuid.NewV7()).String(), DirectoryID: d.ID, Status: RunQueued, Full: o.Full,
		ActorID: a.ID, ActorName: a.Name, ActorPermissions: a.Permissions, ClientIP: a.ClientIP, CreatedAt: s.now()}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.failStale(ctx, d.ID); err != nil {
			return err
		}
		if err := s.store.InsertRun(ctx, run); err != nil {
			return err
		}
		if _, err := s.jobs.Insert(ctx, SyncArgs{RunID: run.ID}, nil); err != nil {
			return err
		}
		return s.audit(ctx, a, "directory.sync_start", d, map[string]any{"run_id": run.ID})
	})
	if err != nil {
		return nil, nil, err
	}
	return run, nil, nil
}

// Confirm applies a sync the safety rules held: it runs again, and applies its plan whatever
// share of the directory's users it disables or deletes.
func (s *Service) Confirm(ctx context.Context, a user.Actor, dirID, runID string) (*Run, error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return nil, err
	}
	var out *Run
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		d, err := s.store.LockDirectory(ctx, dirID)
		if err != nil {
			return err
		}
		held, err := s.store.Run(ctx, runID)
		if err != nil || held.DirectoryID != dirID {
			return notFoundRun(err)
		}
		if held.Status != RunHeld {
			return errs.E(errs.Conflict, "directory.not_held", "This sync is not waiting for a confirmation.")
		}
		if runs, err := s.store.Runs(ctx, dirID, recentRuns); err != nil {
			return err
		} else if latest := LastOf(runs); latest != nil && latest.ID != held.ID {
			return errs.E(errs.Conflict, "directory.not_latest", "Another sync of this directory ran since this one was held: start a new sync.")
		}
		if held.Plan == nil || held.Plan.Version != d.Version {
			return errs.E(errs.Conflict, "directory.changed", "The directory's settings changed since this sync was held: start a new sync.")
		}
		if err := s.failStale(ctx, d.ID); err != nil {
			return err
		}
		if _, err := s.store.FinishRun(ctx, held.ID, RunHeld, RunFailed, s.now(), "Confirmed: a new sync applies it."); err != nil {
			return err
		}
		out = &Run{ID: uuid.Must(uuid.NewV7()).String(), DirectoryID: d.ID, Status: RunQueued, Full: held.Plan.Full, Confirmed: true,
			ConfirmedPlan: &Confirmation{Counts: held.Plan.Counts, Lost: held.Plan.Lost}, ConfirmedVersion: d.Version,
			ActorID: a.ID, ActorName: a.Name, ActorPermissions: a.Permissions, ClientIP: a.ClientIP, CreatedAt: s.now()}
		if err := s.store.InsertRun(ctx, out); err != nil {
			return err
		}
		if _, err := s.jobs.Insert(ctx, SyncArgs{RunID: out.ID}, nil); err != nil {
			return err
		}
		return s.audit(ctx, a, "directory.sync_confirm", d, map[string]any{"run_id": out.ID, "held_run_id": held.ID,
			"plan": held.Plan.Counts})
	})
	return out, err
}

// staleAfter is how long a queued or running sync may show no sign of life before a new sync
// of its directory ends it: longer than a run may take (the worker's Timeout).
const staleAfter = 35 * time.Minute

func (s *Service) failStale(ctx context.Context, dirID string) error {
	now := s.now()
	return s.store.FailStaleRuns(ctx, dirID, now.Add(-staleAfter), now,
		"The sync stopped without finishing (its process ended); a later sync replaced it.")
}

func notFoundRun(err error) error {
	if err == nil || errs.Is(errs.NotFound, err) {
		return errs.E(errs.NotFound, "directory.run_not_found", "There is no such sync of this directory.")
	}
	return err
}

// Runs lists a directory's syncs, newest first.
func (s *Service) Runs(ctx context.Context, a user.Actor, dirID string, limit int) ([]Run, error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return nil, err
	}
	if _, err := s.store.Directory(ctx, dirID); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	return s.store.Runs(ctx, dirID, limit)
}

// LastOf is the newest of runs (newest first, as Runs lists them) that is a sync: queued,
// running or ended, not an occurrence of the schedule that was skipped. A skipped occurrence
// is recorded at the time it was due, after the sync that made it skip started, and would
// otherwise hide that sync. Nil when there is none.
func LastOf(runs []Run) *Run {
	for i := range runs {
		if runs[i].Status != RunSkipped {
			return &runs[i]
		}
	}
	return nil
}

// LastRun is a directory's latest sync (see LastOf), nil before the first.
func (s *Service) LastRun(ctx context.Context, a user.Actor, dirID string) (*Run, error) {
	runs, err := s.Runs(ctx, a, dirID, recentRuns)
	if err != nil {
		return nil, err
	}
	return LastOf(runs), nil
}

// GetRun reads one sync of a directory.
func (s *Service) GetRun(ctx context.Context, a user.Actor, dirID, runID string) (*Run, error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return nil, err
	}
	r, err := s.store.Run(ctx, runID)
	if err != nil || r.DirectoryID != dirID {
		return nil, notFoundRun(err)
	}
	return r, nil
}

// Worker is the River worker of SyncArgs jobs.
func (s *Service) Worker() river.Worker[SyncArgs] { return &syncWorker{s: s} }

type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	s *Service
}

// Timeout: a sync of a hundred thousand users takes seconds; a stuck server is cut off by the
// client's own time limits long before this.
func (*syncWorker) Timeout(*river.Job[SyncArgs]) time.Duration { return 30 * time.Minute }

// Work runs a queued sync. A run that dies part way is run again whole: a sync reads the
// directory afresh and changes only what differs, so what was done is not done twice.
func (w *syncWorker) Work(ctx context.Context, j *river.Job[SyncArgs]) error {
	s := w.s
	run, err := s.store.Run(ctx, j.Args.RunID)
	if errs.Is(errs.NotFound, err) {
		return river.JobCancel(fmt.Errorf("directory: sync %s is gone", j.Args.RunID))
	} else if err != nil {
		return err
	}
	if run.Status.Final() {
		return nil
	}
	if err := s.store.StartRun(ctx, run.ID, s.now()); err != nil {
		return err
	}
	err = s.runSync(ctx, run)
	var held *heldError
	switch {
	case err == nil:
		return s.finishRun(ctx, run, RunCompleted, "")
	case errors.As(err, &held):
		return s.holdRun(ctx, run, held)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return s.finishRun(ctx, run, RunFailed, "The sync took longer than 30 minutes and was stopped; what it changed so far stays.")
	case ctx.Err() != nil:
		return river.JobSnooze(0) // stopping: the next start runs it again
	}
	e, isErr := errs.As(err)
	if !retryable(err) || j.Attempt >= j.MaxAttempts {
		msg := "The sync stopped after repeated errors of the server; what it changed so far stays."
		if isErr && e.Kind != errs.Internal {
			msg = e.Message // the directory's problem (bad credentials, no base DN, …) or a lost right
		}
		s.logger.Warn("directory sync failed", "run_id", run.ID, "directory_id", run.DirectoryID, "err", err)
		return s.finishRun(ctx, run, RunFailed, msg)
	}
	s.logger.Error("directory sync failed; it will be retried", "run_id", run.ID, "attempt", j.Attempt, "err", err)
	return err
}

// heldError is a plan the safety rules stopped.
type heldError struct {
	plan   *Plan
	reason string
}

func (h *heldError) Error() string { return h.reason }

func (s *Service) finishRun(ctx context.Context, run *Run, to RunStatus, reason string) error {
	ctx = context.WithoutCancel(ctx)
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if ok, err := s.store.FinishRun(ctx, run.ID, RunRunning, to, s.now(), reason); err != nil {
			return err
		} else if !ok {
			// Ended meanwhile (a later sync took it for one whose process died), and told then.
			s.logger.Warn("directory sync ended before it finished", "run_id", run.ID, "directory_id", run.DirectoryID, "status", string(to))
			return nil
		}
		done, err := s.store.Run(ctx, run.ID)
		if err != nil {
			return err
		}
		d, err := s.store.Directory(ctx, run.DirectoryID)
		if err != nil {
			return err
		}
		s.logger.Info("directory sync finished", "run_id", run.ID, "directory", d.Name, "status", string(to),
			"seen", done.Done.Seen, "created", done.Done.Created, "updated", done.Done.Updated, "disabled", done.Done.Disabled,
			"enabled", done.Done.Enabled, "deleted", done.Done.Deleted, "failed", done.Done.Failed)
		details := map[string]any{"run_id": run.ID, "status": string(to), "counts": done.Done}
		if reason != "" {
			details["reason"] = reason
		}
		if err := s.audit(ctx, runActor(run), "directory.sync", d, details); err != nil {
			return err
		}
		if to == RunCompleted && !d.EmailSummary {
			return nil
		}
		return s.notifyEnd(ctx, d, done)
	})
}

// MaxSyncNotices bounds how many administrators hear of one sync.
const MaxSyncNotices = 50

// notifyEnd tells the administrators who manage directories (active, with an email address;
// at most MaxSyncNotices) how run ended, inside the transaction that ends it. Each message is
// written in a savepoint of its own: one the outbox refuses (an address it cannot send to) is
// logged and left out, and neither the others nor the end of the run are undone with it.
func (s *Service) notifyEnd(ctx context.Context, d *Directory, run *Run) error {
	admins, err := s.store.UsersWithPermission(ctx, user.DirectoryManage, MaxSyncNotices)
	if err != nil {
		return fmt.Errorf("directory: sync notice: administrators: %w", err)
	}
	for _, a := range admins {
		err := s.store.Savepoint(ctx, func(ctx context.Context) error { return s.notify.SyncEnded(ctx, a, d, run) })
		if err != nil {
			why := err.Error()
			if e, ok := errs.As(err); ok {
				why = e.Code // its message may quote the address
			}
			s.logger.Error("directory sync notice not queued", "run_id", run.ID, "user_id", a.ID, "err", why)
		}
	}
	return nil
}

func (s *Service) holdRun(ctx context.Context, run *Run, h *heldError) error {
	ctx = context.WithoutCancel(ctx)
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.HoldRun(ctx, run.ID, h.plan, h.reason, s.now()); err != nil {
			return err
		}
		held, err := s.store.Run(ctx, run.ID)
		if err != nil {
			return err
		}
		if held.Status != RunHeld {
			s.logger.Warn("directory sync ended before it was held", "run_id", run.ID, "directory_id", run.DirectoryID, "status", string(held.Status))
			return nil
		}
		d, err := s.store.Directory(ctx, run.DirectoryID)
		if err != nil {
			return err
		}
		s.logger.Warn("directory sync held for confirmation", "run_id", run.ID, "directory", d.Name, "reason", h.reason)
		if err := s.audit(ctx, runActor(run), "directory.sync_held", d, map[string]any{"run_id": run.ID, "reason": h.reason,
			"plan": h.plan.Counts}); err != nil {
			return err
		}
		return s.notifyEnd(ctx, d, held)
	})
}

// scheduleSaver names who last saved d's schedule, for the messages of its syncs.
func scheduleSaver(d *Directory) string {
	if d.Schedule.SavedBy != nil && d.Schedule.SavedBy.Name != "" {
		return d.Schedule.SavedBy.Name
	}
	return "an administrator"
}

func runActor(run *Run) user.Actor {
	return user.Actor{ID: run.ActorID, Name: run.ActorName, Permissions: run.ActorPermissions,
		RequestID: "sync:" + run.ID, ClientIP: run.ClientIP}
}

// planned is a plan with everything needed to apply it.
type planned struct {
	creates []entry       // in an order where a manager comes before the people they manage
	updates []plannedUser // a user and the entry they now are
	status  []plannedUser // disable or enable, from the entry
	leavers []*user.User  // users of the directory it no longer has
	dnEmail map[string]string
	dnExt   map[string]string // an entry read, by its DN in lower case → its primary value
	ids     map[string]string // a user of the directory by primary value → their id (new ones once made)
	state   SyncState         // where this sync leaves off, once applied
	// The directory's groups to create or set, and those to delete.
	groups     []plannedGroup
	goneGroups []*user.Group
}

type plannedUser struct {
	u  *user.User
	e  entry
	ev user.Event
	// manager is the primary value of the manager the update sets ("" none), nil to leave it.
	manager *string
}

// plan reads the directory and compares it with its users in usher.
func (s *Service) plan(ctx context.Context, d *Directory, full bool) (*Plan, *planned, error) {
	// A mapping saved before its attributes could be chosen reads them from the preset.
	d.Groups.fillFrom(Preset(d.Kind).Groups)
	pw, err := s.sealer.Open(d.SealedPassword)
	if err != nil {
		return nil, nil, fmt.Errorf("directory: open the password: %w", err)
	}
	d.Password = string(pw)
	cn, err := dial(ctx, d.Connection, s.limits)
	if err != nil {
		return nil, nil, problemError(err)
	}
	defer cn.Close()
	if err := cn.bind(d.BindDN, d.Password); err != nil {
		return nil, nil, problemError(err)
	}
	existing, err := s.store.DirectoryUsers(ctx, d.ID)
	if err != nil {
		return nil, nil, err
	}
	fieldList, err := s.store.Fields(ctx)
	if err != nil {
		return nil, nil, err
	}
	fields := make(map[string]*user.Field, len(fieldList))
	for i := range fieldList {
		fields[fieldList[i].Name] = &fieldList[i]
	}
	byExt := make(map[string]*user.User, len(existing))
	for _, u := range existing {
		byExt[u.ExternalID] = u
	}
	p := &Plan{Users: int64(len(existing)), Changes: []Change{}, Errors: []EntryError{}, Full: full, Version: d.Version}
	for _, u := range existing {
		if u.Status != user.Disabled {
			p.Active++
		}
	}
	pl := &planned{dnEmail: map[string]string{}, dnExt: map[string]string{}, ids: make(map[string]string, len(existing)), state: d.State}
	for _, u := range existing {
		pl.ids[u.ExternalID] = u.ID
	}
	latest := ""
	if d.Kind == ActiveDirectory {
		// Read before the entries: a change made while they are read is read again next time.
		usn, server, err := highestUSN(cn)
		if err != nil {
			return nil, nil, problemError(err)
		}
		if server != d.State.Server {
			full = true // another domain controller counts its changes with numbers of its own
		}
		latest, pl.state.Server = usn, server
	}
	mark := ""
	if !full {
		mark = d.State.Mark
		if d.Kind == ActiveDirectory {
			mark = nextUSN(mark)
		}
	}
	p.Full = full
	if full {
		now := s.now()
		pl.state.FullAt = &now
	}
	pl.state.Version = d.Version
	if d.Kind != ActiveDirectory {
		latest = d.State.Mark
		if full {
			latest = ""
		}
	}
	seen := make(map[string]bool, len(existing))
	seenDN := make(map[string]bool, len(existing))
	var matched []plannedUser // every existing user read, for the managers once all entries are in
	shown := map[ChangeKind]int{}
	show := func(c Change) {
		if shown[c.Kind] < planShown {
			shown[c.Kind]++
			p.Changes = append(p.Changes, c)
		}
	}
	refuse := func(e EntryError) {
		p.Counts.Failed++
		if len(p.Errors) < maxErrors {
			p.Errors = append(p.Errors, e)
		}
	}
	var userDNs map[string]string // with a group mapping: every user entry read, by DN
	if d.groupsOn() {
		userDNs = make(map[string]string, len(existing))
	}
	refused, err := d.readEntries(ctx, cn, mark, &latest, func(e entry) error {
		if dn := strings.ToLower(e.DN); seenDN[dn] {
			return nil // an entry read twice (selected OUs that overlap)
		} else {
			seenDN[dn] = true
		}
		p.Counts.Seen++
		if seen[e.ExternalID] {
			refuse(EntryError{DN: e.DN, Field: d.Mapping.Primary, Reason: "Another entry in scope has the same " + d.Mapping.Primary + "."})
			return nil
		}
		seen[e.ExternalID] = true
		if userDNs != nil {
			userDNs[normDN(e.DN)] = e.ExternalID
		}
		pl.dnEmail[strings.ToLower(e.DN)] = e.Email
		pl.dnExt[strings.ToLower(e.DN)] = e.ExternalID
		u := byExt[e.ExternalID]
		if u == nil {
			p.Counts.Created++
			pl.creates = append(pl.creates, e)
			show(Change{Kind: Create, DN: e.DN, Username: e.Username, Email: e.Email})
			return nil
		}
		matched = append(matched, plannedUser{u: u, e: e})
		switch {
		case e.Disabled && (u.Status == user.Active || u.Status == user.Locked):
			p.Counts.Disabled++
			pl.status = append(pl.status, plannedUser{u: u, e: e, ev: user.Disable})
			show(Change{Kind: Disable, DN: e.DN, UserID: u.ID, Username: u.Username, Email: u.Email})
		case !e.Disabled && u.Status == user.Disabled && u.DisabledByDirectory:
			p.Counts.Enabled++
			pl.status = append(pl.status, plannedUser{u: u, e: e, ev: user.Enable})
			show(Change{Kind: Enable, DN: e.DN, UserID: u.ID, Username: u.Username, Email: u.Email})
		}
		return nil
	})
	unnamed := false
	for _, r := range refused {
		p.Counts.Seen++
		refuse(r)
		if r.externalID != "" {
			seen[r.externalID] = true // refused, not gone
			if userDNs != nil {
				userDNs[normDN(r.DN)] = r.externalID
			}
		} else {
			unnamed = true
		}
		if r.changed != "" && r.changed <= latest {
			latest = r.changed // read again next time, once it may be right
		}
	}
	if err != nil {
		return nil, nil, problemError(err)
	}
	var groups []groupEntry
	var groupsRefused []EntryError
	if d.groupsOn() {
		gmark := mark
		if !full && len(pl.creates) > 0 {
			gmark = "" // new users join the groups they are in already, changed or not
		}
		groupsRefused, err = d.readGroups(ctx, cn, gmark, &latest, func(g groupEntry) { groups = append(groups, g) })
		if err != nil {
			return nil, nil, problemError(err)
		}
		p.GroupsSeen = int64(len(groups))
		for _, r := range groupsRefused {
			if r.Field != "groups.dns" { // a DN the directory does not have names no group it sent
				p.GroupsSeen++
			}
		}
		if !full && len(groups) > 0 {
			// Only the users that changed were read: the members of a changed group may be any.
			clear(userDNs)
			if err := d.readUserDNs(ctx, cn, userDNs); err != nil {
				return nil, nil, problemError(err)
			}
		}
	}
	if d.Kind != ActiveDirectory {
		// A timestamp in the future (a clock ahead, an import) must not hide the changes up to it.
		if now := s.now().Format(generalizedTime); latest > now {
			latest = now
		}
	}
	pl.state.Mark = latest
	if unnamed {
		// An entry without its primary attribute may be any user: none is taken for gone.
		full = false
	}
	if !full && d.Mapping.Manager != "" {
		read := slices.Clone(pl.creates)
		for _, m := range matched {
			read = append(read, m.e)
		}
		if err := d.resolveManagers(ctx, cn, pl, read); err != nil {
			return nil, nil, problemError(err)
		}
	}
	// The updates, now that every entry read is known for the managers, who are compared by
	// the users they are (not by email, which may change in the same sync).
	byID := make(map[string]*user.User, len(existing))
	for _, u := range existing {
		byID[u.ID] = u
	}
	for i := range matched {
		m := &matched[i]
		before, after := diff(m.u, &m.e, fields)
		if d.Mapping.Manager != "" {
			if want := pl.managerOf(m.e); want != nil {
				have := ""
				if cur := byID[m.u.ManagerID]; cur != nil {
					have = cur.ExternalID
				} else if m.u.ManagerID != "" {
					have = "local:" + m.u.ManagerID // a user not from this directory
				}
				if have != *want {
					m.manager = want
					before["manager"], after["manager"] = managerWords(byID[m.u.ManagerID], m.u.ManagerID), pl.dnEmail[strings.ToLower(m.e.ManagerDN)]
				}
			}
		}
		if len(after) > 0 {
			p.Counts.Updated++
			pl.updates = append(pl.updates, *m)
			show(Change{Kind: Update, DN: m.e.DN, UserID: m.u.ID, Username: m.u.Username, Email: m.u.Email, Before: before, After: after})
		}
	}
	for _, u := range existing {
		if !full || seen[u.ExternalID] {
			continue
		}
		switch {
		case d.Leavers == DeleteLeavers:
			p.Counts.Deleted++
			pl.leavers = append(pl.leavers, u)
			show(Change{Kind: Delete, UserID: u.ID, Username: u.Username, Email: u.Email})
		case u.Status != user.Disabled:
			p.Counts.Disabled++
			pl.leavers = append(pl.leavers, u)
			show(Change{Kind: Disable, UserID: u.ID, Username: u.Username, Email: u.Email})
		}
	}
	var lost []string
	for _, pu := range pl.status {
		if pu.ev == user.Disable {
			lost = append(lost, pu.u.ID)
		}
	}
	for _, u := range pl.leavers {
		lost = append(lost, u.ID)
	}
	p.Lost = lostDigest(lost)
	pl.creates = managersFirst(pl.creates)
	if err := s.planGroups(ctx, d, p, pl, existing, groups, groupsRefused, userDNs, full); err != nil {
		return nil, nil, err
	}
	return p, pl, nil
}

// planGroups plans the directory's groups once its users are planned: the members are the
// users of the directory after the sync, those it creates included and those it deletes not.
func (s *Service) planGroups(ctx context.Context, d *Directory, p *Plan, pl *planned, users []*user.User,
	read []groupEntry, refused []EntryError, userDNs map[string]string, full bool) error {
	existing, err := s.store.DirectoryGroups(ctx, d.ID, true)
	if err != nil {
		return err
	}
	p.Groups = int64(len(existing))
	for _, g := range existing {
		p.Memberships += g.MemberCount
	}
	if d.groupsUnclaimed() {
		p.Counts.Failed++
		p.Errors = append(p.Errors, EntryError{DN: "groups", Field: "groups", Reason: unclaimedReason})
		return nil
	}
	if !d.groupsOn() && len(existing) == 0 {
		return nil
	}
	synced := make(map[string]bool, len(users)+len(pl.creates))
	extOf := make(map[string]string, len(users))
	for _, u := range users {
		synced[u.ExternalID] = true
		extOf[u.ID] = u.ExternalID
	}
	if d.Leavers == DeleteLeavers {
		for _, u := range pl.leavers {
			delete(synced, u.ExternalID)
		}
	}
	for _, e := range pl.creates {
		synced[e.ExternalID] = true
	}
	keep := map[string]bool{}
	for _, r := range refused {
		p.Counts.Failed++
		if len(p.Errors) < maxErrors {
			p.Errors = append(p.Errors, r)
		}
		if r.externalID != "" {
			keep[r.externalID] = true
		} else if r.Field != "groups.dns" {
			full = false // a group without its primary attribute may be any: none is taken for gone
		}
	}
	planGroups(p, pl, existing, read, userDNs, synced, extOf, keep, full, !d.groupsOn())
	return nil
}

// checkCreates puts a dry run's new users through the domain's rules without writing them
// (user.Service.CheckUsers): those it would refuse move from the plan's creates to its errors.
func (s *Service) checkCreates(ctx context.Context, a user.Actor, d *Directory, p *Plan, pl *planned) error {
	refused := map[string]bool{}
	for start := 0; start < len(pl.creates); start += applyBatch {
		part := pl.creates[start:min(len(pl.creates), start+applyBatch)]
		ins := make([]user.CreateInput, len(part))
		for i, e := range part {
			ins[i] = createInput(d, e, nil) // managers made by the same sync do not exist yet
		}
		res, err := s.users.CheckUsers(ctx, a, ins)
		if err != nil {
			return err
		}
		for i, r := range res {
			if r.Err == nil {
				continue
			}
			refused[part[i].DN] = true
			p.Counts.Created--
			p.Counts.Failed++
			if len(p.Errors) < maxErrors {
				p.Errors = append(p.Errors, entryError(part[i].DN, r.Err))
			}
		}
	}
	p.Changes = slices.DeleteFunc(p.Changes, func(c Change) bool { return c.Kind == Create && refused[c.DN] })
	return nil
}

// entryError is an entry the domain refused, with the field and its words.
func entryError(dn string, err error) EntryError {
	field := ""
	if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
		field = e.Fields[0].Field
	}
	return EntryError{DN: dn, Field: field, Reason: message(err)}
}

// diff is what of u an entry changes, before and after, by field name.
func diff(u *user.User, e *entry, fields map[string]*user.Field) (before, after map[string]string) {
	before, after = map[string]string{}, map[string]string{}
	cmp := func(name, was, now string) {
		if was != now {
			before[name], after[name] = was, now
		}
	}
	// The entry's values as usher would store them: names in NFC, a custom value in its field's
	// form ("007" of a number is 7). A value stored in its own form is no change, sync after sync.
	nfc := norm.NFC.String
	cmp("username", u.Username, nfc(e.Username))
	cmp("email", u.Email, nfc(e.Email))
	cmp("first_name", u.FirstName, nfc(e.FirstName))
	cmp("last_name", u.LastName, nfc(e.LastName))
	cmp("phone", u.Phone, e.Phone)
	cmp("department", u.Department, e.Department)
	for _, name := range slices.Sorted(mapKeys(e.Custom)) {
		now := e.Custom[name]
		if f := fields[name]; f != nil && now != "" {
			if v, bad := f.Canonical(now); bad == nil {
				now = v
			}
		}
		cmp("custom."+name, u.Custom[name], now)
	}
	return before, after
}

// managersFirst orders new users so that each one's manager, when the sync creates them too,
// comes in an earlier level; levels are applied one after the other.
func managersFirst(es []entry) []entry {
	if len(es) == 0 {
		return es
	}
	byDN := make(map[string]int, len(es))
	for i, e := range es {
		byDN[strings.ToLower(e.DN)] = i
	}
	depth := make([]int, len(es))
	for i := range depth {
		depth[i] = -1
	}
	var level func(i, guard int) int
	level = func(i, guard int) int {
		if depth[i] >= 0 {
			return depth[i]
		}
		m, ok := byDN[strings.ToLower(es[i].ManagerDN)]
		if !ok || m == i || guard > len(es) {
			depth[i] = 0
			return 0
		}
		depth[i] = 0 // a cycle stops here
		depth[i] = level(m, guard+1) + 1
		return depth[i]
	}
	for i := range es {
		level(i, 0)
	}
	order := make([]int, len(es))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return depth[x] - depth[y] })
	out := make([]entry, len(es))
	for k, i := range order {
		out[k] = es[i]
		out[k].managerLevel = depth[i]
	}
	return out
}

// safety holds a plan that would disable or delete more of the directory's active users than
// its threshold, delete more of its groups or remove more of their memberships than the
// threshold, or that saw no entries or no groups at all. A confirmed sync applies a plan no
// worse than the one the person confirmed, of the same configuration, and is held again
// otherwise.
func safety(d *Directory, p *Plan, run *Run) error {
	gone := p.Counts.Disabled + p.Counts.Deleted
	c := p.Counts
	if run.Confirmed && run.ConfirmedPlan != nil {
		ok := run.ConfirmedPlan
		sameLost := gone == 0 || ok.Lost == "" || p.Lost == ok.Lost // "": confirmed before the digest was kept
		if d.Version == run.ConfirmedVersion && gone <= ok.Disabled+ok.Deleted && (c.Seen > 0 || ok.Seen == 0) &&
			c.GroupsDeleted <= ok.GroupsDeleted && c.MembersRemoved <= ok.MembersRemoved && sameLost {
			return nil
		}
		if !sameLost && d.Version == run.ConfirmedVersion && gone <= ok.Disabled+ok.Deleted {
			return &heldError{plan: p, reason: fmt.Sprintf("The users this sync would disable or delete are not the ones you confirmed (%d now, %d then): the directory changed meanwhile. Review them and confirm again.",
				gone, ok.Disabled+ok.Deleted)}
		}
		reason := fmt.Sprintf("The directory or its settings changed since the sync you confirmed: this one would disable or delete %d users (you confirmed %d) after reading %d entries",
			gone, ok.Disabled+ok.Deleted, c.Seen)
		if c.GroupsDeleted+c.MembersRemoved+ok.GroupsDeleted+ok.MembersRemoved > 0 {
			reason += fmt.Sprintf(", delete %d groups (you confirmed %d) and remove %d memberships (you confirmed %d)",
				c.GroupsDeleted, ok.GroupsDeleted, c.MembersRemoved, ok.MembersRemoved)
		}
		return &heldError{plan: p, reason: reason + ". Review it and confirm again."}
	}
	switch {
	case d.Scope == ScopeNone && gone > 0:
		return &heldError{plan: p, reason: fmt.Sprintf("The scope is None, so this sync reads no users: all %d of the directory's active users would be %s. Choose the OUs to sync before confirming.",
			gone, leaverWord(d))}
	case p.Full && p.Counts.Seen == 0 && d.Scope != ScopeNone: // None: the administrator chose to read nobody
		return &heldError{plan: p, reason: "The directory returned no users in scope: check the base DN, the OUs and the inclusion filter before confirming, or every user of this directory would be " + leaverWord(d) + "."}
	case p.Full && d.groupsOn() && p.GroupsSeen == 0 && c.GroupsDeleted > 0:
		return &heldError{plan: p, reason: fmt.Sprintf("This sync would delete %d of the directory's %d groups, and their members would lose the roles they give: the directory returned none of the mapped groups. Check the group DNs and filter before confirming.",
			c.GroupsDeleted, p.Groups)}
	case gone > 0 && (p.Active == 0 || gone*100 > int64(d.Threshold)*p.Active):
		return &heldError{plan: p, reason: fmt.Sprintf("This sync would disable or delete %d of the directory's %d active users (%d%%), more than its threshold of %d%%.",
			gone, p.Active, gone*100/max(p.Active, 1), d.Threshold)}
	case p.Full && c.GroupsDeleted > 0 && c.GroupsDeleted*100 > int64(d.Threshold)*p.Groups:
		return &heldError{plan: p, reason: fmt.Sprintf("This sync would delete %d of the directory's %d groups (%d%%), more than its threshold of %d%%, and their members would lose the roles they give.",
			c.GroupsDeleted, p.Groups, c.GroupsDeleted*100/max(p.Groups, 1), d.Threshold)}
	case p.Full && c.MembersRemoved > 0 && c.MembersRemoved*100 > int64(d.Threshold)*p.Memberships:
		return &heldError{plan: p, reason: fmt.Sprintf("This sync would remove %d of the %d memberships of the directory's groups (%d%%), more than its threshold of %d%%.",
			c.MembersRemoved, p.Memberships, c.MembersRemoved*100/max(p.Memberships, 1), d.Threshold)}
	}
	return nil
}

func leaverWord(d *Directory) string {
	if d.Leavers == DeleteLeavers {
		return "deleted"
	}
	return "disabled"
}

// applyBatch is how many changes a transaction applies.
const applyBatch = 500

// runSync plans and applies a sync, batch by batch, with the permissions of who started it as
// they stand now.
func (s *Service) runSync(ctx context.Context, run *Run) error {
	d, err := s.store.Directory(ctx, run.DirectoryID)
	if err != nil {
		return err
	}
	a, err := s.users.Narrow(ctx, runActor(run))
	if e, ok := errs.As(err); ok && e.Kind == errs.Forbidden && run.ActorName == ScheduleActor {
		return errs.E(errs.Forbidden, e.Code, fmt.Sprintf("%s The schedule was saved by %s: save the schedule again as an administrator who can manage directories.",
			e.Message, scheduleSaver(d)))
	} else if err != nil {
		return err
	}
	if !a.Can(user.DirectoryManage) {
		if run.ActorName == ScheduleActor {
			return errs.E(errs.Forbidden, "directory.actor_lost_rights", fmt.Sprintf("The schedule was saved by %s, who can no longer manage directories: save the schedule again as an administrator who can.",
				scheduleSaver(d)))
		}
		return errs.E(errs.Forbidden, "directory.actor_lost_rights", run.ActorName+", who started this sync, may no longer manage directories.")
	}
	p, pl, err := s.plan(ctx, d, s.fullSync(d, run.Full))
	if err != nil {
		return err
	}
	if err := safety(d, p, run); err != nil {
		return err
	}
	// The plan goes with the run: its counts are the total its progress is measured against,
	// and its first changes stay in the history.
	if err := s.store.InTx(ctx, func(ctx context.Context) error { return s.store.RecordPlan(ctx, run.ID, p) }); err != nil {
		return err
	}
	done := Counts{Seen: p.Counts.Seen, Failed: p.Counts.Failed}
	errList := slices.Clone(p.Errors)
	refuse := func(dn string, err error) {
		done.Failed++
		if len(errList) < maxErrors {
			errList = append(errList, entryError(dn, err))
		}
	}
	// One transaction per batch of changes, with the run's counts, so that what is done and
	// what the run says are never apart.
	batch := func(n int, fn func(ctx context.Context, i int) error) error {
		for start := 0; start < n; start += applyBatch {
			end := min(n, start+applyBatch)
			err := s.store.InTx(ctx, func(ctx context.Context) error {
				for i := start; i < end; i++ {
					if err := fn(ctx, i); err != nil {
						return err
					}
				}
				return s.store.RecordRun(ctx, run.ID, done, errList)
			})
			if err != nil {
				return err // the run ends here; a retry plans again from what was written
			}
		}
		return nil
	}
	// New users, a level of managers at a time, each level in batches created together.
	for start := 0; start < len(pl.creates); {
		end := start
		for end < len(pl.creates) && end-start < applyBatch && pl.creates[end].managerLevel == pl.creates[start].managerLevel {
			end++
		}
		part := pl.creates[start:end]
		err := s.store.InTx(ctx, func(ctx context.Context) error {
			ins := make([]user.CreateInput, len(part))
			for i, e := range part {
				ins[i] = createInput(d, e, pl)
			}
			res, err := s.users.CreateUsers(ctx, a, ins)
			if err != nil {
				return err
			}
			// A manager refused (or not made) leaves their people to be made without one: a
			// later sync sets the manager once they exist.
			var again []int
			for i, r := range res {
				if e, ok := errs.As(r.Err); ok && len(e.Fields) == 1 && (e.Fields[0].Field == "manager" || e.Fields[0].Field == "manager_id") {
					ins[i].Manager, ins[i].ManagerID = nil, nil
					again = append(again, i)
				}
			}
			if len(again) > 0 {
				retry := make([]user.CreateInput, len(again))
				for k, i := range again {
					retry[k] = ins[i]
				}
				res2, err := s.users.CreateUsers(ctx, a, retry)
				if err != nil {
					return err
				}
				for k, i := range again {
					res[i] = res2[k]
				}
			}
			for i, r := range res {
				if r.Err != nil {
					refuse(part[i].DN, r.Err)
				} else {
					done.Created++
					pl.ids[part[i].ExternalID] = r.User.ID // the manager of a later level
				}
			}
			return s.store.RecordRun(ctx, run.ID, done, errList)
		})
		if err != nil {
			return err
		}
		start = end
	}
	apply := func(dn string, err error, count *int64) error {
		if err == nil {
			*count++
			return nil
		}
		if e, ok := errs.As(err); ok && e.Kind != errs.Internal && e.Kind != errs.Unavailable && e.Code != "store.concurrent_change" {
			refuse(dn, err)
			return nil
		}
		return err
	}
	// Each change in a savepoint of its own: one the database refuses (on PostgreSQL, any failed
	// statement ends the transaction) is undone alone and reported, and the batch goes on.
	alone := func(ctx context.Context, change func(ctx context.Context) error) error {
		return s.store.Savepoint(ctx, change)
	}
	if err := batch(len(pl.updates), func(ctx context.Context, i int) error {
		pu := pl.updates[i]
		err := alone(ctx, func(ctx context.Context) error {
			_, err := s.users.UpdateFromDirectory(ctx, a, d.ID, pu.u.ID, patch(pu, pl))
			return err
		})
		return apply(pu.e.DN, err, &done.Updated)
	}); err != nil {
		return err
	}
	if err := batch(len(pl.status), func(ctx context.Context, i int) error {
		pu := pl.status[i]
		err := alone(ctx, func(ctx context.Context) error {
			_, err := s.users.StatusFromDirectory(ctx, a, d.ID, pu.u.ID, pu.ev)
			return err
		})
		if pu.ev == user.Disable {
			return apply(pu.e.DN, err, &done.Disabled)
		}
		return apply(pu.e.DN, err, &done.Enabled)
	}); err != nil {
		return err
	}
	if err := batch(len(pl.leavers), func(ctx context.Context, i int) error {
		u := pl.leavers[i]
		if d.Leavers == DeleteLeavers {
			err := alone(ctx, func(ctx context.Context) error { return s.users.DeleteFromDirectory(ctx, a, d.ID, u.ID) })
			return apply(u.Username, err, &done.Deleted)
		}
		err := alone(ctx, func(ctx context.Context) error {
			_, err := s.users.StatusFromDirectory(ctx, a, d.ID, u.ID, user.Disable)
			return err
		})
		return apply(u.Username, err, &done.Disabled)
	}); err != nil {
		return err
	}
	if d.Leavers == DeleteLeavers {
		for _, u := range pl.leavers {
			delete(pl.ids, u.ExternalID) // deleted, or refused and a member still: a retry sees it
		}
	}
	if len(pl.groups) > 0 || len(pl.goneGroups) > 0 {
		ga, err := s.groupActor(ctx, d, a)
		if err != nil {
			refuse("groups", err)
		} else if err := s.applyGroups(ctx, d, ga, pl, &done, batch, refuse); err != nil {
			return err
		}
	}
	// A sync with nothing to change still says what it read; the next one goes on from here.
	return s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.RecordRun(ctx, run.ID, done, errList); err != nil {
			return err
		}
		return s.store.SetSyncState(ctx, d.ID, pl.state)
	})
}

// groupActor is who a sync changes the directory's groups as: who started it, narrowed to what
// the administrator who configured the group mapping holds now, so that the groups' roles
// reach no one beyond what that administrator could grant.
func (s *Service) groupActor(ctx context.Context, d *Directory, a user.Actor) (user.Actor, error) {
	by := d.Groups.By
	if by == nil {
		return a, nil // configured before it was recorded: who started the sync answers alone
	}
	cfg, err := s.users.Narrow(ctx, user.Actor{ID: by.ID, Name: by.Name, Permissions: user.NewPermissions(by.Permissions...)})
	if err != nil {
		return user.Actor{}, errs.E(errs.Forbidden, "directory.configurer_gone",
			"The groups were not synchronised: "+by.Name+", who configured the group mapping, can no longer act. "+message(err)+" Save the group mapping again.")
	}
	var both []user.Permission
	for _, p := range a.Permissions {
		if cfg.Can(p) {
			both = append(both, p)
		}
	}
	a.Permissions = user.NewPermissions(both...)
	return a, nil
}

// applyGroups deletes the directory's groups that left, then creates and sets the others, each
// in a savepoint: a group refused (its name taken by another group, roles beyond the sync's
// rights) is reported and the others go on.
func (s *Service) applyGroups(ctx context.Context, d *Directory, a user.Actor, pl *planned, done *Counts,
	batch func(int, func(context.Context, int) error) error, refuse func(string, error)) error {
	refused := func(dn string, err error) error {
		if e, ok := errs.As(err); ok && e.Kind != errs.Internal && e.Kind != errs.Unavailable && e.Code != "store.concurrent_change" {
			refuse(dn, err)
			return nil
		}
		return err
	}
	// The groups that left first: a group deleted and made again in the directory (a new
	// objectGUID, the same name) is made again here once the old one is gone.
	if err := batch(len(pl.goneGroups), func(ctx context.Context, i int) error {
		g := pl.goneGroups[i]
		err := s.store.Savepoint(ctx, func(ctx context.Context) error {
			return s.users.DeleteGroupFromDirectory(ctx, a, d.ID, g.ID)
		})
		if err != nil {
			return refused(g.Name, err)
		}
		done.GroupsDeleted++
		done.MembersRemoved += g.MemberCount
		return nil
	}); err != nil {
		return err
	}
	return batch(len(pl.groups), func(ctx context.Context, i int) error {
		pg := pl.groups[i]
		in := user.DirectoryGroup{ExternalID: pg.g.ExternalID, Name: pg.g.Name, MemberIDs: make([]string, 0, len(pg.members))}
		for _, ext := range pg.members {
			if id, ok := pl.ids[ext]; ok {
				in.MemberIDs = append(in.MemberIDs, id)
			}
		}
		var res *user.GroupSync
		err := s.store.Savepoint(ctx, func(ctx context.Context) error {
			var err error
			res, err = s.users.GroupFromDirectory(ctx, a, d.ID, pg.id, in)
			return err
		})
		if err != nil {
			return refused(pg.g.DN, err)
		}
		switch {
		case res.Created:
			done.GroupsCreated++
		case res.Renamed || res.Added+res.Removed > 0:
			done.GroupsUpdated++
		}
		done.MembersAdded += int64(res.Added)
		done.MembersRemoved += int64(res.Removed)
		return nil
	})
}

// FullEvery is how often a sync reads every entry even when not asked to: only a full sync
// finds the users who left the directory.
const FullEvery = 24 * time.Hour

// fullSync decides whether a sync reads every entry: when asked, when no sync completed yet,
// and when the last full one is older than FullEvery; otherwise it reads what changed since the
// last sync's mark.
func (s *Service) fullSync(d *Directory, asked bool) bool {
	st := d.State
	return asked || st.Mark == "" || st.FullAt == nil || s.now().Sub(*st.FullAt) >= FullEvery || st.Version != d.Version
}

// nextUSN is the update sequence number after mark.
func nextUSN(mark string) string {
	n, err := strconv.ParseInt(mark, 10, 64)
	if err != nil {
		return mark
	}
	return strconv.FormatInt(n+1, 10)
}

// message is an error's words for the run's list of refused entries.
func message(err error) string {
	e, ok := errs.As(err)
	if !ok {
		return "The server could not apply this entry."
	}
	if len(e.Fields) > 0 {
		return e.Fields[0].Message
	}
	return e.Message
}

// managerOf is the primary value of an entry's manager: "" when the entry has none, nil when
// its manager is not an entry this sync read (an incremental sync reads only what changed), in
// which case the manager is left as it is.
func (pl *planned) managerOf(e entry) *string {
	if e.ManagerDN == "" {
		none := ""
		return &none
	}
	if ext, ok := pl.dnExt[strings.ToLower(e.ManagerDN)]; ok {
		return &ext
	}
	return nil
}

// managerID is the id of the user an entry's manager is, once made; nil when unknown.
func (pl *planned) managerID(e entry) *string {
	ext := pl.managerOf(e)
	if ext == nil {
		return nil
	}
	if *ext == "" {
		return ext
	}
	if id, ok := pl.ids[*ext]; ok {
		return &id
	}
	return nil
}

func managerWords(u *user.User, id string) string {
	switch {
	case u != nil:
		return u.Email
	case id != "":
		return "a user not from this directory"
	}
	return ""
}

// createInput is a new user of the directory from its entry; pl (nil in a dry run, where no
// one is made) names the manager when they exist by then.
func createInput(d *Directory, e entry, pl *planned) user.CreateInput {
	in := user.CreateInput{DirectoryID: d.ID, Disabled: e.Disabled, Brief: true}
	p := &in.Profile
	p.ExternalID = &e.ExternalID
	p.Username, p.Email, p.FirstName, p.LastName = &e.Username, &e.Email, &e.FirstName, &e.LastName
	p.Phone, p.Department = &e.Phone, &e.Department
	if pl != nil && d.Mapping.Manager != "" {
		if id := pl.managerID(e); id != nil && *id != "" {
			p.ManagerID = id
		}
	}
	p.Custom = customPtrs(e.Custom)
	return in
}

// patch is the change of a user the entry makes, with the manager the plan found.
func patch(pu plannedUser, pl *planned) user.Patch {
	e := pu.e
	var p user.Patch
	p.Brief = true
	p.Username, p.Email, p.FirstName, p.LastName = &e.Username, &e.Email, &e.FirstName, &e.LastName
	p.Phone, p.Department = &e.Phone, &e.Department
	if pu.manager != nil {
		if *pu.manager == "" {
			p.ManagerID = pu.manager // none
		} else if id, ok := pl.ids[*pu.manager]; ok {
			p.ManagerID = &id
		}
	}
	p.Custom = customPtrs(e.Custom)
	return p
}

func customPtrs(m map[string]string) map[string]*string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]*string, len(m))
	for k, v := range m {
		if v == "" {
			out[k] = nil
		} else {
			out[k] = &v
		}
	}
	return out
}
