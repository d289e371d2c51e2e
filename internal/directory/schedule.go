package directory

import (
	"fmt"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/errs"
)

// Frequency is how often a scheduled sync runs.
type Frequency string

// The frequencies of seed 000's step 4.
const (
	Daily       Frequency = "daily"
	Weekly      Frequency = "weekly"  // on one weekday
	Monthly     Frequency = "monthly" // on one day of the month
	EveryNDays  Frequency = "every_n_days"
	EveryNWeeks Frequency = "every_n_weeks" // on the start date's weekday
)

func (f Frequency) valid() bool {
	return f == Daily || f == Weekly || f == Monthly || f == EveryNDays || f == EveryNWeeks
}

// Schedule is when a directory syncs on its own. Times are wall-clock times in TimeZone, so a
// daily sync at 02:00 stays at 02:00 across daylight saving changes.
type Schedule struct {
	Enabled   bool      `json:"enabled"`
	Frequency Frequency `json:"frequency,omitempty"`
	// Weekday is the day of a weekly sync: monday … sunday.
	Weekday string `json:"weekday,omitempty"`
	// DayOfMonth is the day of a monthly sync, 1–31; in a month with fewer days the sync runs
	// on its last day (the 31st is the 30th in April and the 28th or 29th in February).
	DayOfMonth int `json:"day_of_month,omitempty"`
	// Every is N of every N days or weeks.
	Every int `json:"every,omitempty"`
	// StartDate (YYYY-MM-DD) and StartTime (HH:MM, 12:00 when not given) are the first moment
	// the schedule may run, in TimeZone (an IANA name such as Europe/Paris; UTC when not given).
	StartDate string `json:"start_date,omitempty"`
	StartTime string `json:"start_time,omitempty"`
	TimeZone  string `json:"time_zone,omitempty"`
	// SetBy is the id of the administrator who last saved the schedule.
	SetBy string `json:"set_by,omitempty"`
	// SavedBy is that administrator with the permissions they saved it with (an API token's
	// scopes, when through one): a scheduled sync acts with those, cut to what the person
	// still holds when it runs. Schedules saved before it was recorded have only SetBy.
	SavedBy *Configurer `json:"saved_by,omitempty"`
}

// DefaultStartTime is the time of day of a schedule that names none.
const DefaultStartTime = "12:00"

// Weekdays are the names a weekly schedule takes, Monday first.
var Weekdays = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

func weekdayOf(name string) (time.Weekday, bool) {
	for i, w := range Weekdays {
		if w == name {
			return time.Weekday((i + 1) % 7), true
		}
	}
	return 0, false
}

// normalize fills the defaults and case of a schedule as typed.
func (sc *Schedule) normalize() {
	sc.Weekday = strings.ToLower(strings.TrimSpace(sc.Weekday))
	sc.StartDate = strings.TrimSpace(sc.StartDate)
	sc.StartTime = strings.TrimSpace(sc.StartTime)
	sc.TimeZone = strings.TrimSpace(sc.TimeZone)
	if sc.StartTime == "" && sc.StartDate != "" {
		sc.StartTime = DefaultStartTime
	}
	if sc.TimeZone == "" && (sc.Enabled || sc.Frequency != "" || sc.StartDate != "") {
		sc.TimeZone = "UTC" // as documented: a schedule that names no zone is in UTC
	}
	switch sc.Frequency {
	case Daily, Weekly, Monthly:
		sc.Every = 0
	}
	if sc.Frequency != Weekly {
		sc.Weekday = ""
	}
	if sc.Frequency != Monthly {
		sc.DayOfMonth = 0
	}
}

// Start is the schedule's first moment, in its time zone.
func (sc Schedule) Start() (time.Time, error) {
	loc, err := time.LoadLocation(sc.TimeZone)
	if err != nil {
		return time.Time{}, err
	}
	v, err := time.Parse("2006-01-02 15:04", sc.StartDate+" "+sc.StartTime)
	if err != nil {
		return time.Time{}, err
	}
	return wallClock(v.Year(), v.Month(), v.Day(), v.Hour(), v.Minute(), loc), nil
}

