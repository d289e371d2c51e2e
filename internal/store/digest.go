package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
)

// MigrationsDigest is a hex SHA-256 of the names and contents of the migrations this binary
// carries for dialect. Two binaries with the same digest build the same schema, so tests use it
// to name a migrated template database that every test binary of that schema can share.
func MigrationsDigest(d Dialect) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations, "migrations/"+string(d), func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := migrations.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("store: migrations digest: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
