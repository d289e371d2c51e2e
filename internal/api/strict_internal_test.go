package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/usherhq/usher/internal/errs"
)

// TestPlainDecodeErrors: whatever encoding/json still refuses after the strict reading and the
// schema check reaches a client in plain words that name the field, never in the decoder's.
func TestPlainDecodeErrors(t *testing.T) {
	type inner struct {
		Count int8 `json:"count"`
	}
	var target struct {
		Limit  int               `json:"limit"`
		Small  uint8             `json:"small"`
		On     bool              `json:"on"`
		When   time.Time         `json:"when"`
		Inner  inner             `json:"inner"`
		Custom map[string]string `json:"custom"`
	}
	tests := []struct {
		body string
		want string
	}{
		{`{"limit":1e30}`, "limit: the number does not fit: send a whole number from -9223372036854775808 to 9223372036854775807."},
		{`{"limit":"1"}`, "limit: expected a whole number from -9223372036854775808 to 9223372036854775807."},
		{`{"small":300}`, "small: the number does not fit: send a whole number from 0 to 255."},
		{`{"on":"yes"}`, "on: expected true or false."},
		{`{"inner":{"count":[1]}}`, "inner.count: expected a whole number from -128 to 127."},
		{`{"inner":{"count":1.5}}`, "inner.count: the number does not fit: send a whole number from -128 to 127."},
		{`{"custom":{"a":1}}`, "custom: expected a string."},
		{`{"custom":[]}`, "custom: expected an object."},
		{`[]`, "A value in the body does not fit: expected an object."},
		{`{"when":"2026-01-01T00:00:00.Z"}`, "A value in the body cannot be read: check it against the API document."},
		{`{"limit":1,}`, "The body is not valid JSON: see byte 12."},
	}
	for _, tc := range tests {
		t.Run(tc.body, func(t *testing.T) {
			err := jsonFormat.Unmarshal([]byte(tc.body), &target)
			if err == nil {
				t.Fatal("decoded without an error")
			}
			if err.Error() != tc.want {
				t.Errorf("got %q, want %q", err, tc.want)
			}
			for _, s := range []string{"Go ", "unmarshal", "json:", "invalid character", "parsing time"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("%q shows decoder text %q", err, s)
				}
			}
		})
	}
}

// TestBodyDeadlineEndsWithTheBody: the read deadline that guards a slow body ends once the body
// is read. Left set, net/http's read that watches for a closed connection times out and cancels
// the request's context, so a handler that waits (a queued password hash) would fail. The body
// timeout leaves a loaded machine time to deliver the small body; the handler waits four times
// as long, so a deadline left set passes while it waits.
func TestBodyDeadlineEndsWithTheBody(t *testing.T) {
	s := New(Deps{})
	huma.Register(s.api, huma.Operation{OperationID: "slow", Method: http.MethodPost, Path: "/slow",
		BodyReadTimeout: 300 * time.Millisecond, DefaultStatus: http.StatusNoContent, Extensions: map[string]any{permissionExt: public}},
		func(ctx context.Context, in *struct {
			Body struct {
				A string `json:"a"`
			}
		}) (*struct{}, error) {
			time.Sleep(1200 * time.Millisecond)
			if ctx.Err() != nil {
				return nil, errs.E(errs.Unavailable, "test.canceled", "The request's context ended while the handler waited.")
			}
			return nil, nil
		})
	srv := httptest.NewServer(s)
	defer srv.Close()
	res, err := http.Post(srv.URL+"/slow", "application/json", strings.NewReader(`{"a":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d, want 204: %s", res.StatusCode, b)
	}
}
