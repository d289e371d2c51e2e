package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/usherhq/usher/internal/errs"
)

// Limits of the strict reading of a body.
const (
	maxJSONDepth     = 32 // usher's bodies nest three levels; deeper is an attack on the reader
	maxStrictProblem = 20 // field errors reported at once
)

// strictJSON reads every JSON request body once, before huma decodes it, and refuses what
// encoding/json would take loosely: keys that match a field only in another letter case (Go
// matches them case-insensitively), duplicate keys (Go keeps the last one, a proxy may keep the
// first) and nulls the schema does not allow (Go reads them as "absent"). It also refuses a body
// that is not JSON, not UTF-8 or not labelled as JSON, with a message that names the place and
// never quotes the decoder. Type and unknown-key checks stay with huma's schema validation.
func (s *Server) strictJSON(hctx huma.Context, next func(huma.Context)) {
	op := hctx.Operation()
	if op.RequestBody == nil || op.RequestBody.Content["application/json"] == nil {
		next(hctx)
		return
	}
	body, err := readBody(hctx, op)
	if err != nil {
		writeProblem(s.api, hctx, err)
		return
	}
	if len(body) > 0 {
		if err := checkJSONType(hctx.Header("Content-Type")); err != nil {
			writeProblem(s.api, hctx, err)
			return
		}
		r := bodyReader{reg: s.api.OpenAPI().Components.Schemas, dec: json.NewDecoder(bytes.NewReader(body)), body: body}
		if err := r.check(op.RequestBody.Content["application/json"].Schema); err != nil {
			writeProblem(s.api, hctx, err)
			return
		}
	}
	next(bodyContext{humaContext: hctx, body: bytes.NewReader(body)})
}

// bodyContext hands huma the body strictJSON has already read.
type bodyContext struct {
	humaContext
	body io.Reader
}

// humaContext lets bodyContext embed huma.Context, whose method Context would clash with a
// field of that name.
type humaContext = huma.Context

func (c bodyContext) BodyReader() io.Reader { return c.body }

// SetReadDeadline does nothing: the body is read, and a deadline set now would fall on the read
// net/http makes to notice a closed connection, cancelling the request when it passes.
func (c bodyContext) SetReadDeadline(time.Time) error { return nil }

// Unwrap gives adapters the context underneath, as huma's own wrappers do.
func (c bodyContext) Unwrap() huma.Context { return c.humaContext }

// statusProblem is a refusal that has a status but no errs kind (400, 408, 415).
type statusProblem struct {
	status int
	detail string
}

func (p *statusProblem) Error() string { return p.detail }

func writeProblem(a huma.API, hctx huma.Context, err error) {
	var sp *statusProblem
	if errors.As(err, &sp) {
		huma.WriteErr(a, hctx, sp.status, sp.detail)
		return
	}
	huma.WriteErr(a, hctx, http.StatusUnprocessableEntity, "", err)
}

// readBody reads the body under the operation's size limit and read timeout, as huma would.
func readBody(hctx huma.Context, op *huma.Operation) ([]byte, error) {
	if op.BodyReadTimeout > 0 {
		hctx.SetReadDeadline(time.Now().Add(op.BodyReadTimeout))
	}
	rd := hctx.BodyReader()
	if rd == nil {
		return nil, nil
	}
	if op.MaxBodyBytes > 0 {
		rd = io.LimitReader(rd, op.MaxBodyBytes)
	}
	body, err := io.ReadAll(rd)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, &statusProblem{http.StatusRequestTimeout, "The body did not arrive in time; send it again."}
		}
		return nil, &statusProblem{http.StatusBadRequest, "The body could not be read; send it again."}
	}
	if op.MaxBodyBytes > 0 && int64(len(body)) >= op.MaxBodyBytes {
		return nil, errs.E(errs.TooLarge, "request.too_large",
			fmt.Sprintf("The body is too large: this operation takes less than %d bytes.", op.MaxBodyBytes))
	}
	// The whole body is read: end the deadline, as net/http does, so that it cannot fall on the
	// read that watches for a closed connection and cancel the request.
	hctx.SetReadDeadline(time.Time{})
	return body, nil
}

// checkJSONType accepts application/json and application/*+json, in UTF-8 (the only charset
// JSON has, RFC 8259).
func checkJSONType(header string) error {
	refuse := &statusProblem{http.StatusUnsupportedMediaType,
		"Send the body as JSON with the header Content-Type: application/json."}
	if header == "" {
		return refuse
	}
	mt, params, err := mime.ParseMediaType(header)
	if err != nil {
		return refuse
	}
	sub, ok := strings.CutPrefix(mt, "application/")
	if !ok || (sub != "json" && !strings.HasSuffix(sub, "+json")) {
		return refuse
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		refuse.detail = "JSON is always UTF-8: send Content-Type: application/json without another charset."
		return refuse
	}
	return nil
}

