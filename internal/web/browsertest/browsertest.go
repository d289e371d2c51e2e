// Package browsertest drives the console's pages in a real browser for tests: Debian's chromium,
// through chromedp, started once per test binary and stopped when the tests end. Each test gets
// its own browser context (its own cookies and storage) and one tab; Check runs axe-core on the
// page and takes screenshots. Only _test.go files import it.
//
// A package that uses it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { browsertest.Main(m) }
//
// Without chromium (or axe-core, for Check) a test skips with one line saying what to install,
// except with CI=true, where it fails: in CI nothing may be silently skipped. `make test` installs
// both (scripts/chromium.sh, scripts/npm-tools.sh).
package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Timeout bounds each step of a test (a navigation, a click, a wait): a page that never shows
// what a test waits for fails it after this long instead of hanging the run.
const Timeout = 20 * time.Second

// The viewport a new tab has; SetWidth changes the width, Check shoots at its own two widths.
const (
	defaultWidth   = 1280
	viewportHeight = 800
)

var (
	mainRunning atomic.Bool

	startOnce sync.Once
	started   *browser // nil until startOnce ran; then err or ctx is set
)

// browser is the one chromium process of the test binary.
type browser struct {
	err    error
	ctx    context.Context // the browser's own chromedp context; tabs are its children
	cancel func()          // stops the allocator: kills chromium, removes its user-data-dir
	output *limitedBuffer  // what chromium printed, for a start that fails
}

// Main runs the package's tests and then stops the browser, if a test started it, so that it
// never outlives the test binary (chromedp also has the kernel kill it if the binary dies).
func Main(m *testing.M) {
	done := Within()
	code := m.Run()
	done()
	os.Exit(code)
}

// Within is Main for a TestMain that starts other servers too: it allows the tests to start
// the browser, and the function it returns, called after m.Run, stops it.
func Within() (stopBrowser func()) {
	mainRunning.Store(true)
	return stop
}

// Flags are chromium's command-line flags, exactly those QUALITY.md lists; chromedp adds
// --remote-debugging-pipe (it talks to chromium over a pipe, no port is opened) and
// --user-data-dir=<a fresh temporary directory>, which it removes when chromium stops.
var Flags = []string{
	"headless", "no-sandbox", "disable-gpu", "disable-background-networking",
	"disable-component-update", "disable-sync", "no-first-run",
}

func start() *browser {
	b := &browser{output: &limitedBuffer{max: 64 << 10}}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("chromium"),
		chromedp.CombinedOutput(b.output),
	}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	b.ctx = ctx
	b.cancel = func() { cancelCtx(); cancelAlloc() }

	// The first Do starts chromium and binds its life to ctx, so it gets no timeout of its own;
	// a watchdog stops a start that hangs.
	watchdog := time.AfterFunc(time.Minute, cancelCtx)
	err := chromedp.Do(ctx)
	watchdog.Stop()
	if err != nil {
		b.cancel()
		b.err = fmt.Errorf("browsertest: chromium did not start: %w; it printed:\n%s", err, b.output)
	}
	return b
}

// stop closes chromium gracefully (a few seconds at most), then kills what is left and removes
// its user-data-dir.
func stop() {
	b := started
	if b == nil || b.err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	_ = chromedp.Cancel(ctx)
	b.cancel()
}

// missing skips a test whose tool is absent, or fails it under CI=true, where nothing may be
// skipped.
func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Tab is one test's tab, in a browser context of its own: cookies, storage and cache are not
// shared with any other Tab. Its methods fail the test (t.Fatal) when a step cannot be done.
type Tab struct {
	t     testing.TB
	ctx   context.Context
	width int64 // the viewport width a test asked for; Check restores it
}

// New opens a tab in a new browser context of the shared chromium, starting chromium the first
// time; the tab and its context are closed when the test ends.
func New(t testing.TB) *Tab {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("browsertest: the package's TestMain must call browsertest.Main(m), which stops chromium after the tests")
	}
	if _, err := exec.LookPath("chromium"); err != nil {
		missing(t, "browsertest: chromium is missing: install it (Debian: apt-get install chromium; `make test` does) to run the browser tests")
	}
	startOnce.Do(func() { started = start() })
	if started.err != nil {
		t.Fatal(started.err)
	}

	ctx, cancel := chromedp.NewContext(started.ctx, chromedp.WithNewBrowserContext())
	tab := &Tab{t: t, ctx: ctx, width: defaultWidth}
	t.Cleanup(func() {
		// Cancel closes the tab and disposes of its browser context, and waits for both. An
		// error here is chromium's housekeeping, not the test's result, so it is only logged.
		if err := chromedp.Cancel(ctx); err != nil {
			t.Logf("browsertest: closing the tab: %v", err)
		}
	})
	// The first Do creates the browser context and the tab. It must run on ctx itself (the tab
	// lives as long as the context of this call), so a watchdog bounds it instead of a timeout.
	watchdog := time.AfterFunc(Timeout, cancel)
	err := chromedp.Do(ctx, viewport(defaultWidth))
	if !watchdog.Stop() {
		err = fmt.Errorf("no tab within %s (%v)", Timeout, err)
	}
	if err != nil {
		t.Fatalf("browsertest: opening a tab: %v", err)
	}
	return tab
}

