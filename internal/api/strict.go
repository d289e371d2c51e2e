package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/imports"
)

// strictJSON reads every JSON request body once, before huma decodes it, and refuses what
// encoding/json would take loosely: keys that match a field only in another letter case (Go
// matches them case-insensitively), duplicate keys (Go keeps the last one, a proxy may keep the
// first) and nulls the schema does not allow (Go reads them as "absent"). It also refuses a body
// that is not JSON, not UTF-8 or not labelled as JSON, with a message that names the place and
// never quotes the decoder. An array or object where the schema wants another kind of value, and
// a key the schema does not have, it refuses in huma's words without reading their values; the
// other type checks stay with huma's schema validation.
//
// What it can answer from the headers it answers before reading a byte: a Content-Length at or
// over the operation's limit (MaxBodyBytes, set per operation in routes.go) is 413, a body that
// is not labelled as JSON 415. Nothing it reads can cost more than the limit allows.
func (s *Server) strictJSON(hctx huma.Context, next func(huma.Context)) {
	op := hctx.Operation()
	if op.RequestBody == nil || op.RequestBody.Content["application/json"] == nil {
		next(hctx)
		return
	}
	length := contentLength(hctx)
	if length != 0 {
		if err := checkHeaders(hctx, op, length); err != nil {
			writeProblem(s.api, hctx, err)
			return
		}
	}
	body, err := readBody(hctx, op, length)
	if err != nil {
		writeProblem(s.api, hctx, err)
		return
	}
	if len(body) > 0 {
		if err := checkJSONType(hctx.Header("Content-Type")); err != nil {
			writeProblem(s.api, hctx, err) // a body sent without a length or a Content-Type
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

// contentLength is the body's declared length, -1 when the request gives none (a chunked body).
func contentLength(hctx huma.Context) int64 {
	n, err := strconv.ParseInt(hctx.Header("Content-Length"), 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// checkHeaders refuses, from the headers alone, a body that is too large or not labelled as JSON.
// length is the declared length, -1 when unknown; a body without a Content-Type may still turn
// out empty when its length is unknown, and is then judged once read.
func checkHeaders(hctx huma.Context, op *huma.Operation, length int64) error {
	if op.MaxBodyBytes > 0 && length >= op.MaxBodyBytes {
		return tooLarge(op)
	}
	if ct := hctx.Header("Content-Type"); ct != "" || length > 0 {
		return checkJSONType(ct)
	}
	return nil
}

func tooLarge(op *huma.Operation) error {
	return errs.E(errs.TooLarge, "request.too_large",
		fmt.Sprintf("The body is too large: this operation takes less than %s (%d bytes).", imports.SizeWords(op.MaxBodyBytes), op.MaxBodyBytes))
}

// bodyContext hands huma the body strictJSON has already read, and the media type it has
// already checked under the one name huma looks its JSON format up by (huma compares the header
// literally, so "Application/JSON" or "application/json ; charset=utf-8" would be unknown to it).
type bodyContext struct {
	humaContext
	body io.Reader
}

// humaContext lets bodyContext embed huma.Context, whose method Context would clash with a
// field of that name.
type humaContext = huma.Context

func (c bodyContext) BodyReader() io.Reader { return c.body }

func (c bodyContext) Header(name string) string {
	if strings.EqualFold(name, "Content-Type") {
		return "application/json"
	}
	return c.humaContext.Header(name)
}

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
// length is the declared length (-1: unknown), checked against the limit already.
func readBody(hctx huma.Context, op *huma.Operation, length int64) ([]byte, error) {
	rd := hctx.BodyReader()
	if rd == nil || length == 0 {
		return nil, nil
	}
	if op.BodyReadTimeout > 0 {
		hctx.SetReadDeadline(time.Now().Add(op.BodyReadTimeout))
	}
	limit := op.MaxBodyBytes
	if limit <= 0 {
		limit = math.MaxInt64
	}
	size := int64(bytes.MinRead)
	if length > 0 {
		size += length // net/http never gives more than the declared length
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(size, limit+bytes.MinRead)))
	_, err := buf.ReadFrom(io.LimitReader(rd, limit))
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, &statusProblem{http.StatusRequestTimeout, "The body did not arrive in time; send it again."}
		}
		return nil, &statusProblem{http.StatusBadRequest, "The body could not be read; send it again."}
	}
	if int64(buf.Len()) >= limit {
		return nil, tooLarge(op)
	}
	// The whole body is read: end the deadline, as net/http does, so that it cannot fall on the
	// read that watches for a closed connection and cancel the request.
	hctx.SetReadDeadline(time.Time{})
	return buf.Bytes(), nil
}

// checkJSONType accepts application/json and application/*+json, in any letter case and in
// UTF-8 (the only charset JSON has, RFC 8259).
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
