package user

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/errs"
)

// Sort orders of user lists; a leading "-" reverses one.
var userSorts = []string{"name", "username", "email", "created_at", "updated_at"}

// MatchSort lists a search in the order of the text that matched: each user under the smallest of
// their name, last name, email, username and phone that starts with the search text. It is the
// default when there is a search text, and the name order without one.
const MatchSort = "match"

// A list of users or groups returns DefaultPage of them when it names no limit; a limit may be
// at most MaxPage.
const (
	DefaultPage = 50
	MaxPage     = 1000
)

// pageSize is limit, DefaultPage when it is not set, never more than MaxPage.
func pageSize(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPage
	case limit > MaxPage:
		return MaxPage
	}
	return limit
}

// Filter narrows and orders a list of users. Zero values match everything.
type Filter struct {
	Q       string // case-insensitive prefix of the name, first or last name, email, username or phone
	Status  Status
	Source  Source
	RoleID  string            // effective: direct or through a group
	GroupID string            // direct member
	Custom  map[string]string // custom field name → value (compared in canonical form)
	Sort    string            // see SortOrder
	Limit   int               // see PageSize
	Cursor  string
}

// FieldFilters reads custom field filters written NAME=VALUE (a query's field=…, the CLI's
// --field) into Filter.Custom's form; nil when there are none.
func FieldFilters(params []string) (map[string]string, error) {
	var out map[string]string
	for _, kv := range params {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, errs.Field("field", "filter.field_invalid", "A field filter is NAME=VALUE, e.g. cost_center=4711.")
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = value
	}
	return out, nil
}

// SortOrder is the order the list is in: Sort, or when it names none (or names MatchSort
// without a search text) MatchSort for a search and the name order without one.
func (f Filter) SortOrder() string {
	search := strings.TrimSpace(f.Q) != ""
	switch {
	case f.Sort == "" && search:
		return MatchSort
	case f.Sort == "" || f.Sort == MatchSort && !search:
		return "name"
	}
	return f.Sort
}

// PageSize is how many users a page holds at most: Limit, DefaultPage when it is not set.
func (f Filter) PageSize() int { return pageSize(f.Limit) }

// Page is one page of a user list.
type Page struct {
	Users []*Detail
	Next  string // the cursor of the next page; empty on the last
}

// ListUsers returns one page of users matching f.
func (s *Service) ListUsers(ctx context.Context, a Actor, f Filter) (*Page, error) {
	if err := a.Require(UsersRead); err != nil {
		return nil, err
	}
	if err := s.normaliseFilter(ctx, &f); err != nil {
		return nil, err
	}
	users, next, err := s.store.ListUsers(ctx, f)
	if err != nil {
		return nil, err
	}
	return &Page{Users: users, Next: next}, nil
}

func (s *Service) normaliseFilter(ctx context.Context, f *Filter) error {
	f.Q = canonical(f.Q) // searched as names and identities are stored
	var bad []errs.FieldError
	if f.Status != "" && !f.Status.Valid() {
		bad = append(bad, errs.FieldError{Field: "status", Code: "filter.status_invalid", Message: "The status must be one of active, invited, locked or disabled."})
	}
	if f.Source != "" && !f.Source.Valid() {
		bad = append(bad, errs.FieldError{Field: "source", Code: "filter.source_invalid", Message: "The source must be one of local, directory or scim."})
	}
	f.Sort = f.SortOrder()
	if f.Sort != MatchSort && !slices.Contains(userSorts, f.Sort) && !(len(f.Sort) > 1 && f.Sort[0] == '-' && slices.Contains(userSorts, f.Sort[1:])) {
		bad = append(bad, errs.FieldError{Field: "sort", Code: "filter.sort_invalid", Message: "The sort must be match, or one of name, username, email, created_at or updated_at with - in front to reverse."})
	}
	if f.Limit < 0 || f.Limit > MaxPage {
		bad = append(bad, errs.FieldError{Field: "limit", Code: "filter.limit_invalid", Message: "The limit must be between 1 and 1000."})
	}
	f.Limit = f.PageSize()
	if len(f.Custom) > 0 {
		f.Custom = maps.Clone(f.Custom) // canonical values replace the caller's
		defs, err := s.store.Fields(ctx)
		if err != nil {
			return err
		}
		for name, raw := range f.Custom {
			i := slices.IndexFunc(defs, func(d Field) bool { return d.Name == name })
			if i < 0 {
				bad = append(bad, errs.FieldError{Field: "field", Code: "field.unknown", Message: "There is no custom field called " + name + "."})
				continue
			}
			v, fe := defs[i].Canonical(raw)
			if fe != nil {
				fe.Field = "field"
				bad = append(bad, *fe)
				continue
			}
			f.Custom[name] = v
		}
	}
	return errs.Fields(bad)
}

