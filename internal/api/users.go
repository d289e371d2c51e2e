package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// userBody is a user as the API shows it.
type userBody struct {
	ID           string            `json:"id"`
	Username     string            `json:"username"`
	Email        string            `json:"email"`
	FirstName    string            `json:"first_name"`
	LastName     string            `json:"last_name"`
	Phone        string            `json:"phone"`
	Department   string            `json:"department"`
	ManagerID    string            `json:"manager_id,omitempty" doc:"The manager, when they are a user of usher."`
	ManagerName  string            `json:"manager_name,omitempty" doc:"The manager as free text, when a directory gives only a name."`
	Status       string            `json:"status" enum:"invited,active,locked,disabled"`
	Source       string            `json:"source" enum:"local,directory,scim"`
	ExternalID   string            `json:"external_id,omitempty"`
	Custom       map[string]string `json:"custom" doc:"Custom profile field values by field name."`
	Roles        []roleGrantBody   `json:"roles" doc:"Effective roles: direct ones and those inherited through groups (read-only here)."`
	Groups       []user.GroupRef   `json:"groups"`
	DefaultAdmin bool              `json:"default_admin,omitempty" doc:"The Default Administrator cannot be deleted, disabled, locked or lose the Administrator role."`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	LastLoginAt  *time.Time        `json:"last_login_at,omitempty"`
	Version      int64             `json:"version" doc:"Send it back as If-Match: \"<version>\" to update or delete."`
}

type roleGrantBody struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Direct    bool            `json:"direct" doc:"Granted to the user directly."`
	Inherited bool            `json:"inherited" doc:"Granted only through groups; change it on the group."`
	Via       []user.GroupRef `json:"via,omitempty" doc:"The groups the role comes through."`
}

func toUser(d *user.Detail) userBody {
	u := d.User
	b := userBody{ID: u.ID, Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Phone: u.Phone, Department: u.Department, ManagerID: u.ManagerID, ManagerName: u.ManagerName,
		Status: string(u.Status), Source: string(u.Source), ExternalID: u.ExternalID, Custom: u.Custom,
		Roles: make([]roleGrantBody, 0, len(d.Roles)), Groups: d.Groups, DefaultAdmin: u.DefaultAdmin,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastLoginAt: u.LastLoginAt, Version: u.Version}
	if b.Custom == nil {
		b.Custom = map[string]string{}
	}
	if b.Groups == nil {
		b.Groups = []user.GroupRef{}
	}
	for _, g := range d.Roles {
		b.Roles = append(b.Roles, roleGrantBody{ID: g.ID, Name: g.Name, Direct: g.Direct, Inherited: g.Inherited, Via: g.Via})
	}
	return b
}

// etag is a resource's version as an HTTP entity tag.
func etag(version int64) string { return `"` + itoa64(version) + `"` }

// ifMatch reads the version an update was based on: 428 when the header is missing, 412 when it
// cannot match any version. "*" asks for no version check (user.AnyVersion).
func ifMatch(h string) (int64, error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, errs.E(errs.PreconditionRequired, "version.required",
			"Send If-Match with the version you read (its ETag), so that you do not overwrite someone else's change.")
	}
	if h == "*" {
		return user.AnyVersion, nil
	}
	h = strings.TrimPrefix(h, "W/")
	if v, ok := parseVersion(strings.Trim(h, `"`)); ok && v > 0 {
		return v, nil
	}
	return 0, errs.E(errs.PreconditionFailed, "version.stale", "If-Match does not name a version of this resource. Reload and try again.")
}

type userOutput struct {
	ETag string `header:"ETag"`
	Body userBody
}

func userOut(d *user.Detail) *userOutput {
	return &userOutput{ETag: etag(d.Version), Body: toUser(d)}
}

type idPath struct {
	ID string `path:"id" doc:"The user's id."`
}

