package sheet

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// partReader gives the XML tokens of a part as it unzips. It refuses a token longer than max
// bytes, which would make the decoder hold it whole, and elements nested deeper than maxDepth.
type partReader struct {
	rc    io.ReadCloser
	in    *bufio.Reader
	n     int64 // bytes of the token being read
	max   int64
	dec   *xml.Decoder
	depth int
}

// ReadByte is how the XML decoder reads: it counts each byte of a token.
func (r *partReader) ReadByte() (byte, error) {
	if r.n++; r.n > r.max {
		return 0, errTokenTooLong
	}
	return r.in.ReadByte()
}

// Read is there for xml.NewDecoder's signature; the decoder reads with ReadByte.
func (r *partReader) Read(b []byte) (int, error) {
	n, err := r.in.Read(b)
	r.n += int64(n)
	return n, err
}

func (r *partReader) Close() error { return r.rc.Close() }

// next is the next token, without the namespaces resolved (names are matched by their local
// part, so that the prefixes of strict OOXML do not matter).
func (r *partReader) next() (xml.Token, error) {
	r.n = 0
	t, err := r.dec.RawToken()
	if err != nil {
		return nil, err
	}
	switch t.(type) {
	case xml.StartElement:
		if r.depth++; r.depth > maxDepth {
			return nil, errTooDeep
		}
	case xml.EndElement:
		r.depth--
	}
	return t, nil
}

// text reads the element just started to its end and appends its text to buf: all of it, or
// for rich text (si, is) that of its t elements, without phonetic guides (rPh). Past limit bytes
// it appends no more and says the text is too long, but reads on to the element's end.
func (r *partReader) text(buf []byte, rich bool, limit int) ([]byte, bool, error) {
	depth, inT, inPh, long := r.depth, 0, 0, false
	for {
		t, err := r.next()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return buf, long, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if t.Name.Local == "t" && inT == 0 {
				inT = r.depth
			} else if t.Name.Local == "rPh" && inPh == 0 {
				inPh = r.depth
			}
		case xml.EndElement:
			if r.depth < depth {
				return buf, long, nil
			}
			if r.depth < inT {
				inT = 0
			}
			if r.depth < inPh {
				inPh = 0
			}
		case xml.CharData:
			if rich && (inT == 0 || inPh != 0) {
				continue
			}
			if long = long || len(buf)+len(t) > limit; !long {
				buf = append(buf, t...)
			}
		}
	}
}

// cell is what a c element holds.
type cell struct {
	col, style         int
	typ                string
	v, f, is           []byte
	hasF, hasIs, long  bool
	fType, fSI, fRange string
}

func (x *xlsx) Format() Format { return XLSX }

func (x *xlsx) Close() error {
	var errs []error
	if x.sheet != nil {
		errs = append(errs, x.sheet.Close())
		x.sheet = nil
	}
	if x.strings != nil {
		errs = append(errs, x.strings.Close())
		x.strings = nil
	}
	x.done = true
	return errors.Join(errs...)
}

// Next returns the next row that has a cell that is not empty, with its row number.
func (x *xlsx) Next() ([]string, int, error) {
	for !x.done {
		err := x.nextRow()
		if err == io.EOF {
			break
		}
		if err != nil {
			x.done = true
			return nil, 0, x.broken(err)
		}
		if x.rowErr != nil {
			return nil, 0, x.rowErr
		}
		if len(x.row) == 0 {
			continue
		}
		if err := x.lim.check(x.row, x.line); err != nil {
			return nil, 0, err
		}
		return x.row, x.line, nil
	}
	x.done = true
	return nil, 0, io.EOF
}

// broken is the error for a worksheet that cannot be read to its end.
func (x *xlsx) broken(err error) error {
	var pe *os.PathError
	var e *Error
	switch {
	case errors.As(err, &pe): // the disk failed, not the file
		return fmt.Errorf("xlsx: %w", err)
	case errors.As(err, &e):
		return e
	}
	where := ""
	if x.lastRow > 0 {
		where = fmt.Sprintf(" after row %d", x.lastRow)
	}
	if errors.Is(err, errTokenTooLong) {
		return &Error{Code: "file.row_too_long", Err: err, Message: fmt.Sprintf(
			"The spreadsheet holds a cell of more than %d KiB%s, which no row of users does. Shorten it, save the file and upload it again.",
			x.sheet.max>>10, where)}
	}
	return damaged(where, err)
}

