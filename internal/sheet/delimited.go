package sheet

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Delimiters are the separators a delimited file may use, in the order that breaks a tie.
var Delimiters = []rune{',', ';', '\t', '|'}

// sniffSize is how much of a file is looked at to tell its kind and delimiter.
const sniffSize = 64 << 10

// delimited reads CSV and TXT files.
type delimited struct {
	format Format
	csv    *csv.Reader
	in     *guard
	lim    Limits
	line   int // the line the last row started on
}

// openDelimited reads a delimited text file: UTF-8 with or without a byte order mark, CRLF or
// LF line ends, fields quoted with " (which may hold delimiters, quotes doubled and line
// breaks). The delimiter is the one of Delimiters the header row holds most of (outside quotes);
// a header with none of them is one column.
func openDelimited(f io.Reader, format Format, lim Limits) (Reader, error) {
	g := &guard{r: f, max: lim.maxRow()}
	br := bufio.NewReaderSize(g, sniffSize)
	head, err := br.Peek(sniffSize)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, &Error{Code: "file.unreadable", Message: "The file could not be read.", Err: err}
	}
	if err := textOnly(head); err != nil {
		return nil, err
	}
	if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
		head = head[3:]
	}
	r := csv.NewReader(br)
	r.Comma = Delimiter(head)
	r.FieldsPerRecord = -1 // rows may be short or long; the importer says what is missing
	r.LazyQuotes = true    // O"Brien in an unquoted field is a name, not a broken file
	r.ReuseRecord = true
	return &delimited{format: format, csv: r, in: g, lim: lim}, nil
}

// textOnly refuses what is not UTF-8 text, by its first bytes, saying what it looks like.
func textOnly(head []byte) error {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return &Error{Code: "file.type", Message: "This file is a spreadsheet (XLSX) or another zip file, not text. If it is a spreadsheet, give it the .xlsx extension and upload it again."}
	case bytes.HasPrefix(head, []byte("\xff\xfe")), bytes.HasPrefix(head, []byte("\xfe\xff")):
		return &Error{Code: "file.encoding", Message: "This file is UTF-16 text; usher reads UTF-8. Save it as \"CSV UTF-8\" and upload it again."}
	case bytes.IndexByte(head, 0) >= 0:
		return &Error{Code: "file.type", Message: "This file is not text: it holds bytes that no CSV or TXT file has. Save it as CSV (UTF-8) and upload it again."}
	}
	return nil
}

// Delimiter is the delimiter of delimited text that starts with head: the one of Delimiters the
// first row holds most of outside quotes, a comma when it holds none.
func Delimiter(head []byte) rune {
	counts := map[rune]int{}
	quoted := false
	for _, b := range head {
		if b == '"' {
			quoted = !quoted
			continue
		}
		if !quoted && (b == '\n' || b == '\r') {
			break
		}
		if !quoted {
			counts[rune(b)]++
		}
	}
	best := ','
	for _, d := range Delimiters {
		if counts[d] > counts[best] {
			best = d
		}
	}
	return best
}

func (d *delimited) Format() Format { return d.format }
func (d *delimited) Close() error   { return nil }

func (d *delimited) Next() ([]string, int, error) {
	d.in.mark(d.csv.InputOffset())
	row, err := d.csv.Read()
	if err == io.EOF {
		return nil, 0, io.EOF
	}
	var tooLong *rowTooLong
	if errors.As(err, &tooLong) {
		where := "The first row"
		if d.line > 0 {
			where = fmt.Sprintf("The row after line %d", d.line)
		}
		return nil, 0, &Error{Code: "file.row_too_long", Message: fmt.Sprintf(
			"%s is longer than %d KiB, which no row of users is: a quote (\") is probably not closed. Correct it and upload the file again.",
			where, d.lim.maxRow()>>10)}
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, 0, &RowError{Line: pe.StartLine, Message: "this line cannot be read: " + pe.Err.Error() + "."}
		}
		return nil, 0, &Error{Code: "file.unreadable", Message: "The file could not be read to its end.", Err: err}
	}
	d.line, _ = d.csv.FieldPos(0)
	for i, cell := range row {
		if !utf8.ValidString(cell) {
			line, _ := d.csv.FieldPos(i)
			return nil, 0, &Error{Code: "file.encoding", Message: fmt.Sprintf(
				"Line %d is not UTF-8 text (the file was probably saved in another encoding). Save it as \"CSV UTF-8\" and upload it again.", line)}
		}
		row[i] = Unneutralise(cell)
	}
	if err := d.lim.check(row, d.line); err != nil {
		return nil, 0, err
	}
	return row, d.line, nil
}

