package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
	"github.com/usherhq/usher/internal/user"
)

// TestInvitationRows: an invitation row records who vouches for it; renewing it changes the
// voucher and keeps its creation and last email; resends are claimed once per interval, also
// when they race; the row goes with its user.
func TestInvitationRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		invited := newUser("invitee")
		invited.Status = user.Invited
		mustInsertUser(t, s, invited)
		inviter := mustInsertUser(t, s, newUser("inviter"))

		if _, err := s.Invitation(ctx, invited.ID); !errs.Is(errs.NotFound, err) {
			t.Fatalf("no invitation yet: %v", err)
		}
		if ok, err := s.ClaimInvitationEmail(ctx, invited.ID, t0, t0); ok || err != nil {
			t.Fatalf("claim without an invitation: %v %v", ok, err)
		}
		sent := t0
		must(t, s.PutInvitation(ctx, &auth.Invitation{UserID: invited.ID, InviterID: inviter.ID, InviterName: "inviter",
			CreatedAt: t0, SentAt: &sent}))
		inv, err := s.Invitation(ctx, invited.ID)
		must(t, err)
		if inv.InviterID != inviter.ID || inv.InviterName != "inviter" || !inv.CreatedAt.Equal(t0) || inv.SentAt == nil || !inv.SentAt.Equal(t0) {
			t.Fatalf("invitation %+v", inv)
		}

		// usher itself renews it: no inviter id; created and sent stay
		must(t, s.PutInvitation(ctx, &auth.Invitation{UserID: invited.ID, InviterName: "system:test", CreatedAt: t0.Add(time.Hour)}))
		inv, err = s.Invitation(ctx, invited.ID)
		must(t, err)
		if inv.InviterID != "" || inv.InviterName != "system:test" || !inv.CreatedAt.Equal(t0) || inv.SentAt == nil || !inv.SentAt.Equal(t0) {
			t.Fatalf("renewed invitation %+v", inv)
		}

		// within the interval no claim; after it, exactly one of 20 racing claims
		if ok, err := s.ClaimInvitationEmail(ctx, invited.ID, t0.Add(30*time.Second), t0.Add(-30*time.Second)); ok || err != nil {
			t.Fatalf("claim within the interval: %v %v", ok, err)
		}
		now := t0.Add(2 * time.Minute)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				ok, err := s.ClaimInvitationEmail(ctx, invited.ID, now, now.Add(-time.Minute))
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d of 20 racing claims won, want 1", wins.Load())
		}
		inv, err = s.Invitation(ctx, invited.ID)
		must(t, err)
		if !inv.SentAt.Equal(now) {
			t.Fatalf("sent at %v, want %v", inv.SentAt, now)
		}

		// a deleted inviter does not make the row look like usher's own
		must(t, s.DeleteUser(ctx, inviter.ID))
		must(t, s.PutInvitation(ctx, &auth.Invitation{UserID: invited.ID, InviterID: inviter.ID, InviterName: "inviter", CreatedAt: t0}))
		if inv, err = s.Invitation(ctx, invited.ID); err != nil || inv.InviterID != inviter.ID {
			t.Fatalf("invitation of a deleted inviter: %+v %v", inv, err)
		}

		must(t, s.DeleteInvitation(ctx, invited.ID))
		if _, err := s.Invitation(ctx, invited.ID); !errs.Is(errs.NotFound, err) {
			t.Fatalf("deleted invitation: %v", err)
		}
		must(t, s.PutInvitation(ctx, &auth.Invitation{UserID: invited.ID, InviterName: "x", CreatedAt: t0}))
		must(t, s.DeleteUser(ctx, invited.ID))
		if _, err := s.Invitation(ctx, invited.ID); !errs.Is(errs.NotFound, err) {
			t.Fatalf("the invitation of a deleted user stays: %v", err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
