package sheet

// Tests of files made to hurt: zip bombs, parts that claim less than they hold, deep nesting,
// arbitrary bytes. Those that measure memory do not run in parallel, so that only they grow the
// heap while they run.

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// maxGrowth is how much the heap may grow while a hostile file is refused.
const maxGrowth = 64 << 20

// peakHeap runs fn and returns how far the heap in use grew above where it was before, sampled
// every two milliseconds, and how many bytes fn allocated in all (a bound the samples cannot
// miss).
func peakHeap(fn func()) (peak, allocated uint64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var top atomic.Uint64
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		if m.HeapInuse > top.Load() {
			top.Store(m.HeapInuse)
		}
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	fn()
	close(stop)
	<-done
	sample()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return top.Load() - min(top.Load(), before.HeapInuse), after.TotalAlloc - before.TotalAlloc
}

// countXLSX opens data and reads it to its end or to an error that ends it, keeping no row.
func countXLSX(data []byte, lim Limits) (rows int, err error) {
	r, err := Open(bytes.NewReader(data), int64(len(data)), XLSX, lim)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	for {
		_, _, err := r.Next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil && !IsRowError(err) {
			return rows, err
		}
		rows++
	}
}

// blocks are data compressed alone, in deflate blocks that end on a byte and are not final: they
// can be joined to others, and repeated, into one stream.
func blocks(data []byte) []byte {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	w.Write(data)
	w.Flush()
	return b.Bytes()
}

// bomb is an XLSX file of parts and part name, which holds chunk repeated n times between head
// and tail, compressed without compressing n chunks, with the size the zip claims for it
// (0: its true size).
func bomb(t testing.TB, parts map[string]string, name, head, chunk, tail string, n int, claimed uint64) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for part, content := range parts {
		if part != name {
			w, _ := zw.Create(part)
			io.WriteString(w, content)
		}
	}
	var crc uint32 // a part that claims less than it holds fails before its checksum is checked
	if claimed == 0 {
		claimed = uint64(len(head)) + uint64(len(chunk))*uint64(n) + uint64(len(tail))
		crc = crc32.ChecksumIEEE([]byte(head))
		for range n {
			crc = crc32.Update(crc, crc32.IEEETable, []byte(chunk))
		}
		crc = crc32.Update(crc, crc32.IEEETable, []byte(tail))
	}
	var final bytes.Buffer
	fw, _ := flate.NewWriter(&final, flate.BestCompression)
	fw.Close()
	body := slices.Concat(blocks([]byte(head)), bytes.Repeat(blocks([]byte(chunk)), n), blocks([]byte(tail)), final.Bytes())
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc, CompressedSize64: uint64(len(body)), UncompressedSize64: claimed})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(body)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestXLSXZipBombs(t *testing.T) {
	const rowXML = `<row><c t="inlineStr"><is><t>bomb@example.com</t></is></c><c><v>12345</v></c></row>`
	chunk := strings.Repeat(rowXML, (1<<20)/len(rowXML)) // about 1 MiB
	lim := Limits{MaxCell: 1 << 10, MaxColumns: 10, MaxUnzipped: 64 << 20, MaxPartInMemory: 1 << 20}
	sheetHead, sheetTail := `<worksheet><sheetData>`, `</sheetData></worksheet>`
	parts := workbookParts("")
	sheet := "xl/worksheets/sheet1.xml"
	sharedText := workbookParts(strings.Repeat(`<row><c t="s"><v>0</v></c></row>`, 200))
	tests := []struct {
		name       string
		data       []byte
		code, says string
	}{
		{"a worksheet of 2 GiB", bomb(t, parts, sheet, sheetHead, chunk, sheetTail, 2048, 0),
			"file.too_large_unzipped", "This spreadsheet unpacks to more than 64 MiB"},
		{"a worksheet of 2 GiB that claims 1 MiB", bomb(t, parts, sheet, sheetHead, chunk, sheetTail, 2048, 1<<20),
			"file.unreadable", "damaged after row"},
		{"a worksheet of 2 GiB that claims 1 byte", bomb(t, parts, sheet, sheetHead, chunk, sheetTail, 2048, 1),
			"file.unreadable", "damaged"},
		{"styles of 32 MiB", bomb(t, parts, "xl/styles.xml", "<styleSheet>", strings.Repeat(" ", 1<<20), "</styleSheet>", 32, 0),
			"file.too_large_unzipped", "(styles.xml) unpacks to more than 1 MiB"},
		{"48 MiB of nested elements", bomb(t, parts, sheet, sheetHead+"<row>", strings.Repeat("<a>", 1<<18), "", 64, 0),
			"file.unreadable", "damaged"},
		{"a long shared text in every row", bomb(t, sharedText, "xl/sharedStrings.xml", "<sst><si><t>", strings.Repeat("s", 1<<10), "</t></si></sst>", 512, 0),
			"file.too_large_unzipped", "The text of this spreadsheet's cells unpacks to more than 64 MiB"},
		{"a cell of 48 MiB", bomb(t, parts, sheet, sheetHead+`<row><c t="inlineStr"><is><t>`, strings.Repeat("x", 1<<20), "</t></is></c></row>"+sheetTail, 48, 0),
			"file.row_too_long", "more than 8192 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			var rows int
			peak, allocated := peakHeap(func() { rows, err = countXLSX(tt.data, lim) })
			t.Logf("%d KiB file: %d rows, heap grew %.1f MiB at most, %.1f MiB allocated in all", len(tt.data)>>10, rows, float64(peak)/(1<<20), float64(allocated)/(1<<20))
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code || !strings.Contains(e.Message, tt.says) {
				t.Errorf("got %v, want %s saying %q", err, tt.code, tt.says)
			}
			if peak > maxGrowth {
				t.Errorf("the heap grew %d MiB, more than %d MiB", peak>>20, maxGrowth>>20)
			}
		})
	}
}

