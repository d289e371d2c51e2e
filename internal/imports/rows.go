package imports

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// rows applies the rows of one import through user.Service: the preview does it in a
// transaction that is rolled back, the job in one that commits. Either way each row runs in a
// savepoint of its own, so that a refused row leaves nothing behind and the batch goes on.
type rows struct {
	s     *Service
	imp   *Import
	at    map[Column]int // the cell index of each column the file has
	roles map[string]user.Role
	group map[string]user.GroupRef
	// Only while planning: the rows seen so far, by the look-up key of their email and of their
	// username, to refuse a person listed twice; and the logins the file creates so far, which
	// a later row may name as its manager before they exist.
	dry      bool
	careful  bool // each run of new users in a savepoint (see applyAll)
	seed     maphash.Seed
	emails   map[uint64]int64
	names    map[uint64]int64
	creating map[uint64]bool
}

func newRows(s *Service, imp *Import, dry bool) *rows {
	r := &rows{s: s, imp: imp, at: map[Column]int{}, dry: dry}
	for i, c := range imp.Columns {
		if c != "" {
			r.at[c] = i
		}
	}
	if dry {
		r.seed = maphash.MakeSeed()
		r.emails, r.names, r.creating = map[uint64]int64{}, map[uint64]int64{}, map[uint64]bool{}
	}
	return r
}

// catalog reads the roles and groups that rows name, by name in lower case.
func (r *rows) catalog(ctx context.Context) error {
	roles, err := r.s.store.Roles(ctx)
	if err != nil {
		return err
	}
	groups, err := r.s.store.GroupNames(ctx)
	if err != nil {
		return err
	}
	r.roles, r.group = make(map[string]user.Role, len(roles)), make(map[string]user.GroupRef, len(groups))
	for _, x := range roles {
		r.roles[strings.ToLower(x.Name)] = x
	}
	for _, g := range groups {
		r.group[strings.ToLower(g.Name)] = g
	}
	return nil
}

// cell is the value of a column in a row, and whether the file has that column. Spaces around
// it are taken away, except in a custom field's value, which the field's own rules judge as
// it is (a text field keeps a leading tab).
func (r *rows) cell(cells []string, c Column) (string, bool) {
	i, ok := r.at[c]
	if !ok {
		return "", false
	}
	if i >= len(cells) {
		return "", true
	}
	if _, custom := c.FieldName(); custom {
		return cells[i], true
	}
	return strings.TrimSpace(cells[i]), true
}

// errRollback ends a planning transaction: what it wrote was only to see what would happen.
var errRollback = errors.New("imports: planned, not applied")

