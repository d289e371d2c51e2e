package user

import (
	"context"
	"slices"
	"strings"

	"github.com/usherhq/usher/internal/audit"
	"github.com/usherhq/usher/internal/errs"
)

// CreateResult is what CreateUsers did with one input: the user it created, or why not.
type CreateResult struct {
	User *User
	Err  error
}

// CreateUsers creates many active local users as CreateUser creates each — the same checks of
// the profile, the custom values, the manager, the grants (no escalation) and the identities
// (against every user and against the batch's earlier inputs), one user.create event each — but
// checks in memory what it can and writes the batch together: the users of one set of roles in
// one statement, each group's new members in one, the events in one. out[i] is ins[i]'s result;
// an input refused is not written. An error returned is not an input's (the store failed):
// nothing of the batch may stay, so run it in a transaction or savepoint and roll it back. A
// manager must exist before the call: inputs cannot name each other.
func (s *Service) CreateUsers(ctx context.Context, a Actor, ins []CreateInput) ([]CreateResult, error) {
	return s.createUsers(ctx, a, ins, true)
}

// CheckUsers says what CreateUsers would do with ins, writing nothing: each input's refusal, or
// the user it would create. An import's preview asks it.
func (s *Service) CheckUsers(ctx context.Context, a Actor, ins []CreateInput) ([]CreateResult, error) {
	return s.createUsers(ctx, a, ins, false)
}

func (s *Service) createUsers(ctx context.Context, a Actor, ins []CreateInput, write bool) ([]CreateResult, error) {
	if err := a.Require(UsersWrite); err != nil {
		return nil, err
	}
	out := make([]CreateResult, len(ins))
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		defs, err := s.store.Fields(ctx)
		if err != nil {
			return err
		}
		type pending struct {
			i             int
			u             *User
			roles, groups []string
			defaulted     bool
			hash          bool
		}
		var ok []pending
		grants := map[string]error{}
		now := s.now()
		for i, in := range ins {
			u, defaulted := newLocalUser(&in, now)
			bad := in.Profile.validate(true)
			bad = append(bad, externalIDRule(&in)...)
			if in.Password != nil {
				h, err := s.passwords.Hash(ctx, *in.Password)
				if fe, isFE := errs.As(err); isFE && fe.Kind == errs.Invalid {
					bad = append(bad, fe.Fields...)
				} else if err != nil {
					return err
				}
				u.PasswordHash = h
			}
			bad = append(bad, applyCustom(u, in.Custom, defs, true)...)
			if fe := s.checkManager(ctx, u.ID, "", &in.Profile); fe != nil {
				bad = append(bad, *fe)
			}
			if err := errs.Fields(bad); err != nil {
				out[i].Err = err
				continue
			}
			applyProfile(u, &in.Profile)
			key := strings.Join(slices.Sorted(slices.Values(in.RoleIDs)), " ") + "|" + strings.Join(slices.Sorted(slices.Values(in.GroupIDs)), " ")
			gerr, seen := grants[key]
			if !seen {
				gerr = s.checkGrants(ctx, a, nil, in.RoleIDs, nil, in.GroupIDs)
				if e, isErr := errs.As(gerr); gerr != nil && (!isErr || e.Kind == errs.Internal || e.Kind == errs.Unavailable ||
					e.Code == "store.concurrent_change") {
					return gerr // not a refusal of these roles and groups: the call fails
				}
				grants[key] = gerr
			}
			if gerr != nil {
				out[i].Err = gerr
				continue
			}
			ok = append(ok, pending{i: i, u: u, roles: dedupe(in.RoleIDs), groups: dedupe(in.GroupIDs), defaulted: defaulted, hash: u.PasswordHash != ""})
		}

		// The identities: one query for the whole batch, then each input against what exists
		// and what the batch's earlier inputs take.
		skeletons := make([]string, 0, 2*len(ok))
		for _, p := range ok {
			skeletons = append(skeletons, Skeleton(p.u.Email), Skeleton(p.u.Username))
		}
		others, err := s.store.UsersLike(ctx, skeletons)
		if err != nil {
			return err
		}
		taken, like := map[string]bool{}, map[string]bool{}
		for _, o := range others {
			claimIdentities(o, taken, like)
		}
		var keep []pending
		for _, p := range ok {
			if err := identityClash(p.u, true, !p.defaulted, taken, like); err != nil {
				if p.defaulted {
					err = emailAsUsernameTaken(err)
				}
				out[p.i].Err = err
				continue
			}
			claimIdentities(p.u, taken, like)
			keep = append(keep, p)
		}
		if !write {
			for _, p := range keep {
				out[p.i].User = p.u
			}
			return nil
		}
		if len(keep) == 0 {
			return nil
		}

		// The writes: the users of each set of roles, each group's new members, the events.
		byRoles := map[string][]*User{}
		var roleSets []string
		members := map[string][]string{}
		var groups []string
		events := make([]audit.Event, 0, len(keep))
		for _, p := range keep {
			key := strings.Join(p.roles, " ")
			if _, seen := byRoles[key]; !seen {
				roleSets = append(roleSets, key)
			}
			byRoles[key] = append(byRoles[key], p.u)
			for _, g := range p.groups {
				if _, seen := members[g]; !seen {
					groups = append(groups, g)
				}
				members[g] = append(members[g], p.u.ID)
			}
			events = append(events, audit.Event{Time: now, ActorID: a.ID, ActorName: a.Name, Action: "user.create",
				TargetType: "user", TargetID: p.u.ID, TargetName: p.u.Username, Outcome: audit.Success,
				Details: map[string]any{"email": p.u.Email, "roles": p.roles, "groups": p.groups, "password_set": p.hash,
					"default_admin": false},
				RequestID: a.RequestID, ClientIP: a.ClientIP})
		}
		for _, key := range roleSets {
			if err := s.store.InsertUsers(ctx, byRoles[key], strings.Fields(key)...); err != nil {
				return err
			}
		}
		for _, g := range groups {
			if err := s.store.AddGroupMembers(ctx, g, members[g]); err != nil {
				return err
			}
		}
		if err := s.store.AppendAudits(ctx, events); err != nil {
			return err
		}
		for _, p := range keep {
			out[p.i].User = p.u
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// identityClash is checkIdentities' verdict on u against identities already taken: taken holds
// the canonical logins (emails and usernames) of other users, like their skeletons.
func identityClash(u *User, email, username bool, taken, like map[string]bool) error {
	type identity struct{ field, value, taken, lookalike string }
	var ids []identity
	if email {
		ids = append(ids, identity{"email", u.Email, emailTaken, emailLookalike})
	}
	if username {
		ids = append(ids, identity{"username", u.Username, usernameTaken, usernameLookalike})
	}
	var out []errs.FieldError
	for _, id := range ids {
		switch {
		case taken[CanonicalLogin(id.value)]:
			out = append(out, errs.FieldError{Field: id.field, Code: "user." + id.field + "_taken", Message: id.taken})
		case like[Skeleton(id.value)]:
			out = append(out, errs.FieldError{Field: id.field, Code: "user.lookalike", Message: id.lookalike})
		}
	}
	if len(out) == 0 {
		return nil
	}
	msg := out[0].Message
	if len(out) > 1 {
		msg = "The email address and the username clash with other users'."
	}
	return &errs.Error{Kind: errs.Conflict, Code: out[0].Code, Message: msg, Fields: out}
}
