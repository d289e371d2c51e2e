package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// Store is what the directory service keeps.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// Savepoint runs fn in a savepoint of the transaction in ctx: what fn wrote is undone
	// when it fails, and the transaction goes on.
	Savepoint(ctx context.Context, fn func(ctx context.Context) error) error
	AppendAudit(ctx context.Context, e audit.Event) error
	Fields(ctx context.Context) ([]user.Field, error)

	InsertDirectory(ctx context.Context, d *Directory) error
	// UpdateDirectory writes a directory read in the same transaction and bumps its version.
	UpdateDirectory(ctx context.Context, d *Directory) error
	// DeleteDirectory forgets a directory; its users stay, as local users.
	DeleteDirectory(ctx context.Context, id string) error
	Directory(ctx context.Context, id string) (*Directory, error)
	// LockDirectory reads a directory in the transaction in ctx, which holds it until it ends.
	LockDirectory(ctx context.Context, id string) (*Directory, error)
	Directories(ctx context.Context) ([]Directory, error)
	// CountDirectoryUsersByStatus counts the users of a directory by status.
	CountDirectoryUsersByStatus(ctx context.Context, id string) (map[user.Status]int64, error)
	// CountDirectoryUsers counts the users of a directory.
	CountDirectoryUsers(ctx context.Context, id string) (int64, error)
	// DirectoryUsers reads every user of a directory.
	DirectoryUsers(ctx context.Context, id string) ([]*user.User, error)
	// DirectoryGroups reads every group of a directory by name, with its members' ids when
	// members.
	DirectoryGroups(ctx context.Context, id string, members bool) ([]user.Group, error)
	// CountDirectoryGroups counts the groups of a directory.
	CountDirectoryGroups(ctx context.Context, id string) (int64, error)

	// InsertRun adds a queued sync; a second queued or running sync of the directory is a
	// conflict (directory.sync_running).
	InsertRun(ctx context.Context, r *Run) error
	Run(ctx context.Context, id string) (*Run, error)
	// Runs lists a directory's syncs, newest first.
	Runs(ctx context.Context, directoryID string, limit int) ([]Run, error)
	// AllRuns lists every directory's syncs, newest first, a page of f.Limit at most, and the
	// cursor of the next page ("" on the last).
	AllRuns(ctx context.Context, f RunFilter) ([]Run, string, error)
	// StartRun moves a queued (or, run again, a running) sync to running.
	StartRun(ctx context.Context, id string, at time.Time) error
	// RecordRun writes what a running sync did so far.
	RecordRun(ctx context.Context, id string, done Counts, errors []EntryError) error
	// FailStaleRuns ends the queued or running syncs of a directory with no sign of life since
	// before.
	FailStaleRuns(ctx context.Context, directoryID string, before, now time.Time, reason string) error
	// SetSyncState records where a completed sync left off.
	SetSyncState(ctx context.Context, id string, st SyncState) error
	// RecordPlan writes the plan a running sync applies.
	RecordPlan(ctx context.Context, id string, plan *Plan) error
	// HoldRun stops a running sync on the safety rules, with its plan.
	HoldRun(ctx context.Context, id string, plan *Plan, reason string, at time.Time) error
	// DueDirectories lists the directories whose next scheduled sync is at or before now,
	// the longest due first.
	DueDirectories(ctx context.Context, now time.Time, limit int) ([]Directory, error)
	// ClaimScheduledSync moves a directory's next scheduled sync from seen to next (nil: none)
	// if it is still seen, in one statement; claimed says whether it was.
	ClaimScheduledSync(ctx context.Context, id string, seen time.Time, next *time.Time) (claimed bool, err error)
	// UsersWithPermission lists the active users with an email address who hold p.
	UsersWithPermission(ctx context.Context, p user.Permission, limit int) ([]*user.User, error)
	// ActiveRun is the queued or running sync of a directory, or nil.
	ActiveRun(ctx context.Context, directoryID string) (*Run, error)
	// FinishRun moves a sync from one status to a final one, and reports whether it was still
	// in the first.
	FinishRun(ctx context.Context, id string, from, to RunStatus, at time.Time, reason string) (bool, error)
}

