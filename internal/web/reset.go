package web

import (
	"net/http"

	"github.com/usherhq/usher/internal/errs"
)

type resetPage struct {
	Token   string
	Error   string
	Message string
	Done    bool
}

func (p *Pages) resetForm(w http.ResponseWriter, r *http.Request) {
	// The token stays out of logs and referrers: the page sends no Referer to anyone.
	w.Header().Set("Referrer-Policy", "no-referrer")
	p.renderPage(w, http.StatusOK, "reset.html", resetPage{Token: r.URL.Query().Get("token")})
}

func (p *Pages) resetSubmit(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "The form could not be read.", http.StatusBadRequest)
		return
	}
	page := resetPage{Token: r.PostForm.Get("token")}
	if r.PostForm.Get("password") != r.PostForm.Get("confirm") {
		page.Error = "The two passwords differ."
		p.renderPage(w, http.StatusUnprocessableEntity, "reset.html", page)
		return
	}
	err := p.auth.ConfirmReset(r.Context(), page.Token, r.PostForm.Get("password"), clientOf(r))
	if err != nil {
		e, ok := errs.As(err)
		if !ok || e.Kind == errs.Internal {
			p.logger.Error("password reset failed", "err", err)
			page.Message = "Something went wrong on the server; the log has the details."
			p.renderPage(w, http.StatusInternalServerError, "reset.html", page)
			return
		}
		if len(e.Fields) > 0 {
			page.Error = e.Fields[0].Message
		} else {
			page.Message = e.Message
		}
		status, _ := e.Kind.HTTPStatus()
		p.renderPage(w, status, "reset.html", page)
		return
	}
	p.renderPage(w, http.StatusOK, "reset.html", resetPage{Done: true})
}
