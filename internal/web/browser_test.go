package web_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/directory/dirtest"
	"github.com/usherhq/usher/internal/user"
	"github.com/usherhq/usher/internal/web/browsertest"
)

// TestMain lets the tests start one browser and the directory servers, and stops them after.
func TestMain(m *testing.M) {
	stopBrowser, stopDirectories := browsertest.Within(), dirtest.Within()
	code := m.Run()
	stopDirectories()
	stopBrowser()
	os.Exit(code)
}

// tab is a browser tab on env's server.
type tab struct {
	*browsertest.Tab
	t    *testing.T
	base string
}

func (e *env) tab() *tab {
	return &tab{Tab: browsertest.New(e.t), t: e.t, base: e.srv.URL}
}

func (b *tab) open(path string) { b.t.Helper(); b.Go(b.base + path) }

// says fails unless the page's main text contains each of texts.
func (b *tab) says(texts ...string) {
	b.t.Helper()
	main := strings.Join(strings.Fields(b.Text("main")), " ")
	for _, s := range texts {
		if !strings.Contains(main, s) {
			b.t.Fatalf("%s does not say %q; it says:\n%s", b.URL(), s, main)
		}
	}
}

func (b *tab) signIn(login, password string) {
	b.t.Helper()
	b.open("/sign-in")
	b.Fill("Email or username", login)
	b.Fill("Password", password)
	b.PressAndLoad(browsertest.KeyEnter)
}

func (b *tab) path() string {
	u, err := url.Parse(b.URL())
	if err != nil {
		b.t.Fatal(err)
	}
	return u.RequestURI()
}

