package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ScreenshotWidths are the viewport widths, in CSS pixels, Check takes a full-page screenshot
// at: a laptop and a narrow phone.
var ScreenshotWidths = []int{1280, 400}

// ScreenshotsEnv names a directory Check also copies its screenshots into, as <name>-<width>.png
// (the README's docs/ screenshots are made so); a relative path is taken from the repository's
// root, not from the package directory go test runs in.
const ScreenshotsEnv = "USHER_SCREENSHOTS"

// Violation is one axe-core rule the page breaks, with the elements that break it.
type Violation struct {
	ID      string   `json:"id"`     // the rule, e.g. "label"
	Impact  string   `json:"impact"` // minor, moderate, serious or critical
	Help    string   `json:"help"`   // what the rule asks, in a sentence
	HelpURL string   `json:"helpUrl"`
	Targets []string `json:"targets"` // a CSS selector for each element at fault
}

func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s; at %s; see %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "), v.HelpURL)
}

// Check is the test every console page gets: it fails the test (t.Error, one line each) for
// every serious or critical accessibility problem axe-core finds on the page as it is now, and
// writes full-page PNG screenshots at each of ScreenshotWidths, <name>-1280.png and
// <name>-400.png, into the test's artifact directory (kept with `go test -artifacts`) and, when
// $USHER_SCREENSHOTS names a directory, into that too. name is a file name: letters, digits, -
// and _. The viewport is as it was afterwards.
func (b *Tab) Check(name string) {
	b.t.Helper()
	if !fileName.MatchString(name) {
		b.t.Fatalf("browsertest: Check(%q): the name must be letters, digits, - and _", name)
	}
	violations, err := b.Audit()
	if err != nil {
		b.t.Fatal(err)
	}
	for _, v := range violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("%s: accessibility: %s", name, v)
		}
	}
	b.Screenshots(name)
}

var fileName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Audit runs axe-core (the version tools/npm/package.json pins) on the page as it is now and
// returns every violation it finds, of every impact. The page's Content-Security-Policy does
// not matter: axe's text is evaluated through the DevTools protocol, not loaded by the page.
func (b *Tab) Audit() ([]Violation, error) {
	b.t.Helper()
	src, version := axeSource(b.t)
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	// A new document has no axe; inject it once per document.
	have, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		return nil, fmt.Errorf("browsertest: looking for axe-core in the page: %w", err)
	}
	if !have {
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
			return nil, fmt.Errorf("browsertest: injecting axe-core: %w", err)
		}
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.version`))
	if err != nil {
		return nil, fmt.Errorf("browsertest: reading axe-core's version: %w", err)
	}
	if got != version {
		return nil, fmt.Errorf("browsertest: axe-core %s ran; tools/npm/package.json pins %s (run scripts/npm-tools.sh)", got, version)
	}
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then((r) =>
	JSON.stringify(r.violations.map((v) => ({
		id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
		targets: v.nodes.map((n) => n.target.join(" ")),
	}))))`, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("browsertest: axe.run: %w", err)
	}
	var vs []Violation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		return nil, fmt.Errorf("browsertest: axe.run's result: %w", err)
	}
	return vs, nil
}

// Screenshots writes full-page PNG screenshots of the page at each of ScreenshotWidths as
// <name>-<width>.png, as Check does, and returns their paths in the artifact directory.
func (b *Tab) Screenshots(name string) []string {
	b.t.Helper()
	dir := b.t.ArtifactDir()
	extra := os.Getenv(ScreenshotsEnv)
	if extra != "" {
		if !filepath.IsAbs(extra) {
			root, err := repoRoot()
			if err != nil {
				b.t.Fatal(err)
			}
			extra = filepath.Join(root, extra)
		}
		if err := os.MkdirAll(extra, 0o755); err != nil {
			b.t.Fatalf("browsertest: $%s: %v", ScreenshotsEnv, err)
		}
	}
	var paths []string
	for _, w := range ScreenshotWidths {
		img := run(b, fmt.Sprintf("taking a screenshot %d px wide", w), fullPage(int64(w)))
		file := fmt.Sprintf("%s-%d.png", name, w)
		for _, d := range []string{dir, extra} {
			if d == "" {
				continue
			}
			if err := os.WriteFile(filepath.Join(d, file), img, 0o644); err != nil {
				b.t.Fatalf("browsertest: %v", err)
			}
		}
		paths = append(paths, filepath.Join(dir, file))
	}
	b.do("restoring the viewport", viewport(b.width))
	return paths
}