func (s *Service) detail(ctx context.Context, id string) (*Detail, error) {
	return s.store.UserDetail(ctx, id)
}

// GetUser returns one user. Everyone may read themselves.
func (s *Service) GetUser(ctx context.Context, a Actor, id string) (*Detail, error) {
	if id != a.ID {
		if err := a.Require(UsersRead); err != nil {
			return nil, err
		}
	}
	return s.detail(ctx, id)
}

// Counts returns the number of users in each status.
func (s *Service) Counts(ctx context.Context, a Actor) (Counts, error) {
	if err := a.Require(UsersRead); err != nil {
		return Counts{}, err
	}
	return s.store.CountUsers(ctx)
}

// CreateInput is a new local user.
type CreateInput struct {
	Profile
	Password *string
	RoleIDs  []string // nil gives the Viewer role; an empty list gives none
	GroupIDs []string
	// Brief asks for the user alone in the Detail returned, without reading their roles and
	// groups back: for a caller that makes many (an import).
	Brief bool
	// DirectoryID makes a user of that directory (a sync): source directory, its ExternalID
	// (required) naming them there, disabled when Disabled; the profile is the directory's.
	DirectoryID string
	Disabled    bool
}

// CreateUser creates an active local user, with a password or without one (they set it through
// a password reset).
func (s *Service) CreateUser(ctx context.Context, a Actor, in CreateInput) (*Detail, error) {
	if err := a.Require(UsersWrite); err != nil {
		return nil, err
	}
	return s.createUser(ctx, a, in, createLocal)
}

// How createUser makes a user: which status, and which event the audit log records.
type createKind int

const (
	createLocal        createKind = iota // active, names required, user.create
	createDefaultAdmin                   // the same, marked as the Default Administrator
	createInvited                        // invited, no names or password yet, user.invite
)

// newLocalUser is the active local user in is about to make, made at now, with in's defaults
// filled in: the profile canonical, the username the email when none is given (defaulted), no
// roles meaning the Viewer role.
func newLocalUser(in *CreateInput, now time.Time) (u *User, defaulted bool) {
	in.Profile.canonicalise()
	defaulted = in.Username == nil || *in.Username == ""
	if defaulted {
		in.Username = in.Email
	}
	if in.Email == nil {
		in.Email = new(string)
	}
	if in.RoleIDs == nil {
		in.RoleIDs = []string{ViewerRole}
	}
	u = &User{ID: newID(), Status: Active, Source: Local, CreatedAt: now, UpdatedAt: now, ActivatedAt: &now, Version: 1}
	if in.DirectoryID != "" {
		u.Source, u.DirectoryID = Directory, in.DirectoryID
		if in.Disabled {
			u.Status, u.DisabledByDirectory = Disabled, true
		}
	}
	return u, defaulted
}

// externalIDRule says what is wrong with a new user's external id: only a directory's users
// have one, and they must.
func externalIDRule(in *CreateInput) []errs.FieldError {
	has := in.ExternalID != nil && *in.ExternalID != ""
	switch {
	case in.DirectoryID == "" && has:
		return []errs.FieldError{{Field: "external_id", Code: "user.external_id_local", Message: "Only directory and SCIM users have an external id."}}
	case in.DirectoryID != "" && !has:
		return []errs.FieldError{{Field: "external_id", Code: "user.external_id_required", Message: "The entry has no value of the directory's primary attribute, which names the user across syncs."}}
	}
	return nil
}

