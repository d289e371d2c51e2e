package sheet

// An XLSX file is read here with archive/zip and encoding/xml, not with excelize's reader, which
// cannot give what an import needs (checked in excelize v2.11.1):
//   - its Rows iterator returns each cell as text formatted by the cell's number format, without
//     the cell's formula, style or type: a formula would come back as its cached result, a date
//     as "01-15-24" and a number formatted "#,##0" as "4,420,794,600";
//   - OpenReader reads the whole upload into memory (io.ReadAll);
//   - it unzips every part but the worksheets and shared strings into memory, each up to the
//     size its zip header claims, whatever UnzipXMLSizeLimit says: a 1 MiB file whose styles.xml
//     unzips to 1 GiB took 5 GiB of heap to open.
// Here the zip is read from its end (only its directory is held), the worksheet streams row by
// row, and every part costs what Limits allow. excelize writes XLSX files (xlsxWriter) and turns
// Excel's date serials into dates.

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// maxDepth is how deeply the elements of a part may nest (a worksheet needs 7). Nesting
	// costs no memory here (RawToken keeps no stack of elements), but a part nested deeper is
	// made to hurt and is refused before all of it is read.
	maxDepth = 64
	// maxParts is how many parts an XLSX file may have; a workbook of users has about ten.
	// archive/zip holds its directory in memory, about twice its size, before this is checked.
	maxParts = 10000
	// maxSheetColumns and maxSheetRows are the size of a worksheet (XFD1048576).
	maxSheetColumns = 16384
	maxSheetRows    = 1 << 20
	// maxArrays is how many array formulas may cover the current row at once: each cell is
	// checked against them all.
	maxArrays = 64
)

var (
	errTokenTooLong = errors.New("xlsx: XML token too long")
	errTooDeep      = errors.New("xlsx: XML nested too deeply")
	errNoString     = errors.New("xlsx: shared string index out of range")
	errLongString   = errors.New("xlsx: shared string too long")
)

// xlsx reads the first visible worksheet of an XLSX file.
type xlsx struct {
	lim      Limits
	sheet    *partReader
	strings  *sharedStrings
	dates    []bool // by style (cellXfs) index: whether numbers in that style show dates
	date1904 bool
	formulas formulas
	cell     cell
	row      []string
	line     int   // the number of the row being read
	lastRow  int   // the number of the last row read to its end
	size     int   // bytes of text in the row being read
	text     int64 // bytes of text in all the cells read, which may not pass lim.MaxUnzipped
	rowErr   error // why that row cannot be read, if it cannot
	done     bool
}

// openXLSX reads the first visible worksheet of an XLSX file (the first worksheet when all are
// hidden), in workbook order.
func openXLSX(f File, size int64, lim Limits) (Reader, error) {
	if lim.MaxUnzipped <= 0 {
		lim.MaxUnzipped = DefaultLimits.MaxUnzipped
	}
	if lim.MaxPartInMemory <= 0 {
		lim.MaxPartInMemory = DefaultLimits.MaxPartInMemory
	}
	zr, err := zip.NewReader(f, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are looked up, never used as paths
		return nil, notXLSX(f, err)
	}
	p, err := openPackage(zr, lim)
	if err != nil {
		return nil, err
	}
	wb, err := p.workbook()
	if err != nil {
		return nil, err
	}
	x := &xlsx{lim: lim, date1904: wb.date1904}
	if x.dates, err = p.dateStyles(wb.styles); err != nil {
		return nil, err
	}
	if x.strings, err = p.sharedStrings(wb.sharedStrings); err != nil {
		return nil, err
	}
	if x.sheet, err = p.open(wb.sheet); err != nil {
		x.Close()
		return nil, damaged("", err)
	}
	return x, nil
}