// Sealer seals the bind password with the secret key (secret.Box).
type Sealer interface {
	Seal(plaintext []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// Notifier sends the emails about a sync: app writes each to the mail outbox, in the
// transaction that ends the sync, so that a message exists exactly when the outcome does.
type Notifier interface {
	// SyncEnded tells the administrator to that run of d failed, was held for a confirmation,
	// or (when d asks for summaries) completed.
	SyncEnded(ctx context.Context, to *user.User, d *Directory, run *Run) error
}

// Service manages directories. Every method checks the actor's directory.manage permission.
type Service struct {
	store  Store
	sealer Sealer
	users  *user.Service
	jobs   Jobs
	notify Notifier
	logger *slog.Logger
	now    func() time.Time
	limits Timeouts
}

// Options are the directory service's settings; zero values take the defaults.
type Options struct {
	Logger   *slog.Logger
	Timeouts Timeouts
	// Now is the clock; nil for the time now. Tests move it to make a schedule due.
	Now func() time.Time
}

// NewService makes the directory service.
func NewService(st Store, sealer Sealer, users *user.Service, jobs Jobs, notify Notifier, o Options) (*Service, error) {
	if st == nil || sealer == nil || users == nil || jobs == nil || notify == nil {
		return nil, errors.New("directory: NewService needs a store, a sealer, the user service, the jobs and a notifier")
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := o.Timeouts
	if t.Dial <= 0 {
		t.Dial = DefaultTimeouts.Dial
	}
	if t.Request <= 0 {
		t.Request = DefaultTimeouts.Request
	}
	if t.Test <= 0 {
		t.Test = DefaultTimeouts.Test
	}
	now := func() time.Time { return time.Now().UTC() }
	if o.Now != nil {
		now = func() time.Time { return o.Now().UTC() }
	}
	return &Service{store: st, sealer: sealer, users: users, jobs: jobs, notify: notify, logger: logger.With("component", "directory"),
		now: now, limits: t}, nil
}

// Input is a directory to create, or what to change of one (nil: unchanged). Config fields
// left out of a new directory come from the kind's preset.
type Input struct {
	Name     *string
	Kind     *Kind
	Host     *string
	Port     *int
	Security *Security
	CACert   *string
	BaseDN   *string
	BindDN   *string
	Password *string

	Scope             *Scope
	OUs               *[]string
	Mapping           *Mapping
	Filter            *string
	Exclusions        *[]Exclusion
	DisabledAttribute *string
	DisabledValue     *string
	Leavers           *Leavers
	Threshold         *int
	Groups            *GroupMapping
	Schedule          *Schedule
	EmailSummary      *bool
}

func (in *Input) apply(d *Directory) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&d.Name, in.Name)
	set(&d.Host, in.Host)
	set(&d.BaseDN, in.BaseDN)
	set(&d.BindDN, in.BindDN)
	set(&d.Filter, in.Filter)
	set(&d.DisabledAttribute, in.DisabledAttribute)
	set(&d.DisabledValue, in.DisabledValue)
	if in.CACert != nil {
		// As a browser sends a text area (CRLF) or a file has it (LF): the same certificate.
		d.CACert = strings.TrimSpace(strings.ReplaceAll(*in.CACert, "\r\n", "\n"))
	}
	if in.Password != nil {
		d.Password = *in.Password // as typed: spaces may be part of it
	}
	if in.Port != nil {
		d.Port = *in.Port
	}
	if in.Security != nil {
		d.Security = *in.Security
	}
	if in.Scope != nil {
		d.Scope = *in.Scope
	}
	if in.OUs != nil {
		d.OUs = trimAll(*in.OUs)
	}
	if in.Mapping != nil {
		m := *in.Mapping
		for _, p := range []*string{&m.Username, &m.Email, &m.FirstName, &m.LastName, &m.Phone, &m.Department, &m.Manager, &m.Primary} {
			*p = strings.TrimSpace(*p)
		}
		custom := make(map[string]string, len(m.Custom))
		for k, v := range m.Custom {
			custom[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		m.Custom = custom
		d.Mapping = m
	}
	if in.Exclusions != nil {
		xs := slices.Clone(*in.Exclusions)
		for i := range xs {
			xs[i].Attribute = strings.TrimSpace(xs[i].Attribute)
			xs[i].Values = trimAll(xs[i].Values)
		}
		d.Exclusions = xs
	}
	if in.Leavers != nil {
		d.Leavers = *in.Leavers
	}
	if in.Threshold != nil {
		d.Threshold = *in.Threshold
	}
	if in.Schedule != nil {
		sc := *in.Schedule
		sc.SetBy, sc.SavedBy = d.Schedule.SetBy, d.Schedule.SavedBy
		sc.normalize()
		d.Schedule = sc
	}
	if in.EmailSummary != nil {
		d.EmailSummary = *in.EmailSummary
	}
	if in.Groups != nil {
		g := *in.Groups
		g.BaseDN, g.Filter = strings.TrimSpace(g.BaseDN), strings.TrimSpace(g.Filter)
		g.Name, g.Primary = strings.TrimSpace(g.Name), strings.TrimSpace(g.Primary)
		g.DNs, g.Members = trimAll(g.DNs), trimAll(g.Members)
		g.DNs = slices.DeleteFunc(g.DNs, func(v string) bool { return v == "" })
		g.Members = slices.DeleteFunc(g.Members, func(v string) bool { return v == "" })
		g.By = d.Groups.By // recorded by the service, never given
		d.Groups = g
	}
}

func trimAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.TrimSpace(v)
	}
	return out
}

// Directories lists the directories, by name.
func (s *Service) Directories(ctx context.Context, a user.Actor) ([]Directory, error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return nil, err
	}
	ds, err := s.store.Directories(ctx)
	for i := range ds {
		ds[i].Password, ds[i].SealedPassword = "", ""
	}
	return ds, err
}