type listUsersInput struct {
	Q      string   `query:"q" doc:"Case-insensitive prefix of the full name, last name, email, username or phone. Matches are listed in match order unless sort is given."`
	Status string   `query:"status" enum:"invited,active,locked,disabled," doc:"Only users in this status."`
	Source string   `query:"source" enum:"local,directory,scim," doc:"Only users from this source."`
	Role   string   `query:"role" doc:"Only users holding this role, directly or through a group (role id)."`
	Group  string   `query:"group" doc:"Only members of this group (group id)."`
	Field  []string `query:"field,explode" doc:"Custom field filter NAME=VALUE; repeat for several (all must match)."`
	Sort   string   `query:"sort" doc:"match: by the text that matched q (each user under the smallest of their name, last name, email, username and phone starting with q), the default with q; name, the default without q; username, email, created_at or updated_at. A leading - sorts descending (not match). A search sorted other than by match may match at most 1000 users (filter.search_too_broad otherwise)."`
	Limit  int      `query:"limit" minimum:"0" maximum:"1000" doc:"Page size, 50 when not given."`
	Cursor string   `query:"cursor" doc:"The next_cursor of the previous page."`
}

type userPage struct {
	Body struct {
		Users      []userBody `json:"users"`
		NextCursor string     `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page."`
	}
}

// customFilter reads the field=NAME=VALUE parameters of a list or an export into f.
func customFilter(f *user.Filter, params []string) (err error) {
	f.Custom, err = user.FieldFilters(params)
	return err
}

func (s *Server) listUsers(ctx context.Context, in *listUsersInput) (*userPage, error) {
	f := user.Filter{Q: in.Q, Status: user.Status(in.Status), Source: user.Source(in.Source), RoleID: in.Role,
		GroupID: in.Group, Sort: in.Sort, Limit: in.Limit, Cursor: in.Cursor}
	if err := customFilter(&f, in.Field); err != nil {
		return nil, err
	}
	page, err := s.deps.Users.ListUsers(ctx, actorFrom(ctx), f)
	if err != nil {
		return nil, err
	}
	out := &userPage{}
	out.Body.Users = make([]userBody, 0, len(page.Users))
	for _, d := range page.Users {
		out.Body.Users = append(out.Body.Users, toUser(d))
	}
	out.Body.NextCursor = page.Next
	return out, nil
}

type countsOutput struct{ Body user.Counts }

func (s *Server) countUsers(ctx context.Context, _ *struct{}) (*countsOutput, error) {
	c, err := s.deps.Users.Counts(ctx, actorFrom(ctx))
	if err != nil {
		return nil, err
	}
	return &countsOutput{Body: c}, nil
}

func (s *Server) getUser(ctx context.Context, in *idPath) (*userOutput, error) {
	d, err := s.deps.Users.GetUser(ctx, actorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return userOut(d), nil
}

// ProfileFields is what a client may write about a user. Absent fields stay as they are.
type ProfileFields struct {
	Username    *string            `json:"username,omitempty" doc:"Defaults to the email address."`
	FirstName   *string            `json:"first_name,omitempty"`
	LastName    *string            `json:"last_name,omitempty"`
	Phone       *string            `json:"phone,omitempty"`
	Department  *string            `json:"department,omitempty"`
	ManagerID   *string            `json:"manager_id,omitempty" doc:"A user id; empty clears."`
	ManagerName *string            `json:"manager_name,omitempty"`
	ExternalID  *string            `json:"external_id,omitempty"`
	Custom      map[string]*string `json:"custom,omitempty" doc:"Custom field values by name; an empty string or null clears one."`
}

func (p ProfileFields) profile() user.Profile {
	return user.Profile{Username: p.Username, FirstName: p.FirstName, LastName: p.LastName, Phone: p.Phone,
		Department: p.Department, ManagerID: p.ManagerID, ManagerName: p.ManagerName, ExternalID: p.ExternalID, Custom: p.Custom}
}

type createUserInput struct {
	Body struct {
		Email string `json:"email"`
		ProfileFields
		Password *string  `json:"password,omitempty" doc:"Without one, the user sets it through a password reset."`
		Roles    []string `json:"roles,omitempty" nullable:"false" doc:"Direct role ids; absent gives Viewer, [] gives none."`
		Groups   []string `json:"groups,omitempty" nullable:"false" doc:"Group ids."`
	}
}

func (s *Server) createUser(ctx context.Context, in *createUserInput) (*userOutput, error) {
	b := in.Body
	p := b.profile()
	p.Email = &b.Email
	d, err := s.deps.Users.CreateUser(ctx, actorFrom(ctx), user.CreateInput{Profile: p, Password: b.Password,
		RoleIDs: b.Roles, GroupIDs: b.Groups})
	if err != nil {
		return nil, err
	}
	return userOut(d), nil
}

type updateUserInput struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match" doc:"The user's ETag as you read it. Required."`
	Body    struct {
		Email *string `json:"email,omitempty" doc:"Only while the user has no other source's ownership; a local user's email cannot change."`
		ProfileFields
		Roles  *[]string `json:"roles,omitempty" doc:"The direct role ids, replacing the current ones."`
		Groups *[]string `json:"groups,omitempty" doc:"The group ids, replacing the current memberships."`
	}
}

