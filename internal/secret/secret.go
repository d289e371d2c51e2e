// Package secret seals the secrets usher must store and read back (directory bind passwords,
// queued emails that carry single-use links) with AES-256-GCM. A sealed value names the key
// that sealed it, so that keys can rotate: "v1:<key id>:<base64 of nonce and ciphertext>".
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a key in bytes (AES-256).
const KeySize = 32

const version = "v1"

// Key is one AES-256 key and the id that sealed values carry.
type Key struct {
	ID    string
	bytes []byte
}

// NewKey makes a key of 32 bytes. Its id is derived from the key itself, so the same key has the
// same id on every replica without any configuration.
func NewKey(b []byte) (Key, error) {
	if len(b) != KeySize {
		return Key{}, fmt.Errorf("secret: a key is %d bytes, not %d", KeySize, len(b))
	}
	sum := sha256.Sum256(append([]byte("usher secret key id\x00"), b...))
	return Key{ID: hex.EncodeToString(sum[:4]), bytes: append([]byte(nil), b...)}, nil
}

// GenerateKey makes a new random key.
func GenerateKey() (Key, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return Key{}, fmt.Errorf("secret: generate key: %w", err)
	}
	return NewKey(b)
}

// ParseKey reads a key written in base64 (standard or URL alphabet, padded or not), as the
// secret-key setting and the key file hold it.
func ParseKey(s string) (Key, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return Key{}, fmt.Errorf("the key is %d bytes; it must be %d random bytes in base64 (make one with: openssl rand -base64 32)", len(b), KeySize)
			}
			return NewKey(b)
		}
	}
	return Key{}, errors.New("the key is not base64; it must be 32 random bytes in base64 (make one with: openssl rand -base64 32)")
}

// String writes the key in standard base64, the form ParseKey reads.
func (k Key) String() string { return base64.StdEncoding.EncodeToString(k.bytes) }

// ErrUnknownKey is returned by Open for a value sealed with a key the Box does not hold.
var ErrUnknownKey = errors.New("secret: sealed with an unknown key")

// Box seals with its current key and opens values sealed with any of its keys.
type Box struct {
	current    string
	currentKey []byte // for DeriveKey
	aeads      map[string]cipher.AEAD
}

// NewBox returns a Box that seals with current and also opens values sealed with the older keys.
func NewBox(current Key, older ...Key) (*Box, error) {
	b := &Box{current: current.ID, currentKey: current.bytes, aeads: map[string]cipher.AEAD{}}
	for _, k := range append([]Key{current}, older...) {
		if len(k.bytes) != KeySize {
			return nil, errors.New("secret: a key of the box is not set")
		}
		block, err := aes.NewCipher(k.bytes)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		b.aeads[k.ID] = aead
	}
	return b, nil
}

// DeriveKey returns a 32-byte key for one purpose (sealing page cursors), HMAC-SHA256 of the
// purpose under the current key: each use of the secret key gets a key of its own, the same on
// every replica that has the same secret key, and none reveals the secret key or another.
func (b *Box) DeriveKey(purpose string) []byte {
	m := hmac.New(sha256.New, b.currentKey)
	m.Write([]byte("usher derived key\x00" + purpose))
	return m.Sum(nil)
}

// KeyID is the id of the key the Box seals with.
func (b *Box) KeyID() string { return b.current }

// Seal encrypts plaintext with the current key and a fresh random nonce. The "v1:<key id>:"
// prefix is authenticated too, so a value cannot be relabelled with another key id.
func (b *Box) Seal(plaintext []byte) (string, error) {
	aead := b.aeads[b.current]
	prefix := version + ":" + b.current + ":"
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secret: nonce: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, plaintext, []byte(prefix))
	return prefix + base64.RawStdEncoding.EncodeToString(sealed), nil
}

// Open decrypts a value Seal made. A value sealed with a key the Box does not hold fails with
// ErrUnknownKey and names the key id, so a changed or missing secret key is easy to recognise.
func (b *Box) Open(sealed string) ([]byte, error) {
	v, rest, ok1 := strings.Cut(sealed, ":")
	id, data, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 || v != version {
		return nil, errors.New("secret: not a sealed value (want v1:<key id>:<data>)")
	}
	aead, ok := b.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w %q (this usher has key %q: was the secret key changed, or do replicas have different keys?)", ErrUnknownKey, id, b.current)
	}
	raw, err := base64.RawStdEncoding.DecodeString(data)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("secret: the sealed value is damaged")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(v+":"+id+":"))
	if err != nil {
		return nil, errors.New("secret: the sealed value is damaged or was not sealed with this key")
	}
	return plain, nil
}
