package web

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

type directoriesPage struct {
	base
	Items []directoryRow
}

type directoryRow struct {
	*directory.Directory
	Last *directory.Run
}

// directories lists the directories users are synchronised from, each with its last sync.
func (c *Console) directories(w http.ResponseWriter, r *http.Request, m *me) {
	ctx := r.Context()
	ds, err := c.deps.Directories.Directories(ctx, m.Actor)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := &directoriesPage{base: base{Title: "Directories", Nav: "directories"}}
	for i := range ds {
		row := directoryRow{Directory: &ds[i]}
		if last, err := c.deps.Directories.LastRun(ctx, m.Actor, ds[i].ID); err == nil {
			row.Last = last
		}
		p.Items = append(p.Items, row)
	}
	c.render(w, r, http.StatusOK, "directories", p)
}

// dirField is one input of the directory form.
type dirField struct {
	ID, Label, Hint, Type, Value, Placeholder string
}

type directoryPage struct {
	base
	formState
	Dir     *directory.Directory // nil on the "Add directory" page
	New     bool
	Edit    bool // the settings form is shown
	Version int64
	Values  map[string]string
	Test    *directory.TestResult
	Plan    *directory.Plan // a dry run's
	Runs    []directory.Run
	Held    *directory.Run // the latest sync, when it waits for a confirmation
	Running *directory.Run // the latest sync, while it is queued or running
	Groups  []user.Group   // the groups its syncs keep
	Status  *directory.Status
	Reset   bool // the reset's confirmation step is shown
}

// ErrorOf is the first error of a field or of one of its items (groups.dns[2] for groups.dns).
func (p *directoryPage) ErrorOf(field string) string {
	if msg := p.Errors[field]; msg != "" {
		return msg
	}
	for _, k := range slices.Sorted(maps.Keys(p.Errors)) {
		if strings.HasPrefix(k, field+"[") {
			return p.Errors[k]
		}
	}
	return ""
}

// GroupFields are the group mapping's attribute inputs.
func (p *directoryPage) GroupFields() []dirField {
	f := func(id, label, hint string) dirField {
		return dirField{ID: "groups." + id, Label: label, Hint: hint, Value: p.Values["groups."+id], Placeholder: p.Values["preset.groups."+id]}
	}
	return []dirField{
		f("base_dn", "The filter looks under", "A DN under the base DN; empty: the base DN itself."),
		f("member_attributes", "Member attributes", "The attributes that list a group's members by DN, separated by commas."),
		f("name_attribute", "Name attribute", "The group's name in usher."),
		f("primary", "Primary attribute", "Names a group across syncs, so that a renamed or moved group stays the same group."),
	}
}

// Weekdays are the choices of a weekly schedule.
func (p *directoryPage) Weekdays() []string { return directory.Weekdays }

// Users is how many users the directory has in usher.
func (p *directoryPage) Users() int64 {
	if p.Status == nil {
		return 0
	}
	var n int64
	for _, c := range p.Status.Users {
		n += c
	}
	return n
}

// UsersBy is how many of the directory's users have a status.
func (p *directoryPage) UsersBy(status string) int64 {
	if p.Status == nil {
		return 0
	}
	return p.Status.Users[user.Status(status)]
}

// NextSync is when the schedule syncs next, in the schedule's time zone and in UTC.
func (p *directoryPage) NextSync() string {
	if p.Dir == nil || p.Dir.NextSyncAt == nil {
		return ""
	}
	t := *p.Dir.NextSyncAt
	loc, err := time.LoadLocation(p.Dir.Schedule.TimeZone)
	if err != nil || loc == time.UTC {
		return date(t)
	}
	return t.In(loc).Format("Monday 2 January 2006, 15:04") + " " + p.Dir.Schedule.TimeZone + " (" + date(t) + ")"
}

// Every says how often the schedule runs, in words.
func (p *directoryPage) Every() string {
	sc := p.Dir.Schedule
	at := " at " + sc.StartTime
	switch sc.Frequency {
	case directory.Daily:
		return "Every day" + at
	case directory.Weekly:
		if sc.Weekday == "" {
			return "Every week" + at
		}
		return "Every " + strings.ToUpper(sc.Weekday[:1]) + sc.Weekday[1:] + at
	case directory.Monthly:
		return fmt.Sprintf("Every month on day %d (the last day in shorter months)%s", sc.DayOfMonth, at)
	case directory.EveryNDays:
		return fmt.Sprintf("Every %d days%s", sc.Every, at)
	case directory.EveryNWeeks:
		return fmt.Sprintf("Every %d weeks%s", sc.Every, at)
	}
	return ""
}