// TestConsoleInBrowser walks the seeds' click paths through the console in a real browser,
// checking every page with axe-core and screenshotting it at 1280 and 400 px.
func TestConsoleInBrowser(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for i := range 60 {
			e.createUser(fmt.Sprintf("user%03d", i), user.ViewerRole)
		}
		e.createUser("marek", user.UserManagerRole)
		victim := e.createUser("lena", user.ViewerRole)

		b := e.tab()
		b.open("/")
		if b.path() != "/sign-in" {
			t.Fatalf("/ signed out shows %s", b.path())
		}
		b.Check("sign-in")
		// The sign-in page opens ready to type.
		if !b.HasFocus("#login") {
			t.Fatalf("the sign-in page opens with the focus on %s, want the login field", b.Focused())
		}
		b.signIn("admin@example.org", "wrong password, typed in a hurry")
		b.says("The username or password is not correct.")
		b.Fill("Password", testPassword)
		b.PressAndLoad(browsertest.KeyEnter)
		if b.path() != "/users" {
			t.Fatalf("signed in, the console shows %s", b.path())
		}
		b.says("63 Total", "63 Active", "0 Invited", "0 Locked", "0 Disabled")
		b.Check("users")
		// The keyboard: the skip link first, and it leads to the page's content.
		b.Press(browsertest.KeyTab)
		if !b.HasFocus("a.skip") {
			t.Fatalf("the first Tab focuses %s, want the skip link", b.Focused())
		}

		// Search as you type: the list follows the search box without a page load.
		b.Type("#q", "mar")
		b.WaitGone("#results tbody tr:nth-child(2)")
		b.WaitText("#results", "Marek Tester")
		b.WaitText("[data-results-status]", "1 row shown") // what a screen reader hears
		if n := browsertest.Eval[int](b.Tab, `document.querySelectorAll("#results tbody tr").length`); n != 1 {
			t.Fatalf("searching mar lists %d users", n)
		}
		if !strings.Contains(b.URL(), "q=mar") {
			t.Fatalf("the address does not keep the search: %s", b.URL())
		}
		b.Fill("Search", "zzzz")
		b.WaitText("#results", "No user matches “zzzz”.")
		b.Check("users-empty")

		// Filter, then page forward and back.
		b.open("/users?status=active")
		b.Follow("a[rel=next]")
		b.says("← Previous")
		if !strings.Contains(b.URL(), "cursor=") {
			t.Fatalf("Next did not page: %s", b.URL())
		}
		b.Follow("a[rel=prev]")
		if strings.Contains(b.URL(), "cursor=") {
			t.Fatalf("Previous from the second page is not the first: %s", b.URL())
		}

		// A role for three users at once.
		b.open("/users?q=user00")
		for i := 1; i <= 3; i++ {
			b.Click(fmt.Sprintf("#results tbody tr:nth-child(%d) input[type=checkbox]", i))
		}
		b.WaitText("[data-selected-count]", "3 selected")
		browsertest.Eval[bool](b.Tab, `(document.getElementById("action").value = "add_roles", document.getElementById("bulk-role").value = "user_manager", true)`)
		b.Follow("#bulk .bulkbar button[type=submit]")
		b.says("You are about to add the role User Manager to 3 users", "User000 Tester")
		b.Check("bulk-confirm")
		b.Follow("main form button[type=submit]")
		b.says("Done: added the role to 3 users.")
		b.open("/users?role=user_manager")
		b.says("User000 Tester", "User001 Tester", "User002 Tester", "Marek Tester")

		// Disable behind a dialog that keeps the focus, then enable.
		b.open("/users/" + victim.ID)
		b.Check("user")
		b.Click(`form[action$="/status"] button.danger`)
		b.WaitVisible("dialog[open]")
		if text := b.Text("dialog"); !strings.Contains(text, "Disable Lena Tester?") {
			t.Fatalf("the dialog says %q", text)
		}
		if !b.HasFocus("dialog button:not(.danger)") {
			t.Fatalf("the dialog opens with the focus on %s, want Cancel", b.Focused())
		}
		b.Press(browsertest.KeyEscape)
		b.WaitGone("dialog")
		if !b.HasFocus(`form[action$="/status"] button.danger`) {
			t.Fatalf("closing the dialog leaves the focus on %s, want the Disable button", b.Focused())
		}
		b.Click(`form[action$="/status"] button.danger`)
		b.WaitVisible("dialog[open]")
		b.Follow("dialog button.danger")
		b.says("Lena Tester is disabled")
		b.Follow(`form[action$="/status"] button.primary`)
		b.says("Lena Tester is enabled again.")

		// Five wrong passwords lock her; the list shows it and the console unlocks her.
		other := e.tab()
		for range 5 {
			other.signIn("lena", "not her password at all")
		}
		b.open("/users?status=locked")
		b.says("Lena Tester", "Locked")
		b.open("/users/" + victim.ID)
		b.Check("user-locked")
		b.Click(`form[action$="/status"] button.primary`)
		b.WaitVisible("dialog[open]")
		b.Follow("dialog button.primary")
		b.says("Lena Tester is unlocked and can sign in again.")
		if d, _ := e.app.Users.GetUser(ctx, user.System("test"), victim.ID); d.Status != user.Active {
			t.Fatalf("after unlock she is %s", d.Status)
		}

		// Nobody deletes themselves or the Default Administrator.
		me, _ := e.app.Users.ListUsers(ctx, user.System("test"), user.Filter{Q: "admin@example.org"})
		b.open("/users/" + me.Users[0].ID)
		b.Click(`form[action$="/delete"] button`)
		b.WaitVisible("dialog[open]")
		b.Follow("dialog button.danger")
		b.says("You cannot delete your own account.")

		b.open("/users/new")
		b.Check("create-user")
		b.Fill("Email", "new.person@example.org")
		b.Fill("First name", "New")
		b.Fill("Last name", "Person")
		b.Follow("form.user-form button.primary")
		b.says("New Person is created.")

		b.open("/no/such/page")
		b.says("There is no page at this address.")
		b.Check("not-found")
	})
}

// TestPagesInBrowser checks every other page with axe-core and screenshots it, and walks
// a role, a group and a field through their forms with the keyboard's Enter.
func TestPagesInBrowser(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		for _, f := range []user.FieldInput{
			{Name: "cost_center", Label: ptr("Cost center"), Type: user.TextField, Pattern: ptr("[A-Z]{2}[0-9]{4}")},
			{Name: "shirt", Label: ptr("Shirt size"), Type: user.EnumField, Options: &[]string{"S", "M", "L"}},
		} {
			if _, err := e.app.Users.CreateField(context.Background(), user.System("test"), f); err != nil {
				t.Fatal(err)
			}
		}
		b := e.tab()
		b.signIn("admin@example.org", testPassword)
		for _, p := range []struct{ path, name string }{
			{"/roles", "roles"}, {"/roles/new", "role-new"}, {"/roles/" + user.UserManagerRole, "role-builtin"},
			{"/groups", "groups"}, {"/groups/new", "group-new"}, {"/fields", "fields"}, {"/fields/new", "field-new"},
		} {
			b.open(p.path)
			b.Check(p.name)
		}
		b.open("/groups/new")
		b.Fill("Name", "Support")
		b.Follow("main form button.primary")
		b.says("Support")
		b.Check("group")
		b.open("/forgot-password")
		b.Check("forgot-password")

		b.open("/fields")
		b.Follow(`button[aria-label="Move Cost center down"]`)
		b.says("Cost center is now number 2 of the custom fields.")
	})
}
