package api

import (
	"context"
	"time"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/user"
)

type mappingBody struct {
	Username   string            `json:"username" doc:"The attribute of the username (sAMAccountName or userPrincipalName on Active Directory, uid on OpenLDAP)."`
	Email      string            `json:"email"`
	FirstName  string            `json:"first_name"`
	LastName   string            `json:"last_name"`
	Phone      string            `json:"phone"`
	Department string            `json:"department"`
	Manager    string            `json:"manager" doc:"A DN-valued attribute naming the manager's entry."`
	Custom     map[string]string `json:"custom" doc:"Custom field name → the attribute it is read from."`
	Primary    string            `json:"primary" doc:"The attribute that names a user across syncs, so that a renamed or moved entry stays the same user (objectGUID on Active Directory, entryUUID on OpenLDAP)."`
}

type exclusionBody struct {
	Attribute string   `json:"attribute"`
	Match     string   `json:"match" enum:"exact,partial,all" doc:"exact: a value equals one of these; partial: a value contains one; all: the attribute has every one."`
	Values    []string `json:"values" nullable:"false"`
	Enabled   bool     `json:"enabled"`
}

type groupMappingBody struct {
	Enabled          bool     `json:"enabled" doc:"Whether a sync makes the directory's groups usher groups, with their members. Off by default."`
	DNs              []string `json:"dns,omitempty" maxItems:"1000" nullable:"false" doc:"Groups chosen one by one, by DN (under the base DN)."`
	BaseDN           string   `json:"base_dn,omitempty" doc:"Where the filter looks for groups; empty: the directory's base DN."`
	Filter           string   `json:"filter,omitempty" doc:"Which entries are groups, an LDAP filter; empty: only the groups named in dns."`
	MemberAttributes []string `json:"member_attributes,omitempty" maxItems:"10" nullable:"false" doc:"The attributes that list a group's members by DN (member; also uniqueMember on OpenLDAP). Members that are not users of the directory in usher, nested groups among them, are passed over."`
	NameAttribute    string   `json:"name_attribute,omitempty" doc:"The attribute that names the group in usher (cn)."`
	Primary          string   `json:"primary,omitempty" doc:"The attribute that identifies a group across syncs, its external id (objectGUID on Active Directory, entryUUID on OpenLDAP)."`
}

type groupMappingOut struct {
	Enabled          bool     `json:"enabled"`
	DNs              []string `json:"dns"`
	BaseDN           string   `json:"base_dn"`
	Filter           string   `json:"filter"`
	MemberAttributes []string `json:"member_attributes"`
	NameAttribute    string   `json:"name_attribute"`
	Primary          string   `json:"primary"`
	ConfiguredBy     string   `json:"configured_by" doc:"Who last chose the groups: a sync changes a group's members only within the permissions they hold."`
}

func toGroupMapping(g directory.GroupMapping) groupMappingOut {
	out := groupMappingOut{Enabled: g.Enabled, DNs: g.DNs, BaseDN: g.BaseDN, Filter: g.Filter, MemberAttributes: g.Members,
		NameAttribute: g.Name, Primary: g.Primary}
	if out.DNs == nil {
		out.DNs = []string{}
	}
	if out.MemberAttributes == nil {
		out.MemberAttributes = []string{}
	}
	if g.By != nil {
		out.ConfiguredBy = g.By.Name
	}
	return out
}

type scheduleBody struct {
	Enabled    bool   `json:"enabled" doc:"Auto-sync: whether the directory syncs on this schedule."`
	Frequency  string `json:"frequency,omitempty" enum:"daily,weekly,monthly,every_n_days,every_n_weeks"`
	Weekday    string `json:"weekday,omitempty" doc:"The day of a weekly sync: monday, tuesday, wednesday, thursday, friday, saturday or sunday."`
	DayOfMonth int    `json:"day_of_month,omitempty" doc:"The day of a monthly sync, 1–31; in a shorter month it runs on the month's last day."`
	Every      int    `json:"every,omitempty" doc:"N of every N days or weeks (every N weeks runs on the start date's weekday)."`
	StartDate  string `json:"start_date,omitempty" doc:"The first day it may run, YYYY-MM-DD in time_zone; with start_time it must be in the future when set or changed."`
	StartTime  string `json:"start_time,omitempty" doc:"The time of day it runs, HH:MM in time_zone; 12:00 when left out."`
	TimeZone   string `json:"time_zone,omitempty" doc:"An IANA time zone such as Europe/Paris; UTC when left out. Runs keep their wall-clock time across daylight saving changes."`
}