// wallClock is the instant a clock in loc shows h:m on a date. time.Date leaves the answer
// open where daylight saving skips or repeats that time (and Go's choice depends on the
// zone's side of UTC), so it is settled here: a time the clocks skip moves forward by the
// gap (02:30 on the night they go forward is 03:30), and a time that happens twice is the
// first of the two.
func wallClock(y int, mo time.Month, d, h, m int, loc *time.Location) time.Time {
	naive := time.Date(y, mo, d, h, m, 0, 0, time.UTC) // the wall clock, read as if in UTC
	shows := func(t time.Time) bool {
		l := t.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), 0, 0, time.UTC).Equal(naive)
	}
	// The zone's offsets a day either side: a change of offset is never closer than that to
	// another.
	_, before := naive.Add(-26 * time.Hour).In(loc).Zone()
	_, after := naive.Add(26 * time.Hour).In(loc).Zone()
	early, late := naive.Add(-time.Duration(before)*time.Second), naive.Add(-time.Duration(after)*time.Second)
	if late.Before(early) {
		early, late = late, early
	}
	switch {
	case shows(early):
		return early.In(loc) // the only one, or the first of two
	case shows(late):
		return late.In(loc)
	case before != after:
		// Skipped: read with the offset from before the change, the time lands past the gap
		// by as much as it fell into it.
		return naive.Add(-time.Duration(before) * time.Second).In(loc)
	}
	return time.Date(y, mo, d, h, m, 0, 0, loc)
}

// validate checks a schedule; now is the time it is saved at, and fresh says whether its start
// changed (a start in the past is refused only then: a schedule saved last month has a start
// in the past by now).
func (sc *Schedule) validate(now time.Time, fresh bool) []errs.FieldError {
	var bad []errs.FieldError
	add := func(field, code, msg string) {
		bad = append(bad, errs.FieldError{Field: "schedule." + field, Code: code, Message: msg})
	}
	if !sc.Enabled && sc.Frequency == "" && sc.StartDate == "" {
		return nil // no schedule
	}
	if !sc.Frequency.valid() {
		add("frequency", "directory.frequency_invalid", `The frequency is "daily", "weekly", "monthly", "every_n_days" or "every_n_weeks".`)
	}
	if sc.Frequency == Weekly {
		if _, ok := weekdayOf(sc.Weekday); !ok {
			add("weekday", "directory.weekday_invalid", "Choose the day of a weekly sync: monday, tuesday, wednesday, thursday, friday, saturday or sunday.")
		}
	}
	if sc.Frequency == Monthly && (sc.DayOfMonth < 1 || sc.DayOfMonth > 31) {
		add("day_of_month", "directory.day_of_month_invalid", "The day of a monthly sync is from 1 to 31; in a shorter month it runs on the month's last day.")
	}
	if (sc.Frequency == EveryNDays || sc.Frequency == EveryNWeeks) && (sc.Every < 1 || sc.Every > 366) {
		add("every", "directory.every_invalid", "Every how many days or weeks: a whole number from 1 to 366.")
	}
	var loc *time.Location
	switch l, err := time.LoadLocation(sc.TimeZone); {
	case err != nil || strings.EqualFold(sc.TimeZone, "local"):
		add("time_zone", "directory.time_zone_invalid", fmt.Sprintf("%q is not a time zone usher knows: give an IANA name such as Europe/Paris, America/New_York or UTC.", sc.TimeZone))
	default:
		loc = l
	}
	date, err := time.Parse("2006-01-02", sc.StartDate)
	if err != nil {
		add("start_date", "directory.start_date_invalid", "Give the start date as YYYY-MM-DD, such as 2027-01-15.")
	}
	clock, cerr := time.Parse("15:04", sc.StartTime)
	if cerr != nil {
		add("start_time", "directory.start_time_invalid", "Give the start time as HH:MM on a 24-hour clock, such as 02:30 (12:00 when left empty).")
	}
	if err == nil && cerr == nil && loc != nil && fresh {
		start := wallClock(date.Year(), date.Month(), date.Day(), clock.Hour(), clock.Minute(), loc)
		if !start.After(now) {
			add("start_date", "directory.start_in_past", fmt.Sprintf("The first sync (%s %s) must be in the future: it is now %s in %s.",
				sc.StartDate, sc.StartTime, now.In(loc).Format("2006-01-02 15:04"), sc.TimeZone))
		}
	}
	return bad
}