// Groups lists the groups a directory's syncs keep, by name, with their roles and member counts.
func (s *Service) Groups(ctx context.Context, a user.Actor, id string) ([]user.Group, error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return nil, err
	}
	if _, err := s.store.Directory(ctx, id); err != nil {
		return nil, err
	}
	return s.store.DirectoryGroups(ctx, id, false)
}

// Directory reads one directory, without its password.
func (s *Service) Directory(ctx context.Context, a user.Actor, id string) (*Directory, error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return nil, err
	}
	d, err := s.store.Directory(ctx, id)
	if err != nil {
		return nil, err
	}
	d.Password, d.SealedPassword = "", ""
	return d, nil
}

// Create saves a new directory once its settings pass the connection test.
func (s *Service) Create(ctx context.Context, a user.Actor, in Input) (*Directory, error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return nil, err
	}
	kind := OpenLDAP
	if in.Kind != nil {
		kind = *in.Kind
	}
	d := &Directory{ID: uuid.Must(uuid.NewV7()).String(), Kind: kind, Config: Preset(kind)}
	d.Security = LDAPS
	if in.Security != nil {
		d.Security = *in.Security
	}
	d.Port = DefaultPort(d.Security)
	in.apply(d)
	d.Mapping.fillFrom(Preset(kind).Mapping) // a field a new directory does not map takes the preset's attribute
	d.Groups.fillFrom(Preset(kind).Groups)
	if d.Groups.Filter == "" && len(d.Groups.DNs) == 0 {
		d.Groups.Filter = Preset(kind).Groups.Filter // a new mapping that chooses no groups: the preset's
	}
	if d.Groups.Enabled {
		d.Groups.By = configurer(a)
	}
	if err := s.validate(ctx, d, nil); err != nil {
		return nil, err
	}
	s.reschedule(a, d, nil, true)
	if d.Password == "" {
		return nil, errs.Fields([]errs.FieldError{{Field: "bind_password", Code: "directory.password_required",
			Message: "Give the password of the bind DN."}})
	}
	if err := s.mustConnect(ctx, d.Connection); err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal([]byte(d.Password))
	if err != nil {
		return nil, fmt.Errorf("directory: seal the password: %w", err)
	}
	now := s.now()
	d.SealedPassword, d.Version, d.CreatedAt, d.UpdatedAt = sealed, 1, now, now
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.InsertDirectory(ctx, d); err != nil {
			return err
		}
		return s.audit(ctx, a, "directory.create", d, map[string]any{"host": d.Host, "port": d.Port,
			"security": string(d.Security), "base_dn": d.BaseDN, "bind_dn": d.BindDN})
	})
	if err != nil {
		return nil, err
	}
	return s.Directory(ctx, a, d.ID)
}