// do runs actions with the step timeout and fails the test with what was being done.
func (b *Tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browsertest: %s: %v", what, err)
	}
}

// run is do for one action that returns a value.
func run[T any](b *Tab, what string, action chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("browsertest: %s: %v", what, err)
	}
	return v
}

// Go opens url and waits until the page has loaded.
func (b *Tab) Go(url string) {
	b.t.Helper()
	b.do("opening "+url, chromedp.Navigate(url))
}

// Click clicks the first element sel (CSS) matches, once it is visible. A click that loads
// another page (a link, a submit button) wants Follow, which waits for that page.
func (b *Tab) Click(sel string) {
	b.t.Helper()
	b.do(fmt.Sprintf("clicking %q", sel), chromedp.Click(chromedp.CSS(sel)))
}

// Follow clicks sel, a link or a submit button, and waits until the page it opens has loaded.
func (b *Tab) Follow(sel string) {
	b.t.Helper()
	b.waitLoad(fmt.Sprintf("clicking %q and waiting for the next page", sel), chromedp.Click(chromedp.CSS(sel)))
}

func (b *Tab) waitLoad(what string, trigger chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	run(b, what, chromedp.WaitEvent(page.LoadEventFired, nil, trigger))
}

// Fill replaces the text of the form field labelled label (the text of its <label>, spaces
// collapsed, or its aria-label) with text, typing it key by key.
func (b *Tab) Fill(label, text string) {
	b.t.Helper()
	field := byLabel(label)
	// Emptied as a person does it, Ctrl+A and Backspace: chromedp.Clear empties the value
	// attribute, not what the field holds once typed into.
	b.do(fmt.Sprintf("filling the field labelled %q", label),
		chromedp.Focus(field),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		chromedp.KeyEvent(kb.Backspace),
		chromedp.SendKeys(field, text))
}

// byLabel selects the form control a <label> with exactly this text names, or the element with
// this aria-label.
func byLabel(label string) chromedp.JSPath {
	want, _ := json.Marshal(label)
	return chromedp.JSPath(`(() => {
	const want = ` + string(want) + `;
	const norm = (s) => s.replace(/\s+/g, " ").trim();
	for (const l of document.querySelectorAll("label")) {
		if (l.control && norm(l.textContent) === want) return l.control;
	}
	for (const e of document.querySelectorAll("[aria-label]")) {
		if (norm(e.getAttribute("aria-label")) === want) return e;
	}
	return null;
})()`)
}

// Upload chooses files (paths on this machine) in the file input sel matches, as a person
// choosing them in the file dialog would.
func (b *Tab) Upload(sel string, paths ...string) {
	b.t.Helper()
	b.do(fmt.Sprintf("choosing %v in %q", paths, sel), chromedp.SetUploadFiles(chromedp.CSS(sel), paths))
}

// Type types text into the element sel matches (after what it holds), key by key.
func (b *Tab) Type(sel, text string) {
	b.t.Helper()
	b.do(fmt.Sprintf("typing into %q", sel), chromedp.SendKeys(chromedp.CSS(sel), text))
}

// Key is a key for Press.
type Key struct {
	name  string
	key   string
	shift bool
}

func (k Key) String() string { return k.name }

// The keys keyboard tests press.
var (
	KeyTab        = Key{"Tab", kb.Tab, false}
	KeyShiftTab   = Key{"Shift+Tab", kb.Tab, true}
	KeyEnter      = Key{"Enter", kb.Enter, false}
	KeyEscape     = Key{"Escape", kb.Escape, false}
	KeySpace      = Key{"Space", " ", false}
	KeyArrowUp    = Key{"ArrowUp", kb.ArrowUp, false}
	KeyArrowDown  = Key{"ArrowDown", kb.ArrowDown, false}
	KeyArrowLeft  = Key{"ArrowLeft", kb.ArrowLeft, false}
	KeyArrowRight = Key{"ArrowRight", kb.ArrowRight, false}
)

