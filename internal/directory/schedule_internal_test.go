package directory

import (
	"testing"
	"time"
)

func mustTime(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestScheduleNext: the next run of each frequency, in the schedule's time zone, across
// daylight saving changes and short months.
func TestScheduleNext(t *testing.T) {
	t.Parallel()
	paris := func(s string) time.Time { return mustTime(t, "Europe/Paris", s) }
	ny := func(s string) time.Time { return mustTime(t, "America/New_York", s) }
	cases := []struct {
		name  string
		sc    Schedule
		after time.Time
		want  []time.Time // the next runs, one after the other
	}{
		{"daily before the start is the start",
			Schedule{Frequency: Daily, StartDate: "2027-01-10", StartTime: "02:00", TimeZone: "Europe/Paris"},
			paris("2027-01-01 00:00"), []time.Time{paris("2027-01-10 02:00"), paris("2027-01-11 02:00")}},
		{"daily keeps 02:00 local over spring forward",
			Schedule{Frequency: Daily, StartDate: "2027-03-26", StartTime: "02:00", TimeZone: "Europe/Paris"},
			paris("2027-03-26 12:00"), []time.Time{paris("2027-03-27 02:00"), paris("2027-03-28 03:00"), paris("2027-03-29 02:00")}},
		{"daily keeps 09:00 local over fall back",
			Schedule{Frequency: Daily, StartDate: "2027-10-30", StartTime: "09:00", TimeZone: "Europe/Paris"},
			paris("2027-10-30 09:00"), []time.Time{paris("2027-10-31 09:00"), paris("2027-11-01 09:00")}},
		{"New York: a time that happens twice runs once, the first time",
			Schedule{Frequency: Daily, StartDate: "2027-11-06", StartTime: "01:30", TimeZone: "America/New_York"},
			ny("2027-11-06 12:00"), []time.Time{time.Date(2027, 11, 7, 5, 30, 0, 0, time.UTC), ny("2027-11-08 01:30")}},
		{"weekly on monday from a wednesday start",
			Schedule{Frequency: Weekly, Weekday: "monday", StartDate: "2027-01-06", StartTime: "12:00", TimeZone: "UTC"},
			mustTime(t, "UTC", "2027-01-01 00:00"), []time.Time{mustTime(t, "UTC", "2027-01-11 12:00"), mustTime(t, "UTC", "2027-01-18 12:00")}},
		{"weekly on the start's own weekday starts that day",
			Schedule{Frequency: Weekly, Weekday: "wednesday", StartDate: "2027-01-06", StartTime: "12:00", TimeZone: "UTC"},
			mustTime(t, "UTC", "2027-01-01 00:00"), []time.Time{mustTime(t, "UTC", "2027-01-06 12:00"), mustTime(t, "UTC", "2027-01-13 12:00")}},
		{"monthly on the 31st runs on the last day of short months",
			Schedule{Frequency: Monthly, DayOfMonth: 31, StartDate: "2027-01-01", StartTime: "23:00", TimeZone: "Europe/Paris"},
			paris("2027-01-31 23:00"), []time.Time{paris("2027-02-28 23:00"), paris("2027-03-31 23:00"), paris("2027-04-30 23:00")}},
		{"monthly on the 29th in a leap year's February",
			Schedule{Frequency: Monthly, DayOfMonth: 29, StartDate: "2028-01-30", StartTime: "06:00", TimeZone: "UTC"},
			mustTime(t, "UTC", "2028-01-30 06:00"), []time.Time{mustTime(t, "UTC", "2028-02-29 06:00"), mustTime(t, "UTC", "2028-03-29 06:00")}},
		{"monthly after the day in the start month waits for the next month",
			Schedule{Frequency: Monthly, DayOfMonth: 10, StartDate: "2027-01-15", StartTime: "12:00", TimeZone: "UTC"},
			mustTime(t, "UTC", "2027-01-01 00:00"), []time.Time{mustTime(t, "UTC", "2027-02-10 12:00"), mustTime(t, "UTC", "2027-03-10 12:00")}},
		{"monthly across the year's end",
			Schedule{Frequency: Monthly, DayOfMonth: 31, StartDate: "2027-12-01", StartTime: "12:00", TimeZone: "UTC"},
			mustTime(t, "UTC", "2027-12-31 12:00"), []time.Time{mustTime(t, "UTC", "2028-01-31 12:00"), mustTime(t, "UTC", "2028-02-29 12:00")}},
		{"every 3 days counts from the start date",
			Schedule{Frequency: EveryNDays, Every: 3, StartDate: "2027-01-01", StartTime: "08:15", TimeZone: "UTC"},
			mustTime(t, "UTC", "2027-01-05 00:00"), []time.Time{mustTime(t, "UTC", "2027-01-07 08:15"), mustTime(t, "UTC", "2027-01-10 08:15")}},
		{"every 2 weeks on the start's weekday, over a DST change",
			Schedule{Frequency: EveryNWeeks, Every: 2, StartDate: "2027-03-15", StartTime: "02:30", TimeZone: "Europe/Paris"},
			paris("2027-03-16 00:00"), []time.Time{paris("2027-03-29 02:30"), paris("2027-04-12 02:30")}},
		{"Paris: a start time the clocks skip moves forward by the gap",
			Schedule{Frequency: Daily, StartDate: "2027-03-27", StartTime: "02:30", TimeZone: "Europe/Paris"},
			paris("2027-03-27 12:00"), []time.Time{time.Date(2027, 3, 28, 1, 30, 0, 0, time.UTC), paris("2027-03-29 02:30")}},
		{"New York: a time the clocks skip moves forward by the gap",
			Schedule{Frequency: Daily, StartDate: "2027-03-13", StartTime: "02:30", TimeZone: "America/New_York"},
			ny("2027-03-13 12:00"), []time.Time{time.Date(2027, 3, 14, 7, 30, 0, 0, time.UTC), ny("2027-03-15 02:30")}},
		{"Paris: a time that happens twice runs the first time",
			Schedule{Frequency: Daily, StartDate: "2027-10-30", StartTime: "02:30", TimeZone: "Europe/Paris"},
			paris("2027-10-30 12:00"), []time.Time{time.Date(2027, 10, 31, 0, 30, 0, 0, time.UTC), paris("2027-11-01 02:30")}},
		{"Sydney: a time that happens twice runs the first time",
			Schedule{Frequency: Daily, StartDate: "2027-04-03", StartTime: "02:30", TimeZone: "Australia/Sydney"},
			time.Date(2027, 4, 3, 0, 0, 0, 0, time.UTC), []time.Time{time.Date(2027, 4, 3, 15, 30, 0, 0, time.UTC), time.Date(2027, 4, 4, 16, 30, 0, 0, time.UTC)}},
		{"a start that falls in a repeated hour is its first occurrence",
			Schedule{Frequency: Daily, StartDate: "2027-10-31", StartTime: "02:30", TimeZone: "Europe/Paris"},
			paris("2027-10-30 12:00"), []time.Time{time.Date(2027, 10, 31, 0, 30, 0, 0, time.UTC), paris("2027-11-01 02:30")}},
		{"a time zone east of UTC: the local day decides",
			Schedule{Frequency: Daily, StartDate: "2027-01-01", StartTime: "00:30", TimeZone: "Asia/Tokyo"},
			time.Date(2027, 1, 4, 15, 0, 0, 0, time.UTC), []time.Time{time.Date(2027, 1, 4, 15, 30, 0, 0, time.UTC), time.Date(2027, 1, 5, 15, 30, 0, 0, time.UTC)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.sc.Enabled = true
			at := c.after
			for i, want := range c.want {
				got := c.sc.Next(at)
				if !got.Equal(want) {
					t.Fatalf("run %d after %s: got %s, want %s", i+1, at.UTC(), got.UTC(), want.UTC())
				}
				at = got
			}
		})
	}
	if got := (Schedule{Frequency: Daily, StartDate: "2027-01-01", StartTime: "12:00", TimeZone: "UTC"}).Next(time.Now()); !got.IsZero() {
		t.Errorf("a disabled schedule runs at %s", got)
	}
}

// TestScheduleValidate: each mistake is named on its field.
func TestScheduleValidate(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)
	ok := Schedule{Enabled: true, Frequency: Daily, StartDate: "2027-01-02", TimeZone: "Europe/Paris"}
	cases := []struct {
		name   string
		change func(*Schedule)
		fresh  bool
		field  string
		code   string
	}{
		{"valid, 12:00 by default", func(*Schedule) {}, true, "", ""},
		{"start in the past", func(s *Schedule) { s.StartDate = "2026-12-31" }, true, "schedule.start_date", "directory.start_in_past"},
		{"start earlier today in its zone", func(s *Schedule) { s.StartDate, s.StartTime = "2027-01-01", "12:30" }, true, "schedule.start_date", "directory.start_in_past"},
		{"an old start kept as it was", func(s *Schedule) { s.StartDate = "2026-06-01" }, false, "", ""},
		{"unknown time zone", func(s *Schedule) { s.TimeZone = "Mars/Olympus" }, true, "schedule.time_zone", "directory.time_zone_invalid"},
		{"Local is not a zone", func(s *Schedule) { s.TimeZone = "Local" }, true, "schedule.time_zone", "directory.time_zone_invalid"},
		{"day of month 32", func(s *Schedule) { s.Frequency, s.DayOfMonth = Monthly, 32 }, true, "schedule.day_of_month", "directory.day_of_month_invalid"},
		{"day of month 0", func(s *Schedule) { s.Frequency = Monthly }, true, "schedule.day_of_month", "directory.day_of_month_invalid"},
		{"weekday misspelt", func(s *Schedule) { s.Frequency, s.Weekday = Weekly, "mon" }, true, "schedule.weekday", "directory.weekday_invalid"},
		{"weekday in capitals", func(s *Schedule) { s.Frequency, s.Weekday = Weekly, "Friday" }, true, "", ""},
		{"every 0 days", func(s *Schedule) { s.Frequency, s.Every = EveryNDays, 0 }, true, "schedule.every", "directory.every_invalid"},
		{"unknown frequency", func(s *Schedule) { s.Frequency = "hourly" }, true, "schedule.frequency", "directory.frequency_invalid"},
		{"bad date", func(s *Schedule) { s.StartDate = "02/01/2027" }, true, "schedule.start_date", "directory.start_date_invalid"},
		{"bad time", func(s *Schedule) { s.StartTime = "25:00" }, true, "schedule.start_time", "directory.start_time_invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sc := ok
			c.change(&sc)
			sc.normalize()
			bad := sc.validate(now, c.fresh)
			if c.field == "" {
				if len(bad) > 0 {
					t.Fatalf("refused: %+v", bad)
				}
				if sc.StartTime != DefaultStartTime && c.name == "valid, 12:00 by default" {
					t.Errorf("start time %q", sc.StartTime)
				}
				return
			}
			if len(bad) != 1 || bad[0].Field != c.field || bad[0].Code != c.code {
				t.Fatalf("got %+v, want one error on %s (%s)", bad, c.field, c.code)
			}
		})
	}
	// A schedule that names no time zone is in UTC, as documented, whatever else it lacks.
	for _, sc := range []Schedule{{Enabled: true}, {Enabled: true, Frequency: Daily, StartDate: "2027-01-02"}} {
		sc.normalize()
		bad := sc.validate(now, true)
		for _, b := range bad {
			if b.Field == "schedule.time_zone" {
				t.Errorf("%+v: refused on its time zone: %s", sc, b.Message)
			}
		}
		if sc.TimeZone != "UTC" {
			t.Errorf("%+v: time zone %q, want UTC", sc, sc.TimeZone)
		}
	}
}