// Share is how much of a running sync's plan is applied, in percent.
func (p *directoryPage) Share() int64 {
	if p.Running == nil || p.Running.Planned() == 0 {
		return 0
	}
	return min(100, p.Running.Applied()*100/p.Running.Planned())
}

func (p *directoryPage) shows(field string) bool {
	return p.Edit // every setting is on the form
}

// Connection is the first section's inputs.
func (p *directoryPage) Connection() []dirField {
	return []dirField{
		{ID: "name", Label: "Name", Hint: "How this directory is named in usher, such as Head office AD.", Value: p.Values["name"]},
		{ID: "host", Label: "Host name", Hint: "The server's host name or IP address, without ldap:// or a port.", Value: p.Values["host"], Placeholder: "dc1.example.com"},
		{ID: "port", Label: "Port", Hint: "Usually 636 for LDAPS, 389 for StartTLS or no encryption.", Type: "number", Value: p.Values["port"]},
		{ID: "base_dn", Label: "Base DN", Hint: "Where users (and groups) are in the directory.", Value: p.Values["base_dn"], Placeholder: "dc=example,dc=com"},
		{ID: "bind_dn", Label: "Bind DN", Hint: "The account usher signs in as to read the directory (on Active Directory also user@domain).", Value: p.Values["bind_dn"], Placeholder: "cn=usher,ou=services,dc=example,dc=com"},
	}
}

// Mapping is the attribute mapping's inputs.
func (p *directoryPage) Mapping() []dirField {
	f := func(id, label string) dirField {
		return dirField{ID: "mapping." + id, Label: label, Value: p.Values["mapping."+id], Placeholder: p.Values["preset."+id]}
	}
	return []dirField{f("username", "Username"), f("email", "Email"), f("first_name", "First name"), f("last_name", "Last name"),
		f("phone", "Phone"), f("department", "Department"), f("manager", "Manager (a DN-valued attribute)"),
		f("primary", "Primary attribute (names a user across syncs)")}
}

// directoryValues are the form's values of a directory.
func directoryValues(d *directory.Directory) map[string]string {
	v := map[string]string{"name": d.Name, "kind": string(d.Kind), "host": d.Host, "port": strconv.Itoa(d.Port),
		"security": string(d.Security), "ca_cert": d.CACert, "base_dn": d.BaseDN, "bind_dn": d.BindDN,
		"scope": string(d.Scope), "ous": strings.Join(d.OUs, "\n"), "filter": d.Filter,
		"disabled_attribute": d.DisabledAttribute, "disabled_value": d.DisabledValue, "leavers": string(d.Leavers),
		"threshold": strconv.Itoa(d.Threshold)}
	sc := d.Schedule
	v["schedule.frequency"], v["schedule.weekday"], v["schedule.start_date"] = string(sc.Frequency), sc.Weekday, sc.StartDate
	v["schedule.start_time"], v["schedule.time_zone"] = sc.StartTime, sc.TimeZone
	if sc.Frequency == "" {
		v["schedule.frequency"] = string(directory.Daily)
	}
	if sc.StartTime == "" {
		v["schedule.start_time"] = directory.DefaultStartTime
	}
	if sc.TimeZone == "" {
		v["schedule.time_zone"] = "UTC"
	}
	if sc.DayOfMonth > 0 {
		v["schedule.day_of_month"] = strconv.Itoa(sc.DayOfMonth)
	}
	if sc.Every > 0 {
		v["schedule.every"] = strconv.Itoa(sc.Every)
	}
	if sc.Enabled {
		v["schedule.enabled"] = "on"
	}
	if d.EmailSummary {
		v["email_summary"] = "on"
	}
	m := d.Mapping
	for k, val := range map[string]string{"username": m.Username, "email": m.Email, "first_name": m.FirstName, "last_name": m.LastName,
		"phone": m.Phone, "department": m.Department, "manager": m.Manager, "primary": m.Primary} {
		v["mapping."+k] = val
	}
	var lines []string
	for _, x := range d.Exclusions {
		if x.Enabled {
			lines = append(lines, x.Attribute+" | "+string(x.Match)+" | "+strings.Join(x.Values, "; "))
		}
	}
	v["exclusions"] = strings.Join(lines, "\n")
	g := d.Groups
	if g.Enabled {
		v["groups.enabled"] = "on"
	}
	v["groups.dns"], v["groups.filter"], v["groups.base_dn"] = strings.Join(g.DNs, "\n"), g.Filter, g.BaseDN
	v["groups.member_attributes"], v["groups.name_attribute"], v["groups.primary"] = strings.Join(g.Members, ", "), g.Name, g.Primary
	if g.By != nil {
		v["groups.configured_by"] = g.By.Name
	}
	presetValues(v, d.Kind)
	return v
}

