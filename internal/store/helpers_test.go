package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/user"
)

// t0 is the time fixtures start from: UTC and whole microseconds, which PostgreSQL keeps exactly.
var t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)

// newUser returns a valid local, active user whose names derive from name.
func newUser(name string) *user.User {
	return &user.User{
		ID:        uuid.NewString(),
		Username:  name,
		Email:     name + "@example.org",
		FirstName: strings.ToUpper(name[:1]) + name[1:],
		LastName:  "Tester",
		Status:    user.Active,
		Source:    user.Local,
		CreatedAt: t0,
		UpdatedAt: t0,
		Version:   1,
	}
}

func mustInsertUser(t *testing.T, s *store.Store, u *user.User) *user.User {
	t.Helper()
	if err := s.InsertUser(context.Background(), u); err != nil {
		t.Fatalf("insert user %s: %v", u.Username, err)
	}
	return u
}

func mustInsertRole(t *testing.T, s *store.Store, name string, perms ...user.Permission) *user.Role {
	t.Helper()
	r := &user.Role{ID: uuid.NewString(), Name: name, Permissions: user.NewPermissions(perms...),
		Version: 1, CreatedAt: t0, UpdatedAt: t0}
	if err := s.InsertRole(context.Background(), r); err != nil {
		t.Fatalf("insert role %s: %v", name, err)
	}
	return r
}

func mustInsertGroup(t *testing.T, s *store.Store, name string) *user.Group {
	t.Helper()
	g := &user.Group{ID: uuid.NewString(), Name: name, Source: user.Local, Version: 1, CreatedAt: t0, UpdatedAt: t0}
	if err := s.InsertGroup(context.Background(), g); err != nil {
		t.Fatalf("insert group %s: %v", name, err)
	}
	return g
}

func mustInsertField(t *testing.T, s *store.Store, name string, typ user.FieldType, opts ...string) *user.Field {
	t.Helper()
	f := &user.Field{Name: name, Label: strings.ToUpper(name), Type: typ, Options: opts, Version: 1,
		CreatedAt: t0, UpdatedAt: t0}
	if err := s.InsertField(context.Background(), f); err != nil {
		t.Fatalf("insert field %s: %v", name, err)
	}
	return f
}

// wantErr fails unless err is an *errs.Error of kind with code, and, when field is not empty,
// one of its field errors names field.
func wantErr(t *testing.T, err error, kind errs.Kind, code, field string) {
	t.Helper()
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("error = %v (%T), want an *errs.Error %s/%s", err, err, kind, code)
	}
	if e.Kind != kind || e.Code != code {
		t.Fatalf("error = %s/%s (%v), want %s/%s", e.Kind, e.Code, err, kind, code)
	}
	if field != "" && !slices.ContainsFunc(e.Fields, func(f errs.FieldError) bool { return f.Field == field && f.Code == code }) {
		t.Fatalf("error fields = %+v, want one on %q with code %s", e.Fields, field, code)
	}
}

// count returns the number of rows a query counts, read through the writer so it sees every commit.
func count(t *testing.T, s *store.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// sameTime fails unless got and want are the same instant.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// sameTimePtr fails unless got and want are both nil or the same instant.
func sameTimePtr(t *testing.T, what string, got, want *time.Time) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s = %v, want %v", what, fmtPtr(got), fmtPtr(want))
	default:
		sameTime(t, what, *got, *want)
	}
}

func fmtPtr(p *time.Time) string {
	if p == nil {
		return "nil"
	}
	return p.String()
}

func ids(users []*user.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

func describe(users []*user.User) string {
	var b strings.Builder
	for _, u := range users {
		fmt.Fprintf(&b, "%s ", u.Username)
	}
	return b.String()
}