// Update changes a directory at version. A change of host, port, security, CA certificate or
// bind DN needs the bind password again (it would otherwise be sent to a server, or bound as
// someone, the person who typed it never chose); a changed connection is tested before it is
// saved.
func (s *Service) Update(ctx context.Context, a user.Actor, id string, version int64, in Input) (*Directory, error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return nil, err
	}
	if in.Kind != nil {
		return nil, errs.Fields([]errs.FieldError{{Field: "kind", Code: "directory.kind_fixed",
			Message: "The kind of a directory cannot change: add a new directory instead."}})
	}
	// Everything that may reach the network is done before the transaction: on SQLite a
	// transaction holds the one writer, which a connection test would keep for seconds.
	d, err := s.store.Directory(ctx, id)
	if err != nil {
		return nil, err
	}
	if d.Version != version {
		return nil, errStale()
	}
	d.Groups.fillFrom(Preset(d.Kind).Groups) // as a sync reads a mapping saved before its attributes could be chosen
	before := *d
	if in.Security != nil && in.Port == nil && d.Port == DefaultPort(d.Security) {
		in.Port = ptrTo(DefaultPort(*in.Security)) // LDAPS on 636 becomes StartTLS on 389
	}
	in.apply(d)
	d.Groups.fillFrom(Preset(d.Kind).Groups)
	if d.Groups.Enabled && (d.Groups.By == nil && in.Groups != nil || groupsReach(&before) != groupsReach(d)) {
		// Whoever changes the groups, or the users they may take members from, answers for
		// whom they let in: the sync narrows by them. A save that leaves both as they were
		// (the console sends the groups with every change) keeps who answered before.
		d.Groups.By = configurer(a)
	}
	if err := s.validate(ctx, d, &before); err != nil {
		return nil, err
	}
	if !strings.EqualFold(d.Groups.Primary, before.Groups.Primary) && before.Groups.Primary != "" {
		n, err := s.store.CountDirectoryGroups(ctx, id)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, errs.Fields([]errs.FieldError{{Field: "groups.primary", Code: "directory.primary_fixed",
				Message: fmt.Sprintf("The groups' primary attribute names this directory's %d groups across syncs, so it cannot change while they exist.", n)}})
		}
	}
	s.reschedule(a, d, &before, in.Schedule != nil)
	if !strings.EqualFold(d.Mapping.Primary, before.Mapping.Primary) {
		// The users it names would all look gone, and new ones like them made.
		n, err := s.store.CountDirectoryUsers(ctx, id)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			return nil, errs.Fields([]errs.FieldError{{Field: "mapping.primary", Code: "directory.primary_fixed",
				Message: fmt.Sprintf("The primary attribute names this directory's %d users across syncs, so it cannot change while they exist.", n)}})
		}
	}
	// The saved password goes only where, and as whom, the person who typed it chose: a new
	// server, a new trust anchor for its certificate, or a new bind DN needs it typed again.
	if in.Password == nil && (d.Host != before.Host || d.Port != before.Port || d.Security != before.Security ||
		d.CACert != before.CACert || d.BindDN != before.BindDN) {
		return nil, errs.Fields([]errs.FieldError{{Field: "bind_password", Code: "directory.password_again",
			Message: "Give the bind password again: the server, its certificate's CA or the bind DN changed, and the saved password is not sent anywhere else."}})
	}
	if in.Password == nil {
		pw, err := s.sealer.Open(d.SealedPassword)
		if err != nil {
			return nil, fmt.Errorf("directory: open the password: %w", err)
		}
		d.Password = string(pw)
	} else if d.Password == "" {
		return nil, errs.Fields([]errs.FieldError{{Field: "bind_password", Code: "directory.password_required",
			Message: "Give the password of the bind DN."}})
	}
	details := changes(&before, d, in.Password != nil)
	if len(details) == 0 {
		return s.Directory(ctx, a, id)
	}
	if connChanged(&before, d, in.Password != nil) {
		if err := s.mustConnect(ctx, d.Connection); err != nil {
			return nil, err
		}
	}
	if in.Password != nil {
		if d.SealedPassword, err = s.sealer.Seal([]byte(d.Password)); err != nil {
			return nil, fmt.Errorf("directory: seal the password: %w", err)
		}
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.LockDirectory(ctx, id)
		if err != nil {
			return err
		}
		if cur.Version != version {
			return errStale() // changed while its connection was tested
		}
		if sameSchedule(cur.Schedule, d.Schedule) {
			d.NextSyncAt = cur.NextSyncAt // as the scheduler may have moved it on since d was read
		}
		d.UpdatedAt = s.now()
		if err := s.store.UpdateDirectory(ctx, d); err != nil {
			return err
		}
		return s.audit(ctx, a, "directory.update", d, details)
	})
	if err != nil {
		return nil, err
	}
	return s.Directory(ctx, a, id)
}

func ptrTo[T any](v T) *T { return &v }

// configurer records a as who configured a group mapping.
// groupsReach is what decides the groups a sync of d makes and who may be their members: the
// group settings and the users' scope, OUs, filter and exclusion rules, in one comparable form.
func groupsReach(d *Directory) string {
	return fmt.Sprint(d.Groups.settings(), d.Scope, d.OUs, d.Filter, d.Exclusions)
}

func configurer(a user.Actor) *Configurer {
	return &Configurer{ID: a.ID, Name: a.Name, Permissions: a.Permissions}
}

// errStale is an update or a delete at a version that is no longer the directory's.
func errStale() error {
	return errs.E(errs.PreconditionFailed, "version.stale",
		"This directory was changed by someone else since you read it. Reload and try again.")
}