// TestXLSXSharedStringsBomb reads 16 MiB of shared strings (16 times the part kept in memory),
// which go to temporary files.
func TestXLSXSharedStringsBomb(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	lim := Limits{MaxCell: 1 << 10, MaxColumns: 10, MaxUnzipped: 256 << 20, MaxPartInMemory: 1 << 20}
	parts := workbookParts(`<row><c t="s"><v>0</v></c><c t="s"><v>500000</v></c></row>`)
	data := bomb(t, parts, "xl/sharedStrings.xml", "<sst>", strings.Repeat("<si><t>same@example.com</t></si>", (1<<20)/32), "</sst>", 16, 0)
	var got []gotRow
	var err error
	peak, _ := peakHeap(func() { got, err = readXLSX(t, data, lim) })
	t.Logf("16 MiB of shared strings: heap grew %.1f MiB at most", float64(peak)/(1<<20))
	if err != nil || len(got) != 1 || fmt.Sprint(got[0].cells) != "[same@example.com same@example.com]" {
		t.Errorf("got %+v, %v", got, err)
	}
	if peak > maxGrowth {
		t.Errorf("the heap grew %d MiB, more than %d MiB", peak>>20, maxGrowth>>20)
	}
}

// TestXLSXMemoryOfLargeFile reads 20,000 rows written by the writer (bench/README has 1M).
func TestXLSXMemoryOfLargeFile(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads 20,000 rows")
	}
	var b bytes.Buffer
	w, err := NewWriter(&b, XLSX)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]string{"email", "first name", "last name", "phone", "status", "groups"})
	for i := range 20000 {
		w.Write([]string{fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("First%d", i), fmt.Sprintf("Last%d", i), "+44 20 7946 0000", "active", "engineering"})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var rows int
	start := time.Now()
	peak, allocated := peakHeap(func() { rows, err = countXLSX(b.Bytes(), DefaultLimits) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%.1f MiB file, %d rows in %v: heap grew %.1f MiB at most, %.0f MiB allocated in all",
		float64(b.Len())/(1<<20), rows, time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20), float64(allocated)/(1<<20))
	if rows != 20001 {
		t.Errorf("read %d rows, want 20001", rows)
	}
	if peak > maxGrowth {
		t.Errorf("the heap grew %d MiB, more than %d MiB", peak>>20, maxGrowth>>20)
	}
}