// notXLSX says what a file that is not a zip is, by its first bytes.
func notXLSX(f File, err error) error {
	head := make([]byte, 512)
	n, _ := f.ReadAt(head, 0)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return &Error{Code: "file.type", Err: err, Message: "This file is an old Excel workbook (.xls) or a password-protected one, which usher cannot read. Save it as an Excel Workbook (.xlsx) without a password, or as CSV UTF-8, and upload it again."}
	case bytes.HasPrefix(head, []byte("PK")):
		return damaged("", err)
	case n > 0 && looksLikeText(head):
		return &Error{Code: "file.type", Err: err, Message: "This file is text, not an XLSX spreadsheet: it may be a CSV file named .xlsx. Give it the .csv extension and upload it again."}
	}
	return &Error{Code: "file.type", Err: err, Message: "This file is not an XLSX spreadsheet. Save it from your spreadsheet program as .xlsx or CSV UTF-8 and upload it again."}
}

// looksLikeText reports whether head is UTF-8 text, but for a rune the cut may have split.
func looksLikeText(head []byte) bool {
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	for i := 0; i < utf8.UTFMax && len(head) > 0 && !utf8.Valid(head); i++ {
		head = head[:len(head)-1]
	}
	return utf8.Valid(head)
}

// damaged is the error for a file that cannot be read, where says after which row.
func damaged(where string, err error) *Error {
	return &Error{Code: "file.unreadable", Err: err, Message: "This spreadsheet is damaged" + where + " and cannot be read. Open it in your spreadsheet program, save it again as .xlsx or CSV UTF-8, and upload it again."}
}

// tooLarge is the error for a file that unzips to more than it may.
func tooLarge(what string, limit int64) *Error {
	return &Error{Code: "file.too_large_unzipped", Message: fmt.Sprintf(
		"%s unpacks to more than %s, which no list of users needs: the file may be damaged or made to overload the server. Save the users as CSV UTF-8 or as a new .xlsx file and upload it again.",
		what, sizeText(limit))}
}

// sizeText is a size as a person reads it: "4 GiB", "16 MiB".
func sizeText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.4g GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.4g MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.4g KiB", float64(n)/(1<<10))
}

// pkg is the zip of an XLSX file, its parts found by name case-insensitively, as OPC names are.
type pkg struct {
	parts    map[string]*zip.File
	lim      Limits
	maxToken int64
}

