// Package errs is usher's one error type: every failure a person or a client can act on carries
// a kind (what went wrong, which maps to an HTTP status), a stable machine code, a human message
// and, for bad input, the fields it concerns.
package errs

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kind classifies an error. It is append-only: values are never reordered.
type Kind uint8

// The kinds of error.
const (
	Internal             Kind = iota // a bug or an outage; details are logged, never shown
	Invalid                          // the input is wrong; see the fields
	NotFound                         // the thing does not exist (or the actor may not know it does)
	Conflict                         // the input clashes with what exists (a taken email, a state that forbids it)
	Forbidden                        // the actor is known but may not do this
	Unauthenticated                  // no valid session or token
	Unavailable                      // a dependency is down; try again later
	PreconditionFailed               // If-Match names a version that is no longer current
	PreconditionRequired             // an update or a delete named no version (in HTTP: no If-Match)
	TooLarge                         // the request body is over the limit
	TooMany                          // the server sheds this request: too many at once or too often; see RetryAfter
	Upstream                         // a server usher reached for the caller (a directory) failed or refused it
)

var kindNames = [...]string{"internal", "invalid", "not_found", "conflict", "forbidden",
	"unauthenticated", "unavailable", "precondition_failed", "precondition_required", "too_large", "too_many", "upstream"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// httpStatus is the one table from an error kind to an HTTP status, for the API and the pages.
var httpStatus = [...]int{
	Internal:             http.StatusInternalServerError,
	Invalid:              http.StatusUnprocessableEntity,
	NotFound:             http.StatusNotFound,
	Conflict:             http.StatusConflict,
	Forbidden:            http.StatusForbidden,
	Unauthenticated:      http.StatusUnauthorized,
	Unavailable:          http.StatusServiceUnavailable,
	PreconditionFailed:   http.StatusPreconditionFailed,
	PreconditionRequired: http.StatusPreconditionRequired,
	TooLarge:             http.StatusRequestEntityTooLarge,
	TooMany:              http.StatusTooManyRequests,
	Upstream:             http.StatusBadGateway,
}

// HTTPStatus is the status an error of this kind answers with; false for an unknown kind.
func (k Kind) HTTPStatus() (int, bool) {
	if int(k) < len(httpStatus) && httpStatus[k] != 0 {
		return httpStatus[k], true
	}
	return http.StatusInternalServerError, false
}

// FieldError is one problem with one input field.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is the error usher's services return for anything that is not a bug.
type Error struct {
	Kind    Kind
	Code    string // stable, dotted: "user.email_taken"
	Message string // for a person
	Fields  []FieldError
	Err     error // the cause, for logs; never shown
	// RetryAfter is when a request the server shed may be tried again (TooMany); the API sends
	// it as Retry-After.
	RetryAfter time.Duration
}

// RetryAfterSeconds is the Retry-After of an answer to err: the whole seconds after which a
// request the server shed (TooMany) may be tried again, at least 1; 0 for any other error.
func RetryAfterSeconds(err error) int {
	e, ok := As(err)
	if !ok || e.Kind != TooMany {
		return 0
	}
	return max(1, int((e.RetryAfter+time.Second-1)/time.Second))
}

func (e *Error) Error() string {
	msg := e.Code + ": " + e.Message
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an error of the given kind.
func E(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Later builds a TooMany error that says when to try again.
func Later(code, message string, after time.Duration) *Error {
	return &Error{Kind: TooMany, Code: code, Message: message, RetryAfter: after}
}

// Field builds an Invalid error about one field.
func Field(field, code, message string) *Error {
	return &Error{Kind: Invalid, Code: code, Message: message,
		Fields: []FieldError{{Field: field, Code: code, Message: message}}}
}

// Fields builds one Invalid error from several field problems, or returns nil when there are none.
func Fields(fields []FieldError) error {
	switch len(fields) {
	case 0:
		return nil
	case 1:
		return &Error{Kind: Invalid, Code: fields[0].Code, Message: fields[0].Message, Fields: fields}
	}
	return &Error{Kind: Invalid, Code: "validation_failed",
		Message: fmt.Sprintf("%d fields are not valid.", len(fields)), Fields: fields}
}

// Is reports whether err is an *Error of the given kind.
func Is(kind Kind, err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}

// As returns the *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Prefix returns a copy of e whose field names start with prefix, for errors about one item of a list.
func Prefix(err error, prefix string) error {
	e, ok := As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	c := *e
	c.Fields = make([]FieldError, len(e.Fields))
	for i, f := range e.Fields {
		f.Field = prefix + f.Field
		c.Fields[i] = f
	}
	return &c
}
