package store

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/usherhq/usher/internal/errs"
)

// uniqueRules maps each unique index to the error a person sees when a write breaks it. SQLite
// names the columns in its message, PostgreSQL the index; both are listed.
var uniqueRules = []struct {
	sqlite, postgres string
	field, code, msg string
}{
	{"users.username_lower", "users_username_lower_key", "username", "user.username_taken", "This username is already taken."},
	{"users.email_lower", "users_email_lower_key", "email", "user.email_taken", "This email address already belongs to a user."},
	{"users.username_skeleton", "users_username_skeleton_key", "username", "user.lookalike", "This username looks like the username or email address of another user. Choose another username."},
	{"users.email_skeleton", "users_email_skeleton_key", "email", "user.lookalike", "This email address looks like the email address or username of another user. Use another address."},
	{"users.source, users.external_id", "users_external_key", "external_id", "user.external_id_taken", "Another user from this source has this external id."},
	{"users.default_admin", "users_default_admin_key", "", "user.default_admin_exists", "There is already a Default Administrator."},
	{"roles.name_lower", "roles_name_lower_key", "name", "role.name_taken", "A role with this name already exists."},
	{"groups.name_lower", "groups_name_lower_key", "name", "group.name_taken", "A group with this name already exists."},
	{"groups.source, groups.external_id", "groups_external_key", "external_id", "group.external_id_taken", "Another group has this external id."},
	{"fields.name", "fields_pkey", "name", "field.name_taken", "A custom field with this name already exists."},
	{"directories.name_key", "directories_name_key", "name", "directory.name_taken", "A directory with this name already exists."},
	{"directory_runs.directory_id", "directory_runs_active_key", "", "directory.sync_running", "A sync of this directory is already queued or running: wait for it to finish."},
	{"api_tokens.hash", "api_tokens_hash_key", "", "token.collision", "Please try again."},
}

// mapError turns driver errors into usher's: unique violations become conflicts on the field.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		for _, r := range uniqueRules {
			if pgErr.ConstraintName == r.postgres {
				return conflict(r.field, r.code, r.msg, err)
			}
		}
		return &errs.Error{Kind: errs.Conflict, Code: "conflict", Message: "This already exists.", Err: err}
	}
	if errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
		return &errs.Error{Kind: errs.Conflict, Code: "store.concurrent_change",
			Message: "Another change to the same users, roles, groups or fields ran at the same moment; nothing was changed. Try again.", Err: err}
	}
	if msg := err.Error(); strings.Contains(msg, "UNIQUE constraint failed") {
		for _, r := range uniqueRules {
			if strings.Contains(msg, r.sqlite) {
				return conflict(r.field, r.code, r.msg, err)
			}
		}
		return &errs.Error{Kind: errs.Conflict, Code: "conflict", Message: "This already exists.", Err: err}
	}
	return err
}

func conflict(field, code, msg string, cause error) error {
	e := &errs.Error{Kind: errs.Conflict, Code: code, Message: msg, Err: cause}
	if field != "" {
		e.Fields = []errs.FieldError{{Field: field, Code: code, Message: msg}}
	}
	return e
}

func notFound(what string) error {
	return errs.E(errs.NotFound, what+".not_found", "There is no such "+what+".")
}

func stale(what string) error {
	return errs.E(errs.PreconditionFailed, "version.stale",
		"This "+what+" was changed by someone else since you read it. Reload and try again.")
}
