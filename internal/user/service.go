package user

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
)

// Store is the persistence Service needs. The store package implements it on SQLite and
// PostgreSQL. Methods called with a context that InTx gave run inside that transaction.
// Lookups of a missing row return an errs.NotFound error; writes that break a unique rule return
// errs.Conflict with the code of the rule; updates whose version no longer matches return
// errs.PreconditionFailed.
type Store interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error

	User(ctx context.Context, id string) (*User, error)
	UserDetail(ctx context.Context, id string) (*Detail, error) // User with UserRoles and UserGroups
	DefaultAdmin(ctx context.Context) (*User, error)
	UserByLogin(ctx context.Context, login string) (*User, error) // by username or email, case-insensitively
	// UsersLike returns the users whose email or username has one of the skeletons (see
	// Skeleton). Inside InTx, changes to identities with the same skeleton wait for each other
	// from this call to the end of the transaction, so that each sees what the other wrote.
	UsersLike(ctx context.Context, skeletons []string) ([]*User, error)
	ListUsers(ctx context.Context, f Filter) ([]*Detail, string, error) // with their roles and groups
	// EachUser hands over every user f selects (no search text), a batch at a time, with what an
	// export writes: names, contact, manager, custom values, roles and groups.
	EachUser(ctx context.Context, f Filter, fn func([]*Detail) error) error
	CountUsers(ctx context.Context) (Counts, error)
	InsertUser(ctx context.Context, u *User) error
	// InsertUsers writes many new users, as InsertUser writes each, with the direct roles
	// roleIDs each (CreateUsers has checked everything).
	InsertUsers(ctx context.Context, users []*User, roleIDs ...string) error
	UpdateUser(ctx context.Context, u *User, prevVersion int64) error
	DeleteUser(ctx context.Context, id string) error
	RevokeSessions(ctx context.Context, userID string) error
	UserRoles(ctx context.Context, userIDs []string) (map[string][]RoleGrant, error)
	UserGroups(ctx context.Context, userIDs []string) (map[string][]GroupRef, error)
	SetUserRoles(ctx context.Context, userID string, roleIDs []string) error
	SetUserGroups(ctx context.Context, userID string, groupIDs []string) error
	EffectivePermissions(ctx context.Context, userID string) (Permissions, error)

	Roles(ctx context.Context) ([]Role, error)
	Role(ctx context.Context, id string) (*Role, error)
	InsertRole(ctx context.Context, r *Role) error
	UpdateRole(ctx context.Context, r *Role, prevVersion int64) error
	DeleteRole(ctx context.Context, id string) error

	ListGroups(ctx context.Context, f GroupFilter) ([]Group, string, error)
	GroupNames(ctx context.Context) ([]GroupRef, error)
	Group(ctx context.Context, id string) (*Group, error)
	InsertGroup(ctx context.Context, g *Group) error
	UpdateGroup(ctx context.Context, g *Group, prevVersion int64) error
	DeleteGroup(ctx context.Context, id string) error
	SetGroupRoles(ctx context.Context, groupID string, roleIDs []string) error
	AddGroupMembers(ctx context.Context, groupID string, userIDs []string) error
	RemoveGroupMembers(ctx context.Context, groupID string, userIDs []string) error
	GroupMemberIDs(ctx context.Context, groupID string) ([]string, error)
	// CountUsersOfDirectory counts how many of ids are users of the directory.
	CountUsersOfDirectory(ctx context.Context, directoryID string, ids []string) (int, error)

	Fields(ctx context.Context) ([]Field, error)
	InsertField(ctx context.Context, f *Field) error
	UpdateField(ctx context.Context, f *Field, prevVersion int64) error
	SetFieldOrder(ctx context.Context, names []string) error
	LockFieldOrder(ctx context.Context) error
	DeleteField(ctx context.Context, name string) error

	AppendAudit(ctx context.Context, e audit.Event) error
	AppendAudits(ctx context.Context, events []audit.Event) error
	AuditEvents(ctx context.Context, f audit.Filter) ([]audit.Event, string, error)
}

// Passwords checks a new password against the policy and hashes it. The auth package provides it.
type Passwords interface {
	Hash(ctx context.Context, password string) (string, error)
}

// Service is every change to users, roles, groups and custom fields. Updates and deletes name
// the version they were based on (or AnyVersion) and refuse to run without one.
type Service struct {
	store     Store
	passwords Passwords
	now       func() time.Time
	sendReset ResetSender // the reset_password bulk action
}

// NewService returns a Service on store. sendReset does the reset_password bulk action; it is
// required, so that the action cannot silently do nothing.
func NewService(store Store, passwords Passwords, sendReset ResetSender) (*Service, error) {
	if passwords == nil || sendReset == nil {
		return nil, errors.New("user: NewService needs passwords and a reset sender")
	}
	return &Service{store: store, passwords: passwords, sendReset: sendReset, now: func() time.Time { return time.Now().UTC() }}, nil
}

// newID returns a time-ordered UUIDv7.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// audit writes the one event that records a change, inside the change's transaction.
func (s *Service) audit(ctx context.Context, a Actor, action, targetType, targetID, targetName string, details map[string]any) error {
	return s.store.AppendAudit(ctx, audit.Event{
		Time: s.now(), ActorID: a.ID, ActorName: a.Name, Action: action,
		TargetType: targetType, TargetID: targetID, TargetName: targetName,
		Outcome: audit.Success, Details: details, RequestID: a.RequestID, ClientIP: a.ClientIP,
	})
}

// AnyVersion, given as the version of an update or a delete, applies it to whatever version is
// current. Bulk actions use it, and If-Match: * asks for it; it is never a default.
const AnyVersion int64 = -1

// checkVersion refuses a write whose version no longer names the current one, and a write that
// names no version at all: a caller that forgot it (a form, an importer) would otherwise
// overwrite someone else's change without a word.
func checkVersion(current, want int64) error {
	switch {
	case want == AnyVersion:
		return nil
	case want <= 0:
		return errs.E(errs.PreconditionRequired, "version.required",
			"Say which version you read (its ETag), so that you do not overwrite someone else's change.")
	case want != current:
		return errs.E(errs.PreconditionFailed, "version.stale",
			"This was changed by someone else since you read it. Reload and try again.")
	}
	return nil
}
