package store

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/usherhq/usher/internal/errs"
)

// A page cursor (a list's next_cursor) carries where the page ended: the sort key and id of its
// last row. Clients pass it back unread. It is sealed (XChaCha20-Poly1305) under the store's
// cursor key, which does three things:
//   - the position stays private: it is a row's email, name or phone, which a readable cursor
//     would show in every URL, browser history and proxy log that holds a page link;
//   - no client can make or edit a cursor: a list only ever goes on from where usher left it;
//   - a cursor belongs to one list and one query: the list's name and its filters and sort (the
//     scope) are the associated data, so a cursor sent with other filters is refused instead of
//     giving a page of another list that looks like its last.
//
// A cursor is base64url(nonce ‖ ciphertext ‖ tag) with a random 24-byte nonce: XChaCha20's
// nonces are long enough to draw at random for every cursor a key ever seals, where AES-GCM's
// 12-byte ones are good for about 2³² under one key, and the cursor key lasts as long as the
// secret key. The plaintext is JSON padded with spaces to a multiple of cursorPad bytes, so that
// a cursor's length does not tell the length of the value it holds.

// The lists whose cursors the store seals, each under its own name.
const (
	usersList  = "users"
	groupsList = "groups"
	auditList  = "audit"
	outboxList = "outbox"
	jobsList   = "jobs" // made in the API, of two of the store's lists (SealCursor)
)

// CursorKeySize is the length of the key that seals cursors.
const CursorKeySize = chacha20poly1305.KeySize

// cursorPad is the block the plaintext of a cursor is padded to.
const cursorPad = 32

// SetCursorKey sets the key that seals page cursors; usher derives it from its secret key, so a
// cursor works on every replica and after a restart. Without it a store seals with a random key
// of its own, made at Open. Call it before the store serves lists.
func (s *Store) SetCursorKey(key []byte) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		panic(fmt.Sprintf("store: a cursor key is %d bytes, not %d", CursorKeySize, len(key)))
	}
	s.cursorAEAD = aead
}

func newCursorKey() []byte {
	k := make([]byte, CursorKeySize)
	rand.Read(k)
	return k
}

// invalidCursor is the answer to a cursor usher did not make, made with another key, edited, or
// made for another list or other filters.
func invalidCursor() error {
	return errs.Field("cursor", "filter.cursor_invalid", "This page link is not valid for this list with these filters; start from the first page.")
}

// pageScope seals and opens the cursors of one list read.
type pageScope struct {
	aead cipher.AEAD
	ad   []byte // "usher page cursor", then the list's name and its query, each length-prefixed
}

// scope is where the cursors of a read of list belong. query is that read's filters and sort as
// the list compares them (trimmed, lower-cased, in UTC), in an order fixed for each list; each
// value is prefixed with its length, so that no two queries give the same bytes. The page size
// is not part of it: a client may change it from page to page.
func (s *Store) scope(list string, query ...string) pageScope {
	ad := []byte("usher page cursor")
	for _, v := range append([]string{list}, query...) {
		ad = binary.AppendUvarint(ad, uint64(len(v)))
		ad = append(ad, v...)
	}
	return pageScope{aead: s.cursorAEAD, ad: ad}
}

// seal makes the cursor that holds v.
func (p pageScope) seal(v any) string {
	payload, err := json.Marshal(v)
	if err != nil {
		panic("store: a cursor does not marshal: " + err.Error()) // only the store's own types come here
	}
	for len(payload)%cursorPad != 0 {
		payload = append(payload, ' ') // JSON allows trailing white space
	}
	n := p.aead.NonceSize()
	nonce := make([]byte, n, n+len(payload)+p.aead.Overhead())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(p.aead.Seal(nonce, nonce, payload, p.ad))
}

// open checks that token is a cursor this store sealed for this scope and reads it into v.
func (p pageScope) open(token string, v any) error {
	b, err := base64.RawURLEncoding.Strict().DecodeString(token) // one encoding per cursor
	n := p.aead.NonceSize()
	if err != nil || len(b) < n+p.aead.Overhead() {
		return invalidCursor()
	}
	payload, err := p.aead.Open(nil, b[:n], b[n:], p.ad)
	if err != nil {
		return invalidCursor()
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return invalidCursor()
	}
	return nil
}

// SealCursor seals v as a cursor of the jobs list, which the API makes of two of the store's
// (imports and directory syncs), under the query's filters (as scope takes them).
func (s *Store) SealCursor(v any, query ...string) string { return s.scope(jobsList, query...).seal(v) }

// OpenCursor checks that token is a cursor SealCursor made for this query and reads it into v.
func (s *Store) OpenCursor(token string, v any, query ...string) error {
	return s.scope(jobsList, query...).open(token, v)
}