func (s *Server) updateUser(ctx context.Context, in *updateUserInput) (*userOutput, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	p := in.Body.profile()
	p.Email = in.Body.Email
	d, err := s.deps.Users.UpdateUser(ctx, actorFrom(ctx), in.ID, v, user.Patch{Profile: p, RoleIDs: in.Body.Roles, GroupIDs: in.Body.Groups})
	if err != nil {
		return nil, err
	}
	return userOut(d), nil
}

type deleteInput struct {
	ID      string `path:"id"`
	IfMatch string `header:"If-Match" doc:"The ETag as you read it. Required."`
}

func (s *Server) deleteUser(ctx context.Context, in *deleteInput) (*struct{}, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	return nil, s.deps.Users.DeleteUser(ctx, actorFrom(ctx), in.ID, v)
}

// changeStatus returns the handler of one status action.
func (s *Server) changeStatus(ev user.Event) func(context.Context, *idPath) (*userOutput, error) {
	return func(ctx context.Context, in *idPath) (*userOutput, error) {
		d, err := s.deps.Users.ChangeStatus(ctx, actorFrom(ctx), in.ID, ev)
		if err != nil {
			return nil, err
		}
		return userOut(d), nil
	}
}

type bulkInput struct {
	Body struct {
		Action string   `json:"action" enum:"set_roles,add_roles,remove_roles,disable,enable,lock,unlock,delete,reset_password"`
		IDs    []string `json:"ids" nullable:"false" maxItems:"1000" doc:"The users, at most 1000."`
		Roles  []string `json:"roles,omitempty" nullable:"false" doc:"Role ids, for set_roles, add_roles and remove_roles."`
	}
}

type bulkItem struct {
	ID     string    `json:"id"`
	OK     bool      `json:"ok"`
	Status int       `json:"status" doc:"The HTTP status this item alone would have had."`
	User   *userBody `json:"user,omitempty"`
	Error  *Problem  `json:"error,omitempty"`
}

type bulkOutput struct {
	Body struct {
		Succeeded int        `json:"succeeded"`
		Failed    int        `json:"failed"`
		Results   []bulkItem `json:"results"`
	}
}

func (s *Server) bulkUsers(ctx context.Context, in *bulkInput) (*bulkOutput, error) {
	results, err := s.deps.Users.Bulk(ctx, actorFrom(ctx), user.BulkRequest{Action: in.Body.Action, IDs: in.Body.IDs, RoleIDs: in.Body.Roles})
	if err != nil {
		return nil, err
	}
	out := &bulkOutput{}
	out.Body.Results = make([]bulkItem, 0, len(results))
	for _, r := range results {
		item := bulkItem{ID: r.ID, OK: r.Error == nil, Status: http.StatusOK}
		if r.Error != nil {
			p := newProblem(ctx, http.StatusInternalServerError, "unexpected error occurred", r.Error)
			item.Error, item.Status = p, p.Status
			out.Body.Failed++
		} else {
			out.Body.Succeeded++
			if r.User != nil {
				b := toUser(r.User)
				item.User = &b
			} else {
				item.Status = http.StatusNoContent
			}
		}
		out.Body.Results = append(out.Body.Results, item)
	}
	return out, nil
}