// check refuses a row with too many cells or too long a cell.
func (lim Limits) check(row []string, line int) error {
	if lim.MaxColumns > 0 && len(row) > lim.MaxColumns {
		return &RowError{Line: line, Message: fmt.Sprintf("this row has %d cells; usher reads at most %d.", len(row), lim.MaxColumns)}
	}
	for i, cell := range row {
		if lim.MaxCell > 0 && len(cell) > lim.MaxCell {
			return &RowError{Line: line, Message: fmt.Sprintf("cell %d is %d KiB long; usher reads cells of up to %d KiB.", i+1, len(cell)>>10, lim.MaxCell>>10)}
		}
	}
	return nil
}

// maxRow is the most bytes one row may take in a delimited file.
func (lim Limits) maxRow() int64 {
	if lim.MaxCell <= 0 || lim.MaxColumns <= 0 {
		return 16 << 20
	}
	return max(1<<20, int64(lim.MaxCell)*4)
}

// guard fails a read that would take one row past max bytes, so that an unclosed quote cannot
// make the CSV reader gather the rest of a large file into one field.
type guard struct {
	r     io.Reader
	n     int64 // bytes read
	start int64 // where the current row starts (the CSV reader's offset)
	max   int64
}

type rowTooLong struct{}

func (*rowTooLong) Error() string { return "row too long" }

// mark notes that a row starts at offset (the CSV reader's input offset).
func (g *guard) mark(offset int64) { g.start = offset }

func (g *guard) Read(p []byte) (int, error) {
	// What is read ahead of the row (the readers' buffers) is at most sniffSize + 4 KiB.
	if g.n-g.start > g.max+sniffSize+(4<<10) {
		return 0, &rowTooLong{}
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	return n, err
}

// triggers are the first characters that make a spreadsheet run a cell as a formula, and the
// apostrophe that Neutralise puts before them.
const triggers = "=+-@\t\r'"

// Neutralise makes a cell safe to open in a spreadsheet: one that starts with = + - @, a tab or
// a carriage return (which a spreadsheet would run as a formula), or with an apostrophe, gets
// an apostrophe before it. Unneutralise undoes exactly that.
func Neutralise(cell string) string {
	if cell != "" && bytes.IndexByte([]byte(triggers), cell[0]) >= 0 {
		return "'" + cell
	}
	return cell
}

// Unneutralise takes away the apostrophe Neutralise put: one before a character it would put
// one before. Other apostrophes stay ('Brien stays 'Brien).
func Unneutralise(cell string) string {
	if len(cell) >= 2 && cell[0] == '\'' && bytes.IndexByte([]byte(triggers), cell[1]) >= 0 {
		return cell[1:]
	}
	return cell
}

// delimitedWriter writes CSV as spreadsheets open it best: UTF-8 with a byte order mark (so
// that Excel does not guess another encoding), commas, and every cell that a spreadsheet would
// run as a formula neutralised (Neutralise). Lines end in LF: with CRLF, Go's CSV writer drops
// a carriage return inside a cell, and a cell must read back as it was.
type delimitedWriter struct {
	w   *bufio.Writer
	csv *csv.Writer
	bom bool
	row []string
}

func newDelimitedWriter(w io.Writer) *delimitedWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	c := csv.NewWriter(bw)
	return &delimitedWriter{w: bw, csv: c}
}

func (d *delimitedWriter) Write(cells []string) error {
	if !d.bom {
		d.bom = true
		if _, err := d.w.WriteString("\ufeff"); err != nil {
			return err
		}
	}
	d.row = d.row[:0]
	for _, c := range cells {
		d.row = append(d.row, Neutralise(c))
	}
	return d.csv.Write(d.row)
}

func (d *delimitedWriter) Close() error {
	d.csv.Flush()
	if err := d.csv.Error(); err != nil {
		return err
	}
	return d.w.Flush()
}