// presetValues puts the kind's preset attributes beside the form's, as the mapping's placeholders.
func presetValues(v map[string]string, k directory.Kind) {
	m := directory.Preset(k).Mapping
	for key, val := range map[string]string{"username": m.Username, "email": m.Email, "first_name": m.FirstName, "last_name": m.LastName,
		"phone": m.Phone, "department": m.Department, "manager": m.Manager, "primary": m.Primary} {
		v["preset."+key] = val
	}
	g := directory.Preset(k).Groups
	v["preset.groups.member_attributes"], v["preset.groups.name_attribute"], v["preset.groups.primary"] = strings.Join(g.Members, ", "), g.Name, g.Primary
	v["preset.groups.filter"] = g.Filter
}

// readDirectory reads the form into an input and the page's values. On an existing directory,
// an empty password leaves the saved one.
func readDirectory(r *http.Request, p *directoryPage) (directory.Input, error) {
	f := r.PostForm
	p.Values = map[string]string{}
	for k := range f {
		if k != "bind_password" {
			p.Values[k] = f.Get(k)
		}
	}
	str := func(k string) *string { v := f.Get(k); return &v }
	kind := directory.Kind(f.Get("kind"))
	if p.Dir != nil {
		kind = p.Dir.Kind // fixed once made; the edit form has no kind
	} else if kind == "" {
		kind = directory.OpenLDAP
	}
	presetValues(p.Values, kind)
	sec, scope, leavers := directory.Security(f.Get("security")), directory.Scope(f.Get("scope")), directory.Leavers(f.Get("leavers"))
	in := directory.Input{Name: str("name"), Host: str("host"), Security: &sec, CACert: str("ca_cert"), BaseDN: str("base_dn"),
		BindDN: str("bind_dn"), Scope: &scope, Filter: str("filter"), DisabledAttribute: str("disabled_attribute"),
		DisabledValue: str("disabled_value"), Leavers: &leavers}
	if p.New {
		in.Kind = &kind
	}
	if pw := f.Get("bind_password"); pw != "" || p.New {
		in.Password = &pw
	}
	bad := map[string]string{}
	if port := strings.TrimSpace(f.Get("port")); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil {
			bad["port"] = "The port is a number, such as 636."
		}
		in.Port = &n
	}
	n, err := strconv.Atoi(strings.TrimSpace(f.Get("threshold")))
	if err != nil {
		bad["threshold"] = "The safety threshold is a percentage, such as 10."
	}
	in.Threshold = &n
	var ous []string
	for _, line := range strings.Split(f.Get("ous"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			ous = append(ous, line)
		}
	}
	in.OUs = &ous
	// The form's fields are the mapping: on a new directory the domain gives a field left empty
	// the preset's attribute; on an existing one, empty is not mapped. What the form does not
	// show (the custom fields' mappings) stays.
	var m directory.Mapping
	if p.Dir != nil {
		m = p.Dir.Mapping
	}
	for _, x := range []struct {
		key string
		dst *string
	}{{"username", &m.Username}, {"email", &m.Email}, {"first_name", &m.FirstName}, {"last_name", &m.LastName},
		{"phone", &m.Phone}, {"department", &m.Department}, {"manager", &m.Manager}, {"primary", &m.Primary}} {
		*x.dst = strings.TrimSpace(f.Get("mapping." + x.key))
	}
	in.Mapping = &m
	var xs []directory.Exclusion
	for i, line := range strings.Split(f.Get("exclusions"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		parts := strings.Split(line, "|")
		if len(parts) != 3 {
			bad["exclusions"] = fmt.Sprintf("Line %d: write a rule as attribute | match | values, such as department | exact | Contractors; Interns.", i+1)
			continue
		}
		var vals []string
		for _, v := range strings.Split(parts[2], ";") {
			if v = strings.TrimSpace(v); v != "" {
				vals = append(vals, v)
			}
		}
		xs = append(xs, directory.Exclusion{Attribute: strings.TrimSpace(parts[0]), Match: directory.Match(strings.ToLower(strings.TrimSpace(parts[1]))),
			Values: vals, Enabled: true})
	}
	if p.Dir != nil {
		for _, x := range p.Dir.Exclusions {
			if !x.Enabled {
				xs = append(xs, x) // the form lists the enabled rules; the others stay
			}
		}
	}
	in.Exclusions = &xs
	// The group mapping, whole: a DN a line, attributes separated by commas.
	g := directory.GroupMapping{Enabled: f.Get("groups.enabled") != "", Filter: strings.TrimSpace(f.Get("groups.filter")),
		BaseDN: f.Get("groups.base_dn"), Name: f.Get("groups.name_attribute"), Primary: f.Get("groups.primary")}
	for _, line := range strings.Split(f.Get("groups.dns"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			g.DNs = append(g.DNs, line)
		}
	}
	for _, a := range strings.Split(f.Get("groups.member_attributes"), ",") {
		if a = strings.TrimSpace(a); a != "" {
			g.Members = append(g.Members, a)
		}
	}
	in.Groups = &g
	sc := directory.Schedule{Enabled: f.Get("schedule.enabled") != "", Frequency: directory.Frequency(f.Get("schedule.frequency")),
		Weekday: f.Get("schedule.weekday"), StartDate: f.Get("schedule.start_date"), StartTime: f.Get("schedule.start_time"),
		TimeZone: f.Get("schedule.time_zone")}
	for _, x := range []struct {
		key, msg string
		dst      *int
	}{{"schedule.day_of_month", "The day of the month is a number from 1 to 31.", &sc.DayOfMonth},
		{"schedule.every", "Every how many days or weeks: a whole number, such as 2.", &sc.Every}} {
		if v := strings.TrimSpace(f.Get(x.key)); v != "" && (sc.Frequency == directory.Monthly) == (x.key == "schedule.day_of_month") {
			n, err := strconv.Atoi(v)
			if err != nil {
				bad[x.key] = x.msg
			}
			*x.dst = n
		}
	}
	if !sc.Enabled && strings.TrimSpace(sc.StartDate) == "" {
		sc = directory.Schedule{} // auto-sync off and no start: no schedule, whatever the form's defaults
	}
	in.Schedule = &sc
	summary := f.Get("email_summary") != ""
	in.EmailSummary = &summary
	if len(bad) > 0 {
		e := &errs.Error{Kind: errs.Invalid, Code: "form.invalid", Message: "Some settings need your attention."}
		for k, v := range bad {
			e.Fields = append(e.Fields, errs.FieldError{Field: k, Code: "form.invalid", Message: v})
		}
		return in, e
	}
	return in, nil
}

