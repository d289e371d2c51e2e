package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
)

// zeros is a JSON array of n zeros, about 2n bytes.
func zeros(n int) string { return "[0" + strings.Repeat(",0", n-1) + "]" }

// tripwire is a request body that fails the test when anything reads it.
type tripwire struct{ t *testing.T }

func (r tripwire) Read([]byte) (int, error) {
	r.t.Error("the body was read")
	return 0, io.ErrUnexpectedEOF
}

// TestRefusedBeforeTheBodyIsRead (FLOOD): a body whose Content-Length is over the operation's
// limit is answered 413, and one that is not labelled as JSON 415, from the headers alone,
// without reading a byte of it.
func TestRefusedBeforeTheBodyIsRead(t *testing.T) {
	s := New(Deps{})
	tests := []struct {
		name, path, contentType string
		length                  int64
		status                  int
		code                    string
	}{
		{"sign-in over its limit", "/api/v1/auth/login", "application/json", 10 << 20, http.StatusRequestEntityTooLarge, "request.too_large"},
		{"sign-in a little over its limit", "/api/v1/auth/login", "application/json", 8 << 10, http.StatusRequestEntityTooLarge, "request.too_large"},
		{"reset request over its limit", "/api/v1/auth/password-reset", "application/json", 64 << 10, http.StatusRequestEntityTooLarge, "request.too_large"},
		{"setup over its limit", "/api/v1/setup", "application/json", 1 << 20, http.StatusRequestEntityTooLarge, "request.too_large"},
		{"text", "/api/v1/auth/login", "text/plain", 100, http.StatusUnsupportedMediaType, "request.unsupported_media_type"},
		{"no content type", "/api/v1/auth/login", "", 100, http.StatusUnsupportedMediaType, "request.unsupported_media_type"},
		{"form", "/api/v1/auth/password-reset/confirm", "application/x-www-form-urlencoded", 100, http.StatusUnsupportedMediaType, "request.unsupported_media_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tc.path, tripwire{t})
			req.ContentLength = tc.length
			req.Header.Set("Content-Length", strconv.FormatInt(tc.length, 10))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			var p Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != tc.status || p.Code != tc.code {
				t.Fatalf("status %d, body %s; want %d %s", rec.Code, rec.Body.Bytes(), tc.status, tc.code)
			}
		})
	}
}

// TestHostileBodiesCostLittle (FLOOD, STRICT): an anonymous body built to make the reader work —
// a long array where a string or an object belongs, deep nesting, a body far over the limit, sent
// with or without a length — costs about what a small mistake costs: allocations do not grow with
// the body, and memory stays within a few times the operation's limit (the body, and the JSON
// decoder's copy of the value it skips).
func TestHostileBodiesCostLittle(t *testing.T) {
	s := New(Deps{})
	const limit = 8 << 10
	small := `{"login":[0]}`
	tests := []struct {
		name    string
		body    string
		chunked bool // sent without a Content-Length, as chunked bodies are
		status  int
	}{
		{"an array for the login", `{"login":` + zeros(limit/2-16) + `}`, false, http.StatusUnprocessableEntity},
		{"an array for the body", zeros(limit/2 - 8), false, http.StatusUnprocessableEntity},
		{"objects nested deep for the login", `{"login":` + strings.Repeat(`{"a":`, limit/7) + "0" + strings.Repeat("}", limit/7) + `}`, false, http.StatusBadRequest},
		{"an unknown key with an array", `{"x":` + zeros(limit/2-16) + `}`, false, http.StatusUnprocessableEntity},
		{"1 MiB array for the login", `{"login":` + zeros(1<<19) + `}`, false, http.StatusRequestEntityTooLarge},
		{"1 MiB array for the login, chunked", `{"login":` + zeros(1<<19) + `}`, true, http.StatusRequestEntityTooLarge},
	}
	send := func(body string, chunked bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if chunked {
			req.ContentLength = -1
			req.Body = io.NopCloser(strings.NewReader(body)) // no length to read ahead of time
		} else {
			req.Header.Set("Content-Length", strconv.Itoa(len(body)))
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	// cost is the allocations and bytes one request costs, the least of a few runs.
	cost := func(body string, chunked bool) (allocs, bytes uint64) {
		allocs, bytes = ^uint64(0), ^uint64(0)
		var before, after runtime.MemStats
		for range 5 {
			runtime.ReadMemStats(&before)
			send(body, chunked)
			runtime.ReadMemStats(&after)
			allocs = min(allocs, after.Mallocs-before.Mallocs)
			bytes = min(bytes, after.TotalAlloc-before.TotalAlloc)
		}
		return allocs, bytes
	}
	if rec := send(small, false); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("%s: status %d, want 422: %s", small, rec.Code, rec.Body.Bytes())
	}
	baseAllocs, baseBytes := cost(small, false)
	t.Logf("%s: %d allocations, %d bytes", small, baseAllocs, baseBytes)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := send(tc.body, tc.chunked)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %.300s", rec.Code, tc.status, rec.Body.Bytes())
			}
			if bytes.Contains(rec.Body.Bytes(), []byte("unknown content type")) {
				t.Errorf("the answer shows huma's words: %s", rec.Body.Bytes())
			}
			allocs, n := cost(tc.body, tc.chunked)
			t.Logf("%d-byte body: %d allocations, %d bytes", len(tc.body), allocs, n)
			if allocs > baseAllocs+100 {
				t.Errorf("%d allocations, against %d for %s: the cost grows with the body", allocs, baseAllocs, small)
			}
			if n > baseBytes+8*limit {
				t.Errorf("%d bytes allocated, against %d for %s: more than eight times the %d-byte limit beyond it", n, baseBytes, small, limit)
			}
		})
	}
}