// Next is the first time the schedule runs after t, or the zero time when it is off. It works
// on the calendar of the schedule's time zone: each occurrence is the start time on a date, so
// a sync keeps its wall-clock time across daylight saving changes. A start time that a change
// skips (02:30 on the night clocks go forward) runs as soon as the day reaches it (03:30); one
// that happens twice (clocks go back) runs the first time.
func (sc Schedule) Next(t time.Time) time.Time {
	if !sc.Enabled {
		return time.Time{}
	}
	start, err := sc.Start()
	if err != nil {
		return time.Time{}
	}
	loc := start.Location()
	h, m := start.Hour(), start.Minute()
	if s, err := time.Parse("15:04", sc.StartTime); err == nil {
		h, m = s.Hour(), s.Minute() // as written, even where the start itself fell in a gap
	}
	// Dates are counted in UTC, where every day has 24 hours; each is then read in loc.
	sy, sm, sd := start.Date()
	startDay := time.Date(sy, sm, sd, 0, 0, 0, 0, time.UTC)
	at := func(day time.Time) time.Time {
		return wallClock(day.Year(), day.Month(), day.Day(), h, m, loc)
	}
	ly, lm, ld := t.In(loc).Date()
	today := time.Date(ly, lm, ld, 0, 0, 0, 0, time.UTC)
	from := startDay
	if today.After(from) {
		from = today.AddDate(0, 0, -1) // a day back: the occurrence of the day before may be later than t in UTC
	}
	var step func(day time.Time) time.Time // the next date of the schedule after one of its dates
	var first time.Time                    // the schedule's first date on or after from
	switch sc.Frequency {
	case Daily, EveryNDays:
		n := 1
		if sc.Frequency == EveryNDays {
			n = max(sc.Every, 1)
		}
		k := int(from.Sub(startDay).Hours()/24+float64(n)-1) / n
		first = startDay.AddDate(0, 0, k*n)
		step = func(d time.Time) time.Time { return d.AddDate(0, 0, n) }
	case Weekly, EveryNWeeks:
		n, wd := 1, start.Weekday()
		if sc.Frequency == EveryNWeeks {
			n = max(sc.Every, 1)
		} else if w, ok := weekdayOf(sc.Weekday); ok {
			wd = w
		}
		origin := startDay.AddDate(0, 0, (int(wd)-int(startDay.Weekday())+7)%7) // the first such weekday
		k := 0
		if from.After(origin) {
			k = int(from.Sub(origin).Hours()/24+float64(7*n)-1) / (7 * n)
		}
		first = origin.AddDate(0, 0, 7*n*k)
		step = func(d time.Time) time.Time { return d.AddDate(0, 0, 7*n) }
	case Monthly:
		dom := sc.DayOfMonth
		inMonth := func(y int, m time.Month) time.Time {
			last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
			return time.Date(y, m, min(dom, last), 0, 0, 0, 0, time.UTC)
		}
		first = inMonth(from.Year(), from.Month())
		if first.Before(from) {
			first = inMonth(from.Year(), from.Month()+1)
		}
		step = func(d time.Time) time.Time { return inMonth(d.Year(), d.Month()+1) }
	default:
		return time.Time{}
	}
	for d, i := first, 0; i < 400; d, i = step(d), i+1 {
		if d.Before(startDay) {
			continue
		}
		if occ := at(d); occ.After(t) && !occ.Before(start) {
			return occ.UTC()
		}
	}
	return time.Time{}
}