func toSchedule(sc directory.Schedule) scheduleBody {
	return scheduleBody{Enabled: sc.Enabled, Frequency: string(sc.Frequency), Weekday: sc.Weekday, DayOfMonth: sc.DayOfMonth,
		Every: sc.Every, StartDate: sc.StartDate, StartTime: sc.StartTime, TimeZone: sc.TimeZone}
}

type directoryBody struct {
	ID                string          `json:"id"`
	Name              string          `json:"name"`
	Kind              string          `json:"kind" enum:"active_directory,ldap"`
	Host              string          `json:"host"`
	Port              int             `json:"port"`
	Security          string          `json:"security" enum:"ldaps,starttls,none"`
	CACert            string          `json:"ca_cert" doc:"PEM certificates of the CA trusted for this directory, in place of the system's roots; empty: the system's."`
	BaseDN            string          `json:"base_dn"`
	BindDN            string          `json:"bind_dn"`
	Scope             string          `json:"scope" enum:"all,none,selected" doc:"Which organisation units users are read from."`
	OUs               []string        `json:"ous" doc:"With scope selected: the OUs (subtrees) read."`
	Mapping           mappingBody     `json:"mapping"`
	Filter            string          `json:"filter" doc:"The inclusion rule: an LDAP filter entries must match."`
	Exclusions        []exclusionBody `json:"exclusions"`
	DisabledAttribute string          `json:"disabled_attribute" doc:"OpenLDAP: the attribute that marks a disabled account."`
	DisabledValue     string          `json:"disabled_value" doc:"OpenLDAP: the value it must have; empty: any value."`
	Leavers           string          `json:"leavers" enum:"disable,delete" doc:"What a sync does to users who left the directory's scope."`
	Threshold         int             `json:"threshold" doc:"The share of the directory's users, in percent, a sync may disable or delete before it stops and asks for confirmation."`
	Groups            groupMappingOut `json:"groups"`
	Schedule          scheduleBody    `json:"schedule"`
	EmailSummary      bool            `json:"email_summary" doc:"Email the administrators a summary after each sync that completes (failed syncs and syncs that need a confirmation are always emailed)."`
	NextSyncAt        *time.Time      `json:"next_sync_at,omitempty" doc:"When the schedule syncs the directory next; absent when auto-sync is off."`
	CreatedAt         time.Time       `json:"created_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
	Version           int64           `json:"version"`
}

func toDirectory(d *directory.Directory) directoryBody {
	b := directoryBody{ID: d.ID, Name: d.Name, Kind: string(d.Kind), Host: d.Host, Port: d.Port, Security: string(d.Security),
		CACert: d.CACert, BaseDN: d.BaseDN, BindDN: d.BindDN, Scope: string(d.Scope), OUs: d.OUs,
		Filter: d.Filter, DisabledAttribute: d.DisabledAttribute, DisabledValue: d.DisabledValue, Leavers: string(d.Leavers),
		Threshold: d.Threshold, Groups: toGroupMapping(d.Groups), Schedule: toSchedule(d.Schedule), EmailSummary: d.EmailSummary,
		NextSyncAt: d.NextSyncAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, Version: d.Version}
	m := d.Mapping
	b.Mapping = mappingBody{Username: m.Username, Email: m.Email, FirstName: m.FirstName, LastName: m.LastName, Phone: m.Phone,
		Department: m.Department, Manager: m.Manager, Custom: m.Custom, Primary: m.Primary}
	if b.Mapping.Custom == nil {
		b.Mapping.Custom = map[string]string{}
	}
	if b.OUs == nil {
		b.OUs = []string{}
	}
	b.Exclusions = make([]exclusionBody, len(d.Exclusions))
	for i, x := range d.Exclusions {
		b.Exclusions[i] = exclusionBody{Attribute: x.Attribute, Match: string(x.Match), Values: x.Values, Enabled: x.Enabled}
	}
	return b
}

type directoryOutput struct {
	ETag string `header:"ETag"`
	Body directoryBody
}

func directoryOut(d *directory.Directory) *directoryOutput {
	return &directoryOutput{ETag: etag(d.Version), Body: toDirectory(d)}
}

// directoryFields is a directory to create or what to change of one; what is left out stays
// (or, for a new directory, comes from its kind's preset).
type directoryFields struct {
	Name     *string `json:"name,omitempty" maxLength:"100"`
	Kind     *string `json:"kind,omitempty" enum:"active_directory,ldap" doc:"Fixed once created; default ldap."`
	Host     *string `json:"host,omitempty" maxLength:"253"`
	Port     *int    `json:"port,omitempty" minimum:"1" maximum:"65535" doc:"Default 636 for ldaps, 389 otherwise."`
	Security *string `json:"security,omitempty" enum:"ldaps,starttls,none" doc:"Default ldaps."`
	CACert   *string `json:"ca_cert,omitempty" maxLength:"65536"`
	BaseDN   *string `json:"base_dn,omitempty" maxLength:"2000"`
	BindDN   *string `json:"bind_dn,omitempty" maxLength:"2000"`
	Password *string `json:"bind_password,omitempty" maxLength:"1024" writeOnly:"true" doc:"Never returned. Required on create, and again when host, port or security change."`

	Scope             *string           `json:"scope,omitempty" enum:"all,none,selected"`
	OUs               *[]string         `json:"ous,omitempty" maxItems:"1000"`
	Mapping           *mappingBody      `json:"mapping,omitempty"`
	Filter            *string           `json:"filter,omitempty" maxLength:"2000"`
	Exclusions        *[]exclusionBody  `json:"exclusions,omitempty" maxItems:"100"`
	DisabledAttribute *string           `json:"disabled_attribute,omitempty"`
	DisabledValue     *string           `json:"disabled_value,omitempty"`
	Leavers           *string           `json:"leavers,omitempty" enum:"disable,delete"`
	Threshold         *int              `json:"threshold,omitempty" minimum:"1" maximum:"100"`
	Groups            *groupMappingBody `json:"groups,omitempty"`
	Schedule          *scheduleBody     `json:"schedule,omitempty" doc:"The whole schedule: what it leaves out is cleared (start_time and time_zone take their defaults)."`
	EmailSummary      *bool             `json:"email_summary,omitempty"`
}

func (b directoryFields) input() directory.Input {
	in := directory.Input{Name: b.Name, Host: b.Host, Port: b.Port, CACert: b.CACert, BaseDN: b.BaseDN, BindDN: b.BindDN,
		Password: b.Password, OUs: b.OUs, Filter: b.Filter, DisabledAttribute: b.DisabledAttribute, DisabledValue: b.DisabledValue,
		Threshold: b.Threshold}
	if b.Kind != nil {
		k := directory.Kind(*b.Kind)
		in.Kind = &k
	}
	if b.Security != nil {
		s := directory.Security(*b.Security)
		in.Security = &s
	}
	if b.Scope != nil {
		s := directory.Scope(*b.Scope)
		in.Scope = &s
	}
	if b.Leavers != nil {
		l := directory.Leavers(*b.Leavers)
		in.Leavers = &l
	}
	if m := b.Mapping; m != nil {
		in.Mapping = &directory.Mapping{Username: m.Username, Email: m.Email, FirstName: m.FirstName, LastName: m.LastName,
			Phone: m.Phone, Department: m.Department, Manager: m.Manager, Custom: m.Custom, Primary: m.Primary}
	}
	if b.Exclusions != nil {
		xs := make([]directory.Exclusion, len(*b.Exclusions))
		for i, x := range *b.Exclusions {
			xs[i] = directory.Exclusion{Attribute: x.Attribute, Match: directory.Match(x.Match), Values: x.Values, Enabled: x.Enabled}
		}
		in.Exclusions = &xs
	}
	if b.Groups != nil {
		g := *b.Groups
		in.Groups = &directory.GroupMapping{Enabled: g.Enabled, DNs: g.DNs, BaseDN: g.BaseDN, Filter: g.Filter,
			Members: g.MemberAttributes, Name: g.NameAttribute, Primary: g.Primary}
	}
	if sc := b.Schedule; sc != nil {
		in.Schedule = &directory.Schedule{Enabled: sc.Enabled, Frequency: directory.Frequency(sc.Frequency), Weekday: sc.Weekday,
			DayOfMonth: sc.DayOfMonth, Every: sc.Every, StartDate: sc.StartDate, StartTime: sc.StartTime, TimeZone: sc.TimeZone}
	}
	in.EmailSummary = b.EmailSummary
	return in
}

type directoryList struct {
	Body struct {
		Directories []directoryBody `json:"directories"`
	}
}

func (s *Server) listDirectories(ctx context.Context, _ *struct{}) (*directoryList, error) {
	ds, err := s.deps.Directories.Directories(ctx, actorFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &directoryList{}
	out.Body.Directories = make([]directoryBody, len(ds))
	for i := range ds {
		out.Body.Directories[i] = toDirectory(&ds[i])
	}
	return out, nil
}

type directoryIDPath struct {
	ID string `path:"id" doc:"The directory's id."`
}

func (s *Server) getDirectory(ctx context.Context, in *directoryIDPath) (*directoryOutput, error) {
	d, err := s.deps.Directories.Directory(ctx, actorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return directoryOut(d), nil
}

type createDirectoryInput struct {
	Body directoryFields
}

func (s *Server) createDirectory(ctx context.Context, in *createDirectoryInput) (*directoryOutput, error) {
	d, err := s.deps.Directories.Create(ctx, actorFrom(ctx), in.Body.input())
	if err != nil {
		return nil, err
	}
	return directoryOut(d), nil
}

type updateDirectoryInput struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match" doc:"The directory's ETag as you read it. Required."`
	Body    directoryFields
}

