package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"

	"github.com/usherhq/usher/internal/errs"
)

// Limits of the strict reading of a body.
const (
	maxJSONDepth     = 32 // usher's bodies nest three levels; deeper is an attack on the reader
	maxJSONTokens    = 10_000
	maxStrictProblem = 20 // field errors reported at once
)

// bodyReader walks a body's tokens beside its schema. Its cost stays in proportion to what the
// schema lets a body hold: a value of the wrong kind (an array where a string belongs) and the
// value of a key the schema refuses are skipped whole, without a token each, and no body passes
// maxJSONTokens keys and values. Paths are put into words only for a problem.
type bodyReader struct {
	reg      huma.Registry
	dec      *json.Decoder
	body     []byte
	path     []step // where the walk is
	tokens   int
	problems []errs.FieldError
}

// step is one level of a path: an array's index, or an object's key when index is -1.
type step struct {
	key   string
	index int
}

// check reports the first syntax problem of the body, else every strictness problem at once.
func (r *bodyReader) check(schema *huma.Schema) error {
	if !utf8.Valid(r.body) {
		return r.malformed(int64(invalidUTF8At(r.body)), "is not valid UTF-8")
	}
	r.dec.UseNumber()
	if err := r.value(schema, 0); err != nil {
		return err
	}
	if _, err := r.dec.Token(); err != io.EOF {
		return r.malformed(r.dec.InputOffset(), "has more after its JSON value; send exactly one")
	}
	return errs.Fields(r.problems)
}

// value reads one JSON value whose schema is s (nil: unknown, huma judges it).
func (r *bodyReader) value(s *huma.Schema, depth int) error {
	if depth > maxJSONDepth {
		return tooDeep()
	}
	if err := r.count(); err != nil {
		return err
	}
	s = r.resolve(s)
	if s != nil && s.Type != "" {
		if c := r.peek(); (c == '[' && s.Type != huma.TypeArray) || (c == '{' && s.Type != huma.TypeObject) {
			r.add(r.at(), "request.invalid", expected(s.Type))
			return r.skip(depth)
		}
	}
	tok, err := r.dec.Token()
	if err != nil {
		return r.syntax(err)
	}
	switch tok {
	case json.Delim('{'):
		return r.object(s, depth)
	case json.Delim('['):
		var items *huma.Schema
		if s != nil {
			items = s.Items
		}
		for i := 0; r.dec.More(); i++ {
			r.path = append(r.path, step{index: i})
			err := r.value(items, depth+1)
			r.path = r.path[:len(r.path)-1]
			if err != nil {
				return err
			}
		}
		_, err := r.dec.Token()
		return r.syntax(err)
	case nil:
		if s != nil && !nullable(s) {
			r.add(r.at(), "request.null", nullMessage(s, r.at()))
		}
	}
	if n, ok := tok.(json.Number); ok {
		if _, err := strconv.ParseFloat(string(n), 64); err != nil {
			return r.malformed(r.dec.InputOffset(), "has a number too large to read")
		}
	}
	return nil
}

func (r *bodyReader) object(s *huma.Schema, depth int) error {
	var seen map[string]bool
	for r.dec.More() {
		if err := r.count(); err != nil {
			return err
		}
		tok, err := r.dec.Token()
		if err != nil {
			return r.syntax(err)
		}
		key, _ := tok.(string)
		r.path = append(r.path, step{key: key, index: -1})
		err = r.member(s, key, &seen, depth)
		r.path = r.path[:len(r.path)-1]
		if err != nil {
			return err
		}
	}
	_, err := r.dec.Token()
	return r.syntax(err)
}

// member reads the value of key in an object whose schema is s.
func (r *bodyReader) member(s *huma.Schema, key string, seen *map[string]bool, depth int) error {
	if *seen == nil {
		*seen = map[string]bool{}
	}
	if (*seen)[key] {
		r.add(r.at(), "request.duplicate_key", fmt.Sprintf("%q appears more than once in this object: send it once.", key))
	}
	(*seen)[key] = true
	if s == nil {
		return r.value(nil, depth+1)
	}
	if p, ok := s.Properties[key]; ok {
		return r.value(p, depth+1)
	}
	if name, ok := caseVariant(s, key); ok {
		r.add(r.at(), "request.key_case", fmt.Sprintf("Field names are case-sensitive: write %q, not %q.", name, key))
		return r.skip(depth + 1)
	}
	switch extra := s.AdditionalProperties.(type) {
	case *huma.Schema:
		return r.value(extra, depth+1)
	case bool:
		if !extra {
			// huma would refuse the key in these words; said here, its value is never read.
			r.add(r.at(), "request.invalid", validation.MsgUnexpectedProperty)
			return r.skip(depth + 1)
		}
	}
	return r.value(nil, depth+1)
}

