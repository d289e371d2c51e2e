package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"

	"github.com/usherhq/usher/internal/errs"
)

// Problem is an RFC 9457 problem details document with usher's stable code and per-field errors.
type Problem struct {
	Type      string            `json:"type,omitempty" doc:"A URI naming the problem type; about:blank when the code says it all."`
	Title     string            `json:"title" doc:"The HTTP status text."`
	Status    int               `json:"status" doc:"The HTTP status code."`
	Detail    string            `json:"detail,omitempty" doc:"What went wrong, for a person."`
	Code      string            `json:"code" doc:"A stable machine-readable code, e.g. user.email_taken."`
	RequestID string            `json:"request_id,omitempty" doc:"Quote this when asking for help; the server log has the details."`
	Errors    []errs.FieldError `json:"errors,omitempty" doc:"One entry per input field that is wrong."`
}

func (p *Problem) Error() string  { return p.Code + ": " + p.Detail }
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma send problems as application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// codeOfStatus names the problems huma itself raises (bad JSON, schema mismatch, unknown route
// parameters) so that every problem carries a code.
var codeOfStatus = map[int]string{
	http.StatusBadRequest:            "request.malformed",
	http.StatusUnprocessableEntity:   "request.invalid",
	http.StatusRequestEntityTooLarge: "request.too_large",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusNotAcceptable:         "request.not_acceptable",
	http.StatusUnsupportedMediaType:  "request.unsupported_media_type",
	http.StatusRequestTimeout:        "request.timeout",
	http.StatusLengthRequired:        "request.length_required",
	http.StatusInternalServerError:   "internal",
}

func init() {
	// huma builds every error through these hooks: handler errors (usher's *errs.Error, mapped by
	// kind) and its own request validation (mapped to per-field errors).
	huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, list ...error) huma.StatusError {
		var ctx context.Context
		if hctx != nil {
			ctx = hctx.Context()
			setRetryAfter(hctx, list)
		}
		return newProblem(ctx, status, msg, list...)
	}
	huma.NewError = func(status int, msg string, list ...error) huma.StatusError {
		return newProblem(context.Background(), status, msg, list...)
	}
	// The schema checks a client meets most, in plain words (the problem names the field).
	validation.MsgUnexpectedProperty = "There is no such field here: check its name against the API document."
	validation.MsgExpectedRequiredProperty = "%s is required."
	validation.MsgExpectedString = "Expected a string."
	validation.MsgExpectedBoolean = "Expected true or false."
	validation.MsgExpectedInteger = "Expected a whole number."
	validation.MsgExpectedNumber = "Expected a number."
	validation.MsgExpectedArray = "Expected an array."
	validation.MsgExpectedObject = "Expected an object."
}

// setRetryAfter tells a client whose request the server shed when to try again.
func setRetryAfter(hctx huma.Context, list []error) {
	for _, err := range list {
		if n := errs.RetryAfterSeconds(err); n > 0 {
			hctx.SetHeader("Retry-After", strconv.Itoa(n))
			return
		}
	}
}

func newProblem(ctx context.Context, status int, msg string, list ...error) *Problem {
	reqID := requestIDFrom(ctx)
	for _, err := range list {
		if e, ok := errs.As(err); ok {
			return problemFromError(ctx, e)
		}
	}
	p := &Problem{Status: status, Title: http.StatusText(status), Detail: msg, Code: codeOfStatus[status], RequestID: reqID}
	if p.Code == "" {
		p.Code = strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
	}
	if status >= 500 {
		// Never show internals: log the cause with the request id instead.
		logError(ctx, msg, errors.Join(list...))
		p.Detail = "Something went wrong on the server. The log has the details under this request id."
		return p
	}
	if plain, ok := humaWords(status, msg, list); ok {
		p.Detail = plain
		return p
	}
	for _, err := range list {
		var d *huma.ErrorDetail
		if errors.As(err, &d) {
			p.Errors = append(p.Errors, errs.FieldError{Field: fieldName(d.Location), Code: "request.invalid", Message: plainMessage(d.Message)})
		} else if err != nil {
			p.Errors = append(p.Errors, errs.FieldError{Code: "request.invalid", Message: err.Error()})
		}
	}
	if msg == "validation failed" { // huma's words for a request it could not read
		p.Detail = "The request cannot be read: see errors."
	}
	if status == http.StatusUnprocessableEntity && len(p.Errors) > 0 {
		p.Detail = "The request does not match the API's schema: see errors."
	}
	return p
}

// humaWords rewords the refusals huma raises about a body or a media type itself ("unknown
// content type: Application/JSON", "request body is too large limit=1048576 bytes"), which
// strictJSON answers first but which must never reach a client in huma's words either.
func humaWords(status int, msg string, list []error) (string, bool) {
	switch {
	case status == http.StatusUnsupportedMediaType && len(list) > 0:
		return "Send the body as JSON with the header Content-Type: application/json.", true
	case status == http.StatusNotAcceptable && len(list) > 0:
		return "usher answers in JSON: send Accept: application/json, or no Accept header.", true
	case status == http.StatusRequestEntityTooLarge && strings.HasPrefix(msg, "request body is too large"):
		return "The body is too large for this operation: send less.", true
	case status == http.StatusRequestTimeout && msg == "request body read timeout":
		return "The body did not arrive in time; send it again.", true
	case status == http.StatusBadRequest && msg == "request body is required":
		return "This request needs a JSON body: see the API document.", true
	}
	return "", false
}

// plainMessage rewords what huma says about a parameter it cannot parse, which can quote Go's
// time layout ("invalid date/time for format 2006-01-02T15:04:05…") or a parser's error.
func plainMessage(msg string) string {
	switch {
	case msg == "invalid integer":
		return "Expected a whole number."
	case msg == "invalid float":
		return "Expected a number."
	case msg == "invalid boolean":
		return "Expected true or false."
	case strings.HasPrefix(msg, "invalid date/time"):
		return "Expected a date and time in RFC 3339, e.g. 2026-01-31T09:00:00Z."
	case strings.HasPrefix(msg, "invalid value: "):
		return "This value cannot be read: check it against the API document."
	}
	return msg
}

// fieldName turns huma's "body.first_name" or "query.limit" into the field a client sent.
func fieldName(loc string) string {
	for _, prefix := range []string{"body.", "query.", "path.", "header."} {
		if rest, ok := strings.CutPrefix(loc, prefix); ok {
			return rest
		}
	}
	if loc == "body" {
		return ""
	}
	return loc
}

func problemFromError(ctx context.Context, e *errs.Error) *Problem {
	status, ok := e.Kind.HTTPStatus()
	if !ok {
		status = http.StatusInternalServerError
	}
	p := &Problem{Status: status, Title: http.StatusText(status), Detail: e.Message, Code: e.Code,
		Errors: e.Fields, RequestID: requestIDFrom(ctx)}
	if status >= 500 && e.Kind == errs.Internal {
		logError(ctx, e.Message, e)
		p.Detail = "Something went wrong on the server. The log has the details under this request id."
		p.Code = "internal"
		p.Errors = nil
	}
	return p
}