// nextRow reads the next row element into x.row, io.EOF after the last.
func (x *xlsx) nextRow() error {
	for {
		t, err := x.sheet.next()
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if t.Name.Local == "row" {
				return x.readRow(t)
			}
		case xml.EndElement:
			if t.Name.Local == "sheetData" {
				return io.EOF
			}
		}
	}
}

func (x *xlsx) readRow(start xml.StartElement) error {
	x.line++
	if n, err := strconv.Atoi(attr(start, "r")); err == nil && 0 < n && n <= maxSheetRows {
		x.line = n
	}
	x.row, x.size, x.rowErr = x.row[:0], 0, nil
	depth, col := x.sheet.depth, 0
	for {
		t, err := x.sheet.next()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if t.Name.Local != "c" {
				continue
			}
			if n := column(attr(t, "r")); n > 0 {
				col = n
			} else {
				col++
			}
			if err := x.readCell(t, col); err != nil {
				return err
			}
			if err := x.put(); err != nil {
				return err
			}
		case xml.EndElement:
			if x.sheet.depth < depth {
				x.lastRow = x.line
				return nil
			}
		}
	}
}

// readCell reads the c element just started into x.cell.
func (x *xlsx) readCell(start xml.StartElement, col int) error {
	c := &x.cell
	*c = cell{col: col, typ: attr(start, "t"), v: c.v[:0], f: c.f[:0], is: c.is[:0]}
	c.style, _ = strconv.Atoi(attr(start, "s"))
	limit := max(int(x.lim.maxRow())-x.size, 0)
	depth := x.sheet.depth
	for {
		t, err := x.sheet.next()
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
		var long bool
		switch t := t.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "v":
				c.v, long, err = x.sheet.text(c.v[:0], false, limit)
			case "f":
				c.hasF, c.fType, c.fSI, c.fRange = true, attr(t, "t"), attr(t, "si"), attr(t, "ref")
				c.f, long, err = x.sheet.text(c.f[:0], false, limit)
			case "is":
				c.hasIs = true
				c.is, long, err = x.sheet.text(c.is[:0], true, limit)
			}
		case xml.EndElement:
			if x.sheet.depth < depth {
				return nil
			}
		}
		if err != nil {
			return err
		}
		c.long = c.long || long
	}
}

// put puts the value of x.cell in x.row, or says in x.rowErr why the row cannot be read.
func (x *xlsx) put() error {
	if x.rowErr != nil {
		return nil
	}
	c := &x.cell
	v, err := x.value(c)
	// A cell of a few bytes can read as a long shared string or formula: what all the cells read
	// as is bounded as what the file unzips to is.
	if x.text += int64(len(v)); x.text > x.lim.MaxUnzipped {
		return tooLarge("The text of this spreadsheet's cells", x.lim.MaxUnzipped)
	}
	switch {
	case errors.Is(err, errNoString):
		x.rowErr = &RowError{Line: x.line, Message: fmt.Sprintf("cell %d refers to a shared text the file does not have (the file may be damaged).", c.col)}
	case errors.Is(err, errLongString), c.long, x.size+len(v) > int(x.lim.maxRow()):
		x.rowErr = &RowError{Line: x.line, Message: fmt.Sprintf("this row holds more than %d KiB of text; usher reads rows of up to %d KiB.", x.lim.maxRow()>>10, x.lim.maxRow()>>10)}
	case err != nil:
		return noEOF(err)
	case v != "" && c.col > maxSheetColumns:
		x.rowErr = &RowError{Line: x.line, Message: fmt.Sprintf("this row has more than %d cells, more than a spreadsheet holds.", maxSheetColumns)}
	case v != "" && x.lim.MaxColumns > 0 && c.col > x.lim.MaxColumns:
		// Refused before the row is padded out to it: one cell far to the right must not cost
		// thousands of empty ones on every row.
		x.rowErr = &RowError{Line: x.line, Message: fmt.Sprintf("this row has a cell in column %d; usher reads at most %d columns.", c.col, x.lim.MaxColumns)}
	case v != "":
		x.size += len(v)
		for len(x.row) < c.col {
			x.row = append(x.row, "")
		}
		x.row[c.col-1] = v
	}
	return nil
}

