package sheet_test

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/usherhq/usher/internal/sheet"
)

type row struct {
	line  int
	cells []string
}

// readAll reads a delimited file whole: its rows, the row errors on the way, and the error that
// ended it (nil at the end of the file).
func readAll(t *testing.T, data string, lim sheet.Limits) (rows []row, rowErrs []string, err error) {
	t.Helper()
	r, err := sheet.Open(strings.NewReader(data), int64(len(data)), sheet.CSV, lim)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	for {
		cells, line, err := r.Next()
		if err == io.EOF {
			return rows, rowErrs, nil
		}
		if sheet.IsRowError(err) {
			rowErrs = append(rowErrs, err.Error())
			continue
		}
		if err != nil {
			return rows, rowErrs, err
		}
		rows = append(rows, row{line, slices.Clone(cells)})
	}
}

func TestDelimited(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []row
	}{
		{"comma", "email,first name\na@x.org,Ada\n", []row{{1, []string{"email", "first name"}}, {2, []string{"a@x.org", "Ada"}}}},
		{"semicolon", "email;first name\na@x.org;Ada, the first\n", []row{{1, []string{"email", "first name"}}, {2, []string{"a@x.org", "Ada, the first"}}}},
		{"tab", "email\tfirst name\na@x.org\tAda;Lovelace\n", []row{{1, []string{"email", "first name"}}, {2, []string{"a@x.org", "Ada;Lovelace"}}}},
		{"pipe", "email|first name|last name\na@x.org|Ada|Lovelace\n", []row{{1, []string{"email", "first name", "last name"}}, {2, []string{"a@x.org", "Ada", "Lovelace"}}}},
		{"one column", "email\na@x.org\nb@x.org", []row{{1, []string{"email"}}, {2, []string{"a@x.org"}}, {3, []string{"b@x.org"}}}},
		{"byte order mark and CRLF", "\ufeffemail,name\r\na@x.org,Ada\r\n", []row{{1, []string{"email", "name"}}, {2, []string{"a@x.org", "Ada"}}}},
		{"quoted delimiters, quotes and line breaks", "email,groups,note\n\"a@x.org\",\"Sales, EMEA;Support\",\"two\r\nlines \"\"quoted\"\"\"\nb@x.org,,\n",
			[]row{{1, []string{"email", "groups", "note"}}, {2, []string{"a@x.org", "Sales, EMEA;Support", "two\nlines \"quoted\""}}, {4, []string{"b@x.org", "", ""}}}},
		{"a quoted header with semicolons inside is still comma-separated", "\"a;b;c\",d\n1,2\n", []row{{1, []string{"a;b;c", "d"}}, {2, []string{"1", "2"}}}},
		{"a bare quote in a name", "email,last name\na@x.org,O\"Brien\n", []row{{1, []string{"email", "last name"}}, {2, []string{"a@x.org", "O\"Brien"}}}},
		{"short and long rows", "a,b,c\n1\n1,2,3,4\n", []row{{1, []string{"a", "b", "c"}}, {2, []string{"1"}}, {3, []string{"1", "2", "3", "4"}}}},
		{"neutralised cells read back", "a,b,c\n'=1+1,'+44 20,'Brien\n", []row{{1, []string{"a", "b", "c"}}, {2, []string{"=1+1", "+44 20", "'Brien"}}}},
		{"empty file", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, rowErrs, err := readAll(t, tc.data, sheet.DefaultLimits)
			if err != nil || rowErrs != nil {
				t.Fatalf("error %v, row errors %q", err, rowErrs)
			}
			if !slices.EqualFunc(rows, tc.want, func(a, b row) bool { return a.line == b.line && slices.Equal(a.cells, b.cells) }) {
				t.Errorf("rows %v, want %v", rows, tc.want)
			}
		})
	}
}