func (s *Server) updateDirectory(ctx context.Context, in *updateDirectoryInput) (*directoryOutput, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	d, err := s.deps.Directories.Update(ctx, actorFrom(ctx), in.ID, v, in.Body.input())
	if err != nil {
		return nil, err
	}
	return directoryOut(d), nil
}

func (s *Server) deleteDirectory(ctx context.Context, in *deleteInput) (*struct{}, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	return nil, s.deps.Directories.Delete(ctx, actorFrom(ctx), in.ID, v)
}

type testStepBody struct {
	Step    string `json:"step" enum:"connect,tls,starttls,bind,base,search" doc:"connect: reach the server (and, for LDAPS, TLS); starttls; bind: sign in as the bind DN; base: read the base DN."`
	OK      bool   `json:"ok"`
	Message string `json:"message"`
	Code    string `json:"code,omitempty" doc:"For a step that failed: a stable code, such as directory.bad_credentials."`
	Field   string `json:"field,omitempty" doc:"For a step that failed: the setting to look at."`
}

type testOutput struct {
	Body struct {
		OK    bool           `json:"ok" doc:"Whether every step worked: the settings can be saved."`
		Steps []testStepBody `json:"steps" doc:"The steps that worked, in order, then the one that failed."`
	}
}

func toTest(r *directory.TestResult) *testOutput {
	out := &testOutput{}
	out.Body.OK = r.OK
	out.Body.Steps = make([]testStepBody, len(r.Steps))
	for i, st := range r.Steps {
		out.Body.Steps[i] = testStepBody{Step: st.Name, OK: st.OK, Message: st.Message, Code: st.Code, Field: st.Field}
	}
	return out
}