// newDirectoryForm shows the empty form of a new directory, from the OpenLDAP preset (or the
// kind asked for).
func (c *Console) newDirectoryForm(w http.ResponseWriter, r *http.Request, m *me) {
	if err := m.Actor.Require(user.DirectoryManage); err != nil {
		c.fail(w, r, err)
		return
	}
	kind := directory.Kind(r.URL.Query().Get("kind"))
	if kind != directory.ActiveDirectory {
		kind = directory.OpenLDAP
	}
	d := &directory.Directory{Kind: kind, Config: directory.Preset(kind), Connection: directory.Connection{Security: directory.LDAPS, Port: 636}}
	p := &directoryPage{base: base{Title: "Add directory", Nav: "directories"}, New: true, Edit: true, Values: directoryValues(d)}
	for k := range p.Values {
		if strings.HasPrefix(k, "mapping.") {
			p.Values[k] = "" // the preset shows as the placeholder
		}
	}
	c.render(w, r, http.StatusOK, "directory", p)
}

// newDirectory tests the form's connection ("Test connection") or saves the new directory, which
// the service does only once the connection works.
func (c *Console) newDirectory(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 256<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &directoryPage{base: base{Title: "Add directory", Nav: "directories"}, New: true, Edit: true}
	in, err := readDirectory(r, p)
	if err != nil {
		c.refuse(w, r, err, "directory", p)
		return
	}
	if r.PostForm.Get("action") == "test" {
		p.Test, err = c.deps.Directories.Test(r.Context(), m.Actor, in)
		if err != nil {
			c.refuse(w, r, err, "directory", p)
			return
		}
		c.render(w, r, http.StatusOK, "directory", p)
		return
	}
	d, err := c.deps.Directories.Create(r.Context(), m.Actor, in)
	if err != nil {
		c.refuse(w, r, err, "directory", p)
		return
	}
	c.redirect(w, r, "/directories/"+d.ID, flash{Kind: "ok", Text: "The directory " + d.Name + " is saved: its connection works. Run a dry run to see what a sync would do."})
}

