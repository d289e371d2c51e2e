package sheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// xlsxWriter writes one worksheet, "Users", with excelize's StreamWriter, which keeps the rows
// in a temporary file once they pass 16 MiB; Close zips them straight into w. Every cell is an
// inline string, which no spreadsheet runs as a formula or reads as a number ("=1+1",
// "+44 20 7946 0000"): unlike CSV, XLSX needs no Neutralise.
type xlsxWriter struct {
	w    io.Writer
	file *excelize.File
	sw   *excelize.StreamWriter
	bold int
	rows int
	vals []any
}

func newXLSXWriter(w io.Writer) (Writer, error) {
	f := excelize.NewFile()
	x := &xlsxWriter{w: w, file: f}
	err := f.SetSheetName("Sheet1", "Users")
	if err == nil {
		x.bold, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	}
	if err == nil {
		x.sw, err = f.NewStreamWriter("Users")
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("xlsx: new workbook: %w", err)
	}
	return x, nil
}

// Write appends a row; the first is the header, in bold.
func (x *xlsxWriter) Write(cells []string) error {
	if x.file == nil {
		return errors.New("xlsx: write after Close")
	}
	x.vals = x.vals[:0]
	for i, c := range cells {
		if err := fitsXLSX(c); err != nil {
			return fmt.Errorf("xlsx: row %d, cell %d: %w", x.rows+1, i+1, err)
		}
		if c == "" {
			x.vals = append(x.vals, nil) // no cell at all
		} else {
			x.vals = append(x.vals, c)
		}
	}
	ref, err := excelize.CoordinatesToCellName(1, x.rows+1)
	if err != nil {
		return fmt.Errorf("xlsx: row %d: a worksheet holds at most %d rows", x.rows+1, maxSheetRows)
	}
	var style []excelize.RowOpts
	if x.rows == 0 {
		style = append(style, excelize.RowOpts{StyleID: x.bold})
	}
	x.rows++
	return x.sw.SetRow(ref, x.vals, style...)
}

// fitsXLSX refuses what excelize would change without a word: a cell longer than the 32,767
// characters a spreadsheet cell holds (cut short), or with characters XML cannot hold (made
// U+FFFD).
func fitsXLSX(c string) error {
	if !utf8.ValidString(c) {
		return errors.New("not UTF-8 text")
	}
	units := 0
	for _, r := range c {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0xFFFE || r == 0xFFFF {
			return fmt.Errorf("holds the character %U, which an XLSX file cannot hold", r)
		}
		if units += utf16.RuneLen(r); units > excelize.TotalCellChars {
			return fmt.Errorf("is longer than the %d characters an XLSX cell holds", excelize.TotalCellChars)
		}
	}
	return nil
}

// Close writes the workbook to w and removes the temporary file of its rows.
func (x *xlsxWriter) Close() error {
	if x.file == nil {
		return nil
	}
	f := x.file
	x.file = nil
	err := x.sw.Flush()
	if err == nil {
		// excelize zips a workbook into a buffer in memory; given its own zip writer it writes
		// to w and leaves the buffer empty. (What it then skips, marking the local headers of
		// parts over 4 GiB for Excel, a sheet of users does not reach.)
		f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(x.w) })
		var buf *bytes.Buffer
		if buf, err = f.WriteToBuffer(); err == nil && buf.Len() > 0 {
			err = errors.New("excelize buffered the workbook instead of writing it")
		}
	}
	if err != nil {
		err = fmt.Errorf("xlsx: write workbook: %w", err)
	}
	return errors.Join(err, f.Close())
}