type testSettingsInput struct {
	Body directoryFields
}

func (s *Server) testDirectorySettings(ctx context.Context, in *testSettingsInput) (*testOutput, error) {
	r, err := s.deps.Directories.Test(ctx, actorFrom(ctx), in.Body.input())
	if err != nil {
		return nil, err
	}
	return toTest(r), nil
}

func (s *Server) testDirectory(ctx context.Context, in *directoryIDPath) (*testOutput, error) {
	r, err := s.deps.Directories.TestSaved(ctx, actorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return toTest(r), nil
}

type ouBody struct {
	DN     string `json:"dn"`
	Name   string `json:"name"`
	Parent string `json:"parent" doc:"The DN of the OU above it, or the base DN."`
	Depth  int    `json:"depth" doc:"1 for an OU right under the base DN."`
}

type ouList struct {
	Body struct {
		OUs       []ouBody `json:"ous" doc:"The tree in depth-first order, each OU after its parent."`
		Truncated bool     `json:"truncated" doc:"Whether there were more OUs than a browse shows (5000)."`
	}
}

func (s *Server) listDirectoryOUs(ctx context.Context, in *directoryIDPath) (*ouList, error) {
	ous, truncated, err := s.deps.Directories.OUs(ctx, actorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	out := &ouList{}
	out.Body.Truncated = truncated
	out.Body.OUs = make([]ouBody, len(ous))
	for i, o := range ous {
		out.Body.OUs[i] = ouBody(o)
	}
	return out, nil
}

type syncCountsBody struct {
	Seen     int64 `json:"seen" doc:"Entries in scope the sync read."`
	Created  int64 `json:"created"`
	Updated  int64 `json:"updated"`
	Disabled int64 `json:"disabled"`
	Enabled  int64 `json:"enabled"`
	Deleted  int64 `json:"deleted"`
	Failed   int64 `json:"failed" doc:"Entries that could not be applied; errors says why."`

	GroupsCreated  int64 `json:"groups_created" doc:"With a group mapping: groups made from the directory's."`
	GroupsUpdated  int64 `json:"groups_updated" doc:"Groups renamed as the directory renamed them, or whose members changed."`
	GroupsDeleted  int64 `json:"groups_deleted" doc:"Groups deleted: they left the directory or the mapping (found by a full sync)."`
	MembersAdded   int64 `json:"members_added"`
	MembersRemoved int64 `json:"members_removed"`
}

type entryErrorBody struct {
	DN     string `json:"dn" doc:"The entry, or the username of a user who left the directory."`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

type changeBody struct {
	Kind     string            `json:"kind" enum:"create,update,disable,enable,delete"`
	DN       string            `json:"dn,omitempty"`
	UserID   string            `json:"user_id,omitempty"`
	Username string            `json:"username"`
	Email    string            `json:"email"`
	Before   map[string]string `json:"before,omitempty" doc:"An update's attributes before."`
	After    map[string]string `json:"after,omitempty" doc:"An update's attributes after."`
}

type groupChangeBody struct {
	Kind    string `json:"kind" enum:"create,update,delete"`
	DN      string `json:"dn,omitempty"`
	GroupID string `json:"group_id,omitempty"`
	Name    string `json:"name"`
	Before  string `json:"before,omitempty" doc:"An update's name before, when the directory renamed the group."`
	Added   int64  `json:"added" doc:"Members the group gains."`
	Removed int64  `json:"removed" doc:"Members the group loses."`
}

type planBody struct {
	Counts       syncCountsBody    `json:"counts"`
	Users        int64             `json:"users" doc:"The directory's users in usher when the plan was made."`
	Changes      []changeBody      `json:"changes" doc:"The first 20 changes of each kind."`
	Errors       []entryErrorBody  `json:"errors" doc:"The first 100 entries refused."`
	Groups       int64             `json:"groups" doc:"With a group mapping: the directory's groups in usher when the plan was made."`
	GroupChanges []groupChangeBody `json:"group_changes" doc:"The first 20 changes to groups of each kind."`
}

func toPlan(p *directory.Plan) *planBody {
	if p == nil {
		return nil
	}
	b := &planBody{Counts: syncCountsBody(p.Counts), Users: p.Users, Changes: make([]changeBody, len(p.Changes)), Errors: toEntryErrors(p.Errors),
		Groups: p.Groups, GroupChanges: make([]groupChangeBody, len(p.GroupChanges))}
	for i, c := range p.GroupChanges {
		b.GroupChanges[i] = groupChangeBody{Kind: string(c.Kind), DN: c.DN, GroupID: c.GroupID, Name: c.Name, Before: c.Before, Added: c.Added, Removed: c.Removed}
	}
	for i, c := range p.Changes {
		b.Changes[i] = changeBody{Kind: string(c.Kind), DN: c.DN, UserID: c.UserID, Username: c.Username, Email: c.Email, Before: c.Before, After: c.After}
	}
	return b
}

func toEntryErrors(es []directory.EntryError) []entryErrorBody {
	out := make([]entryErrorBody, len(es))
	for i, e := range es {
		out[i] = entryErrorBody{DN: e.DN, Field: e.Field, Reason: e.Reason}
	}
	return out
}

type runBody struct {
	ID          string           `json:"id"`
	DirectoryID string           `json:"directory_id"`
	Status      string           `json:"status" enum:"queued,running,needs_confirmation,completed,failed,skipped" doc:"skipped: a scheduled sync that found another still queued or running, and started none."`
	Confirmed   bool             `json:"confirmed" doc:"Started by a person's confirmation of a held sync."`
	StartedBy   string           `json:"started_by" doc:"The username of who started it, or schedule."`
	Counts      syncCountsBody   `json:"counts" doc:"What it did so far."`
	Errors      []entryErrorBody `json:"errors" doc:"The first 100 entries refused."`
	Reason      string           `json:"reason,omitempty" doc:"Why it is held, or why it failed."`
	Planned     int64            `json:"planned" doc:"The changes its plan makes (0 until it is made): the total of its progress."`
	Applied     int64            `json:"applied" doc:"How many of those it made or refused so far."`
	Plan        *planBody        `json:"plan,omitempty" doc:"The plan it applies, once made (counts, the first changes of each kind); a held sync's is what confirming applies."`
	CreatedAt   time.Time        `json:"created_at"`
	StartedAt   *time.Time       `json:"started_at,omitempty"`
	FinishedAt  *time.Time       `json:"finished_at,omitempty"`
}

func toRun(r *directory.Run) runBody {
	return runBody{ID: r.ID, DirectoryID: r.DirectoryID, Status: string(r.Status), Confirmed: r.Confirmed, StartedBy: r.ActorName,
		Counts: syncCountsBody(r.Done), Errors: toEntryErrors(r.Errors), Reason: r.Reason, Plan: toPlan(r.Plan),
		Planned: r.Planned(), Applied: r.Applied(),
		CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
}

type syncInput struct {
	ID   string `path:"id" doc:"The directory's id."`
	Body struct {
		DryRun bool `json:"dry_run,omitempty" doc:"Answer with the plan and write nothing."`
		Full   bool `json:"full,omitempty" doc:"Read every entry in scope (every sync does today)."`
	}
}

type syncOutput struct {
	Body struct {
		Run  *runBody  `json:"run,omitempty" doc:"The sync started (poll get-directory-run for its progress)."`
		Plan *planBody `json:"plan,omitempty" doc:"With dry_run: what a sync would do now."`
	}
}

func (s *Server) syncDirectory(ctx context.Context, in *syncInput) (*syncOutput, error) {
	run, plan, err := s.deps.Directories.Sync(ctx, actorFrom(ctx), in.ID, directory.SyncOptions{DryRun: in.Body.DryRun, Full: in.Body.Full})
	if err != nil {
		return nil, err
	}
	out := &syncOutput{}
	if run != nil {
		b := toRun(run)
		out.Body.Run = &b
	}
	out.Body.Plan = toPlan(plan)
	return out, nil
}

type runsInput struct {
	ID    string `path:"id" doc:"The directory's id."`
	Limit int    `query:"limit" minimum:"0" maximum:"100" doc:"At most this many (50 unless set)."`
}

type runsOutput struct {
	Body struct {
		Runs []runBody `json:"runs" doc:"Newest first."`
	}
}

func (s *Server) listDirectoryRuns(ctx context.Context, in *runsInput) (*runsOutput, error) {
	runs, err := s.deps.Directories.Runs(ctx, actorFrom(ctx), in.ID, in.Limit)
	if err != nil {
		return nil, err
	}
	out := &runsOutput{}
	out.Body.Runs = make([]runBody, len(runs))
	for i := range runs {
		out.Body.Runs[i] = toRun(&runs[i])
	}
	return out, nil
}

type runPath struct {
	ID    string `path:"id" doc:"The directory's id."`
	RunID string `path:"run" doc:"The sync's id."`
}

type runOutput struct {
	Body runBody
}

func (s *Server) getDirectoryRun(ctx context.Context, in *runPath) (*runOutput, error) {
	r, err := s.deps.Directories.GetRun(ctx, actorFrom(ctx), in.ID, in.RunID)
	if err != nil {
		return nil, err
	}
	return &runOutput{Body: toRun(r)}, nil
}

func (s *Server) confirmDirectoryRun(ctx context.Context, in *runPath) (*runOutput, error) {
	r, err := s.deps.Directories.Confirm(ctx, actorFrom(ctx), in.ID, in.RunID)
	if err != nil {
		return nil, err
	}
	return &runOutput{Body: toRun(r)}, nil
}

type resetOutput struct {
	Body struct {
		UsersKept int64 `json:"users_kept" doc:"The directory's users, kept as local users."`
	}
}

func (s *Server) resetDirectory(ctx context.Context, in *deleteInput) (*resetOutput, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	kept, err := s.deps.Directories.Reset(ctx, actorFrom(ctx), in.ID, v)
	if err != nil {
		return nil, err
	}
	out := &resetOutput{}
	out.Body.UsersKept = kept
	return out, nil
}

type syncSummaryBody struct {
	ID         string         `json:"id"`
	Status     string         `json:"status" enum:"queued,running,needs_confirmation,completed,failed"`
	StartedBy  string         `json:"started_by"`
	Counts     syncCountsBody `json:"counts" doc:"What it did; for a sync that needs a confirmation, what its plan would do."`
	Reason     string         `json:"reason,omitempty" doc:"Why it is held, or why it failed."`
	CreatedAt  time.Time      `json:"created_at"`
	FinishedAt *time.Time     `json:"finished_at,omitempty"`
}

func toSyncSummary(r *directory.Run) *syncSummaryBody {
	if r == nil {
		return nil
	}
	return &syncSummaryBody{ID: r.ID, Status: string(r.Status), StartedBy: r.ActorName, Counts: syncCountsBody(r.Outcome()),
		Reason: r.Reason, CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt}
}

type directoryUserCounts struct {
	Total    int64 `json:"total"`
	Active   int64 `json:"active"`
	Invited  int64 `json:"invited"`
	Locked   int64 `json:"locked"`
	Disabled int64 `json:"disabled"`
}

type statusOutput struct {
	Body struct {
		LastSync    *syncSummaryBody    `json:"last_sync,omitempty" doc:"The latest sync that ended (completed, failed or held); absent before the first."`
		Running     *syncSummaryBody    `json:"running,omitempty" doc:"The sync queued or running now."`
		NextSyncAt  *time.Time          `json:"next_sync_at,omitempty" doc:"When the schedule syncs the directory next; absent when auto-sync is off."`
		Schedule    scheduleBody        `json:"schedule"`
		Users       directoryUserCounts `json:"users" doc:"The directory's users in usher, by status."`
		Scope       string              `json:"scope" enum:"all,none,selected"`
		OUs         []string            `json:"ous" doc:"With scope selected: the OUs (subtrees) read."`
		LastErrors  []entryErrorBody    `json:"last_errors" doc:"The entries the last sync refused (the first 100)."`
		LastFailure *syncSummaryBody    `json:"last_failure,omitempty" doc:"The latest of the recent syncs that failed, with its reason."`
	}
}

func (s *Server) directoryStatus(ctx context.Context, in *directoryIDPath) (*statusOutput, error) {
	st, err := s.deps.Directories.Status(ctx, actorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	out := &statusOutput{}
	b := &out.Body
	d := st.Directory
	b.LastSync, b.Running, b.LastFailure = toSyncSummary(st.LastSync), toSyncSummary(st.Active), toSyncSummary(st.LastFailure)
	b.NextSyncAt, b.Schedule, b.Scope, b.OUs = d.NextSyncAt, toSchedule(d.Schedule), string(d.Scope), d.OUs
	if b.OUs == nil {
		b.OUs = []string{}
	}
	b.LastErrors = []entryErrorBody{}
	if st.LastSync != nil {
		b.LastErrors = toEntryErrors(st.LastSync.Errors)
	}
	u := st.Users
	b.Users = directoryUserCounts{Active: u[user.Active], Invited: u[user.Invited], Locked: u[user.Locked], Disabled: u[user.Disabled]}
	for _, n := range u {
		b.Users.Total += n
	}
	return out, nil
}
