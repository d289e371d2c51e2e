package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/api"
	"github.com/usherhq/usher/internal/user"
)

// sendRaw makes a request with a raw body and content type, as a careless or hostile client would.
func (c *client) sendRaw(method, path, contentType, body string, headers ...string) *response {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "usher_session", Value: c.cookie})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{t: c.t, req: method + " " + path + " " + body, status: res.StatusCode, header: res.Header, cookies: res.Cookies(), body: b}
}

// goDecoderText is what encoding/json says about a body; none of it may reach a client.
var goDecoderText = []string{"Go struct", "Go value", "unmarshal", "json:", "invalid character", "looking for beginning", "unexpected end of JSON"}

// humaText is what huma says about a body or its media type; none of it may reach a client.
var humaText = []string{"unknown content type", "request body is", "limit=", "validation failed"}

// TestStrictJSON (STRICT): a body is read one way only. Keys that differ from the schema's only in
// letter case, duplicate keys and nulls the schema does not allow are refused naming the key, so a
// proxy and usher can never see different fields; a body that is not JSON is refused plainly.
func TestStrictJSON(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		_, err := e.app.Users.CreateField(ctx, user.System("test"), user.FieldInput{Name: "cost_center", Type: user.TextField, Label: strptr("Cost centre")})
		must(t, err)
		target := e.createUser("strict")
		userPath := "/api/v1/users/" + target.ID
		const json = "application/json"
		anyVersion := []string{"If-Match", "*"}
		newUser := func(extra string) string {
			return `{"email":"` + unique("new") + `@example.org","first_name":"N","last_name":"U"` + extra + `}`
		}

		tests := []struct {
			name        string
			method      string
			path        string
			contentType string
			body        string
			headers     []string
			status      int
			code        string // the problem's code; "" for a success
			field       string // the field the first error names, when code is set
			detail      string // a word the detail must contain, when set
		}{
			{name: "key in another case", method: "POST", path: "/api/v1/users", contentType: json,
				body: `{"EMAIL":"case@example.org","first_name":"C","last_name":"K"}`, status: 422, code: "request.key_case", field: "EMAIL"},
			{name: "key in another case on update", method: "PATCH", path: userPath, contentType: json, headers: anyVersion,
				body: `{"DEPARTMENT":"Sales"}`, status: 422, code: "request.key_case", field: "DEPARTMENT"},
			{name: "key that folds to a field (long s)", method: "POST", path: "/api/v1/users", contentType: json,
				body: newUser(`,"uſername":"longs"`), status: 422, code: "request.key_case", field: "uſername"},
			{name: "duplicate key", method: "POST", path: "/api/v1/users", contentType: json,
				body: `{"email":"a@example.org","email":"b@example.org","first_name":"D","last_name":"K"}`, status: 422, code: "request.duplicate_key", field: "email"},
			{name: "duplicate key spelled with an escape", method: "POST", path: "/api/v1/users", contentType: json,
				body: `{"email":"a@example.org","\u0065mail":"b@example.org","first_name":"D","last_name":"K"}`, status: 422, code: "request.duplicate_key", field: "email"},
			{name: "duplicate key in custom values", method: "PATCH", path: userPath, contentType: json, headers: anyVersion,
				body: `{"custom":{"cost_center":"1","cost_center":"2"}}`, status: 422, code: "request.duplicate_key", field: "custom.cost_center"},
			{name: "null for a string", method: "POST", path: "/api/v1/users", contentType: json,
				body: newUser(`,"phone":null`), status: 422, code: "request.null", field: "phone"},
			{name: "null for a required string", method: "POST", path: "/api/v1/users", contentType: json,
				body: `{"email":null,"first_name":"N","last_name":"U"}`, status: 422, code: "request.null", field: "email"},
			{name: "null on update", method: "PATCH", path: userPath, contentType: json, headers: anyVersion,
				body: `{"department":null}`, status: 422, code: "request.null", field: "department"},
			{name: "null for the custom values", method: "PATCH", path: userPath, contentType: json, headers: anyVersion,
				body: `{"custom":null}`, status: 422, code: "request.null", field: "custom"},
			{name: "null for roles", method: "PATCH", path: userPath, contentType: json, headers: anyVersion,
				body: `{"roles":null}`, status: 422, code: "request.null", field: "roles"},
			{name: "null for roles on create", method: "POST", path: "/api/v1/users", contentType: json,
				body: newUser(`,"roles":null`), status: 422, code: "request.null", field: "roles"},
			{name: "null for a list of ids", method: "POST", path: "/api/v1/users/bulk", contentType: json,
				body: `{"action":"lock","ids":null}`, status: 422, code: "request.null", field: "ids"},
			{name: "null in a list", method: "POST", path: "/api/v1/users/bulk", contentType: json,
				body: `{"action":"lock","ids":[null]}`, status: 422, code: "request.null", field: "ids[0]"},
			{name: "null body", method: "POST", path: "/api/v1/auth/login", contentType: json,
				body: `null`, status: 422, code: "request.null", field: ""},
			{name: "wrong type", method: "POST", path: "/api/v1/users", contentType: json,
				body: `{"email":5,"first_name":"N","last_name":"U"}`, status: 422, code: "request.invalid", field: "email"},
			{name: "wrong type nested", method: "PATCH", path: userPath, contentType: json, headers: anyVersion,
				body: `{"custom":{"cost_center":7}}`, status: 422, code: "request.invalid", field: "custom.cost_center"},
			{name: "number beyond any float", method: "POST", path: "/api/v1/users", contentType: json,
				body: newUser(`,"phone":1e999999`), status: 400, code: "request.malformed", detail: "number too large"},
			{name: "unknown key", method: "POST", path: "/api/v1/users", contentType: json,
				body: newUser(`,"id":"mine"`), status: 422, code: "request.invalid", field: "id"},
			{name: "truncated JSON", method: "POST", path: "/api/v1/users", contentType: json,
				body: `{"email":"t@example.org",`, status: 400, code: "request.malformed", detail: "ends"},
			{name: "garbage after the value", method: "POST", path: "/api/v1/users", contentType: json,
				body: `{"email":"t@example.org"}x`, status: 400, code: "request.malformed", detail: "line 1"},
			{name: "broken literal", method: "POST", path: "/api/v1/auth/login", contentType: json,
				body: "{\n  \"login\": nul}", status: 400, code: "request.malformed", detail: "line 2"},
			{name: "invalid UTF-8", method: "POST", path: "/api/v1/auth/login", contentType: json,
				body: "{\"login\":\"a\xff\",\"password\":\"p\"}", status: 400, code: "request.malformed", detail: "UTF-8"},
			{name: "nested too deep", method: "POST", path: "/api/v1/auth/login", contentType: json,
				body: `{"login":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, status: 400, code: "request.malformed", detail: "deep"},
			{name: "an array where a string belongs", method: "POST", path: "/api/v1/auth/login", contentType: json,
				body: `{"login":[0,0,0],"password":"p"}`, status: 422, code: "request.invalid", field: "login"},
			{name: "an object where an array belongs", method: "POST", path: "/api/v1/users/bulk", contentType: json,
				body: `{"action":"lock","ids":{"a":"b"}}`, status: 422, code: "request.invalid", field: "ids"},
			{name: "a sign-in over its limit", method: "POST", path: "/api/v1/auth/login", contentType: json,
				body: `{"login":"` + strings.Repeat("a", 8<<10) + `","password":"p"}`, status: 413, code: "request.too_large", detail: "8 KiB"},
			{name: "an update over its limit", method: "PATCH", path: userPath, contentType: json, headers: anyVersion,
				body: `{"department":"` + strings.Repeat("a", 64<<10) + `"}`, status: 413, code: "request.too_large", detail: "64 KiB"},
			{name: "no content type", method: "POST", path: "/api/v1/users", body: newUser(""),
				status: 415, code: "request.unsupported_media_type"},
			{name: "text content type", method: "POST", path: "/api/v1/users", contentType: "text/plain", body: newUser(""),
				status: 415, code: "request.unsupported_media_type"},
			{name: "form content type", method: "POST", path: "/api/v1/auth/login", contentType: "application/x-www-form-urlencoded",
				body: "login=admin&password=x", status: 415, code: "request.unsupported_media_type"},
			{name: "JSON in another charset", method: "POST", path: "/api/v1/users", contentType: "application/json; charset=iso-8859-1",
				body: newUser(""), status: 415, code: "request.unsupported_media_type"},
			{name: "a type that only ends in json", method: "POST", path: "/api/v1/users", contentType: "text/x+json",
				body: newUser(""), status: 415, code: "request.unsupported_media_type"},
			// Requests that keep working.
			{name: "plain create", method: "POST", path: "/api/v1/users", contentType: json, body: newUser(""), status: 201},
			{name: "charset parameter", method: "POST", path: "/api/v1/users", contentType: "application/json; charset=UTF-8", body: newUser(""), status: 201},
			{name: "a +json type", method: "POST", path: "/api/v1/users", contentType: "application/merge-patch+json", body: newUser(""), status: 201},
			{name: "capitalised type", method: "POST", path: "/api/v1/users", contentType: "Application/JSON", body: newUser(""), status: 201},
			{name: "upper-case subtype", method: "POST", path: "/api/v1/users", contentType: "application/JSON", body: newUser(""), status: 201},
			{name: "upper-case +json type", method: "POST", path: "/api/v1/users", contentType: "APPLICATION/VND.API+JSON", body: newUser(""), status: 201},
			{name: "spaces around the parameter", method: "POST", path: "/api/v1/users", contentType: "application/json ; charset=utf-8", body: newUser(""), status: 201},
			{name: "upper-case parameter", method: "POST", path: "/api/v1/users", contentType: "APPLICATION/JSON; CHARSET=UTF-8", body: newUser(""), status: 201},
			{name: "quoted charset", method: "PATCH", path: userPath, contentType: `application/json;charset="utf-8"`, headers: anyVersion,
				body: `{"department":"Ops"}`, status: 200},
			{name: "a bulk action of 1,000 ids, indented", method: "POST", path: "/api/v1/users/bulk", contentType: json,
				body: "{\n  \"action\": \"unlock\",\n  \"ids\": [\n" + strings.Repeat("    \""+target.ID+"\",\n", 999) + "    \"" + target.ID + "\"\n  ]\n}", status: 200},
			{name: "custom value cleared with null", method: "PATCH", path: userPath, contentType: json, headers: anyVersion,
				body: `{"custom":{"cost_center":null}}`, status: 200},
			{name: "update", method: "PATCH", path: userPath, contentType: json, headers: anyVersion,
				body: `{"department":"Ops","custom":{"cost_center":"4711"}}`, status: 200},
			{name: "no body where none is expected", method: "POST", path: userPath + "/lock", status: 200},
			{name: "no body where one is required", method: "POST", path: "/api/v1/users", status: 400, code: "request.malformed"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				c := *e.admin
				c.t = t
				r := c.sendRaw(tc.method, tc.path, tc.contentType, tc.body, tc.headers...)
				for _, s := range append(goDecoderText, humaText...) {
					if strings.Contains(string(r.body), s) {
						t.Errorf("the answer shows decoder text %q: %.300s", s, r.body)
					}
				}
				if tc.code == "" {
					r.want(tc.status)
					return
				}
				p := r.problem(tc.status, tc.code)
				if tc.detail != "" && !strings.Contains(p.Detail, tc.detail) {
					t.Errorf("detail %q does not say %q", p.Detail, tc.detail)
				}
				if tc.status == http.StatusUnprocessableEntity {
					if len(p.Errors) == 0 || p.Errors[0].Field != tc.field || p.Errors[0].Message == "" {
						t.Errorf("errors %+v: want the first to name %q", p.Errors, tc.field)
					}
				}
			})
		}

		// Nothing refused above changed the user; the accepted update did.
		u := e.admin.do("GET", userPath, nil).want(http.StatusOK).user()
		if u.Status != "locked" || u.Custom["cost_center"] != "4711" {
			t.Fatalf("user after the requests: %+v", u)
		}
		var page struct {
			Users []userJSON `json:"users"`
		}
		e.admin.do("GET", "/api/v1/users?q=case&limit=5", nil).want(http.StatusOK).into(&page)
		if len(page.Users) != 0 {
			t.Fatalf("a refused body created a user: %+v", page.Users)
		}
	})
}

// TestParameterMessagesArePlain: a query parameter usher cannot parse is refused in plain words,
// without Go's time layout.
func TestParameterMessagesArePlain(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		tests := []struct{ query, field, message string }{
			{"from=yesterday", "from", "Expected a date and time in RFC 3339, e.g. 2026-01-31T09:00:00Z."},
			{"limit=many", "limit", "Expected a whole number."},
			{"limit=99999999999999999999", "limit", "Expected a whole number."},
		}
		for _, tc := range tests {
			p := e.admin.do("GET", "/api/v1/audit?"+tc.query, nil).problem(http.StatusUnprocessableEntity, "request.invalid")
			if len(p.Errors) != 1 || p.Errors[0].Field != tc.field || p.Errors[0].Message != tc.message {
				t.Errorf("%s: errors %+v, want %s: %q", tc.query, p.Errors, tc.field, tc.message)
			}
		}
	})
}

// TestOversizedBodyAnsweredUnread (FLOOD): over a real connection, a sign-in that announces a
// 100 MB body and sends none of it is answered 413 at once from its headers; a server that
// waited for the body would answer only when its read timeout passed, with 408.
func TestOversizedBodyAnsweredUnread(t *testing.T) {
	srv := httptest.NewServer(api.New(api.Deps{}))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: usher\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{\"login\":\"")
	start := time.Now()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	t.Logf("answered in %v", time.Since(start))
	if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), `"code":"request.too_large"`) {
		t.Fatalf("status %d: %s; want 413 request.too_large", res.StatusCode, b)
	}
}
