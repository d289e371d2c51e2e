package browsertest_test

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/usherhq/usher/internal/web/browsertest"
)

func TestMain(m *testing.M) { browsertest.Main(m) }

// csp is the policy usher's pages send, without even inline styles: nothing inline runs.
const csp = "default-src 'self'; frame-ancestors 'none'"

const goodPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Sign in</title>
<link rel="stylesheet" href="/style.css"></head>
<body>
<main>
<h1>Sign in</h1>
<form method="post" action="/signed-in">
<p><label for="email">Email address</label> <input id="email" name="email" type="email" autocomplete="email"></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password"></p>
<p><button id="submit" type="submit">Sign in</button></p>
</form>
<img src="/logo.png" alt="usher">
</main>
<script>document.title = "an inline script ran";</script>
</body>
</html>`

// badPage breaks two rules axe rates critical: a field without a label, an image without alt.
const badPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Broken</title></head>
<body>
<main>
<h1>Broken</h1>
<form><input id="nolabel" type="text"></form>
<img id="noalt" src="/logo.png">
</main>
</body>
</html>`

// tallPage is taller than any viewport, so a full-page screenshot is taller too.
const tallPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Tall</title><link rel="stylesheet" href="/style.css"></head>
<body><main><h1>Tall</h1><div class="tall">The end is far below.</div></main></body>
</html>`

const style = `body { font-family: sans-serif; margin: 1rem; color: #111; background: #fff; }
.tall { height: 3000px; }
input { display: block; }`

// server serves the test pages on 127.0.0.1 with usher's Content-Security-Policy.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	html := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, body)
		}
	}
	mux.HandleFunc("GET /good", html(goodPage))
	mux.HandleFunc("GET /bad", html(badPage))
	mux.HandleFunc("GET /tall", html(tallPage))
	mux.HandleFunc("GET /style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, style)
	})
	mux.HandleFunc("GET /logo.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(onePixel)
	})
	mux.HandleFunc("POST /signed-in", func(w http.ResponseWriter, r *http.Request) {
		html(`<!doctype html><html lang="en"><head><title>Signed in</title></head><body><main><h1 id="hello">Hello, `+
			template(r.PostFormValue("email"))+`</h1></main></body></html>`)(w, r)
	})
	mux.HandleFunc("GET /set-cookie", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: r.URL.Query().Get("v"), Path: "/", HttpOnly: true})
		html(`<!doctype html><html lang="en"><head><title>Set</title></head><body><main><h1>Set</h1></main></body></html>`)(w, r)
	})
	mux.HandleFunc("GET /cookie", func(w http.ResponseWriter, r *http.Request) {
		got := "none"
		if c, err := r.Cookie("sid"); err == nil {
			got = c.Value
		}
		html(`<!doctype html><html lang="en"><head><title>Cookie</title></head><body><main><h1 id="sid">`+template(got)+`</h1></main></body></html>`)(w, r)
	})
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		mux.ServeHTTP(w, r)
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func template(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// onePixel is a 1×1 PNG.
var onePixel = func() []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		panic(err)
	}
	return b.Bytes()
}()

// recorder is a testing.TB that keeps the errors it is told of instead of failing the test, so
// that a test can see what Check reports.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Error(args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprint(args...))
}

func TestCheckPassesAnAccessiblePageUnderCSP(t *testing.T) {
	t.Parallel()
	s := server(t)
	rec := &recorder{TB: t}
	tab := browsertest.New(rec)
	tab.Go(s.URL + "/good")
	// The policy is in force: the page's inline script did not run.
	if got := tab.Title(); got != "Sign in" {
		t.Fatalf("title %q: the inline script ran, so the page is not under the CSP", got)
	}
	tab.Check("good")
	if len(rec.errors) > 0 {
		t.Fatalf("Check failed an accessible page:\n%s", strings.Join(rec.errors, "\n"))
	}
	// axe ran: it is in the page and found nothing serious.
	if v := browsertest.Eval[string](tab, "axe.version"); v == "" {
		t.Fatal("axe is not in the page")
	}
}

func TestCheckReportsSeriousViolations(t *testing.T) {
	t.Parallel()
	s := server(t)
	rec := &recorder{TB: t}
	tab := browsertest.New(rec)
	tab.Go(s.URL + "/bad")
	tab.Check("bad")
	all := strings.Join(rec.errors, "\n")
	for _, want := range []string{
		"bad: accessibility: label (critical): ", "#nolabel",
		"bad: accessibility: image-alt (critical): ", "#noalt",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("Check's report lacks %q; it said:\n%s", want, all)
		}
	}
	if len(rec.errors) != 2 {
		t.Errorf("Check reported %d violations, want 2 (label, image-alt):\n%s", len(rec.errors), all)
	}
	// Screenshots are taken even of a page that fails.
	for _, w := range browsertest.ScreenshotWidths {
		if _, err := os.Stat(filepath.Join(t.ArtifactDir(), fmt.Sprintf("bad-%d.png", w))); err != nil {
			t.Error(err)
		}
	}
}

func TestScreenshotsArePNGsOfEachWidthAndTheWholePage(t *testing.T) {
	t.Parallel()
	s := server(t)
	tab := browsertest.New(t)
	tab.SetWidth(700)
	tab.Go(s.URL + "/tall")
	paths := tab.Screenshots("tall")
	want := []string{"tall-1280.png", "tall-400.png"}
	if len(paths) != len(want) {
		t.Fatalf("paths %q, want %q", paths, want)
	}
	for i, w := range []int{1280, 400} {
		if filepath.Base(paths[i]) != want[i] || filepath.Dir(paths[i]) != t.ArtifactDir() {
			t.Errorf("path %q, want %s in the artifact directory %s", paths[i], want[i], t.ArtifactDir())
		}
		b, err := os.ReadFile(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s is not a PNG: %v", paths[i], err)
		}
		if cfg.Width != w || cfg.Height < 3000 {
			t.Errorf("%s is %d×%d, want %d wide and the whole page (over 3000) tall", paths[i], cfg.Width, cfg.Height, w)
		}
	}
	// The viewport is the test's again.
	if got := browsertest.Eval[int](tab, "window.innerWidth"); got != 700 {
		t.Errorf("after the screenshots the viewport is %d px wide, want 700", got)
	}
}

func TestScreenshotsAreCopiedWhereTheEnvSays(t *testing.T) {
	// Not parallel: it sets the environment.
	s := server(t)
	dir := filepath.Join(t.TempDir(), "shots")
	// Given relative to the repository's root (three levels up), as in the README.
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(browsertest.ScreenshotsEnv, rel)
	tab := browsertest.New(t)
	tab.Go(s.URL + "/good")
	tab.Check("sign-in")
	for _, f := range []string{"sign-in-1280.png", "sign-in-400.png"} {
		a, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(t.ArtifactDir(), f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between $%s and the artifact directory", f, browsertest.ScreenshotsEnv)
		}
	}
}

func TestTabsDoNotShareCookies(t *testing.T) {
	t.Parallel()
	s := server(t)
	a := browsertest.New(t)
	b := browsertest.New(t)
	a.Go(s.URL + "/set-cookie?v=alice")
	a.Go(s.URL + "/cookie")
	if got := a.Text("#sid"); got != "alice" {
		t.Fatalf("the tab that set the cookie sends %q, want alice", got)
	}
	b.Go(s.URL + "/cookie")
	if got := b.Text("#sid"); got != "none" {
		t.Fatalf("another tab sends the cookie %q", got)
	}
	// And the other way round, after b has its own.
	b.Go(s.URL + "/set-cookie?v=bob")
	a.Go(s.URL + "/cookie")
	if got := a.Text("#sid"); got != "alice" {
		t.Fatalf("the first tab now sends %q, want alice", got)
	}
}

func TestKeyboardAndForms(t *testing.T) {
	t.Parallel()
	s := server(t)
	tab := browsertest.New(t)
	tab.Go(s.URL + "/good")
	if tab.HasFocus("#email") {
		t.Fatal("the email field has the focus before any key")
	}
	tab.Press(browsertest.KeyTab)
	if !tab.HasFocus("#email") {
		t.Fatalf("after Tab the focus is on %s, want the email field", tab.Focused())
	}
	tab.Press(browsertest.KeyTab, browsertest.KeyTab)
	if !tab.HasFocus("#submit") {
		t.Fatalf("after Tab Tab Tab the focus is on %s, want the button", tab.Focused())
	}
	if got := tab.Focused(); got != `button#submit "Sign in"` {
		t.Errorf("Focused() = %q", got)
	}
	tab.Press(browsertest.KeyShiftTab)
	if !tab.HasFocus("#password") {
		t.Fatalf("after Shift+Tab the focus is on %s, want the password field", tab.Focused())
	}

	tab.Fill("Email address", "first@example.com")
	tab.Fill("Email address", "ada@example.com") // Fill replaces
	tab.Type("#password", "secret")
	if got := browsertest.Eval[string](tab, `document.querySelector("#email").value`); got != "ada@example.com" {
		t.Fatalf("the email field holds %q", got)
	}
	tab.PressAndLoad(browsertest.KeyEnter)
	tab.WaitText("h1", "Hello, ada@example.com")
	if got := tab.URL(); got != s.URL+"/signed-in" {
		t.Errorf("URL %q after the form", got)
	}

	tab.Go(s.URL + "/good")
	tab.Fill("Email address", "bob@example.com")
	tab.Follow("#submit")
	if got := tab.Text("#hello"); got != "Hello, bob@example.com" {
		t.Errorf("after clicking the button the page says %q", got)
	}
}

// A recorder that also stops the test's goroutine on Skip and Fatal, as testing does.
type stopper struct {
	testing.TB
	mu   sync.Mutex
	how  string // "skip" or "fatal"
	said string
}

func (s *stopper) stop(how string, args ...any) {
	s.mu.Lock()
	s.how, s.said = how, fmt.Sprint(args...)
	s.mu.Unlock()
	runtime.Goexit()
}

func (s *stopper) Skip(args ...any)  { s.stop("skip", args...) }
func (s *stopper) Fatal(args ...any) { s.stop("fatal", args...) }

func TestMissingChromiumSkipsExceptInCI(t *testing.T) {
	// Not parallel: it sets the environment.
	t.Setenv("PATH", t.TempDir())
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		s := &stopper{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			browsertest.New(s)
		}()
		<-done
		want := "skip"
		if ci == "true" {
			want = "fatal"
		}
		if s.how != want || !strings.Contains(s.said, "apt-get install chromium") || strings.Contains(s.said, "\n") {
			t.Errorf("CI=%q: %s %q, want %s with one line saying what to install", ci, s.how, s.said, want)
		}
	}
}