// Delete forgets a directory at version; Reset is the same, under the name seed 000 gives it.
func (s *Service) Delete(ctx context.Context, a user.Actor, id string, version int64) error {
	_, err := s.forget(ctx, a, id, version, "directory.delete")
	return err
}

// Reset forgets a directory's configuration (its connection, bind password, mapping, rules,
// schedule and sync history) and keeps its users, as local users: what the directory owned of
// them can be edited again, they can be sent a password reset to choose a password of usher's
// (their directory password no longer signs them in), and no sync changes them any more. Users
// the directory had disabled stay disabled until an administrator enables them. It returns how
// many users were kept. A sync queued or running must end first.
func (s *Service) Reset(ctx context.Context, a user.Actor, id string, version int64) (kept int64, err error) {
	return s.forget(ctx, a, id, version, "directory.reset")
}

func (s *Service) forget(ctx context.Context, a user.Actor, id string, version int64, action string) (kept int64, err error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return 0, err
	}
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		d, err := s.store.LockDirectory(ctx, id)
		if err != nil {
			return err
		}
		if d.Version != version {
			return errStale()
		}
		if err := s.failStale(ctx, id); err != nil {
			return err
		}
		if r, err := s.store.ActiveRun(ctx, id); err != nil {
			return err
		} else if r != nil {
			return errs.E(errs.Conflict, "directory.sync_running", fmt.Sprintf(
				"A sync of this directory is %s (started %s by %s): wait for it to end, then try again.",
				r.Status, r.CreatedAt.Format("2006-01-02 15:04 UTC"), r.ActorName))
		}
		if kept, err = s.store.CountDirectoryUsers(ctx, id); err != nil {
			return err
		}
		if err := s.store.DeleteDirectory(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, a, action, d, map[string]any{"users_kept": kept, "host": d.Host, "base_dn": d.BaseDN})
	})
	return kept, err
}

// Status is where a directory's syncs stand.
type Status struct {
	Directory *Directory
	// LastSync is the latest sync that ended (completed, failed or held), nil before the first.
	LastSync *Run
	// Active is the sync queued or running now, if any.
	Active *Run
	// LastFailure is the latest failed sync among the recent ones, if any.
	LastFailure *Run
	// Users counts the directory's users in usher by status.
	Users map[user.Status]int64
}

// recentRuns is how far back Status looks for the last sync and the last failure.
const recentRuns = 50

// Status reads where a directory's syncs stand: the last one, the one running, the next
// scheduled one (Directory.NextSyncAt), its users by status and what it reads (Scope, OUs).
func (s *Service) Status(ctx context.Context, a user.Actor, id string) (*Status, error) {
	d, err := s.Directory(ctx, a, id)
	if err != nil {
		return nil, err
	}
	st := &Status{Directory: d}
	if st.Users, err = s.store.CountDirectoryUsersByStatus(ctx, id); err != nil {
		return nil, err
	}
	runs, err := s.store.Runs(ctx, id, recentRuns)
	if err != nil {
		return nil, err
	}
	for i := range runs {
		r := &runs[i]
		switch {
		case r.Status == RunQueued || r.Status == RunRunning:
			if st.Active == nil {
				st.Active = r
			}
		case r.Status == RunSkipped:
		case st.LastSync == nil:
			st.LastSync = r
		}
		if r.Status == RunFailed && st.LastFailure == nil {
			st.LastFailure = r
		}
	}
	return st, nil
}

// Step is one step of a connection test.
type Step struct {
	Name    string // connect, tls, starttls, bind, base
	OK      bool
	Message string
	Code    string // for a step that failed
	Field   string // the setting a failure is most likely in
}

// TestResult is what a connection test found: the steps that worked, then the one that failed.
type TestResult struct {
	OK    bool
	Steps []Step
}

// Test tries connection settings that are not saved: connect, protect, bind, read the base DN.
func (s *Service) Test(ctx context.Context, a user.Actor, in Input) (*TestResult, error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return nil, err
	}
	d := &Directory{Kind: OpenLDAP, Connection: Connection{Security: LDAPS}}
	if in.Security != nil {
		d.Security = *in.Security
	}
	d.Port = DefaultPort(d.Security)
	in.apply(d)
	if err := errs.Fields(d.Connection.validate()); err != nil {
		return nil, err
	}
	return s.test(ctx, d.Connection), nil
}

// TestSaved tries a saved directory's connection, with its saved password.
func (s *Service) TestSaved(ctx context.Context, a user.Actor, id string) (*TestResult, error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return nil, err
	}
	c, err := s.connection(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.test(ctx, c), nil
}

