// Package sheet reads and writes the tabular files people bring to an import and take from an
// export: CSV and TXT (the delimiter found among comma, semicolon, pipe and tab) and XLSX. A
// file is read one row at a time and never held whole in memory; what is wrong with a file is
// said in words a person can act on (*Error).
package sheet

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Format is the kind of a tabular file.
type Format string

const (
	CSV  Format = "csv"
	TXT  Format = "txt" // CSV by another name: delimited text
	XLSX Format = "xlsx"
)

// ContentType is the media type of a file of the format.
func (f Format) ContentType() string {
	if f == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// Formats are the kinds of file an import takes, as people name them.
const Formats = ".csv, .txt or .xlsx"

// FormatOf is the format a file name's extension names, case-insensitively.
func FormatOf(name string) (Format, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return CSV, nil
	case ".txt":
		return TXT, nil
	case ".xlsx":
		return XLSX, nil
	}
	return "", &Error{Code: "file.type", Message: fmt.Sprintf("usher reads %s files; %q is not one. Save it in one of those formats and upload it again.", Formats, filepath.Base(name))}
}

// Limits bound what reading one file may cost.
type Limits struct {
	// MaxCell is the longest cell, in bytes; a longer one makes the row unreadable (*RowError).
	MaxCell int
	// MaxColumns is the most cells a row may have.
	MaxColumns int
	// MaxUnzipped is how many bytes the parts of an XLSX file may unzip to, all together: a
	// file that claims or reaches more is refused (a zip bomb).
	MaxUnzipped int64
	// MaxPartInMemory is the largest XLSX part unzipped in memory; larger ones go through a
	// temporary file.
	MaxPartInMemory int64
}

// DefaultLimits suit an import of a million users.
var DefaultLimits = Limits{MaxCell: 64 << 10, MaxColumns: 1000, MaxUnzipped: 4 << 30, MaxPartInMemory: 16 << 20}

// Reader gives a file's rows one at a time, the header row first.
type Reader interface {
	// Next returns the next row and where it starts in the file (the line of a CSV file, the
	// row number of a spreadsheet), or io.EOF after the last. The row's slice may be reused by
	// the next call. A *RowError is about that row only: reading may go on. Any other error
	// ends the file.
	Next() (cells []string, line int, err error)
	// Format is the file's format.
	Format() Format
	Close() error
}

// File is what Open reads: an uploaded file kept on disk (an XLSX file is a zip, read from its
// end).
type File interface {
	io.Reader
	io.ReaderAt
}

// Open reads a file of the given format, size bytes long.
func Open(f File, size int64, format Format, lim Limits) (Reader, error) {
	switch format {
	case CSV, TXT:
		return openDelimited(f, format, lim)
	case XLSX:
		return openXLSX(f, size, lim)
	}
	return nil, &Error{Code: "file.type", Message: "usher reads " + Formats + " files."}
}

// Error says why a whole file cannot be read.
type Error struct {
	Code    string // stable, dotted: "file.encoding"
	Message string // for a person: what is wrong and what to do
	Err     error  // the cause, for logs
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// RowError says why one row cannot be read; the rows after it can.
type RowError struct {
	Line    int
	Message string
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// IsRowError reports whether err is about one row only.
func IsRowError(err error) bool {
	var re *RowError
	return errors.As(err, &re)
}

// Writer writes a file's rows one at a time, the header row first.
type Writer interface {
	Write(cells []string) error
	// Close writes what is left and the end of the file: the file is whole only after it.
	Close() error
}

// NewWriter writes a file of the given format to w.
func NewWriter(w io.Writer, format Format) (Writer, error) {
	switch format {
	case CSV, TXT:
		return newDelimitedWriter(w), nil
	case XLSX:
		return newXLSXWriter(w)
	}
	return nil, &Error{Code: "file.type", Message: "usher writes " + Formats + " files."}
}