func (s *Service) createUser(ctx context.Context, a Actor, in CreateInput, kind createKind) (*Detail, error) {
	defaultAdmin, invited := kind == createDefaultAdmin, kind == createInvited
	u, defaulted := newLocalUser(&in, s.now())
	u.DefaultAdmin = defaultAdmin
	if invited {
		// The invited person gives their names and password when they accept.
		u.Status, u.ActivatedAt, in.Password = Invited, nil, nil
	}
	bad := in.Profile.validate(!invited)
	bad = append(bad, externalIDRule(&in)...)
	var hash string
	if in.Password != nil {
		h, err := s.passwords.Hash(ctx, *in.Password)
		if fe, ok := errs.As(err); ok && fe.Kind == errs.Invalid {
			bad = append(bad, fe.Fields...)
		} else if err != nil {
			return nil, err
		}
		hash = h
	}
	var out *Detail
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		defs, err := s.store.Fields(ctx)
		if err != nil {
			return err
		}
		bad = append(bad, applyCustom(u, in.Custom, defs, true)...)
		if err := s.checkManager(ctx, u.ID, "", &in.Profile); err != nil {
			bad = append(bad, *err)
		}
		if err := errs.Fields(bad); err != nil {
			return err
		}
		applyProfile(u, &in.Profile)
		u.PasswordHash = hash
		if err := s.checkGrants(ctx, a, nil, in.RoleIDs, nil, in.GroupIDs); err != nil {
			return err
		}
		err = s.checkIdentities(ctx, u, true, !defaulted)
		if err == nil {
			err = s.store.InsertUser(ctx, u)
		}
		if err != nil {
			if defaulted {
				return emailAsUsernameTaken(err)
			}
			return err
		}
		if err := s.store.SetUserRoles(ctx, u.ID, in.RoleIDs); err != nil {
			return err
		}
		if err := s.store.SetUserGroups(ctx, u.ID, in.GroupIDs); err != nil {
			return err
		}
		action, details := "user.create", map[string]any{"email": u.Email, "roles": in.RoleIDs, "groups": in.GroupIDs,
			"password_set": hash != "", "default_admin": defaultAdmin}
		if invited {
			action, details = "user.invite", map[string]any{"email": u.Email, "roles": in.RoleIDs, "groups": in.GroupIDs}
		}
		if err := s.audit(ctx, a, action, "user", u.ID, u.Username, details); err != nil {
			return err
		}
		if in.Brief {
			out = &Detail{User: u}
			return nil
		}
		out, err = s.detail(ctx, u.ID)
		return err
	})
	return out, err
}

// emailAsUsernameTaken reports a clash of a username that was not given but defaulted to the
// email address as a clash of the email: the person typed only an email, and which unique rule a
// database reports first when both clash differs (SQLite the email, PostgreSQL the username).
func emailAsUsernameTaken(err error) error {
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.Conflict {
		return err
	}
	switch e.Code {
	case "user.username_taken":
		return &errs.Error{Kind: errs.Conflict, Code: "user.email_taken", Message: emailTaken, Err: err,
			Fields: []errs.FieldError{{Field: "email", Code: "user.email_taken", Message: emailTaken}}}
	case "user.lookalike":
		if len(e.Fields) == 1 && e.Fields[0].Field == "username" {
			return &errs.Error{Kind: errs.Conflict, Code: "user.lookalike", Message: emailLookalike, Err: err,
				Fields: []errs.FieldError{{Field: "email", Code: "user.lookalike", Message: emailLookalike}}}
		}
	}
	return err
}

func applyProfile(u *User, p *Profile) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&u.Username, p.Username)
	set(&u.Email, p.Email)
	set(&u.FirstName, p.FirstName)
	set(&u.LastName, p.LastName)
	set(&u.Phone, p.Phone)
	set(&u.Department, p.Department)
	set(&u.ManagerID, p.ManagerID)
	set(&u.ManagerName, p.ManagerName)
	set(&u.ExternalID, p.ExternalID)
}