// value is a cell's text as a person sees it, but never computed: a formula is its text.
func (x *xlsx) value(c *cell) (string, error) {
	if f, ok := x.formulas.text(c, x.line, x.lim.MaxPartInMemory); ok {
		return "=" + f, nil
	}
	v := c.v
	switch c.typ {
	case "s":
		i, err := strconv.Atoi(string(bytes.TrimSpace(v)))
		if err != nil {
			return "", errNoString
		}
		return x.strings.get(i, max(int(x.lim.maxRow())-x.size, 0))
	case "inlineStr":
		if c.hasIs {
			v = c.is
		}
		return xstring(v), nil
	case "str", "e":
		return xstring(v), nil
	case "b":
		switch string(v) {
		case "1":
			return "TRUE", nil
		case "0":
			return "FALSE", nil
		}
		return string(v), nil
	case "d":
		return isoDate(string(v)), nil
	}
	return x.number(string(v), c.style), nil
}

// number is a number cell's text: its date (and time, when it has one) when its style shows
// a date, otherwise the decimal a person sees: 15 significant digits, as Excel shows, and never
// an exponent ("4420794600", "0.3" for 0.30000000000000004).
func (x *xlsx) number(v string, style int) string {
	n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return v
	}
	if 0 <= style && style < len(x.dates) && x.dates[style] {
		if d, ok := excelDate(n, x.date1904); ok {
			return d
		}
	}
	n, _ = strconv.ParseFloat(strconv.FormatFloat(n, 'g', 15, 64), 64)
	if n == 0 {
		return "0"
	}
	return strconv.FormatFloat(n, 'f', -1, 64)
}

// excelDate is the date that serial n shows, with its time when it has one, or false outside
// the years 1900 to 9999 that Excel shows.
func excelDate(n float64, date1904 bool) (string, bool) {
	last := 2958466.0 // 10000-01-01
	if date1904 {
		last -= 1462
	}
	if n < 0 || n >= last {
		return "", false
	}
	t, err := excelize.ExcelDateToTime(n, date1904)
	if err != nil {
		return "", false
	}
	return isoText(t), true
}

// isoDate is the date of a cell of date type, written in ISO 8601, as isoText writes it.
func isoDate(v string) string {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return isoText(t)
		}
	}
	return v
}

// isoText is a date as YYYY-MM-DD, with THH:MM:SS only when it has a time of day.
func isoText(t time.Time) string {
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04:05")
}

// xstring undoes the _xHHHH_ escapes with which OOXML writes the characters XML cannot hold
// (control characters, "_x0001_") and a "_x" that looks like one ("_x005F_x0041_").
func xstring(b []byte) string {
	i := bytes.Index(b, []byte("_x"))
	if i < 0 {
		return string(b)
	}
	var s strings.Builder
	for ; i >= 0; i = bytes.Index(b, []byte("_x")) {
		s.Write(b[:i])
		b = b[i:]
		r, n := xchar(b)
		if n == 0 {
			s.WriteString("_x")
			b = b[2:]
			continue
		}
		s.WriteRune(r)
		b = b[n:]
	}
	s.Write(b)
	return s.String()
}

// xchar decodes the escape at the start of b, or a surrogate pair of them, and its length.
func xchar(b []byte) (rune, int) {
	u, ok := xunit(b)
	if !ok {
		return 0, 0
	}
	if !utf16.IsSurrogate(rune(u)) {
		return rune(u), 7
	}
	if lo, ok := xunit(b[7:]); ok {
		if r := utf16.DecodeRune(rune(u), rune(lo)); r != utf8.RuneError {
			return r, 14
		}
	}
	return utf8.RuneError, 7
}

func xunit(b []byte) (uint16, bool) {
	if len(b) < 7 || b[0] != '_' || b[1] != 'x' || b[6] != '_' {
		return 0, false
	}
	u, err := strconv.ParseUint(string(b[2:6]), 16, 16)
	return uint16(u), err == nil
}

func attr(s xml.StartElement, name string) string {
	for _, a := range s.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func isTrue(v string) bool { return v == "1" || v == "true" }
