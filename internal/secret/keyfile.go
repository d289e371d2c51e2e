package secret

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeyFileName is the file in the data directory that holds the key usher generates when no
// secret-key is configured.
const KeyFileName = "secret.key"

// Load returns the Box usher seals with. With a configured key (the secret-key setting, base64)
// it seals with that one; a key file already in dataDir is still read, so that values sealed
// before the key was configured keep opening. Without one it uses the key file, generating it
// with crypto/rand (mode 0600) on first start. A key file that other users can read is refused.
func Load(configured, dataDir string) (*Box, error) {
	path := filepath.Join(dataDir, KeyFileName)
	fileKey, err := readKeyFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if configured != "" {
		key, err := ParseKey(configured)
		if err != nil {
			return nil, fmt.Errorf("secret-key: %w", err)
		}
		if fileKey.ID == "" || fileKey.ID == key.ID {
			return NewBox(key)
		}
		return NewBox(key, fileKey)
	}
	if fileKey.ID == "" {
		if fileKey, err = createKeyFile(path); err != nil {
			return nil, err
		}
	}
	return NewBox(fileKey)
}

// readKeyFile reads the key file; an error wrapping fs.ErrNotExist means there is none.
func readKeyFile(path string) (Key, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Key{}, err
		}
		return Key{}, fmt.Errorf("secret: the key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return Key{}, fmt.Errorf("secret: the key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return Key{}, fmt.Errorf("secret: the key file %s can be read by other users (mode %04o); usher will not use it. Make it private with: chmod 600 %s", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("secret: read the key file %s: %w", path, err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return Key{}, fmt.Errorf("secret: the key file %s: %w", path, err)
	}
	return k, nil
}

// createKeyFile writes a new key to a temporary file and links it into place, so that a crash
// never leaves half a key and two processes starting together end up with the same key.
func createKeyFile(path string) (Key, error) {
	key, err := GenerateKey()
	if err != nil {
		return Key{}, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Key{}, fmt.Errorf("secret: create the data directory: %w", err)
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	tmp := path + ".tmp-" + hex.EncodeToString(suffix)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Key{}, fmt.Errorf("secret: create the key file: %w", err)
	}
	defer os.Remove(tmp)
	_, err = f.WriteString(key.String() + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Key{}, fmt.Errorf("secret: write the key file: %w", err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path) // another process made it first
		}
		return Key{}, fmt.Errorf("secret: create the key file %s: %w", path, err)
	}
	return key, nil
}
