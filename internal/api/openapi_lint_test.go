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

// redoclyVersion is the pinned Redocly CLI; scripts/npm-tools.sh installs the same.
const redoclyVersion = "2.77.0"

// TestOpenAPILint runs Redocly CLI's recommended rules (redocly.yaml) on the API's document and
// wants no error and no warning. It uses the pinned package that `make test` installs into
// .tools/ (or $USHER_NPM_TOOLS), else npx; without Node.js it skips, except with CI=true.
func TestOpenAPILint(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := redoclyCommand(t, root)

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
	args := append(cmd[1:], "lint", "--format=json", "--max-problems=1000", "--config", filepath.Join(root, "redocly.yaml"), file)
	c := exec.CommandContext(ctx, cmd[0], args...)
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
		t.Fatalf("%s lint: %v (%v); stdout: %s; stderr: %s", strings.Join(cmd, " "), runErr, err, stdout.Bytes(), stderr.Bytes())
	}
	if report.Version != redoclyVersion {
		t.Fatalf("Redocly CLI %s ran; the test pins %s", report.Version, redoclyVersion)
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

// redoclyCommand finds the pinned linter: the local install, else npx; it skips (fails in CI)
// when Node.js is missing.
func redoclyCommand(t *testing.T, root string) []string {
	t.Helper()
	install := "run `make test` (scripts/npm-tools.sh) or `npm install --prefix .tools @redocly/cli@" + redoclyVersion + "`; Debian: apt-get install nodejs npm"
	if _, err := exec.LookPath("node"); err != nil {
		toolMissing(t, "Node.js is missing: "+install)
	}
	dir := os.Getenv("USHER_NPM_TOOLS")
	if dir == "" {
		dir = filepath.Join(root, ".tools")
	}
	bin := filepath.Join(dir, "node_modules", ".bin", "redocly")
	if _, err := os.Stat(bin); err == nil {
		return []string{bin}
	}
	if npx, err := exec.LookPath("npx"); err == nil {
		return []string{npx, "--yes", "@redocly/cli@" + redoclyVersion}
	}
	toolMissing(t, "Redocly CLI is not installed in "+dir+" and npx is missing: "+install)
	return nil
}

// toolMissing skips a test whose tool is absent, or fails it in CI, where nothing may be skipped.
func toolMissing(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
