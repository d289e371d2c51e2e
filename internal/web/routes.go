package web

import "net/http"

// routes lists every page of the console. Pages that need a signed-in user go through must; the
// services they call check each permission.
func (c *Console) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /static/", c.serveStatic)
	mux.HandleFunc("GET /{$}", c.home)

	mux.HandleFunc("GET /sign-in", c.signInForm)
	mux.HandleFunc("POST /sign-in", c.signIn)
	mux.HandleFunc("POST /sign-out", c.signOut)
	mux.HandleFunc("GET /forgot-password", c.forgotForm)
	mux.HandleFunc("POST /forgot-password", c.forgot)
	mux.HandleFunc("GET /reset-password", c.resetForm)
	mux.HandleFunc("POST /reset-password", c.reset)
	mux.HandleFunc("GET /setup", c.setupForm)
	mux.HandleFunc("POST /setup", c.setup)

	mux.HandleFunc("GET /users", c.must(c.users))
	mux.HandleFunc("POST /users/bulk", c.must(c.bulk))
	mux.HandleFunc("GET /users/export", c.must(c.usersExport))
	mux.HandleFunc("GET /imports", c.must(c.importsList))
	mux.HandleFunc("POST /imports", c.must(c.upload))
	mux.HandleFunc("GET /imports/template", c.must(c.importTemplate))
	mux.HandleFunc("GET /imports/{id}", c.must(c.importPageOf))
	mux.HandleFunc("GET /imports/{id}/failed-rows", c.must(c.importFailedRows))
	mux.HandleFunc("POST /imports/{id}/{action}", c.must(c.importAction))
	mux.HandleFunc("GET /users/new", c.must(c.newUserForm))
	mux.HandleFunc("POST /users/new", c.must(c.newUser))
	mux.HandleFunc("GET /users/{id}", c.must(c.userPage))
	mux.HandleFunc("POST /users/{id}", c.must(c.editUser))
	mux.HandleFunc("POST /users/{id}/status", c.must(c.userStatus))
	mux.HandleFunc("POST /users/{id}/reset-password", c.must(c.userReset))
	mux.HandleFunc("POST /users/{id}/invitation/{action}", c.must(c.invitationAction))

	mux.HandleFunc("GET /invite", c.must(c.inviteForm))
	mux.HandleFunc("POST /invite", c.must(c.invite))
	mux.HandleFunc("GET /invitation", c.acceptForm)
	mux.HandleFunc("POST /invitation", c.accept)
	mux.HandleFunc("POST /users/{id}/delete", c.must(c.deleteUser))

	mux.HandleFunc("GET /roles", c.must(c.roles))
	mux.HandleFunc("GET /roles/new", c.must(c.newRoleForm))
	mux.HandleFunc("POST /roles/new", c.must(c.newRole))
	mux.HandleFunc("GET /roles/{id}", c.must(c.rolePage))
	mux.HandleFunc("POST /roles/{id}", c.must(c.editRole))
	mux.HandleFunc("POST /roles/{id}/delete", c.must(c.deleteRole))

	mux.HandleFunc("GET /groups", c.must(c.groups))
	mux.HandleFunc("GET /groups/new", c.must(c.newGroupForm))
	mux.HandleFunc("POST /groups/new", c.must(c.newGroup))
	mux.HandleFunc("GET /groups/{id}", c.must(c.groupPage))
	mux.HandleFunc("POST /groups/{id}", c.must(c.editGroup))
	mux.HandleFunc("POST /groups/{id}/delete", c.must(c.deleteGroup))
	mux.HandleFunc("POST /groups/{id}/members", c.must(c.groupMembers))

	mux.HandleFunc("GET /fields", c.must(c.fields))
	mux.HandleFunc("GET /fields/new", c.must(c.newFieldForm))
	mux.HandleFunc("POST /fields/new", c.must(c.newField))
	mux.HandleFunc("GET /fields/{name}", c.must(c.fieldPage))
	mux.HandleFunc("POST /fields/{name}", c.must(c.editField))
	mux.HandleFunc("POST /fields/{name}/delete", c.must(c.deleteField))
	mux.HandleFunc("POST /fields/{name}/move", c.must(c.moveField))

	mux.HandleFunc("GET /directories", c.must(c.directories))
	mux.HandleFunc("GET /directories/new", c.must(c.newDirectoryForm))
	mux.HandleFunc("POST /directories/new", c.must(c.newDirectory))
	mux.HandleFunc("GET /directories/{id}", c.must(c.directoryPageOf))
	mux.HandleFunc("POST /directories/{id}", c.must(c.editDirectory))
	mux.HandleFunc("POST /directories/{id}/{action}", c.must(c.directoryAction))

	mux.HandleFunc("GET /audit", c.must(c.auditLog))
	mux.HandleFunc("GET /audit/export", c.must(c.auditExport))
	mux.HandleFunc("GET /outbox", c.must(c.outbox))

	mux.HandleFunc("GET /account", c.must(c.account))
	mux.HandleFunc("POST /account/password", c.must(c.changePassword))
	mux.HandleFunc("POST /account/sessions/{id}/end", c.must(c.endSession))
	mux.HandleFunc("POST /account/tokens", c.must(c.createToken))
	mux.HandleFunc("POST /account/tokens/{id}/revoke", c.must(c.revokeToken))

	mux.HandleFunc("/", c.notFound)
}