// checkManager checks the manager a profile names, first finding the one named by email or
// username (Profile.Manager) and setting ManagerID to them. A name that is the current
// manager's email or username (current is their id) keeps them, whoever else it might name.
func (s *Service) checkManager(ctx context.Context, selfID, current string, p *Profile) *errs.FieldError {
	field := "manager_id"
	if p.Manager != nil {
		field = "manager"
		login := strings.TrimSpace(*p.Manager)
		p.Manager = nil
		if p.ManagerID != nil {
			return &errs.FieldError{Field: field, Code: "user.manager_twice",
				Message: "Name the manager once: by id, or by email or username."}
		}
		if len(login) > MaxEmail {
			return &errs.FieldError{Field: field, Code: "user.manager_unknown", Message: "No user has this email or username."}
		}
		if login == "" {
			p.ManagerID = &login
			return nil
		}
		if current != "" {
			if cur, err := s.store.User(ctx, current); err == nil &&
				(strings.EqualFold(login, cur.Email) || strings.EqualFold(login, cur.Username)) {
				p.ManagerID = &current
				return nil
			}
		}
		m, err := s.store.UserByLogin(ctx, login)
		if err != nil {
			return &errs.FieldError{Field: field, Code: "user.manager_unknown", Message: "No user has this email or username."}
		}
		p.ManagerID = &m.ID
	}
	if p.ManagerID == nil || *p.ManagerID == "" {
		return nil
	}
	if *p.ManagerID == selfID {
		return &errs.FieldError{Field: field, Code: "user.manager_self", Message: "A user cannot be their own manager."}
	}
	if _, err := s.store.User(ctx, *p.ManagerID); err != nil {
		return &errs.FieldError{Field: field, Code: "user.manager_unknown", Message: "The manager is not a user of usher."}
	}
	return nil
}

// Patch changes a user; nil pointers leave things as they are.
type Patch struct {
	Profile
	RoleIDs  *[]string // the direct roles, replacing the current ones
	GroupIDs *[]string // the groups, replacing the current memberships

	// Direct roles added to and removed from the current ones, read in the change's
	// transaction, so that two concurrent changes cannot undo each other. Not with RoleIDs.
	AddRoleIDs, RemoveRoleIDs []string

	// Brief asks for the user alone in the Detail returned (see CreateInput.Brief).
	Brief bool
}

// UpdateUser changes a user's profile, direct roles and groups. version is the version the
// caller read (If-Match), or AnyVersion.
func (s *Service) UpdateUser(ctx context.Context, a Actor, id string, version int64, p Patch) (*Detail, error) {
	return s.updateUser(ctx, a, id, version, p, "")
}

// UpdateFromDirectory changes what directory dir owns of one of its users (a sync): the
// profile attributes read-only everywhere else, with every other rule of UpdateUser.
func (s *Service) UpdateFromDirectory(ctx context.Context, a Actor, dir, id string, p Patch) (*Detail, error) {
	if dir == "" {
		return nil, errs.E(errs.Invalid, "user.directory_required", "A directory's change names the directory.")
	}
	return s.updateUser(ctx, a, id, AnyVersion, p, dir)
}

// ofDirectory refuses a directory's change to a user who is not that directory's.
func ofDirectory(u *User, dir string) error {
	if dir != "" && u.DirectoryID != dir {
		return errs.E(errs.Conflict, "user.other_source", "This user does not come from this directory.")
	}
	return nil
}

