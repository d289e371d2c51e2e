package mail

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var lockedAt = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)

// goldenCases renders every kind of message with fixed data.
func goldenCases() map[string]func() (*Message, error) {
	return map[string]func() (*Message, error){
		"password_reset": PasswordReset{To: Recipient{UserID: "u1", Name: "Ada", Email: "ada@example.org"},
			Link: "https://usher.example.com/reset?token=abc123", ExpiresIn: 30 * time.Minute}.Message,
		"password_reset_no_name": PasswordReset{To: Recipient{Email: "ada@example.org"},
			Link: "https://usher.example.com/reset?token=abc123", ExpiresIn: 119 * time.Second}.Message,
		"account_locked": AccountLocked{To: Recipient{UserID: "u1", Name: "Ada", Email: "ada@example.org"},
			At: lockedAt, Failures: 5}.Message,
		"account_locked_with_reset": AccountLocked{To: Recipient{UserID: "u1", Name: "Ada", Email: "ada@example.org"},
			At: lockedAt.In(time.FixedZone("CET", 3600)), Failures: 7, ResetLink: "https://usher.example.com/reset?token=def456"}.Message,
		"account_locked_admin": AccountLockedAdmin{To: Recipient{UserID: "a1", Name: "Grace", Email: "grace@example.org"},
			User: LockedUser{ID: "u1", Username: "ada", Email: "ada@example.org", Name: "Ada <Lovelace>"},
			At:   lockedAt, Failures: 5, UserLink: "https://usher.example.com/users/u1"}.Message,
		"invitation": Invitation{To: Recipient{UserID: "u2", Email: "bob@example.org"}, Inviter: "Ada <Lovelace>",
			Link: "https://usher.example.com/invitation?token=inv_abc", ExpiresIn: 15 * 24 * time.Hour,
			Note: "Welcome aboard!\n<b>See</b> you on Monday."}.Message,
		"invitation_no_message": Invitation{To: Recipient{UserID: "u2", Email: "bob@example.org"}, Inviter: "",
			Link: "https://usher.example.com/invitation?token=inv_abc", ExpiresIn: 36 * time.Hour}.Message,
		"directory_sync_failed": DirectorySync{To: Recipient{UserID: "a1", Name: "Grace", Email: "grace@example.org"},
			Directory: "Head <office>", StartedBy: "schedule", At: lockedAt,
			Reason: "The directory refused the bind DN's password.", Link: "https://usher.example.com/directories/d1"}.FailedMessage,
		"directory_sync_held": DirectorySync{To: Recipient{UserID: "a1", Name: "Grace", Email: "grace@example.org"},
			Directory: "Head office", StartedBy: "grace", At: lockedAt, Reason: "It would disable 60 of 100 users (60%), more than the threshold of 10%.",
			Counts: SyncCounts{Seen: 40, Updated: 2, Disabled: 60}, Link: "https://usher.example.com/directories/d1"}.HeldMessage,
		"directory_sync_summary": DirectorySync{To: Recipient{Email: "grace@example.org"}, Directory: "Head office",
			StartedBy: "schedule", At: lockedAt, Counts: SyncCounts{Seen: 1200, Created: 1, Updated: 14, Failed: 2},
			Link: "https://usher.example.com/directories/d1"}.SummaryMessage,
		"test": Test{To: "ops@example.org", PublicURL: "https://usher.example.com", At: lockedAt}.Message,
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for name, render := range goldenCases() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m, err := render()
			if err != nil {
				t.Fatal(err)
			}
			got := "Kind: " + m.Kind + "\nUser: " + m.UserID + "\nTo: " + m.To + "\nSubject: " + m.Subject +
				"\n\n----- text -----\n" + m.Text + "\n----- html -----\n" + m.HTML
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/mail -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s (run with -update if the change is intended):\n%s", name, path, got)
			}
		})
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	t.Parallel()
	m, err := AccountLockedAdmin{To: Recipient{Email: "grace@example.org"},
		User: LockedUser{ID: "u1", Username: "ada", Name: `<script>alert(1)</script>`}, At: lockedAt, Failures: 5,
		UserLink: `javascript:alert(1)`}.Message()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, `href="javascript:`) {
		t.Fatalf("HTML part is not escaped:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, "<script>alert(1)</script>") {
		t.Fatalf("the text part should show the name as it is:\n%s", m.Text)
	}
	if m.UserID != "u1" {
		t.Fatalf("the admin notice is filed under %q, want the locked user u1", m.UserID)
	}
}

func TestInvitationEscapesMessage(t *testing.T) {
	t.Parallel()
	m, err := Invitation{To: Recipient{Email: "bob@example.org"}, Inviter: `<img src=x onerror=alert(1)>`,
		Link: "https://usher.example.com/invitation?token=inv_abc", ExpiresIn: time.Hour,
		Note: `<script>alert(1)</script> <a href="https://evil.example">click</a>`}.Message()
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"<script>", "<img", `<a href="https://evil.example">`} {
		if strings.Contains(m.HTML, raw) {
			t.Fatalf("HTML part holds %q unescaped:\n%s", raw, m.HTML)
		}
	}
	if !strings.Contains(m.Text, "<script>alert(1)</script>") || !strings.Contains(m.Text, "expires in 1 hour.") {
		t.Fatalf("the text part should show the message as it is, and the lifetime:\n%s", m.Text)
	}
}

func TestSubjectIsOneLine(t *testing.T) {
	t.Parallel()
	m, err := AccountLockedAdmin{To: Recipient{Email: "grace@example.org"},
		User: LockedUser{Username: "evil\r\nBcc: victim@example.org"}, At: lockedAt}.Message()
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		t.Fatalf("subject %q spans lines", m.Subject)
	}
}

func TestEveryKindHasTemplates(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, render := range goldenCases() {
		m, err := render()
		if err != nil {
			t.Fatal(err)
		}
		seen[m.Kind] = true
	}
	for _, k := range kinds {
		if !seen[k] {
			t.Errorf("no golden test renders %s", k)
		}
	}
	entries, _ := templateFS.ReadDir("templates")
	if len(entries) != 2*len(kinds)+1 {
		t.Errorf("templates/ holds %d files, want a .txt and an .html per kind plus layout.html", len(entries))
	}
}
