package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/directory"
)

// runsList is the list of every directory's syncs (the jobs list's share of them).
const runsList = "runs"

type runCursor struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

// AllRuns lists the syncs of every directory, newest first: those in one of f's statuses (any
// when none), of the directories whose name contains f.Q.
func (s *Store) AllRuns(ctx context.Context, f directory.RunFilter) ([]directory.Run, string, error) {
	like := ""
	if q := strings.ToLower(strings.TrimSpace(f.Q)); q != "" {
		like = "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(clean(q)) + "%"
	}
	statuses := make([]string, len(f.Statuses))
	for i, st := range f.Statuses {
		statuses[i] = string(st)
	}
	scope := s.scope(runsList, strings.Join(statuses, ","), like)
	q := `SELECT ` + runColumns + ` FROM directory_runs WHERE ($1 = '' OR directory_id IN
		(SELECT id FROM directories WHERE lower(name) LIKE $1 ESCAPE '\'))`
	args := []any{like}
	if len(statuses) > 0 {
		marks := make([]string, len(statuses))
		for i, st := range statuses {
			args = append(args, st)
			marks[i] = fmt.Sprintf("$%d", len(args))
		}
		q += ` AND status IN (` + strings.Join(marks, ", ") + `)`
	}
	if f.Cursor != "" {
		var c runCursor
		if err := scope.open(f.Cursor, &c); err != nil {
			return nil, "", err
		}
		args = append(args, c.At, c.ID)
		q += fmt.Sprintf(` AND (created_at < $%d OR created_at = $%d AND id < $%d)`, len(args)-1, len(args)-1, len(args))
	}
	q += fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d`, f.Limit+1)
	rows, err := s.reader(ctx).QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: syncs: %w", err)
	}
	defer rows.Close()
	var out []directory.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, "", fmt.Errorf("store: syncs: %w", err)
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: syncs: %w", err)
	}
	next := ""
	if len(out) > f.Limit {
		out = out[:f.Limit]
		last := out[len(out)-1]
		next = scope.seal(runCursor{At: last.CreatedAt, ID: last.ID})
	}
	return out, next, nil
}
