package api

import (
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/usherhq/usher/internal/user"
)

// routes lists every operation of the API with the permission it needs. "public" needs nothing;
// "authenticated" needs a signed-in user and leaves the rest to the service (a user may read
// themselves; a bulk action needs the permission of its action). may names the problems an
// operation answers with beyond those its shape implies (see documentProblems).
func (s *Server) routes() {
	a := s.api
	const (
		get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	)
	read, write := string(user.UsersRead), string(user.UsersWrite)

	huma.Register(a, may(op("login", post, "/api/v1/auth/login", "Sign in with a password", public, "auth"), http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests), s.login)
	huma.Register(a, op("logout", post, "/api/v1/auth/logout", "Sign out (end this session)", authenticated, "auth"), s.logout)
	huma.Register(a, op("me", get, "/api/v1/auth/me", "The signed-in user and their permissions", authenticated, "auth"), s.me)
	huma.Register(a, may(accepted(op("request-password-reset", post, "/api/v1/auth/password-reset", "Email a password reset link (the same answer whether or not the account exists)", public, "auth")), http.StatusTooManyRequests), s.requestReset)
	huma.Register(a, may(noContent(op("confirm-password-reset", post, "/api/v1/auth/password-reset/confirm", "Set a new password with a reset link's token", public, "auth")), http.StatusTooManyRequests), s.confirmReset)
	huma.Register(a, may(noContent(op("change-password", post, "/api/v1/auth/password", "Change your own password (every session ends)", authenticated, "auth")), http.StatusForbidden, http.StatusTooManyRequests), s.changePassword)
	huma.Register(a, op("list-sessions", get, "/api/v1/auth/sessions", "Your sessions", authenticated, "auth"), s.listSessions)
	huma.Register(a, noContent(op("end-session", del, "/api/v1/auth/sessions/{id}", "End one of your sessions", authenticated, "auth")), s.endSession)
	huma.Register(a, may(created(op("setup", post, "/api/v1/setup", "Create the Default Administrator with the one-time setup token", public, "auth")), http.StatusForbidden, http.StatusConflict, http.StatusTooManyRequests), s.setup)

	huma.Register(a, may(created(op("create-token", post, "/api/v1/tokens", "Make an API token (shown once)", authenticated, "tokens")), http.StatusForbidden), s.createToken)
	huma.Register(a, op("list-tokens", get, "/api/v1/tokens", "Your API tokens", authenticated, "tokens"), s.listTokens)
	huma.Register(a, noContent(op("revoke-token", del, "/api/v1/tokens/{id}", "Revoke an API token", authenticated, "tokens")), s.revokeToken)

	huma.Register(a, op("list-users", get, "/api/v1/users", "Search, filter, sort and page through users", read, "users"), s.listUsers)
	imp := string(user.ImportRun)
	huma.Register(a, may(s.stageImportOp(op("stage-import", post, "/api/v1/imports", "Upload a file of users: it is read into a staged import and previewed, row by row (start-import applies it)", imp, "imports")), http.StatusRequestEntityTooLarge, http.StatusLengthRequired), s.stageImport)
	huma.Register(a, op("list-imports", get, "/api/v1/imports", "The import history, newest first", imp, "imports"), s.listImports)
	huma.Register(a, op("get-import", get, "/api/v1/imports/{id}", "One import: where it stands and its counts (poll it for progress)", imp, "imports"), s.getImport)
	huma.Register(a, may(op("start-import", post, "/api/v1/imports/{id}/start", "Start applying a staged import in the background (starting twice starts one job)", imp, "imports"), http.StatusForbidden, http.StatusConflict), s.startImport)
	huma.Register(a, may(op("cancel-import", post, "/api/v1/imports/{id}/cancel", "Cancel an import: it stops before its next batch; the rows applied stay", imp, "imports"), http.StatusConflict), s.cancelImport)
	huma.Register(a, op("import-report", get, "/api/v1/imports/{id}/report", "An import's totals and each row that failed or was skipped, with the reason", imp, "imports"), s.importReport)
	huma.Register(a, failedRowsResponse(op("import-failed-rows", get, "/api/v1/imports/{id}/failed-rows", "Download the rows that were not imported (refused, or left by a cancel or a failure), with a Reason column, to correct and upload again", imp, "imports")), s.importFailedRows)
	dir := string(user.DirectoryManage)
	huma.Register(a, op("list-directories", get, "/api/v1/directories", "The directories users are synchronised from (LDAP and Active Directory), by name", dir, "directories"), s.listDirectories)
	huma.Register(a, may(created(op("create-directory", post, "/api/v1/directories", "Add a directory; its settings must pass the connection test first (left-out rules and mapping come from the kind's preset)", dir, "directories")), http.StatusConflict), s.createDirectory)
	huma.Register(a, op("get-directory", get, "/api/v1/directories/{id}", "One directory (its bind password is never returned)", dir, "directories"), s.getDirectory)
	huma.Register(a, may(op("update-directory", patch, "/api/v1/directories/{id}", "Change a directory; a change of host, port or security needs the bind password again, and a changed connection is tested before it is saved", dir, "directories"), http.StatusConflict), s.updateDirectory)
	huma.Register(a, noContent(may(op("delete-directory", del, "/api/v1/directories/{id}", "Forget a directory: its users stay, as local users (the same as reset-directory); refused while a sync is queued or running", dir, "directories"), http.StatusConflict)), s.deleteDirectory)
	huma.Register(a, op("test-directory-settings", post, "/api/v1/directories/test", "Test unsaved connection settings: connect, TLS, bind, read the base DN; the answer says which step failed and why", dir, "directories"), s.testDirectorySettings)
	huma.Register(a, op("test-directory", post, "/api/v1/directories/{id}/test", "Test a saved directory's connection with its saved password", dir, "directories"), s.testDirectory)
	huma.Register(a, may(op("list-directory-ous", get, "/api/v1/directories/{id}/ous", "Browse the organisation units under the base DN, to choose the scope", dir, "directories"), http.StatusBadGateway), s.listDirectoryOUs)
	huma.Register(a, may(op("sync-directory", post, "/api/v1/directories/{id}/sync", "Sync now in the background (at most one sync of a directory runs at once), or with dry_run answer with the plan and write nothing", dir, "directories"), http.StatusConflict, http.StatusBadGateway), s.syncDirectory)
	huma.Register(a, op("list-directory-runs", get, "/api/v1/directories/{id}/runs", "A directory's sync history, newest first: who started each, its counts, errors and duration", dir, "directories"), s.listDirectoryRuns)
	huma.Register(a, op("get-directory-run", get, "/api/v1/directories/{id}/runs/{run}", "One sync: where it stands and its counts (poll it for progress)", dir, "directories"), s.getDirectoryRun)
	huma.Register(a, op("get-directory-status", get, "/api/v1/directories/{id}/status", "Where a directory's syncs stand: the last sync, the one running, the next scheduled one, its users by status, the OUs in scope and the last errors", dir, "directories"), s.directoryStatus)
	huma.Register(a, may(op("reset-directory", post, "/api/v1/directories/{id}/reset", "Reset a directory: forget its configuration, bind password and sync history, and keep its users as local users (editable again, able to get a password reset); refused while a sync is queued or running", dir, "directories"), http.StatusConflict), s.resetDirectory)
	huma.Register(a, may(op("confirm-directory-run", post, "/api/v1/directories/{id}/runs/{run}/confirm", "Confirm a sync the safety rules held (it would disable or delete more than the threshold, or saw no users): it runs again and applies", dir, "directories"), http.StatusConflict), s.confirmDirectoryRun)
	huma.Register(a, op("list-jobs", get, "/api/v1/jobs", "Background jobs you may see (imports and directory syncs), newest first, with their progress", authenticated, "jobs"), s.listJobs)
	huma.Register(a, templateResponse(op("import-template", get, "/api/v1/imports/template", "Download an empty import file: the header row, with this installation's custom fields", string(user.ImportRun), "imports")), s.importTemplate)
	huma.Register(a, usersExportResponse(op("export-users", get, "/api/v1/users/export", "Download the users the filters of list-users select, as CSV or XLSX in the import format (needs users.read too; the export is audited)", string(user.ExportRun), "users")), s.exportUsers)
	huma.Register(a, may(created(op("create-user", post, "/api/v1/users", "Create a local user", write, "users")), http.StatusConflict, http.StatusTooManyRequests), s.createUser)
	huma.Register(a, op("count-users", get, "/api/v1/users/counts", "Number of users in each status", read, "users"), s.countUsers)
	huma.Register(a, may(bodyLimit(op("bulk-users", post, "/api/v1/users/bulk", "Apply one action to many users, with a result per user", authenticated, "users"), idListBody), http.StatusForbidden), s.bulkUsers)
	huma.Register(a, may(op("get-user", get, "/api/v1/users/{id}", "One user with effective roles and groups", authenticated, "users"), http.StatusForbidden), s.getUser)
	huma.Register(a, may(op("update-user", patch, "/api/v1/users/{id}", "Change a user's profile, direct roles or groups", write, "users"), http.StatusConflict), s.updateUser)
	huma.Register(a, may(noContent(op("delete-user", del, "/api/v1/users/{id}", "Delete a user permanently", string(user.UsersDelete), "users")), http.StatusConflict), s.deleteUser)
	for _, ev := range []user.Event{user.Lock, user.Unlock, user.Disable, user.Enable} {
		name := string(ev)
		huma.Register(a, may(op(name+"-user", post, "/api/v1/users/{id}/"+name, statusSummary[ev], string(user.UsersLock), "users"), http.StatusConflict), s.changeStatus(ev))
	}
	huma.Register(a, may(noContent(op("send-password-reset", post, "/api/v1/users/{id}/reset-password", "Email a user a password reset link", string(user.UsersLock), "users")), http.StatusConflict), s.sendReset)
	invite := string(user.UsersInvite)
	huma.Register(a, may(bodyLimit(op("invite", post, "/api/v1/invitations", "Invite up to 100 people by email, with a result per address", invite, "invitations"), idListBody)), s.invite)
	huma.Register(a, may(op("accept-invitation", post, "/api/v1/invitations/accept", "Accept an invitation: set your name and password, and sign in", public, "invitations"), http.StatusForbidden, http.StatusTooManyRequests), s.acceptInvitation)
	huma.Register(a, may(noContent(op("resend-invitation", post, "/api/v1/users/{id}/invitation/resend", "Email an invited user a new link (earlier links stop working)", invite, "invitations")), http.StatusConflict, http.StatusTooManyRequests), s.resendInvitation)
	huma.Register(a, may(noContent(op("revoke-invitation", post, "/api/v1/users/{id}/invitation/revoke", "End an invited user's links (the user stays invited)", invite, "invitations")), http.StatusConflict), s.revokeInvitation)
	huma.Register(a, may(op("invitation-link", post, "/api/v1/users/{id}/invitation/link", "A fresh invitation link to hand over yourself (earlier links stop working)", invite, "invitations"), http.StatusConflict), s.invitationLink)
	huma.Register(a, op("user-audit", get, "/api/v1/users/{id}/audit", "The audit trail of one user", string(user.AuditRead), "audit"), s.userAudit)

	huma.Register(a, op("list-roles", get, "/api/v1/roles", "Built-in and custom roles", read, "roles"), s.listRoles)
	huma.Register(a, may(created(op("create-role", post, "/api/v1/roles", "Create a custom role", string(user.RolesManage), "roles")), http.StatusConflict), s.createRole)
	huma.Register(a, op("get-role", get, "/api/v1/roles/{id}", "One role", read, "roles"), s.getRole)
	huma.Register(a, may(op("update-role", patch, "/api/v1/roles/{id}", "Change a custom role", string(user.RolesManage), "roles"), http.StatusConflict), s.updateRole)
	huma.Register(a, may(noContent(op("delete-role", del, "/api/v1/roles/{id}", "Delete a custom role", string(user.RolesManage), "roles")), http.StatusConflict), s.deleteRole)
	huma.Register(a, op("list-permissions", get, "/api/v1/permissions", "The permission catalogue", authenticated, "roles"), s.listPermissions)

	huma.Register(a, op("list-groups", get, "/api/v1/groups", "Groups", read, "groups"), s.listGroups)
	huma.Register(a, may(created(op("create-group", post, "/api/v1/groups", "Create a group", string(user.GroupsManage), "groups")), http.StatusConflict), s.createGroup)
	huma.Register(a, op("get-group", get, "/api/v1/groups/{id}", "One group with its roles", read, "groups"), s.getGroup)
	huma.Register(a, may(op("update-group", patch, "/api/v1/groups/{id}", "Change a group and its roles", string(user.GroupsManage), "groups"), http.StatusConflict), s.updateGroup)
	huma.Register(a, may(noContent(op("delete-group", del, "/api/v1/groups/{id}", "Delete a group (its members stay)", string(user.GroupsManage), "groups")), http.StatusConflict), s.deleteGroup)
	huma.Register(a, may(bodyLimit(op("add-group-members", post, "/api/v1/groups/{id}/members/add", "Add users to a group", string(user.GroupsManage), "groups"), idListBody), http.StatusConflict), s.changeMembers(true))
	huma.Register(a, may(bodyLimit(op("remove-group-members", post, "/api/v1/groups/{id}/members/remove", "Remove users from a group", string(user.GroupsManage), "groups"), idListBody), http.StatusConflict), s.changeMembers(false))

	huma.Register(a, op("list-fields", get, "/api/v1/fields", "Custom profile fields", read, "fields"), s.listFields)
	huma.Register(a, may(created(op("create-field", post, "/api/v1/fields", "Define a custom profile field", string(user.FieldsManage), "fields")), http.StatusConflict), s.createField)
	huma.Register(a, may(op("update-field", patch, "/api/v1/fields/{name}", "Change a custom field", string(user.FieldsManage), "fields"), http.StatusConflict), s.updateField)
	huma.Register(a, may(noContent(op("delete-field", del, "/api/v1/fields/{name}", "Delete a custom field and its values", string(user.FieldsManage), "fields")), http.StatusConflict), s.deleteField)

	huma.Register(a, op("list-outbox", get, "/api/v1/mail/outbox", "Emails usher sent, is retrying or gave up on (never their content)", string(user.SettingsManage), "mail"), s.listOutbox)
	huma.Register(a, op("list-audit", get, "/api/v1/audit", "The audit log, newest first", string(user.AuditRead), "audit"), s.listAudit)
	huma.Register(a, exportResponse(op("export-audit", get, "/api/v1/audit/export", "Download the audit log as CSV or JSON, with the filters of list-audit (the export is audited)", string(user.AuditRead), "audit")), s.exportAudit)
}