// FuzzXLSX opens arbitrary bytes as XLSX and reads all their rows: it must not panic, nor take
// long, nor take more than small limits allow.
func FuzzXLSX(f *testing.F) {
	valid := zipParts(f, fuzzParts(fuzzSheet, fuzzStrings, fuzzStyles))
	var b bytes.Buffer
	w, _ := NewWriter(&b, XLSX)
	w.Write([]string{"email", "=1+1"})
	w.Close()
	f.Add(valid)
	f.Add(storedParts(f, fuzzParts(fuzzSheet, fuzzStrings, fuzzStyles)))
	f.Add(b.Bytes())
	f.Add(valid[:len(valid)*2/3])
	f.Add([]byte("PK\x03\x04garbage"))
	f.Add([]byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"))
	f.Add([]byte("email,name\n"))
	f.Fuzz(func(t *testing.T, data []byte) { readFuzzed(t, data) })
}

// FuzzXLSXParts reads workbooks of arbitrary worksheet, shared strings and styles: the XML that
// FuzzXLSX rarely reaches, its zip's checksums failing first.
func FuzzXLSXParts(f *testing.F) {
	f.Add(fuzzSheet, fuzzStrings, fuzzStyles)
	f.Add(`<row><c r="XFD1"><v>1</v></c><c><v>2</v></c></row><row r="0"><c r="A0" t="d"><v>2024-13-45</v></c></row>`, "<sst><si><t>_xD83D__xDE00_</t></si></sst>", "")
	f.Add(`<row><c t="s"><v>-1</v></c><c><f t="shared" si="0" ref="A:A">$A$1+[1]Sheet1!A1+'x''y'!B2</f></c><c><f t="shared" si="0"/></c></row>`, "", `<cellXfs><xf numFmtId="-1"/></cellXfs>`)
	f.Fuzz(func(t *testing.T, sheet, strings, styles string) {
		readFuzzed(t, storedParts(t, fuzzParts(sheet, strings, styles)))
	})
}

const (
	fuzzSheet = `<row r="1"><c t="s"><v>0</v></c><c s="1"><v>45306</v></c><c><f t="shared" ref="C1:C2" si="0">A1&amp;"x"</f></c></row>
<row r="3"><c t="inlineStr"><is><r><t>a_x0001_</t></r><rPh><t>b</t></rPh></is></c><c><f t="shared" si="0"/></c><c><f t="array" ref="C3:D4">1</f></c></row><row r="4"><c r="D4"><v>1</v></c><c t="b"><v>0</v></c><c s="2"><v>0.5</v></c></row>`
	fuzzStrings = `<sst><si><t xml:space="preserve"> a </t></si><si><r><t>b</t></r></si></sst>`
	fuzzStyles  = `<styleSheet><numFmts><numFmt numFmtId="164" formatCode="[h]:mm;&quot;x&quot;d"/></numFmts><cellXfs><xf/><xf numFmtId="14"/><xf numFmtId="164"/></cellXfs></styleSheet>`
)

// fuzzParts are the parts of a workbook with the given worksheet rows, shared strings and styles.
func fuzzParts(rows, strings, styles string) map[string]string {
	parts := workbookParts(rows)
	parts["xl/sharedStrings.xml"], parts["xl/styles.xml"] = strings, styles
	return parts
}

// storedParts zips parts without compressing them, so that a mutation of the file changes
// their XML.
func storedParts(t testing.TB, parts map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range slices.Sorted(maps.Keys(parts)) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, parts[name])
	}
	zw.Close()
	return b.Bytes()
}

// readFuzzed opens data and reads all its rows with small limits: it must not panic, nor take
// long, and what goes wrong must be an *Error for a person or a *RowError.
func readFuzzed(t *testing.T, data []byte) {
	lim := Limits{MaxCell: 256, MaxColumns: 20, MaxUnzipped: 16 << 20, MaxPartInMemory: 64 << 10}
	{
		r, err := Open(bytes.NewReader(data), int64(len(data)), XLSX, lim)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("Open: %v is not an *Error for a person", err)
			}
			return
		}
		defer r.Close()
		for range 1 << 20 {
			cells, _, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil && !IsRowError(err) {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Next: %v is not an *Error", err)
				}
				return
			}
			if len(cells) > lim.MaxColumns {
				t.Fatalf("a row of %d cells passed", len(cells))
			}
		}
		t.Fatal("more rows than a worksheet holds")
	}
}