func (k Key) action() chromedp.Action[chromedp.Void] {
	if k.shift {
		return chromedp.KeyEvent(k.key, chromedp.KeyModifiers(chromedp.ModifierShift))
	}
	return chromedp.KeyEvent(k.key)
}

// Press presses keys, in order, on whatever has the focus.
func (b *Tab) Press(keys ...Key) {
	b.t.Helper()
	for _, k := range keys {
		b.do("pressing "+k.name, k.action())
	}
}

// PressAndLoad presses key (Enter in a form, say) and waits until the page it opens has loaded.
func (b *Tab) PressAndLoad(key Key) {
	b.t.Helper()
	b.waitLoad("pressing "+key.name+" and waiting for the next page", key.action())
}

// Text is the text of the first element sel matches, as it is rendered (innerText), once the
// element is there.
func (b *Tab) Text(sel string) string {
	b.t.Helper()
	return run(b, fmt.Sprintf("reading the text of %q", sel), chromedp.Text(chromedp.CSS(sel)))
}

// WaitVisible waits until an element sel matches is visible.
func (b *Tab) WaitVisible(sel string) {
	b.t.Helper()
	b.do(fmt.Sprintf("waiting for %q to be visible", sel), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// WaitGone waits until no element matches sel.
func (b *Tab) WaitGone(sel string) {
	b.t.Helper()
	b.do(fmt.Sprintf("waiting for %q to go", sel), chromedp.WaitNotPresent(chromedp.CSS(sel)))
}

// WaitText waits until the rendered text of an element sel matches contains text.
func (b *Tab) WaitText(sel, text string) {
	b.t.Helper()
	s, _ := json.Marshal(sel)
	want, _ := json.Marshal(text)
	js := `[...document.querySelectorAll(` + string(s) + `)].some((e) => e.innerText.includes(` + string(want) + `))`
	deadline := time.Now().Add(Timeout)
	for {
		if Eval[bool](b, js) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browsertest: %q never showed %q within %s", sel, text, Timeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// URL is the address of the page the tab shows.
func (b *Tab) URL() string {
	b.t.Helper()
	return run(b, "reading the URL", chromedp.Location())
}

// Title is the page's <title>.
func (b *Tab) Title() string {
	b.t.Helper()
	return run(b, "reading the title", chromedp.Title())
}

// Focused describes the element that has the focus: its tag, then #id, [name=…] and the
// start of its text where it has them (say `input#email[name=email]`), or "body" when
// nothing is focused. For keyboard tests, with HasFocus.
func (b *Tab) Focused() string {
	b.t.Helper()
	return Eval[string](b, `(() => {
	const e = document.activeElement;
	if (!e) return "";
	let d = e.tagName.toLowerCase();
	if (e.id) d += "#" + e.id;
	if (e.getAttribute("name")) d += "[name=" + e.getAttribute("name") + "]";
	const text = (e.innerText || "").replace(/\s+/g, " ").trim();
	if (text && e !== document.body) d += " " + JSON.stringify(text.slice(0, 40));
	return d;
})()`)
}

// HasFocus reports whether the element with the focus is the first one sel matches.
func (b *Tab) HasFocus(sel string) bool {
	b.t.Helper()
	s, _ := json.Marshal(sel)
	return Eval[bool](b, `document.activeElement !== null && document.activeElement === document.querySelector(`+string(s)+`)`)
}

// SetWidth sets the viewport's width in CSS pixels (the height stays 800), as a narrow screen
// or a phone would have it.
func (b *Tab) SetWidth(px int) {
	b.t.Helper()
	b.do(fmt.Sprintf("setting the viewport to %d px", px), viewport(int64(px)))
	b.width = int64(px)
}

func viewport(width int64) chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(width, viewportHeight)
}

// Eval evaluates the JavaScript expression js in the tab's page and decodes its value (JSON)
// into a T; a promise is awaited. It runs through the DevTools protocol, so the page's
// Content-Security-Policy does not stop it.
func Eval[T any](b *Tab, js string) T {
	b.t.Helper()
	raw := run(b, "evaluating "+abbrev(js), chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		b.t.Fatalf("browsertest: evaluating %s: the value %s is not a %T: %v", abbrev(js), abbrev(string(raw)), v, err)
	}
	return v
}

func abbrev(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// limitedBuffer keeps the first max bytes written to it, from several goroutines.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