// connection is a saved directory's connection with its password opened.
func (s *Service) connection(ctx context.Context, id string) (Connection, error) {
	d, err := s.store.Directory(ctx, id)
	if err != nil {
		return Connection{}, err
	}
	pw, err := s.sealer.Open(d.SealedPassword)
	if err != nil {
		return Connection{}, fmt.Errorf("directory: open the password: %w", err)
	}
	d.Password = string(pw)
	return d.Connection, nil
}

func (s *Service) test(ctx context.Context, c Connection) *TestResult {
	ctx, cancel := context.WithTimeout(ctx, s.limits.Test)
	defer cancel()
	r := &TestResult{}
	fail := func(err error) *TestResult {
		var p *Problem
		if !errors.As(err, &p) {
			p = requestProblem("connect", err, s.limits)
		}
		if ctx.Err() != nil && p.Code != "directory.timeout" {
			// The test's own limit ran out while a step waited: the connection was closed under it.
			p = &Problem{Step: p.Step, Code: "directory.timeout", Field: "host", Err: err,
				Message: fmt.Sprintf("The directory did not answer within %s.", s.limits.Test)}
		}
		s.logger.Info("directory test failed", "address", c.Address(), "step", p.Step, "code", p.Code, "err", p.Err)
		r.Steps = append(r.Steps, Step{Name: p.Step, Message: p.Message, Code: p.Code, Field: p.Field})
		return r
	}
	cn, err := dial(ctx, c, s.limits)
	if err != nil {
		return fail(err)
	}
	defer cn.Close()
	how := map[Security]string{LDAPS: "over LDAPS", StartTLS: "and switched to TLS (StartTLS)",
		Plain: "without encryption: the bind password crosses the network readable"}[c.Security]
	r.Steps = append(r.Steps, Step{Name: "connect", OK: true, Message: "Connected to " + c.Address() + " " + how + "."})
	if err := cn.bind(c.BindDN, c.Password); err != nil {
		return fail(err)
	}
	r.Steps = append(r.Steps, Step{Name: "bind", OK: true, Message: "Signed in as " + c.BindDN + "."})
	if err := cn.checkBase(c.BaseDN); err != nil {
		return fail(err)
	}
	r.Steps = append(r.Steps, Step{Name: "base", OK: true, Message: "Found the base DN " + c.BaseDN + "."})
	r.OK = true
	return r
}

// mustConnect refuses settings that fail the connection test, with the failing step's words
// on the setting it is about.
func (s *Service) mustConnect(ctx context.Context, c Connection) error {
	r := s.test(ctx, c)
	if r.OK {
		return nil
	}
	last := r.Steps[len(r.Steps)-1]
	field := last.Field
	if field == "" {
		field = "host"
	}
	return &errs.Error{Kind: errs.Invalid, Code: "directory.test_failed",
		Message: "The directory cannot be saved until its connection works: " + last.Message,
		Fields:  []errs.FieldError{{Field: field, Code: last.Code, Message: last.Message}}}
}

// OU is an organisation unit (or, on Active Directory, a container) under a directory's base.
type OU struct {
	DN     string
	Name   string
	Parent string // the DN of the OU above it, or the base DN
	Depth  int    // 1 for an OU right under the base DN
}

// maxBrowse is how many OUs a browse shows at most.
const maxBrowse = 5000

