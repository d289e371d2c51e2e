package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/usherhq/usher/internal/app"
	"github.com/usherhq/usher/internal/config"
	"github.com/usherhq/usher/internal/imports"
	"github.com/usherhq/usher/internal/sheet"
	"github.com/usherhq/usher/internal/user"
)

func usersCmd(env Env) *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Import users from a file, or export them to one"}
	var format, output, q, status, source, role, group, sort string
	var fields []string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write the users the filters select to a CSV or XLSX file in the import format (audited)",
		Long: "Write the users the filters select, in the import format, to --output (standard output when\n" +
			"it is not given). The format is --format, or the output file's extension. A bar on standard\n" +
			"error shows the progress when it is a terminal.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := sheet.Format(strings.ToLower(format))
			if format == "" {
				f = sheet.CSV
				if output != "" {
					of, err := sheet.FormatOf(output)
					if err != nil {
						return fmt.Errorf("usher writes .csv or .xlsx files: name the output so (-o users.csv), or give --format")
					}
					if of != sheet.TXT {
						f = of
					}
				}
			}
			filter := user.Filter{Q: q, Status: user.Status(status), Source: user.Source(source), RoleID: role, GroupID: group, Sort: sort}
			var err error
			if filter.Custom, err = user.FieldFilters(fields); err != nil {
				return err
			}
			a, err := openApp(cmd, env)
			if err != nil {
				return err
			}
			defer a.Store.Close()
			// The file first: an export is audited when it starts, so it must have somewhere to go.
			out, name, done, err := exportTarget(env, output)
			if err != nil {
				return err
			}
			n, start, err := export(cmd.Context(), a, filter, f, out, env, output == "")
			if derr := done(err == nil); err == nil {
				err = derr
			}
			if err != nil {
				return err
			}
			word := "users"
			if n == 1 {
				word = "user"
			}
			fmt.Fprintf(env.Stderr, "Exported %s %s to %s in %.1f s.\n", thousands(int64(n)), word, name, time.Since(start).Seconds())
			return nil
		},
	}
	config.Flags(export.Flags())
	fl := export.Flags()
	fl.StringVar(&format, "format", "", "csv or xlsx (default: the --output file's extension, else csv)")
	fl.StringVarP(&output, "output", "o", "", "the file to write (default: standard output)")
	fl.StringVar(&q, "q", "", "only users whose name, email, username or phone starts with this")
	fl.StringVar(&status, "status", "", "only users in this status: active, invited, locked or disabled")
	fl.StringVar(&source, "source", "", "only users from this source: local, directory or scim")
	fl.StringVar(&role, "role", "", "only users holding this role (id), directly or through a group")
	fl.StringVar(&group, "group", "", "only members of this group (id)")
	fl.StringArrayVar(&fields, "field", nil, "only users with this custom value, NAME=VALUE (repeat for several)")
	fl.StringVar(&sort, "sort", "", "created_at (default: the order users were made), name, username, email or updated_at; - in front reverses")
	cmd.AddCommand(export, importCmd(env))
	return cmd
}

// export writes the users filter selects to out as a file of format f. The progress bar goes
// to standard error when it is a terminal and the file does not go to standard output.
func export(ctx context.Context, a *app.App, filter user.Filter, f sheet.Format, out io.Writer, env Env, toStdout bool) (int, time.Time, error) {
	start := time.Now()
	actor := user.System("cli")
	x, err := a.Users.ExportUsers(ctx, actor, filter, string(f))
	if err != nil {
		return 0, start, err
	}
	total, _ := x.Total() // -1, unknown, when a filter narrows the export
	sw, err := sheet.NewWriter(out, f)
	if err != nil {
		return 0, start, err
	}
	var bar *progress
	if toStdout {
		bar = &progress{} // draws nothing: the bar's lines would mix into the file on a terminal
	} else {
		bar = newProgress(env.Stderr, total)
	}
	n, err := imports.WriteUsers(ctx, x, &countingWriter{Writer: sw, each: bar.set})
	if cerr := sw.Close(); err == nil {
		err = cerr
	}
	bar.finish()
	return n, start, err
}

// exportTarget is where an export goes: a temporary file beside output, renamed to it when the
// export is whole (done(true)) and removed otherwise, so that a failed export leaves no file
// that looks whole; or standard output.
func exportTarget(env Env, output string) (w io.Writer, name string, done func(ok bool) error, err error) {
	if output == "" {
		return env.Stdout, "standard output", func(bool) error { return nil }, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".*")
	if err != nil {
		return nil, "", nil, fmt.Errorf("cannot write beside %s: %w", output, err)
	}
	return tmp, output, func(ok bool) error {
		err := tmp.Close()
		if ok && err == nil {
			err = os.Rename(tmp.Name(), output)
		}
		if !ok || err != nil {
			os.Remove(tmp.Name())
		}
		return err
	}, nil
}

// countingWriter tells each after every row it writes, header excluded, how many it wrote.
type countingWriter struct {
	sheet.Writer
	each func(n int64)
	rows int64
}

func (c *countingWriter) Write(cells []string) error {
	if err := c.Writer.Write(cells); err != nil {
		return err
	}
	if c.rows++; c.rows > 1 {
		c.each(c.rows - 1)
	}
	return nil
}

// progress draws a bar of a long piece of work on a terminal, at most ten times a second: how
// many of how many, and the share done; without a total, how many so far. Anywhere else (a
// file, a pipe) it draws nothing.
type progress struct {
	w     io.Writer
	unit  string // what is counted: users, unless set
	total int64
	n     int64
	last  time.Time
	shown bool
}

func newProgress(w io.Writer, total int64) *progress {
	p := &progress{total: total}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.w = w
		}
	}
	return p
}

func (p *progress) set(n int64) {
	p.n = n
	if p.w == nil || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progress) draw() {
	p.shown = true
	unit := p.unit
	if unit == "" {
		unit = "users"
	}
	if p.total <= 0 {
		fmt.Fprintf(p.w, "\r%s %s", thousands(p.n), unit)
		return
	}
	const width = 30
	share := min(float64(p.n)/float64(p.total), 1)
	full := int(share * width)
	fmt.Fprintf(p.w, "\r[%s%s] %s of %s %s (%d%%)", strings.Repeat("#", full), strings.Repeat(" ", width-full),
		thousands(p.n), thousands(p.total), unit, int(share*100))
}

// finish draws the last state and ends the bar's line.
func (p *progress) finish() {
	if p.w == nil {
		return
	}
	p.draw()
	fmt.Fprintln(p.w)
}

// thousands writes n with commas between groups of three digits: 1,000,001.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
