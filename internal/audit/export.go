package audit

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Format is a file format the log is exported in.
type Format string

// The export formats.
const (
	CSV  Format = "csv"
	JSON Format = "json"
)

// Valid reports whether f is an export format.
func (f Format) Valid() bool { return f == CSV || f == JSON }

// ContentType is the media type of an export in f.
func (f Format) ContentType() string {
	if f == CSV {
		return "text/csv; charset=utf-8"
	}
	return "application/json"
}

// FileName is an export's file name, dated with the day it was made (UTC).
func (f Format) FileName(at time.Time) string {
	return "usher-audit-" + at.UTC().Format("2006-01-02") + "." + string(f)
}

// Columns are the CSV export's header row; the JSON export's keys have the same names.
var Columns = []string{"id", "time", "actor_id", "actor_name", "action", "target_type", "target_id", "target_name",
	"outcome", "details", "request_id", "client_ip"}

// record is an event as the JSON export writes it: the API's names, details as an object.
type record struct {
	ID         int64          `json:"id"`
	Time       time.Time      `json:"time"`
	ActorID    string         `json:"actor_id"`
	ActorName  string         `json:"actor_name"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type"`
	TargetID   string         `json:"target_id"`
	TargetName string         `json:"target_name"`
	Outcome    string         `json:"outcome"`
	Details    map[string]any `json:"details,omitempty"`
	RequestID  string         `json:"request_id"`
	ClientIP   string         `json:"client_ip"`
}

// Encoder writes events to an export as they come, so that an export of any size holds one
// page of the log in memory at a time. Close ends the file.
type Encoder struct {
	format Format
	buf    *bufio.Writer
	csv    *csv.Writer
	n      int
}

// NewEncoder starts an export in format f on w.
func NewEncoder(w io.Writer, f Format) (*Encoder, error) {
	if !f.Valid() {
		return nil, fmt.Errorf("audit: no export format %q", f)
	}
	e := &Encoder{format: f, buf: bufio.NewWriterSize(w, 32<<10)}
	if f == CSV {
		e.csv = csv.NewWriter(e.buf)
		return e, e.csv.Write(Columns)
	}
	_, err := e.buf.WriteString("[")
	return e, err
}

// Encode writes one event.
func (e *Encoder) Encode(ev Event) error {
	e.n++
	if e.format == CSV {
		details := ""
		if len(ev.Details) > 0 {
			b, err := json.Marshal(ev.Details)
			if err != nil {
				return fmt.Errorf("audit: details of event %d: %w", ev.ID, err)
			}
			details = string(b)
		}
		row := []string{strconv.FormatInt(ev.ID, 10), ev.Time.UTC().Format(time.RFC3339Nano), ev.ActorID, ev.ActorName,
			ev.Action, ev.TargetType, ev.TargetID, ev.TargetName, ev.Outcome, details, ev.RequestID, ev.ClientIP}
		for i := range row {
			row[i] = Cell(row[i])
		}
		return e.csv.Write(row)
	}
	b, err := json.Marshal(record{ID: ev.ID, Time: ev.Time.UTC(), ActorID: ev.ActorID, ActorName: ev.ActorName, Action: ev.Action,
		TargetType: ev.TargetType, TargetID: ev.TargetID, TargetName: ev.TargetName, Outcome: ev.Outcome,
		Details: ev.Details, RequestID: ev.RequestID, ClientIP: ev.ClientIP})
	if err != nil {
		return fmt.Errorf("audit: event %d: %w", ev.ID, err)
	}
	sep := ",\n"
	if e.n == 1 {
		sep = "\n"
	}
	e.buf.WriteString(sep)
	_, err = e.buf.Write(b)
	return err
}

// Flush sends what is buffered on to the writer (after each page, so that a long export
// arrives as it is read).
func (e *Encoder) Flush() error {
	if e.csv != nil {
		e.csv.Flush()
		if err := e.csv.Error(); err != nil {
			return err
		}
	}
	return e.buf.Flush()
}

// Close ends the export: the JSON array's closing bracket, then everything flushed.
func (e *Encoder) Close() error {
	if e.format == JSON {
		if e.n > 0 {
			e.buf.WriteString("\n")
		}
		e.buf.WriteString("]\n")
	}
	return e.Flush()
}

// Count is how many events were encoded.
func (e *Encoder) Count() int { return e.n }

// Cell neutralises a CSV cell that a spreadsheet would run as a formula: one starting with
// = + - @, a tab or a carriage return gets a leading apostrophe, which spreadsheets show as
// text and do not run.
func Cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