// OUs lists the organisation units of a saved directory, as a tree in depth-first order.
// truncated is set when there were more than a browse shows.
func (s *Service) OUs(ctx context.Context, a user.Actor, id string) (ous []OU, truncated bool, err error) {
	if err := a.Require(user.DirectoryManage); err != nil {
		return nil, false, err
	}
	d, err := s.store.Directory(ctx, id)
	if err != nil {
		return nil, false, err
	}
	c, err := s.connection(ctx, id)
	if err != nil {
		return nil, false, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*s.limits.Request)
	defer cancel()
	cn, err := dial(ctx, c, s.limits)
	if err != nil {
		return nil, false, problemError(err)
	}
	defer cn.Close()
	if err := cn.bind(c.BindDN, c.Password); err != nil {
		return nil, false, problemError(err)
	}
	filter := "(objectClass=organizationalUnit)"
	if d.Kind == ActiveDirectory {
		filter = "(|(objectClass=organizationalUnit)(objectClass=container))"
	}
	base, err := ldap.ParseDN(c.BaseDN)
	if err != nil {
		return nil, false, err
	}
	type node struct {
		OU
		path []string // the RDNs from the base down, for the order
	}
	var nodes []node
	truncated, err = cn.each(ctx, c.BaseDN, ldap.ScopeWholeSubtree, filter, []string{"ou", "name"}, maxBrowse, func(e *ldap.Entry) error {
		dn, err := ldap.ParseDN(e.DN)
		if err != nil || len(dn.RDNs) <= len(base.RDNs) || !base.AncestorOfFold(dn) {
			return nil // the base itself, or what cannot be read or is not under it
		}
		rel := dn.RDNs[:len(dn.RDNs)-len(base.RDNs)]
		path := make([]string, len(rel))
		for i, r := range rel {
			path[len(rel)-1-i] = strings.ToLower(r.String())
		}
		parent := (&ldap.DN{RDNs: dn.RDNs[1:]}).String()
		name := e.GetAttributeValue("ou")
		if name == "" {
			name = e.GetAttributeValue("name")
		}
		if name == "" && len(dn.RDNs[0].Attributes) > 0 {
			name = dn.RDNs[0].Attributes[0].Value
		}
		nodes = append(nodes, node{OU: OU{DN: e.DN, Name: name, Parent: parent, Depth: len(rel)}, path: path})
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			err = &Problem{Step: "search", Code: "directory.timeout", Field: "host", Err: err,
				Message: fmt.Sprintf("The directory did not list its organisation units within %s.", 2*s.limits.Request)}
		}
		s.logger.Warn("directory OU browse failed", "directory_id", id, "err", err)
		return nil, false, problemError(err)
	}
	slices.SortFunc(nodes, func(x, y node) int { return slices.Compare(x.path, y.path) })
	ous = make([]OU, len(nodes))
	for i, n := range nodes {
		ous[i] = n.OU
	}
	return ous, truncated, nil
}

// problemError is a connection problem as the API answers it: the directory could not be
// reached or refused usher (502), in the problem's words.
func problemError(err error) error {
	var p *Problem
	if errors.As(err, &p) {
		return &errs.Error{Kind: errs.Upstream, Code: p.Code, Message: p.Message, Err: p.Err}
	}
	return err
}

// validate checks a directory as it would be saved, custom fields included; before is the
// directory as it was (nil for a new one): a schedule's start must be in the future only when
// it is set or changed.
func (s *Service) validate(ctx context.Context, d, before *Directory) error {
	fields, err := s.store.Fields(ctx)
	if err != nil {
		return err
	}
	known := make(map[string]bool, len(fields))
	for _, f := range fields {
		known[strings.ToLower(f.Name)] = true
	}
	bad := d.validate(known)
	fresh := before == nil || before.Schedule.StartDate != d.Schedule.StartDate ||
		before.Schedule.StartTime != d.Schedule.StartTime || before.Schedule.TimeZone != d.Schedule.TimeZone
	bad = append(bad, d.Schedule.validate(s.now(), fresh)...)
	return errs.Fields(bad)
}

// reschedule records a as who saved d's schedule when saved (the schedule was submitted, even
// unchanged: saving it again is how an administrator makes the scheduled syncs theirs), and
// sets when d syncs next after a change of its schedule: the schedule's next run after now,
// or none when auto-sync is off. A scheduled sync acts with the permissions a saved it with,
// cut to what a holds when it runs.
func (s *Service) reschedule(a user.Actor, d, before *Directory, saved bool) {
	if saved {
		d.Schedule.SetBy, d.Schedule.SavedBy = a.ID, configurer(a)
	}
	if before != nil && sameSchedule(before.Schedule, d.Schedule) {
		return
	}
	d.NextSyncAt = nil
	if next := d.Schedule.Next(s.now()); !next.IsZero() {
		d.NextSyncAt = &next
	}
}

func sameSchedule(x, y Schedule) bool {
	x.SetBy, y.SetBy, x.SavedBy, y.SavedBy = "", "", nil, nil
	return x == y
}

// sameSaver reports whether x and y were saved by the same person with the same permissions.
func sameSaver(x, y Schedule) bool {
	if x.SavedBy == nil || y.SavedBy == nil {
		return x.SavedBy == y.SavedBy && x.SetBy == y.SetBy
	}
	return x.SavedBy.ID == y.SavedBy.ID && slices.Equal(x.SavedBy.Permissions, y.SavedBy.Permissions)
}

// connChanged reports whether what the connection test checks changed.
func connChanged(a, b *Directory, password bool) bool {
	return password || a.Host != b.Host || a.Port != b.Port || a.Security != b.Security || a.CACert != b.CACert ||
		a.BaseDN != b.BaseDN || a.BindDN != b.BindDN
}