// openPackage indexes a zip's parts and refuses one that claims to unzip to more than
// lim.MaxUnzipped. The claims bound what reading costs: archive/zip fails a part that inflates
// to more than its header says.
func openPackage(zr *zip.Reader, lim Limits) (*pkg, error) {
	if len(zr.File) > maxParts {
		return nil, &Error{Code: "file.too_large_unzipped", Message: fmt.Sprintf("This spreadsheet holds more than %d parts, which no list of users needs: the file may be damaged or made to overload the server. Save the users as CSV UTF-8 or as a new .xlsx file and upload it again.", maxParts)}
	}
	// The XML of a cell may be seven times longer than its text (_x0001_ for U+0001).
	p := &pkg{parts: make(map[string]*zip.File, len(zr.File)), lim: lim, maxToken: 8 * lim.maxRow()}
	var total uint64
	for _, zf := range zr.File {
		if zf.UncompressedSize64 > uint64(lim.MaxUnzipped)-total {
			return nil, tooLarge("This spreadsheet", lim.MaxUnzipped)
		}
		total += zf.UncompressedSize64
		name := strings.ToLower(strings.TrimPrefix(strings.ReplaceAll(zf.Name, `\`, "/"), "/"))
		if _, ok := p.parts[name]; !ok {
			p.parts[name] = zf
		}
	}
	return p, nil
}

func (p *pkg) part(name string) *zip.File { return p.parts[strings.ToLower(name)] }

// open streams a part's XML.
func (p *pkg) open(zf *zip.File) (*partReader, error) {
	rc, err := zf.Open()
	if err != nil {
		return nil, err
	}
	r := &partReader{rc: rc, in: bufio.NewReaderSize(rc, 32<<10), max: p.maxToken}
	r.dec = xml.NewDecoder(r)
	return r, nil
}

// scan calls fn with each token of a part that is read whole: the workbook, relationships,
// styles. What is kept of them is bounded by their size, at most lim.MaxPartInMemory.
func (p *pkg) scan(zf *zip.File, fn func(xml.Token)) error {
	if zf.UncompressedSize64 > uint64(p.lim.MaxPartInMemory) {
		return tooLarge("A part of this spreadsheet ("+path.Base(zf.Name)+")", p.lim.MaxPartInMemory)
	}
	r, err := p.open(zf)
	if err != nil {
		return damaged("", err)
	}
	defer r.Close()
	for {
		t, err := r.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return damaged("", fmt.Errorf("%s: %w", zf.Name, err))
		}
		fn(t)
	}
}

// rel is a relationship: the part it points to and what that part is.
type rel struct{ id, typ, target string }

// rels are the relationships of the part named source ("" for the package's own).
func (p *pkg) rels(source string) ([]rel, error) {
	dir, file := path.Split(source)
	zf := p.part(dir + "_rels/" + file + ".rels")
	if zf == nil {
		return nil, nil
	}
	var rels []rel
	err := p.scan(zf, func(t xml.Token) {
		s, ok := t.(xml.StartElement)
		if !ok || s.Name.Local != "Relationship" || attr(s, "TargetMode") == "External" {
			return
		}
		target := attr(s, "Target")
		if strings.HasPrefix(target, "/") {
			target = path.Clean(target[1:])
		} else {
			target = path.Join(dir, target)
		}
		rels = append(rels, rel{id: attr(s, "Id"), typ: attr(s, "Type"), target: target})
	})
	return rels, err
}

// find is the part of the first of rels of a type (the last segment of its URI, which differs
// between transitional and strict OOXML) and, unless id is "", of that id, whose part exists.
func (p *pkg) find(rels []rel, typ string, id string) *zip.File {
	for _, r := range rels {
		if strings.HasSuffix(r.typ, "/"+typ) && (id == "" || r.id == id) {
			if zf := p.part(r.target); zf != nil {
				return zf
			}
		}
	}
	return nil
}

// workbook is what the workbook says about the parts read.
type workbook struct {
	sheet, styles, sharedStrings *zip.File
	date1904                     bool
}

func (p *pkg) workbook() (*workbook, error) {
	rels, err := p.rels("")
	if err != nil {
		return nil, err
	}
	zf := p.find(rels, "officeDocument", "")
	if zf == nil {
		zf = p.part("xl/workbook.xml")
	}
	if zf == nil {
		return nil, &Error{Code: "file.type", Message: "This file is a zip archive but not an XLSX spreadsheet (it has no workbook). Save it from your spreadsheet program as .xlsx or CSV UTF-8 and upload it again."}
	}
	type sheet struct {
		id     string
		hidden bool
	}
	var sheets []sheet
	wb := &workbook{}
	err = p.scan(zf, func(t xml.Token) {
		s, _ := t.(xml.StartElement)
		switch s.Name.Local {
		case "workbookPr":
			wb.date1904 = isTrue(attr(s, "date1904"))
		case "sheet": // its r:id
			state := attr(s, "state")
			sheets = append(sheets, sheet{id: attr(s, "id"), hidden: state == "hidden" || state == "veryHidden"})
		}
	})
	if err != nil {
		return nil, err
	}
	if rels, err = p.rels(zf.Name); err != nil {
		return nil, err
	}
	for _, s := range sheets {
		if s.id == "" {
			continue
		}
		if part := p.find(rels, "worksheet", s.id); part != nil && (wb.sheet == nil || !s.hidden) {
			wb.sheet = part
			if !s.hidden {
				break
			}
		}
	}
	if wb.sheet == nil {
		return nil, &Error{Code: "file.unreadable", Message: "This spreadsheet has no worksheet to read (it may hold only charts). Put the users on a worksheet, save it as .xlsx and upload it again."}
	}
	wb.styles = p.find(rels, "styles", "")
	wb.sharedStrings = p.find(rels, "sharedStrings", "")
	return wb, nil
}

// dateStyles says, for each cell style, whether its number format shows dates or times.
func (p *pkg) dateStyles(zf *zip.File) ([]bool, error) {
	if zf == nil {
		return nil, nil
	}
	codes := map[int]string{}
	var formats []int // the number format of each cell style
	in := ""          // numFmts or cellXfs, the lists read
	err := p.scan(zf, func(t xml.Token) {
		switch t := t.(type) {
		case xml.StartElement:
			id, err := strconv.Atoi(attr(t, "numFmtId"))
			switch name := t.Name.Local; {
			case name == "numFmts" || name == "cellXfs":
				in = name
			case name == "numFmt" && in == "numFmts" && err == nil:
				codes[id] = attr(t, "formatCode")
			case name == "xf" && in == "cellXfs":
				formats = append(formats, id)
			}
		case xml.EndElement:
			if t.Name.Local == in {
				in = ""
			}
		}
	})
	dates := make([]bool, len(formats))
	for i, id := range formats {
		dates[i] = isDateFormat(id, codes)
	}
	return dates, err
}

// isDateFormat reports whether number format id shows a date or a time: one of the built-in
// date formats, or a format code with a day, month, year, hour, minute or second in it.
// Durations ([h]:mm) are numbers.
func isDateFormat(id int, codes map[int]string) bool {
	code, ok := codes[id]
	if !ok {
		return 14 <= id && id <= 22 || 27 <= id && id <= 36 || id == 45 || id == 47 || 50 <= id && id <= 58
	}
	for i := 0; i < len(code); i++ {
		switch code[i] {
		case '"': // literal text
			j := strings.IndexByte(code[i+1:], '"')
			if j < 0 {
				return false
			}
			i += j + 1
		case '\\', '_', '*': // the next character is literal, a space or a fill
			i++
		case '[': // a colour, a condition, a locale, or a duration
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				return false
			}
			if inner := code[i+1 : i+j]; inner != "" && strings.Trim(inner, "hHmMsS") == "" {
				return false
			}
			i += j
		case 'd', 'D', 'm', 'M', 'y', 'Y', 'h', 'H', 's', 'S':
			return true
		}
	}
	return false
}

// sharedStrings are the texts cells share by index. They are kept in memory when their part is
// small and in two temporary files when it is larger than lim.MaxPartInMemory, so that a
// million distinct texts cost no memory.
type sharedStrings struct {
	text, ends io.ReaderAt // the texts end to end, and where each ends (uint32, little-endian)
	n          int
	long       map[int]bool // the texts longer than a row may be, kept cut short
	files      []*os.File
}

func (p *pkg) sharedStrings(zf *zip.File) (*sharedStrings, error) {
	s := &sharedStrings{long: map[int]bool{}}
	if zf == nil {
		return s, nil
	}
	if err := s.read(p, zf); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *sharedStrings) read(p *pkg, zf *zip.File) error {
	onDisk := zf.UncompressedSize64 > uint64(p.lim.MaxPartInMemory)
	text, textAt, err := s.store(onDisk)
	if err != nil {
		return err
	}
	ends, endsAt, err := s.store(onDisk)
	if err != nil {
		return err
	}
	r, err := p.open(zf)
	if err != nil {
		return damaged("", err)
	}
	defer r.Close()
	var buf []byte
	var end uint64
	for {
		t, err := r.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return damaged("", fmt.Errorf("%s: %w", zf.Name, err))
		}
		if start, ok := t.(xml.StartElement); !ok || start.Name.Local != "si" {
			continue
		}
		var long bool
		if buf, long, err = r.text(buf[:0], true, int(p.lim.maxRow())); err != nil {
			return damaged("", fmt.Errorf("%s: %w", zf.Name, err))
		}
		if long {
			s.long[s.n] = true
		}
		v := xstring(buf)
		if end += uint64(len(v)); end > math.MaxUint32 {
			return tooLarge("The text of this spreadsheet", math.MaxUint32)
		}
		text.WriteString(v)
		ends.Write(binary.LittleEndian.AppendUint32(nil, uint32(end)))
		s.n++
	}
	if err := errors.Join(text.Flush(), ends.Flush()); err != nil {
		return err
	}
	s.text, s.ends = textAt(), endsAt()
	return nil
}

// store is where the texts or their ends are written while they are read, and how they are
// read back.
func (s *sharedStrings) store(onDisk bool) (*bufio.Writer, func() io.ReaderAt, error) {
	if !onDisk {
		b := new(bytes.Buffer)
		return bufio.NewWriter(b), func() io.ReaderAt { return bytes.NewReader(b.Bytes()) }, nil
	}
	f, err := os.CreateTemp("", "usher-xlsx-*")
	if err != nil {
		return nil, nil, fmt.Errorf("xlsx: shared strings: %w", err)
	}
	s.files = append(s.files, f)
	return bufio.NewWriterSize(f, 64<<10), func() io.ReaderAt { return &pages{file: f} }, nil
}

// pages reads a file through a few pages kept in memory. Cells refer to shared strings mostly
// in the order the strings were first used, so most reads are of a page read just before: 200,000
// rows of three shared strings took 6.3 s to read with two reads of the file for each string,
// 4.0 s through pages, 3.4 s with the strings in memory.
type pages struct {
	file io.ReaderAt
	nums []int64 // the pages kept, the one used last at the end
	data [][]byte
}

const (
	pageSize = 64 << 10
	maxPages = 16
)

func (p *pages) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		at := off + int64(n)
		page, err := p.page(at / pageSize)
		if err != nil {
			return n, err
		}
		if int(at%pageSize) >= len(page) {
			return n, io.EOF
		}
		n += copy(b[n:], page[at%pageSize:])
	}
	return n, nil
}

// page is page num of the file, kept or read in place of the one used least recently.
func (p *pages) page(num int64) ([]byte, error) {
	for i, kept := range p.nums {
		if kept == num {
			data := p.data[i]
			p.nums = append(append(p.nums[:i], p.nums[i+1:]...), num)
			p.data = append(append(p.data[:i], p.data[i+1:]...), data)
			return data, nil
		}
	}
	buf := make([]byte, pageSize)
	if len(p.nums) == maxPages {
		buf = p.data[0][:pageSize]
		p.nums, p.data = p.nums[1:], p.data[1:]
	}
	n, err := p.file.ReadAt(buf, num*pageSize)
	if err != nil && err != io.EOF {
		return nil, err
	}
	p.nums, p.data = append(p.nums, num), append(p.data, buf[:n])
	return buf[:n], nil
}

// get is text i, refused when it is longer than limit bytes.
func (s *sharedStrings) get(i, limit int) (string, error) {
	if i < 0 || i >= s.n {
		return "", errNoString
	}
	var b [8]byte
	var start, end uint32
	if i == 0 {
		if _, err := s.ends.ReadAt(b[4:], 0); err != nil {
			return "", noEOF(err)
		}
	} else if _, err := s.ends.ReadAt(b[:], 4*int64(i-1)); err != nil {
		return "", noEOF(err)
	} else {
		start = binary.LittleEndian.Uint32(b[:4])
	}
	end = binary.LittleEndian.Uint32(b[4:])
	if s.long[i] || int(end-start) > limit {
		return "", errLongString
	}
	if end == start {
		return "", nil // reading 0 bytes at the end answers io.EOF, which would end the sheet
	}
	text := make([]byte, end-start)
	if _, err := s.text.ReadAt(text, int64(start)); err != nil {
		return "", fmt.Errorf("xlsx: shared string %d: %w", i, noEOF(err))
	}
	return string(text), nil
}

func (s *sharedStrings) Close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close(), os.Remove(f.Name()))
	}
	s.files = nil
	return errors.Join(errs...)
}

// noEOF turns an io.EOF from inside a part into io.ErrUnexpectedEOF: only the end of the
// worksheet's rows may end a sheet.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
