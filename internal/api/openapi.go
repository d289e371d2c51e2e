package api

import (
	"net/http"
	"reflect"
	"slices"
	"strconv"

	"github.com/danielgtaylor/huma/v2"
	"github.com/usherhq/usher/internal/imports"
)

// problemsKey is the operation metadata (never in the document) where may records the problems an
// operation answers with beyond those its shape implies.
const problemsKey = "problems"

// may records that an operation can also answer with these statuses (a 409 for a taken name, a
// 403 that the service decides); documentProblems adds those its parameters and body imply.
func may(o huma.Operation, statuses ...int) huma.Operation {
	if o.Metadata == nil {
		o.Metadata = map[string]any{}
	}
	prev, _ := o.Metadata[problemsKey].([]int)
	o.Metadata[problemsKey] = append(slices.Clone(prev), statuses...)
	return o
}

// problemText says in the document what each problem status means in usher.
var problemText = map[int]string{
	http.StatusBadRequest:            "The body is not valid JSON (request.malformed); the detail says where.",
	http.StatusUnauthorized:          "Not signed in, or the credentials are wrong or expired.",
	http.StatusForbidden:             "Signed in, but not allowed to do this; the code says why.",
	http.StatusNotFound:              "There is no such resource, or it is not yours to see.",
	http.StatusConflict:              "It clashes with what exists: a taken name, a state that does not allow it, or a change that ran at the same moment (try again).",
	http.StatusPreconditionFailed:    "If-Match names a version that is no longer current (version.stale): read the resource again.",
	http.StatusRequestEntityTooLarge: "The body is over the size limit (request.too_large).",
	http.StatusLengthRequired:        "The upload does not say its length in Content-Length (request.length_required).",
	http.StatusUnsupportedMediaType:  "The body is not sent as application/json (request.unsupported_media_type).",
	http.StatusUnprocessableEntity:   "The input is not valid: errors names each field and what is wrong with it.",
	http.StatusPreconditionRequired:  "If-Match is missing (version.required): send the ETag you read.",
	http.StatusTooManyRequests:       "Too many requests: wait as long as Retry-After says.",
	http.StatusBadGateway:            "The directory could not be reached or refused usher; the code and detail say why (directory.unreachable, directory.bad_credentials, …).",
}

// documentProblems gives every operation of the document its problem responses: those its shape
// implies (a body can be malformed, too large or not JSON; credentials can be missing; a
// permission can be lacking; a path names something that may not exist; If-Match can be stale or
// missing; a query or body can be invalid), those recorded with may, and a default for the rest
// (500 internal, 503 unavailable). Each is an RFC 9457 problem.
func documentProblems(doc *huma.OpenAPI) {
	problem := doc.Components.Schemas.Schema(reflect.TypeFor[Problem](), true, "Problem")
	content := func() map[string]*huma.MediaType {
		return map[string]*huma.MediaType{"application/problem+json": {Schema: problem}}
	}
	for _, item := range doc.Paths {
		for _, o := range []*huma.Operation{item.Get, item.Put, item.Post, item.Patch, item.Delete} {
			if o == nil {
				continue
			}
			for _, status := range problemsOf(o) {
				text := problemText[status]
				if status == http.StatusRequestEntityTooLarge && o.MaxBodyBytes > 0 {
					text = "The body is " + imports.SizeWords(o.MaxBodyBytes) + " or more, over this operation's limit (request.too_large)."
				}
				o.Responses[strconv.Itoa(status)] = &huma.Response{Description: text, Content: content()}
			}
			o.Responses["default"] = &huma.Response{
				Description: "Anything else: 500 internal (the log has the details under request_id) or 503 unavailable (try again).",
				Content:     content()}
		}
	}
}

// problemsOf lists the problem statuses an operation can answer with, in order.
func problemsOf(o *huma.Operation) []int {
	var out []int
	if o.RequestBody != nil {
		out = append(out, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	}
	if len(o.Security) > 0 {
		out = append(out, http.StatusUnauthorized)
	}
	if need, _ := o.Extensions[permissionExt].(string); need != public && need != authenticated {
		out = append(out, http.StatusForbidden)
	}
	for _, p := range o.Parameters {
		switch {
		case p.In == "path":
			out = append(out, http.StatusNotFound)
		case p.In == "query":
			out = append(out, http.StatusUnprocessableEntity)
		case p.In == "header" && p.Name == "If-Match":
			out = append(out, http.StatusPreconditionFailed, http.StatusPreconditionRequired)
		}
	}
	extra, _ := o.Metadata[problemsKey].([]int)
	out = append(out, extra...)
	slices.Sort(out)
	return slices.Compact(out)
}