func (s *Service) updateUser(ctx context.Context, a Actor, id string, version int64, p Patch, dir string) (*Detail, error) {
	if err := a.Require(UsersWrite); err != nil {
		return nil, err
	}
	var out *Detail
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		u, err := s.store.User(ctx, id)
		if err != nil {
			return err
		}
		if err := checkVersion(u.Version, version); err != nil {
			return err
		}
		if err := ofDirectory(u, dir); err != nil {
			return err
		}
		if err := s.guardTarget(ctx, a, u, "update"); err != nil {
			return err
		}
		p.Profile.canonicalise()
		if !u.SourceOwned() && p.Email != nil && strings.EqualFold(*p.Email, u.Email) {
			// The same address in other letters is no change: emails compare case-insensitively.
			p.Email = nil
		}
		bad := p.Profile.validate(false)
		if fe := s.checkManager(ctx, u.ID, u.ManagerID, &p.Profile); fe != nil {
			bad = append(bad, *fe)
		}
		if dir == "" {
			bad = append(bad, readOnly(u, &p.Profile)...)
		}
		defs, err := s.store.Fields(ctx)
		if err != nil {
			return err
		}
		before := maps.Clone(u.Custom)
		bad = append(bad, applyCustom(u, p.Custom, defs, false)...)
		if err := errs.Fields(bad); err != nil {
			return err
		}
		changed := changedFields(u, &p.Profile)
		newUsername := p.Username != nil && *p.Username != u.Username
		newEmail := p.Email != nil && *p.Email != u.Email
		applyProfile(u, &p.Profile)
		if err := s.checkIdentities(ctx, u, newEmail, newUsername); err != nil {
			return err
		}
		// The custom values that differ from before: a form or a file that repeats a value
		// changes nothing.
		var customChanged []string
		for n := range p.Custom {
			if old, had := before[n]; u.Custom[n] != old || had != hasKey(u.Custom, n) {
				customChanged = append(customChanged, "custom."+n)
			}
		}
		slices.Sort(customChanged)
		details := map[string]any{}
		if len(changed) > 0 || len(customChanged) > 0 {
			details["changed"] = changed
		}
		if p.RoleIDs != nil {
			if err := s.replaceRoles(ctx, a, u, *p.RoleIDs, details); err != nil {
				return err
			}
		} else if len(p.AddRoleIDs) > 0 || len(p.RemoveRoleIDs) > 0 {
			cur, err := s.store.UserRoles(ctx, []string{u.ID})
			if err != nil {
				return err
			}
			ids := append(directRoleIDs(cur[u.ID]), p.AddRoleIDs...)
			ids = slices.DeleteFunc(ids, func(r string) bool { return slices.Contains(p.RemoveRoleIDs, r) })
			if err := s.replaceRoles(ctx, a, u, ids, details); err != nil {
				return err
			}
		}
		if p.GroupIDs != nil {
			if err := s.replaceGroups(ctx, a, u, *p.GroupIDs, details); err != nil {
				return err
			}
		}
		if len(customChanged) > 0 {
			details["changed"] = append(changed, customChanged...)
		}
		if len(details) == 0 {
			// Nothing changed: no new version, no audit event.
			if p.Brief {
				out = &Detail{User: u}
				return nil
			}
			out, err = s.detail(ctx, u.ID)
			return err
		}
		prev := u.Version
		u.Version++
		u.UpdatedAt = s.now()
		if err := s.store.UpdateUser(ctx, u, prev); err != nil {
			return err
		}
		if err := s.audit(ctx, a, "user.update", "user", u.ID, u.Username, details); err != nil {
			return err
		}
		if p.Brief {
			out = &Detail{User: u}
			return nil
		}
		out, err = s.detail(ctx, u.ID)
		return err
	})
	return out, err
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// readOnly refuses changes to what the user's source owns, and to a local user's email.
func readOnly(u *User, p *Profile) []errs.FieldError {
	var out []errs.FieldError
	ro := func(field string, v *string, cur string) {
		if v != nil && *v != cur {
			out = append(out, errs.FieldError{Field: field, Code: "user.read_only",
				Message: "This attribute comes from the user's " + string(u.Source) + " source and can only be changed there."})
		}
	}
	if !u.SourceOwned() {
		if p.Email != nil && *p.Email != u.Email {
			out = append(out, errs.FieldError{Field: "email", Code: "user.email_immutable",
				Message: "The email address of an existing user cannot be changed by an administrator."})
		}
		return out
	}
	ro("username", p.Username, u.Username)
	ro("email", p.Email, u.Email)
	ro("first_name", p.FirstName, u.FirstName)
	ro("last_name", p.LastName, u.LastName)
	ro("phone", p.Phone, u.Phone)
	ro("department", p.Department, u.Department)
	ro("manager_id", p.ManagerID, u.ManagerID)
	ro("manager_name", p.ManagerName, u.ManagerName)
	ro("external_id", p.ExternalID, u.ExternalID)
	return out
}

