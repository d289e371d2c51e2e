package web

import (
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/user"
)

// funcs are the helpers the templates use.
func funcs(c *Console) template.FuncMap {
	return template.FuncMap{
		"static":    func(name string) string { return "/static/" + name + "?v=" + c.version },
		"thousands": func(n int64) string { return thousands(n) },
		"count":     func(n int, noun string) string { return count(n, noun) },
		"date":      date,
		"ago":       ago,
		"statusLabel": func(s user.Status) string {
			return map[user.Status]string{user.Active: "Active", user.Invited: "Invited", user.Locked: "Locked", user.Disabled: "Disabled"}[s]
		},
		"sourceLabel": func(s user.Source) string {
			return map[user.Source]string{user.Local: "Local", user.Directory: "Directory", user.SCIM: "SCIM"}[s]
		},
		"bulkActions": func() any { return bulkActions },
		"inc":         func(i int) int { return i + 1 },
		"minPassword": func() int { return c.deps.PasswordMinLength },
		"sub":         func(a, b int) int { return a - b },
		"minus":       func(a, b int64) int64 { return a - b },
		"trimStar":    func(s string) string { return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "*")) },
		"list":        func(s ...string) []string { return s },
		"status":      func(s string) user.Status { return user.Status(s) },
		"source":      func(s string) user.Source { return user.Source(s) },
	}
}

// thousands writes n with a comma between each group of three digits: 1,000,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// date is a moment in UTC, to the minute.
func date(t any) string {
	switch v := t.(type) {
	case time.Time:
		return v.UTC().Format("2006-01-02 15:04 UTC")
	case *time.Time:
		if v == nil {
			return ""
		}
		return v.UTC().Format("2006-01-02 15:04 UTC")
	}
	return ""
}

// ago says how long ago a moment was, in the largest whole unit; "Never" for none.
func ago(t *time.Time) string {
	if t == nil {
		return "Never"
	}
	d := time.Since(*t)
	switch {
	case d < time.Minute:
		return "Just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 60*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	return t.UTC().Format("2 Jan 2006")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