// count counts a key or a value against maxJSONTokens.
func (r *bodyReader) count() error {
	if r.tokens++; r.tokens > maxJSONTokens {
		return errs.E(errs.TooLarge, "request.too_large",
			fmt.Sprintf("The body holds more than %d keys and values: send fewer at once.", maxJSONTokens))
	}
	return nil
}

// peek returns the first byte of the next value, without reading it.
func (r *bodyReader) peek() byte {
	for i := r.dec.InputOffset(); i < int64(len(r.body)); i++ {
		switch c := r.body[i]; c {
		case ' ', '\t', '\n', '\r', ',', ':':
		default:
			return c
		}
	}
	return 0
}

// skipValue takes any JSON value and keeps nothing of it.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// skip reads past the next value, at depth, checking its syntax and its depth but making no
// token of it.
func (r *bodyReader) skip(depth int) error {
	if start := r.dec.InputOffset(); nestsDeeper(r.body[start:], maxJSONDepth-depth) {
		return tooDeep()
	}
	return r.syntax(r.dec.Decode(&skipValue{}))
}

// nestsDeeper reports whether the value at the start of b (after spaces, a colon or a comma)
// nests arrays and objects more than levels deep. It reads bytes, not tokens: brackets inside
// strings do not count, and a value that is not valid JSON is left to the decoder.
func nestsDeeper(b []byte, levels int) bool {
	depth, inString := 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++
		case inString:
			inString = c != '"'
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > levels {
				return true
			}
		case c == ']' || c == '}':
			if depth--; depth <= 0 {
				return false
			}
		}
	}
	return false
}

func tooDeep() error {
	return &statusProblem{http.StatusBadRequest, fmt.Sprintf("The body nests objects and arrays more than %d levels deep.", maxJSONDepth)}
}

// at is the current path as the problems name it: custom.cost_center, ids[0].
func (r *bodyReader) at() string {
	var b strings.Builder
	for _, st := range r.path {
		switch {
		case st.index >= 0:
			b.WriteString("[" + strconv.Itoa(st.index) + "]")
		case b.Len() > 0:
			b.WriteString("." + st.key)
		default:
			b.WriteString(st.key)
		}
	}
	return b.String()
}

// expected says what a value of the schema's type is, in huma's own (plain) words.
func expected(typ string) string {
	switch typ {
	case huma.TypeString:
		return validation.MsgExpectedString
	case huma.TypeBoolean:
		return validation.MsgExpectedBoolean
	case huma.TypeInteger:
		return validation.MsgExpectedInteger
	case huma.TypeNumber:
		return validation.MsgExpectedNumber
	case huma.TypeArray:
		return validation.MsgExpectedArray
	}
	return validation.MsgExpectedObject
}

// caseVariant returns the property that key names in another letter case, with the folding
// both encoding/json and huma use (strings.EqualFold: "ſ" is "s", "K" is "k").
func caseVariant(s *huma.Schema, key string) (string, bool) {
	for name := range s.Properties {
		if strings.EqualFold(name, key) {
			return name, true
		}
	}
	return "", false
}

func (r *bodyReader) resolve(s *huma.Schema) *huma.Schema {
	for i := 0; s != nil && s.Ref != "" && i < 10; i++ {
		s = r.reg.SchemaFromRef(s.Ref)
	}
	return s
}

// nullable reports whether a (resolved) schema admits null; one without a type (any, oneOf)
// admits anything and leaves the rest to huma.
func nullable(s *huma.Schema) bool {
	return s.Nullable || s.Type == "" || s.Type == "null"
}

func nullMessage(s *huma.Schema, path string) string {
	want := map[string]string{huma.TypeString: "a string", huma.TypeInteger: "a whole number", huma.TypeNumber: "a number",
		huma.TypeBoolean: "true or false", huma.TypeArray: "an array", huma.TypeObject: "an object"}[s.Type]
	if want == "" {
		want = "a value"
	}
	if path == "" {
		return "The body cannot be null: send " + want + "."
	}
	return fmt.Sprintf("%q cannot be null: send %s, or leave it out.", path, want)
}

func (r *bodyReader) add(field, code, message string) {
	if len(r.problems) < maxStrictProblem {
		r.problems = append(r.problems, errs.FieldError{Field: field, Code: code, Message: message})
	}
}

// syntax turns the decoder's error into a plain one with the place it happened.
func (r *bodyReader) syntax(err error) error {
	var se *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return r.malformed(se.Offset, "is not valid JSON")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return r.malformed(int64(len(r.body)), "ends before its JSON is complete")
	}
	return r.malformed(r.dec.InputOffset(), "is not valid JSON")
}

// malformed describes a problem at a byte offset as a line and column a person can find.
func (r *bodyReader) malformed(offset int64, what string) error {
	offset = min(max(offset, 0), int64(len(r.body)))
	before := r.body[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:]) + 1
	return &statusProblem{http.StatusBadRequest,
		fmt.Sprintf("The body %s: see line %d, column %d (byte %d).", what, line, col, offset)}
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		rn, size := utf8.DecodeRune(b[i:])
		if rn == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}
