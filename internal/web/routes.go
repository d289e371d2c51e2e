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
	mux.HandleFunc("GET /users/new", c.must(c.newUserForm))
	mux.HandleFunc("POST /users/new", c.must(c.newUser))
	mux.HandleFunc("GET /users/{id}", c.must(c.userPage))
	mux.HandleFunc("POST /users/{id}", c.must(c.editUser))
	mux.HandleFunc("POST /users/{id}/status", c.must(c.userStatus))
	mux.HandleFunc("POST /users/{id}/reset-password", c.must(c.userReset))
	mux.HandleFunc("POST /users/{id}/delete", c.must(c.deleteUser))

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