var statusSummary = map[user.Event]string{
	user.Lock:    "Lock a user (sessions end)",
	user.Unlock:  "Unlock a user",
	user.Disable: "Disable a user (sessions end)",
	user.Enable:  "Enable a disabled user",
}

// The largest body each kind of operation takes, in bytes; a body of this size or more is
// refused with 413, from its Content-Length before a byte of it is read (strictJSON). huma's
// default, 1 MiB, is far more than any of usher's bodies and, for an anonymous one, more work
// than a client that has not signed in may ask for.
const (
	publicBody = 8 << 10  // sign-in, password reset, setup: a login, a password of at most 256 bytes, a token
	writeBody  = 64 << 10 // an ordinary create or update: a profile with its custom values, a role, a group
	// idListBody takes the 1,000 user ids (36 bytes each, 39 with quotes and comma) that bulk
	// actions and group membership changes accept, with room for indentation and role ids.
	idListBody = 128 << 10
)

// op describes one operation and records the permission it needs in the document.
func op(id, method, path, summary, permission, tag string) huma.Operation {
	o := huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{tag},
		Extensions: map[string]any{permissionExt: permission}, MaxBodyBytes: writeBody}
	if permission == public {
		o.MaxBodyBytes = publicBody
		o.Security = []map[string][]string{} // says "no credentials needed" rather than nothing
	} else {
		o.Security = []map[string][]string{{"bearer": {}}, {"session": {}}}
	}
	return o
}

// bodyLimit gives an operation whose bodies are legitimately larger a limit of its own.
func bodyLimit(o huma.Operation, n int64) huma.Operation { o.MaxBodyBytes = n; return o }

func created(o huma.Operation) huma.Operation   { o.DefaultStatus = http.StatusCreated; return o }
func accepted(o huma.Operation) huma.Operation  { o.DefaultStatus = http.StatusAccepted; return o }
func noContent(o huma.Operation) huma.Operation { o.DefaultStatus = http.StatusNoContent; return o }