// directoryPageOf shows a directory: its settings, Sync now, Dry run, the connection test, the
// sync history, and a sync waiting for a confirmation; ?edit=1 the settings form.
func (c *Console) directoryPageOf(w http.ResponseWriter, r *http.Request, m *me) {
	p, err := c.directoryPage(r, m, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p.Edit = r.URL.Query().Get("edit") != ""
	p.Reset = !p.Edit && r.URL.Query().Get("reset") != ""
	c.render(w, r, http.StatusOK, "directory", p)
}

func (c *Console) directoryPage(r *http.Request, m *me, id string) (*directoryPage, error) {
	ctx := r.Context()
	d, err := c.deps.Directories.Directory(ctx, m.Actor, id)
	if err != nil {
		return nil, err
	}
	runs, err := c.deps.Directories.Runs(ctx, m.Actor, id, 20)
	if err != nil {
		return nil, err
	}
	groups, err := c.deps.Directories.Groups(ctx, m.Actor, id)
	if err != nil {
		return nil, err
	}
	p := &directoryPage{base: base{Title: d.Name, Nav: "directories"}, Dir: d, Version: d.Version, Values: directoryValues(d), Runs: runs, Groups: groups}
	if p.Status, err = c.deps.Directories.Status(ctx, m.Actor, id); err != nil {
		return nil, err
	}
	if last := directory.LastOf(runs); last != nil {
		switch last.Status {
		case directory.RunHeld:
			p.Held = last
		case directory.RunQueued, directory.RunRunning:
			p.Running = last
		}
	}
	return p, nil
}

// editDirectory saves a directory's settings under the version the form showed.
func (c *Console) editDirectory(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 256<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	id := r.PathValue("id")
	p, err := c.directoryPage(r, m, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p.Edit, p.Version = true, version(r)
	in, err := readDirectory(r, p)
	if err != nil {
		c.refuse(w, r, err, "directory", p)
		return
	}
	d, err := c.deps.Directories.Update(r.Context(), m.Actor, id, p.Version, in)
	if err != nil {
		c.refuse(w, r, err, "directory", p)
		return
	}
	c.redirect(w, r, "/directories/"+d.ID, flash{Kind: "ok", Text: "The settings of " + d.Name + " are saved."})
}

// directoryAction runs an action of a directory's page: sync, dry-run, test, confirm, delete.
func (c *Console) directoryAction(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 16<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	ctx, id, back := r.Context(), r.PathValue("id"), "/directories/"+r.PathValue("id")
	svc := c.deps.Directories
	switch r.PathValue("action") {
	case "sync":
		if _, _, err := svc.Sync(ctx, m.Actor, id, directory.SyncOptions{Full: r.PostForm.Get("full") != ""}); err != nil {
			c.refuseAction(w, r, back, err)
			return
		}
		c.redirect(w, r, back, flash{Kind: "ok", Text: "The sync has started: its progress shows in the history below."})
	case "dry-run", "test":
		p, err := c.directoryPage(r, m, id)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		if r.PathValue("action") == "test" {
			p.Test, err = svc.TestSaved(ctx, m.Actor, id)
		} else {
			_, p.Plan, err = svc.Sync(ctx, m.Actor, id, directory.SyncOptions{DryRun: true})
		}
		if err != nil {
			c.refuseAction(w, r, back, err)
			return
		}
		c.render(w, r, http.StatusOK, "directory", p)
	case "confirm":
		if _, err := svc.Confirm(ctx, m.Actor, id, r.PostForm.Get("run")); err != nil {
			c.refuseAction(w, r, back, err)
			return
		}
		c.redirect(w, r, back, flash{Kind: "ok", Text: "Confirmed: the sync runs again and applies its changes."})
	case "delete":
		if err := svc.Delete(ctx, m.Actor, id, version(r)); err != nil {
			c.refuseAction(w, r, back, err)
			return
		}
		c.redirect(w, r, "/directories", flash{Kind: "ok", Text: "The directory is deleted. Its users stay, as local users."})
	case "reset":
		kept, err := svc.Reset(ctx, m.Actor, id, version(r))
		if err != nil {
			c.refuseAction(w, r, back, err)
			return
		}
		who := fmt.Sprintf("Its %d users stay, as local users", kept)
		if kept == 1 {
			who = "Its user stays, as a local user"
		}
		c.redirect(w, r, "/directories", flash{Kind: "ok", Text: "The directory is reset: its settings and history are gone. " + who +
			" you can edit; send a password reset to let them sign in with a password of usher's."})
	default:
		c.notFound(w, r)
	}
}