func changedFields(u *User, p *Profile) []string {
	var out []string
	diff := func(name string, v *string, cur string) {
		if v != nil && *v != cur {
			out = append(out, name)
		}
	}
	diff("username", p.Username, u.Username)
	diff("email", p.Email, u.Email)
	diff("first_name", p.FirstName, u.FirstName)
	diff("last_name", p.LastName, u.LastName)
	diff("phone", p.Phone, u.Phone)
	diff("department", p.Department, u.Department)
	diff("manager_id", p.ManagerID, u.ManagerID)
	diff("manager_name", p.ManagerName, u.ManagerName)
	diff("external_id", p.ExternalID, u.ExternalID)
	return out
}

// DeleteUser deletes a user for good; the audit log keeps who they were. version is the version
// the caller read, or AnyVersion.
func (s *Service) DeleteUser(ctx context.Context, a Actor, id string, version int64) error {
	return s.deleteUser(ctx, a, id, version, "")
}

// DeleteFromDirectory deletes one of directory dir's users who left it, when its policy for
// leavers is to delete them (a sync): users of a directory are deleted only this way.
func (s *Service) DeleteFromDirectory(ctx context.Context, a Actor, dir, id string) error {
	if dir == "" {
		return errs.E(errs.Invalid, "user.directory_required", "A directory's change names the directory.")
	}
	return s.deleteUser(ctx, a, id, AnyVersion, dir)
}

func (s *Service) deleteUser(ctx context.Context, a Actor, id string, version int64, dir string) error {
	if err := a.Require(UsersDelete); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(ctx context.Context) error {
		u, err := s.store.User(ctx, id)
		if err != nil {
			return err
		}
		if err := checkVersion(u.Version, version); err != nil {
			return err
		}
		if err := ofDirectory(u, dir); err != nil {
			return err
		}
		op := "delete"
		if dir != "" {
			op = "delete-leaver"
		}
		if err := s.guardTarget(ctx, a, u, op); err != nil {
			return err
		}
		if err := s.store.DeleteUser(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, a, "user.delete", "user", u.ID, u.Username, map[string]any{
			"email": u.Email, "name": u.Name(), "status": string(u.Status), "source": string(u.Source),
		})
	})
}

// ChangeStatus locks, unlocks, disables or enables a user, as the state machine allows.
func (s *Service) ChangeStatus(ctx context.Context, a Actor, id string, ev Event) (*Detail, error) {
	return s.changeStatus(ctx, a, id, ev, "")
}

// StatusFromDirectory disables or enables one of directory dir's users as the directory says
// (a sync), with every rule of ChangeStatus.
func (s *Service) StatusFromDirectory(ctx context.Context, a Actor, dir, id string, ev Event) (*Detail, error) {
	if dir == "" || (ev != Disable && ev != Enable) {
		return nil, errs.E(errs.Invalid, "user.invalid_transition", "A directory disables or enables its users.")
	}
	return s.changeStatus(ctx, a, id, ev, dir)
}