// TestBodyLimits: no operation keeps huma's default limit of 1 MiB. Anonymous bodies (sign-in,
// reset, setup) take less than 8 KiB, ordinary writes less than 64 KiB, and only the operations
// that take a list (up to 1,000 user ids, or 100 addresses to invite with their roles and
// groups) more.
func TestBodyLimits(t *testing.T) {
	idLists := map[string]bool{"bulk-users": true, "add-group-members": true, "remove-group-members": true, "invite": true}
	for path, item := range New(Deps{}).OpenAPI().Paths {
		for _, o := range []*huma.Operation{item.Post, item.Put, item.Patch, item.Delete} {
			if o == nil || o.RequestBody == nil {
				continue
			}
			want := int64(writeBody)
			switch {
			case o.Extensions[permissionExt] == public:
				want = publicBody
			case idLists[o.OperationID]:
				want = idListBody
			case o.OperationID == "stage-import":
				continue // a file, up to --import-max-size; refused from its length (TestImportRefusals)
			}
			if o.MaxBodyBytes != want {
				t.Errorf("%s %s (%s) takes bodies of up to %d bytes, want %d", o.Method, path, o.OperationID, o.MaxBodyBytes, want)
			}
		}
	}
	if publicBody > 8<<10 || writeBody > 64<<10 || idListBody > 128<<10 {
		t.Errorf("limits %d, %d, %d: larger than an anonymous, an ordinary or a list body needs", publicBody, writeBody, idListBody)
	}
}

// TestHumaWordsNeverReachClients: whatever huma still says about a body or a media type (should
// strictJSON ever let a request through to it) reaches a client in usher's words.
func TestHumaWordsNeverReachClients(t *testing.T) {
	tests := []struct {
		status int
		msg    string
		errs   []error
	}{
		{http.StatusUnsupportedMediaType, "validation failed", []error{&huma.ErrorDetail{Location: "body", Message: "unknown content type: Application/JSON"}}},
		{http.StatusNotAcceptable, "unable to marshal response", []error{huma.ErrUnknownAcceptContentType}},
		{http.StatusRequestEntityTooLarge, "request body is too large limit=1048576 bytes", nil},
		{http.StatusRequestTimeout, "request body read timeout", nil},
		{http.StatusBadRequest, "request body is required", nil},
	}
	for _, tc := range tests {
		p := newProblem(context.Background(), tc.status, tc.msg, tc.errs...)
		b, _ := json.Marshal(p)
		for _, s := range []string{"unknown", "request body", "limit=", "marshal", "validation failed"} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%d %q: the problem shows huma's words %q: %s", tc.status, tc.msg, s, b)
			}
		}
		if p.Status != tc.status || p.Code == "" || p.Detail == "" {
			t.Errorf("%d %q: problem %+v", tc.status, tc.msg, p)
		}
	}
}

// TestBodyReaderWalk: the strict reader names the place of each problem, skips what it refuses
// without reading it token by token, and stops a body that nests too deep or holds too many values.
func TestBodyReaderWalk(t *testing.T) {
	reg := huma.NewMapRegistry("#/components/schemas/", huma.DefaultSchemaNamer)
	schema := reg.Schema(reflect.TypeFor[struct {
		Login  string            `json:"login"`
		IDs    []string          `json:"ids"`
		Custom map[string]string `json:"custom"`
	}](), true, "Walk")
	tests := []struct {
		name, body string
		schema     *huma.Schema
		status     int
		field      string // the first problem's field, for a 422
		detail     string // a word the detail or the first message has
	}{
		{"array for a string", `{"login":[0,0]}`, schema, 422, "login", "string"},
		{"object for an array", `{"ids":{"a":0}}`, schema, 422, "ids", "array"},
		{"array in a list of strings", `{"ids":["a",[0]]}`, schema, 422, "ids[1]", "string"},
		{"array in a map of strings", `{"custom":{"a":[0]}}`, schema, 422, "custom.a", "string"},
		{"unknown key", `{"other":[[[0]]]}`, schema, 422, "other", "no such field"},
		{"empty key", `{"":1}`, schema, 422, "", "no such field"},
		{"brackets inside a skipped string", `{"login":["` + strings.Repeat("[", 40) + `"]}`, schema, 422, "login", "string"},
		{"deep inside a skipped value", `{"login":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, schema, 400, "", "deep"},
		{"deep without a schema", strings.Repeat("[", 40) + strings.Repeat("]", 40), nil, 400, "", "deep"},
		{"broken inside a skipped value", `{"login":[0,}`, schema, 400, "", "not valid JSON"},
		{"too many values", `{"ids":["a"` + strings.Repeat(`,"a"`, maxJSONTokens) + `]}`, schema, 413, "", "keys and values"},
		{"as many values as allowed (the body, a key, the list and its items)", `{"ids":["a"` + strings.Repeat(`,"a"`, maxJSONTokens-4) + `]}`, schema, 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			r := bodyReader{reg: reg, dec: json.NewDecoder(bytes.NewReader(body)), body: body}
			err := r.check(tc.schema)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			p := newProblem(context.Background(), http.StatusUnprocessableEntity, "", err)
			var sp *statusProblem
			if errors.As(err, &sp) {
				p = newProblem(context.Background(), sp.status, sp.detail)
			}
			text := p.Detail
			if len(p.Errors) > 0 {
				text = p.Errors[0].Message
			}
			if p.Status != tc.status || !strings.Contains(text, tc.detail) {
				t.Fatalf("%d %q, want %d with %q", p.Status, text, tc.status, tc.detail)
			}
			if tc.status == 422 && p.Errors[0].Field != tc.field {
				t.Fatalf("the first problem names %q, want %q: %+v", p.Errors[0].Field, tc.field, p.Errors)
			}
		})
	}
}
