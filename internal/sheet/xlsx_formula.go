package sheet

import (
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// formulas remembers the formulas other cells share: the text of each shared formula's first
// cell, by its index (si), and the ranges array formulas fill, so that every cell of them reads
// as its formula. What is remembered is bounded: a given number of bytes of shared formulas,
// and maxArrays ranges that cover the current row.
type formulas struct {
	shared map[string]origin
	arrays []origin
	size   int64
}

// origin is a formula and the cell it is written in, with the last cell of its range.
type origin struct {
	text                       string
	col, row, lastCol, lastRow int
}

// text is the formula of cell c in row line, if it has one.
func (fs *formulas) text(c *cell, line int, budget int64) (string, bool) {
	if !c.hasF {
		return fs.inArray(c.col, line)
	}
	text := xstring(c.f)
	switch {
	case c.fType == "shared" && text == "":
		if o, ok := fs.shared[c.fSI]; ok {
			return shiftFormula(o.text, c.col-o.col, line-o.row), true
		}
	case c.fType == "shared":
		if fs.shared == nil {
			fs.shared = map[string]origin{}
		}
		if cost := int64(len(text) + len(c.fSI) + 64); fs.size+cost <= budget {
			fs.size += cost
			fs.shared[c.fSI] = origin{text: text, col: c.col, row: line}
		}
	case c.fType == "array" && len(fs.arrays) < maxArrays:
		if lastCol, lastRow, ok := rangeEnd(c.fRange); ok {
			fs.arrays = append(fs.arrays, origin{text: text, col: c.col, row: line, lastCol: lastCol, lastRow: lastRow})
		}
	}
	return text, true
}

// inArray is the formula of the array formula that fills the cell at col, line, if one does.
func (fs *formulas) inArray(col, line int) (string, bool) {
	kept := fs.arrays[:0]
	for _, a := range fs.arrays {
		if a.lastRow >= line {
			kept = append(kept, a)
		}
	}
	fs.arrays = kept
	for _, a := range fs.arrays {
		if a.col <= col && col <= a.lastCol && a.row <= line {
			return a.text, true
		}
	}
	return "", false
}

// rangeEnd is the column and row of the last cell of a range ("B2:C9" or "B2").
func rangeEnd(ref string) (int, int, bool) {
	ref = strings.ReplaceAll(ref[strings.LastIndexByte(ref, ':')+1:], "$", "")
	col := column(ref)
	row, err := strconv.Atoi(strings.TrimLeft(ref, "$ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
	return col, row, col > 0 && err == nil
}

// shiftFormula moves the relative cell references of a shared formula by dCol columns and dRow
// rows, as a spreadsheet does for each cell that shares it ("A2*2" in the next row is "A3*2").
// Text in quotes ("…" strings, '…' sheet names) and in brackets (table columns) stays as it is.
func shiftFormula(f string, dCol, dRow int) string {
	var b strings.Builder
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case c == '"' || c == '\'' || c == '[':
			j := quoteEnd(f, i)
			b.WriteString(f[i:j])
			i = j
		case isNameByte(c) && (i == 0 || !isNameByte(f[i-1])):
			j := i
			for j < len(f) && isNameByte(f[j]) {
				j++
			}
			if j < len(f) && f[j] == '(' { // a function, LOG10(
				b.WriteString(f[i:j])
			} else {
				b.WriteString(shiftRef(f[i:j], dCol, dRow))
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// quoteEnd is where the quoted text or bracketed name that starts at i ends.
func quoteEnd(f string, i int) int {
	switch f[i] {
	case '[':
		depth := 0
		for j := i; j < len(f); j++ {
			if f[j] == '[' {
				depth++
			} else if f[j] == ']' {
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(f)
	}
	for j := i + 1; j < len(f); j++ {
		if f[j] == f[i] {
			if j+1 < len(f) && f[j+1] == f[i] { // a doubled quote is one
				j++
				continue
			}
			return j + 1
		}
	}
	return len(f)
}

func isNameByte(c byte) bool {
	return c == '$' || c == '_' || c == '.' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c >= 0x80
}

// shiftRef moves a cell reference ("B2", "$B2", "B$2") by dCol and dRow, but not its absolute
// ($) parts; a name that is not a cell reference stays as it is.
func shiftRef(name string, dCol, dRow int) string {
	i := 0
	absCol := strings.HasPrefix(name, "$")
	if absCol {
		i++
	}
	j := i
	for j < len(name) && j-i < 3 && ('A' <= name[j] && name[j] <= 'Z' || 'a' <= name[j] && name[j] <= 'z') {
		j++
	}
	letters := name[i:j]
	absRow := j < len(name) && name[j] == '$'
	if absRow {
		j++
	}
	row, err := strconv.Atoi(name[j:])
	col := column(letters + "1")
	if letters == "" || col == 0 || err != nil || row < 1 || row > maxSheetRows {
		return name
	}
	if !absCol {
		col += dCol
	}
	if !absRow {
		row += dRow
	}
	if col < 1 || col > maxSheetColumns || row < 1 || row > maxSheetRows {
		return "#REF!"
	}
	ref, _ := excelize.CoordinatesToCellName(col, row)
	letters = strings.TrimRight(ref, "0123456789")
	if absCol {
		letters = "$" + letters
	}
	if absRow {
		letters += "$"
	}
	return letters + strconv.Itoa(row)
}

// column is the column number of a cell reference ("C7" is 3), or 0 when ref is not one.
func column(ref string) int {
	n := 0
	for i := 0; i < len(ref); i++ {
		c := ref[i]
		switch {
		case 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z':
			if n = n*26 + int(c|0x20-'a') + 1; n > maxSheetColumns {
				return 0
			}
		case '0' <= c && c <= '9' && i > 0:
			return n
		default:
			return 0
		}
	}
	return 0
}
