package api

import (
	"context"
	"net/http"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/user"
)

type inviteInput struct {
	Body struct {
		Invitations []invitee `json:"invitations" nullable:"false" doc:"The people to invite, at most 100; each address is checked and invited on its own."`
		Message     string    `json:"message,omitempty" doc:"A personal note for the invitation email, plain text, at most 1000 characters."`
	}
}

type invitee struct {
	Email  string   `json:"email" doc:"As typed: spaces anywhere are refused, not trimmed."`
	Roles  []string `json:"roles,omitempty" nullable:"false" doc:"Direct role ids; the Viewer role when absent, none when empty. You must hold every permission they carry."`
	Groups []string `json:"groups,omitempty" nullable:"false" doc:"Group ids; you must hold every permission their roles carry."`
}

type inviteItem struct {
	Email  string    `json:"email" doc:"The address as it was sent."`
	OK     bool      `json:"ok"`
	Status int       `json:"status" doc:"The HTTP status this address alone would have had."`
	User   *userBody `json:"user,omitempty" doc:"The invited user, in status invited."`
	Error  *Problem  `json:"error,omitempty" doc:"Why this address was not invited: invitation.email_required, invitation.email_spaces, invitation.email_invalid, invitation.email_duplicate, invitation.email_taken, user.lookalike, auth.escalation, role.unknown, group.unknown…"`
}

type inviteOutput struct {
	Body struct {
		Succeeded int          `json:"succeeded"`
		Failed    int          `json:"failed"`
		Results   []inviteItem `json:"results" doc:"One per address, in the order sent."`
	}
}

func (s *Server) invite(ctx context.Context, in *inviteInput) (*inviteOutput, error) {
	people := make([]user.InviteInput, len(in.Body.Invitations))
	for i, p := range in.Body.Invitations {
		people[i] = user.InviteInput{Email: p.Email, RoleIDs: p.Roles, GroupIDs: p.Groups}
	}
	results, err := s.deps.Invitations.Invite(ctx, actorFrom(ctx), people, in.Body.Message)
	if err != nil {
		return nil, err
	}
	out := &inviteOutput{}
	out.Body.Results = make([]inviteItem, len(results))
	for i, r := range results {
		item := inviteItem{Email: r.Email, OK: r.Err == nil, Status: http.StatusCreated}
		if r.Err != nil {
			p := newProblem(ctx, http.StatusInternalServerError, "invitation failed", r.Err)
			item.Error, item.Status = p, p.Status
			out.Body.Failed++
		} else {
			b := toUser(r.User)
			item.User = &b
			out.Body.Succeeded++
		}
		out.Body.Results[i] = item
	}
	return out, nil
}

type acceptInput struct {
	Body struct {
		Token     string `json:"token" doc:"The token from the invitation link."`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Password  string `json:"password"`
	}
}

// acceptInvitation signs the new user in, as login does.
func (s *Server) acceptInvitation(ctx context.Context, in *acceptInput) (*loginOutput, error) {
	b := in.Body
	token, u, err := s.deps.Invitations.Accept(ctx, b.Token, auth.AcceptInput{FirstName: b.FirstName, LastName: b.LastName,
		Password: b.Password}, client(ctx))
	if err != nil {
		return nil, err
	}
	return s.signedIn(ctx, token, u)
}

func (s *Server) resendInvitation(ctx context.Context, in *idPath) (*struct{}, error) {
	return nil, s.deps.Invitations.Resend(ctx, actorFrom(ctx), in.ID)
}

func (s *Server) revokeInvitation(ctx context.Context, in *idPath) (*struct{}, error) {
	return nil, s.deps.Invitations.Revoke(ctx, actorFrom(ctx), in.ID)
}

type linkOutput struct {
	Body struct {
		URL string `json:"url" doc:"A fresh single-use invitation link; earlier links stop working."`
	}
}

func (s *Server) invitationLink(ctx context.Context, in *idPath) (*linkOutput, error) {
	link, err := s.deps.Invitations.Link(ctx, actorFrom(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	out := &linkOutput{}
	out.Body.URL = link
	return out, nil
}