// fullPage sets the viewport to width and captures the whole page, however tall, as a PNG
// exactly width pixels wide (what spills over to the right is cut off, as on a phone).
func fullPage(width int64) chromedp.Action[[]byte] {
	return func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		if _, err := viewport(width)(ctx, t); err != nil {
			return nil, err
		}
		m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, err
		}
		height := float64(viewportHeight)
		if m.CSSContentSize != nil {
			height = max(height, m.CSSContentSize.Height)
		}
		res, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			CaptureBeyondViewport: new(true),
			FromSurface:           new(true),
			Clip:                  &page.Viewport{X: 0, Y: 0, Width: float64(width), Height: height, Scale: 1},
		})
		if err != nil {
			return nil, err
		}
		// Chromium's own check that the image is what was asked for: a PNG this wide.
		cfg, err := png.DecodeConfig(bytes.NewReader(res.Data))
		if err != nil {
			return nil, fmt.Errorf("the screenshot is not a PNG: %w", err)
		}
		if int64(cfg.Width) != width {
			return nil, fmt.Errorf("the screenshot is %d px wide, not %d", cfg.Width, width)
		}
		return res.Data, nil
	}
}

var (
	axeOnce    sync.Once
	axeText    string
	axeVersion string
	axeMissing string // why axe-core cannot be had, in one line
	axeErr     error  // a broken install or manifest: a failure, not a skip
)

// axeSource is axe.min.js of the installed npm tools and the version tools/npm/package.json pins.
// When it is not installed, scripts/npm-tools.sh is run once to install it.
func axeSource(t testing.TB) (src, version string) {
	t.Helper()
	axeOnce.Do(loadAxe)
	if axeErr != nil {
		t.Fatal(axeErr)
	}
	if axeMissing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(axeMissing)
		}
		t.Skip(axeMissing)
	}
	return axeText, axeVersion
}

func loadAxe() {
	root, err := repoRoot()
	if err != nil {
		axeErr = err
		return
	}
	b, err := os.ReadFile(filepath.Join(root, "tools", "npm", "package.json"))
	if err != nil {
		axeErr = fmt.Errorf("browsertest: %w", err)
		return
	}
	var manifest struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		axeErr = fmt.Errorf("browsertest: tools/npm/package.json: %w", err)
		return
	}
	axeVersion = manifest.Dependencies["axe-core"]
	if axeVersion == "" || strings.ContainsAny(axeVersion, "^~<>=* ") {
		axeErr = fmt.Errorf("browsertest: tools/npm/package.json must pin axe-core to one exact version, not %q", axeVersion)
		return
	}

	dir := os.Getenv("USHER_NPM_TOOLS")
	if dir == "" {
		dir = filepath.Join(root, ".tools")
	}
	file := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
	src, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		// Not installed yet (a plain `go test`, not `make test`): the script installs it, or
		// does nothing when it cannot (no npm, no network), and then the file is still missing.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		c := exec.CommandContext(ctx, filepath.Join(root, "scripts", "npm-tools.sh"))
		c.Env = append([]string{"npm_config_fetch_retries=0"}, os.Environ()...)
		_, _ = c.CombinedOutput()
		src, err = os.ReadFile(file)
	}
	if err != nil {
		axeMissing = "browsertest: axe-core is not installed in " + dir + " and scripts/npm-tools.sh could not install it (no npm or no network?): run `make test` once with network access"
		return
	}
	axeText = string(src)
}

// repoRoot is the directory above the working directory that holds go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("browsertest: no go.mod above the working directory, so no repository to find the npm tools in")
		}
		dir = parent
	}
}
