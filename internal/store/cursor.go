package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/usherhq/usher/internal/errs"
)

// A page cursor (a list's next_cursor) carries where the page ended: the sort key and id of its
// last row. Clients pass it back unread, and it is signed so that they cannot make their own: a
// list only ever goes on from where usher left it, and never compares what a client made up.
// A cursor is base64url(JSON) "." base64url(HMAC-SHA256(key, list NUL JSON)); the list's name
// in the MAC keeps a cursor of one list from working on another.

// The lists whose cursors the store signs, each under its own name.
const (
	usersList  = "users"
	groupsList = "groups"
	auditList  = "audit"
	outboxList = "outbox"
)

// CursorKeySize is the length of the key that signs cursors.
const CursorKeySize = 32

// SetCursorKey sets the key that signs page cursors; usher derives it from its secret key, so a
// cursor works on every replica and after a restart. Without it a store signs with a random key
// of its own, made at Open. Call it before the store serves lists.
func (s *Store) SetCursorKey(key []byte) {
	s.cursorKey = bytes.Clone(key)
}

func newCursorKey() []byte {
	k := make([]byte, CursorKeySize)
	rand.Read(k)
	return k
}

// invalidCursor is the answer to a cursor usher did not make, made with another key, or edited.
func invalidCursor() error {
	return errs.Field("cursor", "filter.cursor_invalid", "This page link is not valid or has expired; start from the first page.")
}

func (s *Store) cursorMAC(list string, payload []byte) []byte {
	m := hmac.New(sha256.New, s.cursorKey)
	m.Write([]byte(list))
	m.Write([]byte{0})
	m.Write(payload)
	return m.Sum(nil)
}

// sealCursor makes the cursor of list that holds v.
func (s *Store) sealCursor(list string, v any) string {
	payload, err := json.Marshal(v)
	if err != nil {
		panic("store: a cursor does not marshal: " + err.Error()) // only the store's own types come here
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(s.cursorMAC(list, payload))
}

// openCursor checks that token is a cursor of list this store made and reads it into v.
func (s *Store) openCursor(list, token string, v any) error {
	p, m, ok := strings.Cut(token, ".")
	if !ok {
		return invalidCursor()
	}
	enc := base64.RawURLEncoding.Strict() // one encoding per value: no spare bits to flip unseen
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.cursorMAC(list, payload)) {
		return invalidCursor()
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return invalidCursor()
	}
	return nil
}