func (s *Service) changeStatus(ctx context.Context, a Actor, id string, ev Event, dir string) (*Detail, error) {
	if ev == Accept {
		return nil, errs.E(errs.Invalid, "user.invalid_transition", "Invitations are accepted by the invited person.")
	}
	if err := a.Require(UsersLock); err != nil {
		return nil, err
	}
	var out *Detail
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		u, err := s.store.User(ctx, id)
		if err != nil {
			return err
		}
		if err := ofDirectory(u, dir); err != nil {
			return err
		}
		if err := s.guardTarget(ctx, a, u, string(ev)); err != nil {
			return err
		}
		from := u.Status
		to, err := Transition(from, ev, u.Accepted())
		if err != nil {
			return err
		}
		prev := u.Version
		u.Status, u.Version, u.UpdatedAt = to, u.Version+1, s.now()
		u.DisabledByDirectory = dir != "" && to == Disabled
		if err := s.store.UpdateUser(ctx, u, prev); err != nil {
			return err
		}
		if to == Locked || to == Disabled {
			if err := s.store.RevokeSessions(ctx, u.ID); err != nil {
				return err
			}
		}
		if err := s.audit(ctx, a, "user."+string(ev), "user", u.ID, u.Username,
			map[string]any{"from": string(from), "to": string(to)}); err != nil {
			return err
		}
		out, err = s.detail(ctx, u.ID)
		return err
	})
	return out, err
}

// guardTarget holds the rules about who may act on whom: nobody deletes, disables or locks
// themselves or the Default Administrator, directory users are disabled rather than deleted,
// and nobody changes a user who holds permissions they do not.
func (s *Service) guardTarget(ctx context.Context, a Actor, u *User, op string) error {
	switch op {
	case "delete", "delete-leaver", "disable", "lock":
		if u.ID == a.ID {
			return errs.E(errs.Forbidden, "user.self", "You cannot "+strings.TrimSuffix(op, "-leaver")+" your own account.")
		}
		if u.DefaultAdmin {
			return errs.E(errs.Forbidden, "user.default_admin", "The Default Administrator cannot be "+opPast[op]+".")
		}
	}
	if op == "delete" && u.Source == Directory {
		return errs.E(errs.Conflict, "user.directory_owned", "Users from a directory can be disabled, not deleted.")
	}
	if u.ID == a.ID {
		return nil
	}
	held, err := s.store.EffectivePermissions(ctx, u.ID)
	if err != nil {
		return err
	}
	if missing := a.Permissions.Missing(held); len(missing) > 0 {
		return errs.E(errs.Forbidden, "auth.superior", "You cannot change a user who holds permissions you do not ("+missing.String()+").")
	}
	return nil
}

var opPast = map[string]string{"delete": "deleted", "delete-leaver": "deleted", "disable": "disabled", "lock": "locked"}

// UserByLogin returns the user with this email or username (compared as sign-in compares
// them), for a surface that names users that way: an import file's rows.
func (s *Service) UserByLogin(ctx context.Context, a Actor, login string) (*Detail, error) {
	if err := a.Require(UsersRead); err != nil {
		return nil, err
	}
	u, err := s.store.UserByLogin(ctx, CanonicalLogin(login))
	if err != nil {
		return nil, err
	}
	return s.detail(ctx, u.ID)
}

// Narrow returns a recorded actor as they may act now: with the recorded permissions that
// their user still holds, for work done later in their name (an import's job), so that it
// never acts with rights taken away since. A user who was deleted or can no longer sign in
// cannot act at all. usher itself (no user) keeps what was recorded.
func (s *Service) Narrow(ctx context.Context, a Actor) (Actor, error) {
	if a.ID == "" {
		return a, nil
	}
	u, err := s.store.User(ctx, a.ID)
	if errs.Is(errs.NotFound, err) {
		return Actor{}, errs.E(errs.Forbidden, "auth.actor_gone", "The user this work was started by no longer exists.")
	} else if err != nil {
		return Actor{}, err
	}
	if !u.Status.CanSignIn() {
		return Actor{}, errs.E(errs.Forbidden, "auth.actor_inactive", "The user this work was started by is "+string(u.Status)+" and can no longer act.")
	}
	held, err := s.store.EffectivePermissions(ctx, a.ID)
	if err != nil {
		return Actor{}, err
	}
	var now []Permission
	for _, p := range a.Permissions {
		if held.Has(p) {
			now = append(now, p)
		}
	}
	a.Permissions = NewPermissions(now...)
	return a, nil
}