// bodyReader walks a body's tokens beside its schema.
type bodyReader struct {
	reg      huma.Registry
	dec      *json.Decoder
	body     []byte
	problems []errs.FieldError
}

// check reports the first syntax problem of the body, else every strictness problem at once.
func (r *bodyReader) check(schema *huma.Schema) error {
	if !utf8.Valid(r.body) {
		return r.malformed(int64(invalidUTF8At(r.body)), "is not valid UTF-8")
	}
	r.dec.UseNumber()
	if err := r.value(schema, "", 0); err != nil {
		return err
	}
	if _, err := r.dec.Token(); err != io.EOF {
		return r.malformed(r.dec.InputOffset(), "has more after its JSON value; send exactly one")
	}
	return errs.Fields(r.problems)
}

// value reads one JSON value whose schema is s (nil: unknown, huma judges it) at path.
func (r *bodyReader) value(s *huma.Schema, path string, depth int) error {
	if depth > maxJSONDepth {
		return &statusProblem{http.StatusBadRequest, fmt.Sprintf("The body nests objects and arrays more than %d levels deep.", maxJSONDepth)}
	}
	tok, err := r.dec.Token()
	if err != nil {
		return r.syntax(err)
	}
	s = r.resolve(s)
	switch tok {
	case json.Delim('{'):
		return r.object(s, path, depth)
	case json.Delim('['):
		var items *huma.Schema
		if s != nil {
			items = s.Items
		}
		for i := 0; r.dec.More(); i++ {
			if err := r.value(items, path+"["+strconv.Itoa(i)+"]", depth+1); err != nil {
				return err
			}
		}
		_, err := r.dec.Token()
		return r.syntax(err)
	case nil:
		if s != nil && !nullable(s) {
			r.add(path, "request.null", nullMessage(s, path))
		}
	}
	if n, ok := tok.(json.Number); ok {
		if _, err := strconv.ParseFloat(string(n), 64); err != nil {
			return r.malformed(r.dec.InputOffset(), "has a number too large to read")
		}
	}
	return nil
}

func (r *bodyReader) object(s *huma.Schema, path string, depth int) error {
	seen := map[string]bool{}
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return r.syntax(err)
		}
		key, _ := tok.(string)
		at := key
		if path != "" {
			at = path + "." + key
		}
		if seen[key] {
			r.add(at, "request.duplicate_key", fmt.Sprintf("%q appears more than once in this object: send it once.", key))
		}
		seen[key] = true
		var vs *huma.Schema
		if s != nil {
			if p, ok := s.Properties[key]; ok {
				vs = p
			} else if name, ok := caseVariant(s, key); ok {
				r.add(at, "request.key_case", fmt.Sprintf("Field names are case-sensitive: write %q, not %q.", name, key))
			} else if extra, ok := s.AdditionalProperties.(*huma.Schema); ok {
				vs = extra
			}
		}
		if err := r.value(vs, at, depth+1); err != nil {
			return err
		}
	}
	_, err := r.dec.Token()
	return r.syntax(err)
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

// jsonFormat is huma's JSON format with decoding errors in plain words: strictJSON and huma's
// validation catch nearly everything first, but whatever the decoder still refuses must not reach
// a client in the decoder's words ("cannot unmarshal string into Go struct field …").
var jsonFormat = huma.Format{
	Marshal: huma.DefaultJSONFormat.Marshal,
	Unmarshal: func(data []byte, v any) error {
		return plainDecodeError(json.Unmarshal(data, v))
	},
}

func plainDecodeError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return plainError(fmt.Sprintf("The body is not valid JSON: see byte %d.", se.Offset))
	case errors.As(err, &te):
		msg := "expected " + typeWords(te.Type)
		if numeric(te.Type) && strings.HasPrefix(te.Value, "number") {
			msg = "the number does not fit: send " + typeWords(te.Type)
		}
		if te.Field == "" {
			return plainError("A value in the body does not fit: " + msg + ".")
		}
		return plainError(te.Field + ": " + msg + ".")
	}
	return plainError("A value in the body cannot be read: check it against the API document.")
}

// plainError is a message for a person, shown as it is.
type plainError string

func (e plainError) Error() string { return string(e) }

func numeric(t reflect.Type) bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t != nil && t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64
}

// typeWords names a Go type the way the API document does, without Go's names.
func typeWords(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("a whole number from %d to %d", int64(-1)<<(t.Bits()-1), int64(1)<<(t.Bits()-1)-1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("a whole number from 0 to %d", uint64(1)<<t.Bits()-1)
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another value"
}
