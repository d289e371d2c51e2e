package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/api"
)

// TestOpenAPILint runs Redocly CLI's recommended rules (redocly.yaml) on the API's document and
// wants no error and no warning. The linter is the one tools/npm/package-lock.json pins, installed
// into .tools/ (or $USHER_NPM_TOOLS) by scripts/npm-tools.sh, which `make test` runs and this test
// runs again (it does nothing when the install is there). Without Node.js, or when the install
// cannot be made (no network), it skips with one line, except with CI=true, where it fails.
func TestOpenAPILint(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	version := pinnedRedocly(t, root)
	bin, missing, out := findRedocly(root, os.Environ())
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Logf("scripts/npm-tools.sh said:\n%s", out)
		}
		toolMissing(t, missing)
	}

	doc, err := json.MarshalIndent(api.New(api.Deps{}).OpenAPI(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "openapi.json")
	if err := os.WriteFile(file, doc, 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, bin, "lint", "--format=json", "--max-problems=1000", "--config", filepath.Join(root, "redocly.yaml"), file)
	c.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	runErr := c.Run()

	var report struct {
		Totals struct {
			Errors, Warnings, Ignored int
		} `json:"totals"`
		Version  string `json:"version"`
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
			Location []struct {
				Pointer string `json:"pointer"`
			} `json:"location"`
		} `json:"problems"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("%s lint: %v (%v); stdout: %s; stderr: %s", bin, runErr, err, stdout.Bytes(), stderr.Bytes())
	}
	if report.Version != version {
		t.Fatalf("Redocly CLI %s ran; tools/npm/package.json pins %s", report.Version, version)
	}
	for _, p := range report.Problems {
		at := ""
		if len(p.Location) > 0 {
			at = p.Location[0].Pointer
		}
		t.Errorf("%s %s at %s: %s", p.Severity, p.RuleID, at, p.Message)
	}
	if report.Totals.Errors+report.Totals.Warnings+report.Totals.Ignored > 0 || runErr != nil {
		t.Fatalf("Redocly CLI %s: %d errors, %d warnings, %d ignored (%v)", report.Version,
			report.Totals.Errors, report.Totals.Warnings, report.Totals.Ignored, runErr)
	}
}

// TestRedoclyWithoutNetwork: with npm present but neither the install nor the network there, the
// lint test is told in one line why it cannot run (it skips on that, or fails in CI), instead of
// failing on what npm prints.
func TestRedoclyWithoutNetwork(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("npm"); err != nil {
		toolMissing(t, "npm is missing (Debian: apt-get install nodejs npm)")
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CI=") && !strings.HasPrefix(strings.ToLower(kv), "npm_config_") && !strings.HasPrefix(kv, "USHER_NPM_TOOLS=") {
			env = append(env, kv)
		}
	}
	env = append(env, "USHER_NPM_TOOLS="+t.TempDir(), "npm_config_cache="+t.TempDir(),
		"npm_config_registry=http://127.0.0.1:1/") // nothing listens on port 1: no network
	bin, missing, out := findRedocly(root, env)
	if bin != "" || missing == "" {
		t.Fatalf("found %q without a network (missing %q); the script said:\n%s", bin, missing, out)
	}
	if strings.Contains(missing, "\n") || !strings.Contains(missing, "no network?") {
		t.Fatalf("the reason is not one plain line: %q", missing)
	}
}

// pinnedRedocly is the Redocly CLI version tools/npm/package.json pins.
func pinnedRedocly(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "tools", "npm", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	v := manifest.Dependencies["@redocly/cli"]
	if v == "" || strings.ContainsAny(v, "^~<>=* ") {
		t.Fatalf("tools/npm/package.json must pin @redocly/cli to one exact version, not %q", v)
	}
	return v
}

// findRedocly returns the pinned linter, installed by scripts/npm-tools.sh if it is not yet; or,
// when it cannot be had, why in one line, with what the script said.
func findRedocly(root string, env []string) (bin, missing, out string) {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", "Node.js and npm are missing: install them (Debian: apt-get install nodejs npm) to lint the API document", ""
		}
	}
	dir := filepath.Join(root, ".tools")
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "USHER_NPM_TOOLS="); ok && v != "" {
			dir = v
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, filepath.Join(root, "scripts", "npm-tools.sh"))
	// One try per download: without a network, npm's retries would only make the skip slow.
	c.Env = append([]string{"npm_config_fetch_retries=0"}, env...)
	b, err := c.CombinedOutput()
	bin = filepath.Join(dir, "node_modules", ".bin", "redocly")
	if _, statErr := os.Stat(bin); err != nil || statErr != nil {
		return "", "Redocly CLI is not installed in " + dir + " and scripts/npm-tools.sh could not install it (no network?): run `make test` once with network access", string(b)
	}
	return bin, "", string(b)
}

// toolMissing skips a test whose tool is absent, or fails it in CI, where nothing may be skipped.
func toolMissing(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
