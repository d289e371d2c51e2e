package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/usherhq/usher/internal/api"
)

var update = flag.Bool("update", false, "rewrite the checked-in OpenAPI document")

const openAPIFile = "../../docs/openapi.json"

// TestOpenAPIDocument fails when the checked-in OpenAPI document differs from the one the code
// generates. Run `go test ./internal/api -run TestOpenAPIDocument -update` after changing the API.
func TestOpenAPIDocument(t *testing.T) {
	got, err := json.MarshalIndent(api.New(api.Deps{}).OpenAPI(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(openAPIFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(openAPIFile)
	if err != nil {
		t.Fatalf("read %s: %v (run with -update to create it)", openAPIFile, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date: run `go test ./internal/api -run TestOpenAPIDocument -update` and commit it", openAPIFile)
	}
}