func TestDelimitedRefused(t *testing.T) {
	latin1 := "email,last name\na@x.org,Smith\nb@x.org,M\xfcller\n"
	for _, tc := range []struct {
		name, data, code, says string
	}{
		{"not UTF-8", latin1, "file.encoding", "Line 3 is not UTF-8 text"},
		{"UTF-16", "\xff\xfee\x00m\x00", "file.encoding", "UTF-16"},
		{"a spreadsheet named .csv", "PK\x03\x04\x14\x00", "file.type", "give it the .xlsx extension"},
		{"binary", "email\x00\x01\x02", "file.type", "This file is not text"},
		{"an unclosed quote before a long rest", "email,name\na@x.org,\"Ada\n" + strings.Repeat("b@x.org,Bob\n", 200_000), "file.row_too_long", "The row after line 1 is longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(t, tc.data, sheet.DefaultLimits)
			var e *sheet.Error
			if !errors.As(err, &e) || e.Code != tc.code || !strings.Contains(e.Message, tc.says) {
				t.Fatalf("error %v, want %s saying %q", err, tc.code, tc.says)
			}
		})
	}
}

// A row with too many cells or too long a cell is refused on its own; the next rows are read.
func TestDelimitedRowLimits(t *testing.T) {
	lim := sheet.Limits{MaxCell: 10, MaxColumns: 3}
	rows, rowErrs, err := readAll(t, "a,b\n1,2,3,4\n12345678901,x\nok,fine\n", lim)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"line 2: this row has 4 cells; usher reads at most 3.", "line 3: cell 1 is 0 KiB long; usher reads cells of up to 0 KiB."}
	if !slices.Equal(rowErrs, want) {
		t.Errorf("row errors %q, want %q", rowErrs, want)
	}
	if len(rows) != 2 || rows[1].line != 4 {
		t.Errorf("rows %v", rows)
	}
}

// What the writer writes, the reader reads back the same, hostile cells included; and no
// cell of it starts with what makes a spreadsheet run a formula.
func TestDelimitedRoundTrip(t *testing.T) {
	in := [][]string{
		{"email", "first name", "note"},
		{"a@x.org", "=HYPERLINK(\"http://evil\")", "+44 20 7946 0000"},
		{"b@x.org", "-5", "@SUM(A1)"},
		{"c@x.org", "\tTab", "\rReturn"},
		{"d@x.org", "'quoted", "''twice"},
		{"e@x.org", "", "comma, \"quote\"\nnew line"},
		{"f@x.org", "Zoë Ünal", " spaces "},
	}
	var buf bytes.Buffer
	w, err := sheet.NewWriter(&buf, sheet.CSV)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range in {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("\ufeff")) {
		t.Error("the CSV has no byte order mark")
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		for _, cell := range strings.Split(line, ",") {
			if c := strings.TrimPrefix(cell, "\""); c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
				t.Errorf("a written cell starts with %q: %q", c[0], cell)
			}
		}
	}
	rows, rowErrs, err := readAll(t, buf.String(), sheet.DefaultLimits)
	if err != nil || rowErrs != nil {
		t.Fatal(err, rowErrs)
	}
	for i := range in {
		if i >= len(rows) || !slices.Equal(rows[i].cells, in[i]) {
			t.Fatalf("row %d read back as %v, want %q", i, rows, in[i])
		}
	}
}

func FuzzDelimited(f *testing.F) {
	for _, s := range []string{"email,name\na@x.org,Ada\n", "a;b\n\"x;y\";z\r\n", "\ufeffa|b\n1|2", "a\t\"b\n", "'=1,\"", "\xff\xfe", "PK\x03\x04"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := sheet.Open(bytes.NewReader(data), int64(len(data)), sheet.TXT, sheet.Limits{MaxCell: 64, MaxColumns: 8})
		if err != nil {
			return
		}
		for range len(data) + 2 {
			_, _, err := r.Next()
			if err == io.EOF || err != nil && !sheet.IsRowError(err) {
				return
			}
		}
		t.Fatal("more rows than bytes")
	})
}