// plan gives each row its planned outcome by applying the rows and rolling back.
func (r *rows) plan(ctx context.Context, a user.Actor, batch []Row) error {
	err := r.s.store.InTx(ctx, func(ctx context.Context) error {
		outs, err := r.applyAll(ctx, a, batch, func(row *Row) bool { return row.Plan == Error }) // unreadable: the reader said why
		if err != nil {
			return err
		}
		for i, o := range outs {
			if o != "" {
				batch[i].Plan, batch[i].UserID = o, "" // the user it would be is rolled back
			}
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		return err
	}
	return r.s.store.InsertImportRows(ctx, r.imp.ID, batch)
}

// applyAll applies a batch's rows, but those skip says to leave, in file order, and returns
// each row's outcome (empty for one left). Runs of rows that each create a user without an
// invitation or a manager are created together (user.Service.CreateUsers), in a savepoint;
// should that fail as a whole (a name taken meanwhile by another change), its rows are applied
// one by one. Every other row is applied alone, in a savepoint of its own.
func (r *rows) applyAll(ctx context.Context, a user.Actor, batch []Row, skip func(*Row) bool) ([]Outcome, error) {
	if err := r.catalog(ctx); err != nil {
		return nil, err
	}
	outs := make([]Outcome, len(batch))
	var run []int // rows waiting to be created together
	var inputs []user.CreateInput
	read := make([]readRow, len(batch))
	flush := func() error {
		if len(run) == 0 {
			return nil
		}
		defer func() { run, inputs = run[:0], inputs[:0] }()
		create := r.s.users.CreateUsers
		if r.dry {
			create = r.s.users.CheckUsers // the preview: what it would do, written or not
		}
		// The job creates a run without a savepoint (on SQLite a savepoint makes every later
		// statement of the transaction pay for its journal); if the run fails as a whole, the
		// batch is rolled back and done again carefully, each run in a savepoint.
		inSavepoint := r.s.store.Savepoint
		if !r.dry && !r.careful {
			inSavepoint = func(ctx context.Context, f func(context.Context) error) error {
				if err := f(ctx); err != nil {
					return fmt.Errorf("%w: %w", errRedoCarefully, err)
				}
				return nil
			}
		}
		err := inSavepoint(ctx, func(ctx context.Context) error {
			res, err := create(ctx, a, inputs)
			if err != nil {
				return err
			}
			for k, i := range run {
				if res[k].Err != nil {
					r.problem(&batch[i], r.taken(res[k].Err))
					outs[i] = Error
					continue
				}
				batch[i].UserID, outs[i] = res[k].User.ID, Create
			}
			return nil
		})
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || errors.Is(err, errRedoCarefully) {
			return err
		}
		for _, i := range run {
			batch[i].Field, batch[i].Value, batch[i].Reason, batch[i].UserID = "", "", "", ""
			o, err := r.apply(ctx, a, &batch[i], read[i])
			if err != nil {
				return err
			}
			outs[i] = o
		}
		return nil
	}
	for i := range batch {
		row := &batch[i]
		if skip(row) {
			continue
		}
		rr, o, done := r.read(row)
		if done {
			outs[i] = o
			continue
		}
		read[i] = rr
		if rr.action == Create && !r.imp.Invitations && !r.imp.Invite && (rr.p.Manager == nil || *rr.p.Manager == "") {
			run = append(run, i)
			inputs = append(inputs, user.CreateInput{Profile: rr.p, RoleIDs: rr.roles, GroupIDs: rr.groups})
			continue
		}
		if err := flush(); err != nil { // a manager may be among them
			return nil, err
		}
		o, err := r.apply(ctx, a, row, rr)
		if err != nil {
			return nil, err
		}
		outs[i] = o
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return outs, nil
}

// apply applies one row that read has read, in a savepoint, and returns its outcome, with the
// row's Field, Value, Reason and UserID set. An error is returned only for what is not the
// row's fault (the database failed): the batch then stops.
func (r *rows) apply(ctx context.Context, a user.Actor, row *Row, rr readRow) (Outcome, error) {
	var o Outcome
	err := r.s.store.Savepoint(ctx, func(ctx context.Context) error {
		var err error
		o, err = r.applyOne(ctx, a, row, rr)
		if err == nil && (o == Error || o == Skip) {
			// Nothing of the row stays: on PostgreSQL a statement that failed on the way (a
			// unique index that caught a race) would otherwise spoil the transaction.
			err = errRowRefused
		}
		return err
	})
	switch {
	case errors.Is(err, errRowRefused):
		return o, nil
	case err == nil:
		return o, nil
	}
	if e, ok := errs.As(err); ok && e.Kind != errs.Internal && e.Kind != errs.Unavailable && e.Kind != errs.TooMany &&
		e.Code != "store.concurrent_change" { // a deadlock or a serialisation failure: the batch runs again
		r.problem(row, err)
		return Error, nil
	}
	return "", err
}

var errRowRefused = errors.New("imports: row refused")

// readRow is a row as read from its cells: its action, the person's email, and what it sets.
type readRow struct {
	action        Outcome
	email         string
	p             user.Profile
	roles, groups []string
}

// read reads a row and checks what the file alone can tell: an empty row, no email, an unknown
// action, a person an earlier row names (while planning), an unknown role or group. done is set,
// with the row's outcome, when there is nothing to apply.
func (r *rows) read(row *Row) (rr readRow, o Outcome, done bool) {
	blank := true
	for i, c := range row.Cells {
		if strings.TrimSpace(c) != "" && (i >= len(r.imp.Columns) || r.imp.Columns[i] != Reason) {
			blank = false
			break
		}
	}
	if blank {
		row.Reason = "The row is empty."
		return rr, Skip, true
	}
	rr.email, _ = r.cell(row.Cells, Email)
	if rr.email == "" {
		r.refuse(row, Email, "Enter the person's email address: usher finds or creates each person by it.")
		return rr, Error, true
	}
	var err error
	if rr.action, err = r.action(row); err != nil {
		return rr, Error, true
	}
	if r.dry && r.duplicate(row, rr.email, rr.action) {
		return rr, Error, true
	}
	var ok bool
	if rr.p, rr.roles, rr.groups, ok = r.profile(row, rr.action); !ok {
		return rr, Error, true
	}
	return rr, "", false
}

// applyOne is one row's work: what its action asks, through user.Service or the invitations.
func (r *rows) applyOne(ctx context.Context, a user.Actor, row *Row, rr readRow) (Outcome, error) {
	action, email, p, roles, groups := rr.action, rr.email, rr.p, rr.roles, rr.groups
	switch {
	case r.imp.Invitations || action == Create && r.imp.Invite:
		in := user.InviteInput{Email: email, RoleIDs: roles, GroupIDs: groups}
		if !r.imp.Invitations {
			in.Profile = p
		}
		d, err := r.s.invites.InviteOne(ctx, a, in)
		if e, ok := errs.As(err); ok && r.imp.Invitations && e.Code == "invitation.email_taken" {
			row.Reason = "This person is a user already: no invitation was sent."
			return Skip, nil
		}
		if err != nil {
			return Error, r.taken(err)
		}
		row.UserID = d.ID
		return Create, nil
	case action == Create:
		d, err := r.s.users.CreateUser(ctx, a, user.CreateInput{Profile: p, RoleIDs: roles, GroupIDs: groups, Brief: true})
		if err != nil {
			return Error, r.taken(err)
		}
		row.UserID = d.ID
		return Create, nil
	}
	cur, err := r.s.users.UserByLogin(ctx, a, email)
	if errs.Is(errs.NotFound, err) || err == nil && !strings.EqualFold(cur.Email, email) {
		// A username equal to this address is not the person the row names.
		hint := " To add them, write New in the Action column."
		if action == Delete {
			hint = ""
		}
		r.refuse(row, Email, "No user has this email address."+hint)
		return Error, nil
	} else if err != nil {
		return Error, err
	}
	row.UserID = cur.ID
	if cur.DefaultAdmin {
		r.refuse(row, Email, "The Default Administrator cannot be changed or deleted by an import: change them on their own page.")
		return Error, nil
	}
	if cur.SourceOwned() {
		r.refuse(row, Email, "This user comes from "+sourceWords[cur.Source]+", which owns them: change or remove them there.")
		return Error, nil
	}
	if action == Delete {
		if err := r.s.users.DeleteUser(ctx, a, cur.ID, user.AnyVersion); err != nil {
			return Error, err
		}
		return Delete, nil
	}
	patch := user.Patch{Profile: p, Brief: true}
	if roles != nil {
		patch.RoleIDs = &roles
	}
	if groups != nil {
		patch.GroupIDs = &groups
	}
	d, err := r.s.users.UpdateUser(ctx, a, cur.ID, user.AnyVersion, patch)
	if err != nil {
		return Error, err
	}
	if d.Version == cur.Version {
		row.Reason = "Nothing to change: the row matches the user."
		return Skip, nil
	}
	return Update, nil
}

// sourceWords names where a user who is not local comes from.
var sourceWords = map[user.Source]string{user.Directory: "a directory (LDAP or Active Directory)", user.SCIM: "an identity provider (SCIM)"}

// taken adds to "this email is taken" what an import can do about it.
func (r *rows) taken(err error) error {
	e, ok := errs.As(err)
	if !ok || e.Code != "user.email_taken" && e.Code != "invitation.email_taken" {
		return err
	}
	const hint = " To change this user, write Update in the Action column."
	c := *e
	c.Message += hint
	c.Fields = append([]errs.FieldError(nil), e.Fields...)
	for i := range c.Fields {
		c.Fields[i].Message += hint
	}
	return &c
}

// action reads the row's action: New (also an empty cell), Update or Delete.
func (r *rows) action(row *Row) (Outcome, error) {
	v, _ := r.cell(row.Cells, Action)
	switch strings.ToLower(v) {
	case "", "new", "create", "add", "insert":
		return Create, nil
	case "update", "edit", "modify", "change":
		return Update, nil
	case "delete", "remove":
		return Delete, nil
	}
	r.refuse(row, Action, "The action must be New, Update or Delete (an empty cell means New).")
	return Error, errRowRefused
}

// duplicate refuses a row that names a person an earlier row of the file names already.
func (r *rows) duplicate(row *Row, email string, action Outcome) bool {
	key := maphash.String(r.seed, user.DuplicateKey(email))
	if first, seen := r.emails[key]; seen {
		r.refuse(row, Email, "Row "+itoa(first)+" has this email address already: each person may be in the file once.")
		return true
	}
	username, _ := r.cell(row.Cells, Username)
	var ukey uint64
	if username != "" {
		ukey = maphash.String(r.seed, user.DuplicateKey(username))
		if first, seen := r.names[ukey]; seen {
			r.refuse(row, Username, "Row "+itoa(first)+" has this username already: each person may be in the file once.")
			return true
		}
		r.names[ukey] = row.No
	}
	r.emails[key] = row.No
	if action == Create {
		r.creating[key] = true
		if username != "" {
			r.creating[ukey] = true
		}
	}
	return false
}

// profile reads the row's attributes into a profile, and its roles and groups into ids (nil
// when the file has no such column, and when a new user's cell is empty: they get the
// defaults). A column the file has sets the attribute, an empty cell clearing it, except that
// an empty name leaves an existing user's name as it is.
func (r *rows) profile(row *Row, action Outcome) (p user.Profile, roles, groups []string, ok bool) {
	if action == Delete {
		return p, nil, nil, true
	}
	set := func(dst **string, c Column, emptyKeeps bool) {
		if v, has := r.cell(row.Cells, c); has && (v != "" || !emptyKeeps) {
			*dst = &v
		}
	}
	set(&p.Username, Username, true)
	email, _ := r.cell(row.Cells, Email)
	p.Email = &email
	set(&p.FirstName, FirstName, action != Create)
	set(&p.LastName, LastName, action != Create)
	if full, has := r.cell(row.Cells, FullName); has && (full != "" || action == Create) {
		first, last := SplitName(full)
		p.FirstName, p.LastName = &first, &last
	}
	set(&p.Phone, Phone, false)
	set(&p.Department, Department, false)
	if m, has := r.cell(row.Cells, Manager); has {
		if r.dry && m != "" && r.creating[maphash.String(r.seed, user.DuplicateKey(m))] {
			// Created by an earlier row: it exists when this row is applied.
		} else {
			p.Manager = &m
		}
	}
	for c := range r.at {
		if name, isField := c.FieldName(); isField {
			v, _ := r.cell(row.Cells, c)
			if p.Custom == nil {
				p.Custom = map[string]*string{}
			}
			p.Custom[name] = &v
		}
	}
	if action == Update {
		p.Email = nil // found by it; an address never changes (user.Service says so)
	}
	var good bool
	if roles, good = r.ids(row, Roles, action, func(name string) (string, bool) {
		x, ok := r.roles[strings.ToLower(name)]
		return x.ID, ok
	}); !good {
		return p, nil, nil, false
	}
	if groups, good = r.ids(row, Groups, action, func(name string) (string, bool) {
		g, ok := r.group[strings.ToLower(name)]
		return g.ID, ok
	}); !good {
		return p, nil, nil, false
	}
	return p, roles, groups, true
}

// ids reads a cell of role or group names into ids. Names are separated by semicolons, or by
// commas in a cell without a semicolon (a name with a comma in it is found whole first).
func (r *rows) ids(row *Row, c Column, action Outcome, find func(string) (string, bool)) ([]string, bool) {
	v, has := r.cell(row.Cells, c)
	if !has || v == "" && action == Create {
		return nil, true
	}
	var names []string
	switch {
	case v == "":
	case strings.Contains(v, ";"):
		names = strings.Split(v, ";")
	default:
		if _, whole := find(v); whole {
			names = []string{v}
		} else {
			names = strings.Split(v, ",")
		}
	}
	out := []string{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		id, ok := find(n)
		if !ok {
			what := "role"
			if c == Groups {
				what = "group"
			}
			r.refuse(row, c, "There is no "+what+" called \""+n+"\". Create it first, or correct the name.")
			return nil, false
		}
		out = append(out, id)
	}
	return out, true
}

// refuse records why a row is refused and the cell it is about.
func (r *rows) refuse(row *Row, c Column, reason string) {
	row.Field, row.Value, row.Reason = "", "", reason
	if i, ok := r.at[c]; ok {
		row.Field = r.imp.Header[i]
		if i < len(row.Cells) {
			row.Value = row.Cells[i]
		}
	}
}

// problem records an error of user.Service as the row's reason, about the cell of the first
// field it names; the others follow in the reason.
func (r *rows) problem(row *Row, err error) {
	e, _ := errs.As(err)
	if len(e.Fields) == 0 {
		r.refuse(row, "", e.Message)
		return
	}
	first := e.Fields[0]
	r.refuse(row, r.columnOf(first.Field), first.Message)
	for _, fe := range e.Fields[1:] {
		name := fe.Field
		if i, ok := r.at[r.columnOf(fe.Field)]; ok {
			name = r.imp.Header[i]
		}
		row.Reason += " Also " + strings.TrimSpace(strings.TrimSuffix(name, "*")) + ": " + fe.Message
	}
}

// columnOf is the column that gives a field user.Service names in an error.
func (r *rows) columnOf(field string) Column {
	if name, ok := strings.CutPrefix(field, "custom."); ok {
		return Field(name)
	}
	c := map[string]Column{"email": Email, "username": Username, "first_name": FirstName, "last_name": LastName,
		"phone": Phone, "department": Department, "manager": Manager, "manager_id": Manager,
		"roles": Roles, "groups": Groups}[field]
	if (c == FirstName || c == LastName) && r.at[FullName] >= 0 {
		if _, split := r.at[FullName]; split {
			return FullName
		}
	}
	return c
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