// changes is the audit's account of an update: each setting that changed, from and to; the
// password and the CA certificate only as "changed".
func changes(a, b *Directory, password bool) map[string]any {
	out := map[string]any{}
	diff := func(name string, x, y any) {
		if fmt.Sprint(x) != fmt.Sprint(y) {
			out[name] = map[string]any{"from": x, "to": y}
		}
	}
	diff("name", a.Name, b.Name)
	diff("host", a.Host, b.Host)
	diff("port", a.Port, b.Port)
	diff("security", a.Security, b.Security)
	diff("base_dn", a.BaseDN, b.BaseDN)
	diff("bind_dn", a.BindDN, b.BindDN)
	if a.CACert != b.CACert {
		out["ca_cert"] = "changed"
	}
	if password {
		out["bind_password"] = "changed"
	}
	diff("scope", a.Scope, b.Scope)
	diff("ous", a.OUs, b.OUs)
	diff("mapping", a.Mapping, b.Mapping)
	diff("filter", a.Filter, b.Filter)
	diff("exclusions", a.Exclusions, b.Exclusions)
	diff("disabled_attribute", a.DisabledAttribute, b.DisabledAttribute)
	diff("disabled_value", a.DisabledValue, b.DisabledValue)
	diff("leavers", a.Leavers, b.Leavers)
	diff("threshold", a.Threshold, b.Threshold)
	diff("groups", a.Groups.settings(), b.Groups.settings())
	if b.Groups.By != nil && (a.Groups.By == nil || a.Groups.By.ID != b.Groups.By.ID) {
		out["groups_configured_by"] = b.Groups.By.Name
	}
	if !sameSchedule(a.Schedule, b.Schedule) {
		x, y := a.Schedule, b.Schedule
		x.SetBy, y.SetBy, x.SavedBy, y.SavedBy = "", "", nil, nil
		out["schedule"] = map[string]any{"from": x, "to": y}
	}
	if !sameSaver(a.Schedule, b.Schedule) && b.Schedule.SavedBy != nil {
		out["schedule_saved_by"] = b.Schedule.SavedBy.Name
	}
	diff("email_summary", a.EmailSummary, b.EmailSummary)
	return out
}

func (s *Service) audit(ctx context.Context, a user.Actor, action string, d *Directory, details map[string]any) error {
	return s.store.AppendAudit(ctx, audit.Event{Time: s.now(), ActorID: a.ID, ActorName: a.Name, Action: action,
		TargetType: "directory", TargetID: d.ID, TargetName: d.Name, Outcome: audit.Success, Details: details,
		RequestID: a.RequestID, ClientIP: a.ClientIP})
}

// Authenticate checks a directory user's password with their directory: usher finds their entry
// (by the mapped username, escaped in the filter, and the primary attribute that names them) as
// its bind DN, then binds as that entry with the password, over the directory's TLS settings.
// ok false is a wrong password (or an entry no longer in scope); an error is a directory that
// could not answer. Sign-in (auth) calls it after counting the attempt.
func (s *Service) Authenticate(ctx context.Context, u *user.User, password string) (ok bool, err error) {
	if password == "" || u.DirectoryID == "" {
		return false, nil // an empty password is an unauthenticated bind, which servers accept as anyone
	}
	d, err := s.store.Directory(ctx, u.DirectoryID)
	if errs.Is(errs.NotFound, err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	pw, err := s.sealer.Open(d.SealedPassword)
	if err != nil {
		return false, fmt.Errorf("directory: open the password: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.limits.Test)
	defer cancel()
	cn, err := dial(ctx, d.Connection, s.limits)
	if err != nil {
		return false, err
	}
	defer cn.Close()
	if err := cn.bind(d.BindDN, string(pw)); err != nil {
		return false, err
	}
	filter := "(&" + d.Filter + "(" + d.Mapping.Username + "=" + ldap.EscapeFilter(u.Username) + "))"
	var dn string
	for _, base := range d.bases() {
		_, err := cn.each(ctx, base, ldap.ScopeWholeSubtree, filter, []string{d.Mapping.Primary}, 10, func(e *ldap.Entry) error {
			if dn == "" && primaryValue(e, d.Mapping.Primary) == u.ExternalID {
				dn = e.DN
			}
			return nil
		})
		if err != nil {
			return false, err
		}
	}
	if dn == "" {
		return false, nil
	}
	err = cn.l.Bind(dn, password)
	switch {
	case err == nil:
		return true, nil
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials):
		return false, nil
	}
	return false, requestProblem("bind", err, s.limits)
}
