package sheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// sheetXML is a worksheet part holding rows (the XML of the row elements).
func sheetXML(rows string) string {
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` + rows + `</sheetData></worksheet>`
}

// workbookParts are the parts of a workbook of one worksheet holding rows; a test adds or
// replaces parts (xl/sharedStrings.xml, xl/styles.xml).
func workbookParts(rows string) map[string]string {
	return map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"_rels/.rels": `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
		"xl/workbook.xml": `<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Users" sheetId="1" r:id="rId1"/></sheets></workbook>`,
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
		"xl/worksheets/sheet1.xml": sheetXML(rows),
	}
}

// zipParts zips parts into an XLSX file.
func zipParts(t testing.TB, parts map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, content := range parts {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// excelizeFile is the XLSX file build makes with excelize, on its sheet "Sheet1".
func excelizeFile(t testing.TB, build func(f *excelize.File) error) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if err := build(f); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// gotRow is what Next returned once.
type gotRow struct {
	cells []string
	line  int
	err   error
}

// readXLSX opens data and reads it to its end or to an error that ends it.
func readXLSX(t testing.TB, data []byte, lim Limits) ([]gotRow, error) {
	t.Helper()
	r, err := Open(bytes.NewReader(data), int64(len(data)), XLSX, lim)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var rows []gotRow
	for {
		cells, line, err := r.Next()
		if err == io.EOF {
			return rows, nil
		}
		var re *RowError
		if errors.As(err, &re) {
			line = re.Line
		} else if err != nil {
			return rows, err
		}
		rows = append(rows, gotRow{cells: append([]string(nil), cells...), line: line, err: err})
	}
}

// cellsOf reads data and fails the test on any error.
func cellsOf(t *testing.T, data []byte) [][]string {
	t.Helper()
	rows, err := readXLSX(t, data, DefaultLimits)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var cells [][]string
	for _, r := range rows {
		if r.err != nil {
			t.Fatalf("line %d: %v", r.line, r.err)
		}
		cells = append(cells, r.cells)
	}
	return cells
}

func TestXLSXFormulasAreText(t *testing.T) {
	t.Parallel()
	built := excelizeFile(t, func(f *excelize.File) error {
		f.SetCellValue("Sheet1", "A1", "Ada")
		f.SetCellValue("Sheet1", "B1", "Lovelace")
		return f.SetCellFormula("Sheet1", "C1", "A1&B1")
	})
	if got, want := cellsOf(t, built), [][]string{{"Ada", "Lovelace", "=A1&B1"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("excelize's formula: got %q, want %q", got, want)
	}

	tests := []struct {
		name string
		rows string
		want [][]string
	}{
		{"cached result ignored", `<row r="1"><c r="A1" t="str"><f>HYPERLINK("http://x.test","click")</f><v>click</v></c><c r="B1"><f>1+1</f><v>2</v></c></row>`,
			[][]string{{`=HYPERLINK("http://x.test","click")`, "=1+1"}}},
		{"shared formula moved to each cell", `<row r="2"><c r="A2"><v>1</v></c><c r="B2"><f t="shared" ref="B2:B4" si="0">A2*2+$A$1+A$1+SUM(A2:C2)+'My Sheet'!A2&amp;"A2"</f><v>2</v></c></row>
<row r="4"><c r="B4"><f t="shared" si="0"/><v>8</v></c></row>`,
			[][]string{{"1", `=A2*2+$A$1+A$1+SUM(A2:C2)+'My Sheet'!A2&"A2"`}, {"", `=A4*2+$A$1+A$1+SUM(A4:C4)+'My Sheet'!A4&"A2"`}}},
		{"shared formula without its first cell", `<row r="1"><c r="A1"><f t="shared" si="7"/><v>3</v></c></row>`, [][]string{{"="}}},
		{"array formula fills its range", `<row r="1"><c r="A1"><f t="array" ref="A1:B2">SEQUENCE(2,2)</f><v>1</v></c><c r="B1"><v>2</v></c><c r="C1"><v>9</v></c></row>
<row r="2"><c r="A2"><v>3</v></c><c r="B2"><v>4</v></c></row><row r="3"><c r="A3"><v>5</v></c></row>`,
			[][]string{{"=SEQUENCE(2,2)", "=SEQUENCE(2,2)", "9"}, {"=SEQUENCE(2,2)", "=SEQUENCE(2,2)"}, {"5"}}},
		{"escaped control character", `<row r="1"><c r="A1"><f>CHAR(1)&amp;"_x0001_"</f></c></row>`, [][]string{{"=CHAR(1)&\"\x01\""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := cellsOf(t, zipParts(t, workbookParts(tt.rows))); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestShiftFormula(t *testing.T) {
	t.Parallel()
	tests := []struct {
		formula    string
		dCol, dRow int
		want       string
	}{
		{"A1*2", 0, 1, "A2*2"},
		{"$A1+A$1+$A$1", 1, 1, "$A2+B$1+$A$1"},
		{"SUM(A1:B2)", 2, 0, "SUM(C1:D2)"},
		{`LOG10(A1)&"B1"&'Sheet B1'!B1`, 0, 3, `LOG10(A4)&"B1"&'Sheet B1'!B4`},
		{"Table1[[#This Row],[A1]]+XFD1", 1, 0, "Table1[[#This Row],[A1]]+#REF!"},
		{"TRUE+A1B+Sheet2!C3+1.5E+3", 1, 1, "TRUE+A1B+Sheet2!D4+1.5E+3"},
		{`"unclosed A1`, 1, 1, `"unclosed A1`},
	}
	for _, tt := range tests {
		if got := shiftFormula(tt.formula, tt.dCol, tt.dRow); got != tt.want {
			t.Errorf("shiftFormula(%q, %d, %d) = %q, want %q", tt.formula, tt.dCol, tt.dRow, got, tt.want)
		}
	}
}

func TestXLSXValues(t *testing.T) {
	t.Parallel()
	jan15 := time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	built := excelizeFile(t, func(f *excelize.File) error {
		dayFirst := "dd/mm/yyyy"
		dmy, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &dayFirst})
		thousands, _ := f.NewStyle(&excelize.Style{NumFmt: 3}) // #,##0
		duration := "[h]:mm"
		hours, _ := f.NewStyle(&excelize.Style{CustomNumFmt: &duration})
		for cell, v := range map[string]any{"A1": 4420794600, "B1": 1.5, "C1": 0.1 + 0.2, "D1": -5, "E1": 1e20,
			"F1": jan15, "G1": jan15.Add(13*time.Hour + 30*time.Minute + 5*time.Second), "H1": true, "I1": false,
			"J1": 45306, "K1": 4420794600, "L1": 1.5, "M1": "text", "N1": 0.000001} {
			if err := f.SetCellValue("Sheet1", cell, v); err != nil {
				return err
			}
		}
		f.SetCellStyle("Sheet1", "J1", "J1", dmy)
		f.SetCellStyle("Sheet1", "K1", "K1", thousands)
		return f.SetCellStyle("Sheet1", "L1", "L1", hours)
	})
	want := [][]string{{"4420794600", "1.5", "0.3", "-5", "100000000000000000000", "2024-01-15", "2024-01-15T13:30:05",
		"TRUE", "FALSE", "2024-01-15", "4420794600", "1.5", "text", "0.000001"}}
	if got := cellsOf(t, built); !reflect.DeepEqual(got, want) {
		t.Errorf("excelize's values:\n got %q\nwant %q", got, want)
	}

	styles := `<styleSheet><numFmts><numFmt numFmtId="164" formatCode="yyyy\-mm\-dd"/><numFmt numFmtId="165" formatCode="0.00&quot; d&quot;"/></numFmts>
<cellStyleXfs><xf numFmtId="14"/></cellStyleXfs><cellXfs><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="46"/></cellXfs>
<dxfs><dxf><numFmt numFmtId="166" formatCode="d"/></dxf></dxfs></styleSheet>`
	shared := `<sst><si><t xml:space="preserve"> padded </t></si><si><r><t>rich </t></r><r><rPr><b/></rPr><t>text</t></r><rPh><t>ふりがな</t></rPh></si><si><t>tab_x0009_and_x005F_x0041_</t></si></sst>`
	tests := []struct {
		name     string
		rows     string
		date1904 bool
		want     [][]string
	}{
		{"numbers", `<row><c><v>0.30000000000000004</v></c><c><v>1E-3</v></c><c><v>12345678901234567</v></c><c><v>-0</v></c><c><v>NaN</v></c></row>`,
			false, [][]string{{"0.3", "0.001", "12345678901234600", "0", "NaN"}}},
		{"dates by style", `<row><c s="1"><v>45306</v></c><c s="2"><v>45306.5</v></c><c s="3"><v>45306</v></c><c s="4"><v>1.5</v></c><c s="1"><v>-1</v></c><c s="9"><v>45306</v></c></row>`,
			false, [][]string{{"2024-01-15", "2024-01-15T12:00:00", "45306", "1.5", "-1", "45306"}}},
		{"1904 dates", `<row><c s="1"><v>43844</v></c></row>`, true, [][]string{{"2024-01-15"}}},
		{"date cells", `<row><c t="d"><v>2024-01-15T00:00:00Z</v></c><c t="d"><v>2024-01-15T09:45:00</v></c><c t="d"><v>soon</v></c></row>`,
			false, [][]string{{"2024-01-15", "2024-01-15T09:45:00", "soon"}}},
		{"strings", `<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c t="s"><v>2</v></c><c t="inlineStr"><is><t>inline_x0001_</t></is></c><c t="str"><v>str</v></c><c t="e"><v>#N/A</v></c><c t="b"><v>1</v></c></row>`,
			false, [][]string{{" padded ", "rich text", "tab\tand_x0041_", "inline\x01", "str", "#N/A", "TRUE"}}},
		{"strict prefixes", `<x:row r="1"><x:c r="B1" t="inlineStr"><x:is><x:t>prefixed</x:t></x:is></x:c></x:row>`, false, [][]string{{"", "prefixed"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parts := workbookParts(tt.rows)
			parts["xl/styles.xml"], parts["xl/sharedStrings.xml"] = styles, shared
			if tt.date1904 {
				parts["xl/workbook.xml"] = strings.Replace(parts["xl/workbook.xml"], "<sheets>", `<workbookPr date1904="1"/><sheets>`, 1)
			}
			if got := cellsOf(t, zipParts(t, parts)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestXLSXRowsAndLines(t *testing.T) {
	t.Parallel()
	rows := `<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c></row>
<row r="2"/><row r="3"><c r="A3"/><c r="B3" t="inlineStr"><is><t></t></is></c></row>
<row r="5"><c r="C5"><v>3</v></c><c r="E5" t="inlineStr"><is><t></t></is></c></row>
<row><c><v>1</v></c><c/><c><v>2</v></c></row>
<row r="9" spans="1:3"><c r="A9"><v>9</v></c></row>`
	got, err := readXLSX(t, zipParts(t, workbookParts(rows)), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := []gotRow{{cells: []string{"email", "name"}, line: 1}, {cells: []string{"", "", "3"}, line: 5}, {cells: []string{"1", "", "2"}, line: 6}, {cells: []string{"9"}, line: 9}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestXLSXFirstVisibleSheet(t *testing.T) {
	t.Parallel()
	parts := workbookParts(`<row><c t="inlineStr"><is><t>hidden</t></is></c></row>`)
	parts["xl/workbook.xml"] = `<workbook xmlns:r="r"><sheets><sheet name="Chart" r:id="rId9"/><sheet name="Old" state="hidden" r:id="rId1"/><sheet name="Users" r:id="rId8"/></sheets></workbook>`
	parts["xl/_rels/workbook.xml.rels"] = `<Relationships>
<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chartsheet" Target="chartsheets/sheet1.xml"/>
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet1.xml"/>
<Relationship Id="rId8" Type="http://purl.oclc.org/ooxml/officeDocument/relationships/worksheet" Target="worksheets/../worksheets/Sheet2.xml"/></Relationships>`
	parts["xl/chartsheets/sheet1.xml"] = `<chartsheet/>`
	parts["xl/worksheets/sheet2.xml"] = sheetXML(`<row><c t="inlineStr"><is><t>visible</t></is></c></row>`)
	if got := cellsOf(t, zipParts(t, parts)); !reflect.DeepEqual(got, [][]string{{"visible"}}) {
		t.Errorf("got %q, want the visible sheet", got)
	}
}

func TestXLSXRefusesWhatIsNotAWorkbook(t *testing.T) {
	t.Parallel()
	valid := zipParts(t, workbookParts(`<row><c><v>1</v></c></row>`))
	noWorkbook := zipParts(t, map[string]string{"word/document.xml": "<document/>"})
	onlyChart := workbookParts("")
	onlyChart["xl/_rels/workbook.xml.rels"] = `<Relationships/>`
	brokenXML := workbookParts(`<row r="1"><c><v>1</v></c></row><row r="2"><c><v>2</v`)
	tests := []struct {
		name, code, says string
		data             []byte
	}{
		{"empty", "file.type", "not an XLSX spreadsheet", nil},
		{"CSV", "file.type", "CSV file named .xlsx", []byte("email,name\r\nada@example.com,Ada Lovelace\r\n")},
		{"old xls", "file.type", "old Excel workbook (.xls)", append([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), make([]byte, 600)...)},
		{"binary", "file.type", "not an XLSX spreadsheet", []byte("\x00\x01\x02garbage")},
		{"truncated", "file.unreadable", "damaged", valid[:len(valid)/2]},
		{"zip of another kind", "file.type", "has no workbook", noWorkbook},
		{"no worksheet", "file.unreadable", "no worksheet", zipParts(t, onlyChart)},
		{"broken worksheet XML", "file.unreadable", "damaged after row 1", zipParts(t, brokenXML)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readXLSX(t, tt.data, DefaultLimits)
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code || !strings.Contains(e.Message, tt.says) {
				t.Fatalf("got %v, want %s saying %q", err, tt.code, tt.says)
			}
		})
	}
}

func TestXLSXRowLimits(t *testing.T) {
	t.Parallel()
	lim := Limits{MaxCell: 10, MaxColumns: 3, MaxUnzipped: 1 << 30, MaxPartInMemory: 1 << 20}
	long := strings.Repeat("x", 11)
	huge := strings.Repeat("y", 600<<10)
	rows := fmt.Sprintf(`<row r="1"><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c><c><v>4</v></c></row>
<row r="2"><c t="inlineStr"><is><t>%s</t></is></c></row>
<row r="3"><c t="s"><v>0</v></c></row>
<row r="4"><c t="inlineStr"><is><t>%s</t></is></c><c t="inlineStr"><is><t>%s</t></is></c></row>
<row r="5"><c r="E5" t="inlineStr"><is><t></t></is></c><c t="s"><v>9</v></c></row>
<row r="6"><c><v>ok</v></c></row>`, long, huge, huge)
	parts := workbookParts(rows)
	parts["xl/sharedStrings.xml"] = `<sst><si><t>` + strings.Repeat("z", 2<<20) + `</t></si></sst>`
	got, err := readXLSX(t, zipParts(t, parts), lim)
	if err != nil {
		t.Fatal(err)
	}
	wantErrs := []string{"this row has a cell in column 4; usher reads at most 3 columns.", "cell 1 is 0 KiB long; usher reads cells of up to 0 KiB.",
		"this row holds more than 1024 KiB of text", "this row holds more than 1024 KiB of text", "cell 6 refers to a shared text the file does not have", ""}
	if len(got) != len(wantErrs) {
		t.Fatalf("got %d rows, want %d: %+v", len(got), len(wantErrs), got)
	}
	for i, r := range got {
		if r.line != i+1 {
			t.Errorf("row %d: line %d", i+1, r.line)
		}
		if msg := fmt.Sprint(r.err); wantErrs[i] == "" && r.err != nil || wantErrs[i] != "" && !strings.Contains(msg, wantErrs[i]) {
			t.Errorf("line %d: got %v, want %q", r.line, r.err, wantErrs[i])
		}
	}

	// A cell too long to hold even as one XML token ends the file.
	_, err = readXLSX(t, zipParts(t, workbookParts(`<row r="1"><c><v>1</v></c></row><row r="2"><c><v>`+strings.Repeat("9", 9<<20)+`</v></c></row>`)), lim)
	var e *Error
	if !errors.As(err, &e) || e.Code != "file.row_too_long" || !strings.Contains(e.Message, "after row 1") {
		t.Errorf("a 9 MiB cell: got %v, want file.row_too_long after row 1", err)
	}
}

func TestXLSXTemporaryFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	const n = 20000
	var sst, rows strings.Builder
	sst.WriteString("<sst>")
	for i := range n {
		fmt.Fprintf(&sst, "<si><t>user%d@example.com</t></si>", i)
		fmt.Fprintf(&rows, `<row><c t="s"><v>%d</v></c><c t="s"><v>%d</v></c></row>`, i, n-1-i)
	}
	sst.WriteString("</sst>")
	parts := workbookParts(rows.String())
	parts["xl/sharedStrings.xml"] = sst.String()
	data := zipParts(t, parts)

	lim := DefaultLimits
	lim.MaxPartInMemory = 64 << 10 // the shared strings go to disk
	r, err := Open(bytes.NewReader(data), int64(len(data)), XLSX, lim)
	if err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(dir); len(files) != 2 {
		t.Errorf("while reading, %d temporary files, want 2 (texts and their ends)", len(files))
	}
	for i := range n {
		cells, _, err := r.Next()
		if want := []string{fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("user%d@example.com", n-1-i)}; err != nil || !reflect.DeepEqual(cells, want) {
			t.Fatalf("row %d: got %q, %v, want %q", i+1, cells, err, want)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("after Close, %d temporary files are left", len(files))
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after Close: %v, want io.EOF", err)
	}
}

func TestXLSXRoundTrip(t *testing.T) {
	t.Parallel()
	rows := [][]string{
		{"email", "name", "phone", "note"},
		{"=1+1", "@SUM(A1)", "+44 20 7946 0000", "-5"},
		{"'quoted", "  spaced  ", "", "Zoë Ñandú 日本語 🎉"},
		{"_x0041_", "tab\there", "line\nbreak\r\nand CR\r", "=HYPERLINK(\"http://evil.test\")"},
		{strings.Repeat("a", excelize.TotalCellChars), strings.Repeat("€", (DefaultLimits.MaxCell-3)/3), "", "last"},
		{"", "", "", "only the last"},
		{"0042", "1e5", "TRUE", "2024-01-15"},
	}
	var b bytes.Buffer
	w, err := NewWriter(&b, XLSX)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := cellsOf(t, b.Bytes())
	if !reflect.DeepEqual(got, rows) {
		for i := range max(len(got), len(rows)) {
			if i >= len(got) || i >= len(rows) || !reflect.DeepEqual(got[i], rows[i]) {
				t.Errorf("row %d differs", i+1)
			}
		}
	}

	// excelize reads the same file, with every cell a string and the header bold.
	f, err := excelize.OpenReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if list := f.GetSheetList(); !reflect.DeepEqual(list, []string{"Users"}) {
		t.Errorf("sheets %q, want Users", list)
	}
	if kind, _ := f.GetCellType("Users", "A2"); kind != excelize.CellTypeInlineString {
		t.Errorf("=1+1 is of cell type %v, want an inline string", kind)
	}
	if formula, _ := f.GetCellFormula("Users", "A2"); formula != "" {
		t.Errorf("=1+1 has the formula %q", formula)
	}
	style, _ := f.GetCellStyle("Users", "A1")
	if s, err := f.GetStyle(style); err != nil || s.Font == nil || !s.Font.Bold {
		t.Errorf("the header is not bold")
	}
}

func TestXLSXWriterRefusesWhatXLSXCannotHold(t *testing.T) {
	t.Parallel()
	for _, cell := range []string{strings.Repeat("a", excelize.TotalCellChars+1), "bell\a", "\xff"} {
		w, err := NewWriter(io.Discard, XLSX)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write([]string{"ok", cell}); err == nil || !strings.Contains(err.Error(), "cell 2") {
			t.Errorf("cell of %d bytes: got %v, want an error about cell 2", len(cell), err)
		}
		w.Close()
	}
}

func TestXLSXWriterRemovesTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	w, err := NewWriter(io.Discard, XLSX)
	if err != nil {
		t.Fatal(err)
	}
	cell := strings.Repeat("x", 1000)
	for range 20000 { // 20 MB of rows: past the 16 MiB excelize keeps in memory
		if err := w.Write([]string{cell}); err != nil {
			t.Fatal(err)
		}
	}
	if files, _ := os.ReadDir(dir); len(files) == 0 {
		t.Errorf("no temporary file while writing 20 MB of rows")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Errorf("after Close, %d temporary files are left", len(files))
	}
}

func TestIsDateFormat(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]bool{
		"General": false, "0.00": false, "#,##0": false, "0.00E+00": false, "@": false, `0" days"`: false, `0\d`: false,
		"[h]:mm:ss": false, "[Red]0.00": false, "d/m/yyyy": true, "[$-409]mmmm d, yyyy": true, "h:mm AM/PM": true,
		"yyyy-mm-dd;@": true, `"Day "d`: true, "[": false, `"`: false,
	} {
		if got := isDateFormat(164, map[int]string{164: code}); got != want {
			t.Errorf("isDateFormat(%q) = %v, want %v", code, got, want)
		}
	}
	for id, want := range map[int]bool{0: false, 1: false, 14: true, 22: true, 45: true, 46: false, 49: false} {
		if got := isDateFormat(id, nil); got != want {
			t.Errorf("isDateFormat(built-in %d) = %v, want %v", id, got, want)
		}
	}
}

// An empty shared string, last in the table, reads as an empty cell: it must not end the sheet
// (reading its 0 bytes at the end of the table answers io.EOF). A cell far to the right is a row
// error, refused before the row is padded out to it.
func TestXLSXEmptySharedStringAndFarCells(t *testing.T) {
	parts := workbookParts(`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>` +
		`<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c></row>` +
		`<row r="3"><c r="A3" t="inlineStr"><is><t>far</t></is></c><c r="ZZ3" t="inlineStr"><is><t>x</t></is></c></row>` +
		`<row r="4"><c r="A4" t="inlineStr"><is><t>last</t></is></c></row>`)
	parts["xl/sharedStrings.xml"] = `<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>a@x.org</t></si><si><t></t></si></sst>`
	got, err := readXLSX(t, zipParts(t, parts), Limits{MaxCell: 1 << 10, MaxColumns: 10, MaxUnzipped: 1 << 20, MaxPartInMemory: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range got {
		lines = append(lines, fmt.Sprintf("%d %q %v", r.line, r.cells, r.err))
	}
	want := []string{`1 ["a@x.org"] <nil>`, `2 ["a@x.org"] <nil>`,
		`3 [] line 3: this row has a cell in column 702; usher reads at most 10 columns.`, `4 ["last"] <nil>`}
	if !slices.Equal(lines, want) {
		t.Errorf("rows %q\nwant %q", lines, want)
	}
}
