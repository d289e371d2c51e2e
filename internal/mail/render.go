package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed templates
var templateFS embed.FS

// kinds lists every kind of message; each has templates/<kind>.txt (text/template, with a
// "subject" block) and templates/<kind>.html (html/template, a "content" block in layout.html).
var kinds = []string{KindPasswordReset, KindAccountLocked, KindAccountLockedAdmin, KindInvitation, KindTest,
	KindDirectorySyncFailed, KindDirectorySyncHeld, KindDirectorySyncSummary}

type pair struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// templates are parsed once, when the program starts: they are embedded, so a broken one fails
// every test rather than a request.
var templates = parseTemplates()

func parseTemplates() map[string]pair {
	layout := htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/layout.html"))
	out := map[string]pair{}
	for _, k := range kinds {
		text := texttemplate.Must(texttemplate.New(k+".txt").Option("missingkey=error").ParseFS(templateFS, "templates/"+k+".txt"))
		html := htmltemplate.Must(htmltemplate.Must(layout.Clone()).Option("missingkey=error").ParseFS(templateFS, "templates/"+k+".html"))
		out[k] = pair{text: text, html: html}
	}
	return out
}

// render fills the templates of kind with data.
func render(kind string, to Recipient, data any) (*Message, error) {
	p, ok := templates[kind]
	if !ok {
		return nil, fmt.Errorf("mail: no templates for %q", kind)
	}
	var subject, text, html bytes.Buffer
	if err := p.text.ExecuteTemplate(&subject, "subject", data); err != nil {
		return nil, fmt.Errorf("mail: render %s subject: %w", kind, err)
	}
	if err := p.text.Execute(&text, data); err != nil {
		return nil, fmt.Errorf("mail: render %s text: %w", kind, err)
	}
	if err := p.html.ExecuteTemplate(&html, "layout.html", data); err != nil {
		return nil, fmt.Errorf("mail: render %s HTML: %w", kind, err)
	}
	return &Message{
		Kind:    kind,
		UserID:  to.UserID,
		To:      to.Email,
		Subject: strings.Join(strings.Fields(subject.String()), " "), // one line, whatever a name holds
		Text:    text.String(),
		HTML:    html.String(),
	}, nil
}

// Recipient is who a message goes to.
type Recipient struct {
	UserID string // the user the message is about, when it goes to them
	Name   string // how to greet them; may be empty
	Email  string
}

func when(t time.Time) string { return t.UTC().Format("2 January 2006 at 15:04 UTC") }

// PasswordReset is the message with a link to choose a new password.
type PasswordReset struct {
	To        Recipient
	Link      string
	ExpiresIn time.Duration
}

// ExpiryMinutes is how long the link works, for the templates: whole minutes, never more than
// the truth, at least one.
func (d PasswordReset) ExpiryMinutes() int { return max(1, int(d.ExpiresIn/time.Minute)) }

// Message renders the message.
func (d PasswordReset) Message() (*Message, error) { return render(KindPasswordReset, d.To, d) }

// Invitation invites a person to accept their new account.
type Invitation struct {
	To        Recipient
	Inviter   string // the inviter's name; empty when usher itself invites
	Link      string
	ExpiresIn time.Duration
	Note      string // the inviter's own words, plain text; may be empty
}

// Lifetime is how long the link works, for the templates: whole days, or whole hours under
// two days, never more than the truth, at least one hour.
func (d Invitation) Lifetime() string {
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	if d.ExpiresIn >= 48*time.Hour {
		return plural(int(d.ExpiresIn/(24*time.Hour)), "day")
	}
	return plural(max(1, int(d.ExpiresIn/time.Hour)), "hour")
}

// Message renders the message.
func (d Invitation) Message() (*Message, error) { return render(KindInvitation, d.To, d) }

// AccountLocked tells a user that their account was locked.
type AccountLocked struct {
	To        Recipient
	At        time.Time
	Failures  int
	ResetLink string // where to unlock it by choosing a new password, when policy allows; may be empty
}

// When is the time of the lock, for the templates.
func (d AccountLocked) When() string { return when(d.At) }

// Message renders the message.
func (d AccountLocked) Message() (*Message, error) { return render(KindAccountLocked, d.To, d) }

// LockedUser names the user an administrator's lock notice is about.
type LockedUser struct {
	ID       string
	Username string
	Email    string
	Name     string
}

// Display is how the notice names the user: "Ada Lovelace (ada, ada@example.org)".
func (u LockedUser) Display() string {
	who := u.Username
	if u.Email != "" && u.Email != u.Username {
		who += ", " + u.Email
	}
	if u.Name == "" {
		return who
	}
	return u.Name + " (" + who + ")"
}

// AccountLockedAdmin tells an administrator that a user's account was locked.
type AccountLockedAdmin struct {
	To       Recipient // the administrator
	User     LockedUser
	At       time.Time
	Failures int
	UserLink string // the user's page in the console
}

// When is the time of the lock, for the templates.
func (d AccountLockedAdmin) When() string { return when(d.At) }

// Message renders the message; it is filed under the locked user.
func (d AccountLockedAdmin) Message() (*Message, error) {
	m, err := render(KindAccountLockedAdmin, d.To, d)
	if err == nil {
		m.UserID = d.User.ID
	}
	return m, err
}

// Test is the message of usher mail test.
type Test struct {
	To        string
	PublicURL string
	At        time.Time
}

// When is the time of sending, for the templates.
func (d Test) When() string { return when(d.At) }

// Message renders the message.
func (d Test) Message() (*Message, error) { return render(KindTest, Recipient{Email: d.To}, d) }
