package api_test

import (
	"testing"

	"github.com/usherhq/usher/internal/directory/dirtest"
)

// The directory tests reach a real slapd, started once for the test binary.
func TestMain(m *testing.M) { dirtest.Main(m) }
