package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// fieldTypes are the custom field types the form offers, in the words of its list.
var fieldTypes = []struct {
	Type  user.FieldType
	Label string
}{
	{user.TextField, "Text"},
	{user.NumberField, "Number"},
	{user.DateField, "Date (YYYY-MM-DD)"},
	{user.BoolField, "Yes or no"},
	{user.EnumField, "One of a list (enum)"},
}

type fieldsPage struct {
	base
	Fields []fieldRow
	Types  map[user.FieldType]string
}

// fieldRow is a field in the list with the places its "Move up" and "Move down" buttons move it
// to; 0 when it is already first or last.
type fieldRow struct {
	user.Field
	Up, Down int
}

func typeLabels() map[user.FieldType]string {
	out := map[user.FieldType]string{}
	for _, t := range fieldTypes {
		out[t.Type] = t.Label
	}
	return out
}

func (c *Console) fields(w http.ResponseWriter, r *http.Request, m *me) {
	fields, err := c.deps.Users.Fields(r.Context(), m.Actor)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := &fieldsPage{base: base{Title: "Custom fields", Nav: "fields"}, Types: typeLabels()}
	for i, f := range fields {
		row := fieldRow{Field: f}
		if i > 0 {
			row.Up = i // the place above, counted from 1
		}
		if i < len(fields)-1 {
			row.Down = i + 2
		}
		p.Fields = append(p.Fields, row)
	}
	c.render(w, r, http.StatusOK, "fields", p)
}

// moveField moves a field to another place in the order (the list's "Move up" and "Move down").
func (c *Console) moveField(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 8<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	to, _ := strconv.Atoi(r.PostForm.Get("to"))
	f, err := c.deps.Users.UpdateField(r.Context(), m.Actor, r.PathValue("name"), version(r), user.FieldInput{Position: &to})
	if err != nil {
		c.refuseAction(w, r, "/fields", err)
		return
	}
	c.redirect(w, r, "/fields", flash{Kind: "ok", Text: fmt.Sprintf("%s is now number %d of the custom fields.", f.Label, f.Position)})
}

type fieldPage struct {
	base
	formState
	Field    *user.Field // nil on the "Define field" page
	New      bool
	Editable bool
	Version  int64
	Values   map[string]string // name, label, type, pattern, options (one a line)
	Required bool
	Types    []struct {
		Type  user.FieldType
		Label string
	}
}

func (p *fieldPage) shows(field string) bool {
	switch field {
	case "name", "type":
		return p.New
	case "label", "pattern", "options":
		return true
	}
	return false
}

// TypeLabel is the field's type in words.
func (p *fieldPage) TypeLabel() string { return typeLabels()[p.Field.Type] }

// fieldForm is a field's page with the field as it is stored.
func fieldForm(m *me, f *user.Field) *fieldPage {
	return &fieldPage{base: base{Title: f.Label, Nav: "fields"}, Field: f, Version: f.Version, Required: f.Required,
		Editable: m.Actor.Can(user.FieldsManage), Types: fieldTypes,
		Values: map[string]string{"name": f.Name, "label": f.Label, "type": string(f.Type), "pattern": f.Pattern,
			"options": strings.Join(f.Options, "\n")}}
}

// readField reads a field's form into the input for the service and the values to show again.
// The pattern and the options are sent only when the form has them (a text field's pattern, an
// enum's options); options are one a line.
func readField(r *http.Request, p *fieldPage) user.FieldInput {
	f := r.PostForm
	p.Values = map[string]string{"name": strings.TrimSpace(f.Get("name")), "label": strings.TrimSpace(f.Get("label")),
		"type": f.Get("type"), "pattern": f.Get("pattern"), "options": f.Get("options")}
	p.Required = f.Get("required") == "yes"
	in := user.FieldInput{Name: p.Values["name"], Type: user.FieldType(p.Values["type"]), Required: &p.Required}
	label := p.Values["label"]
	in.Label = &label
	if _, ok := f["pattern"]; ok {
		pattern := f.Get("pattern")
		in.Pattern = &pattern
	}
	if _, ok := f["options"]; ok {
		var options []string
		for line := range strings.Lines(f.Get("options")) {
			if o := strings.TrimSpace(line); o != "" {
				options = append(options, o)
			}
		}
		if len(options) > 0 || !p.New {
			if options == nil {
				options = []string{}
			}
			in.Options = &options
		}
	}
	return in
}

// field finds a field by name in the list the service gives.
func (c *Console) field(r *http.Request, m *me, name string) (*user.Field, error) {
	fields, err := c.deps.Users.Fields(r.Context(), m.Actor)
	if err != nil {
		return nil, err
	}
	for i := range fields {
		if fields[i].Name == name {
			return &fields[i], nil
		}
	}
	return nil, errs.E(errs.NotFound, "field.not_found", "There is no custom field called "+name+".")
}

func (c *Console) fieldPage(w http.ResponseWriter, r *http.Request, m *me) {
	f, err := c.field(r, m, r.PathValue("name"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "field", fieldForm(m, f))
}

func (c *Console) newFieldForm(w http.ResponseWriter, r *http.Request, m *me) {
	if err := m.Actor.Require(user.FieldsManage); err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "field", &fieldPage{base: base{Title: "Define field", Nav: "fields"}, New: true, Editable: true,
		Types: fieldTypes, Values: map[string]string{"type": string(user.TextField)}})
}

func (c *Console) newField(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 64<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	p := &fieldPage{base: base{Title: "Define field", Nav: "fields"}, New: true, Editable: true, Types: fieldTypes}
	f, err := c.deps.Users.CreateField(r.Context(), m.Actor, readField(r, p))
	if err != nil {
		c.refuse(w, r, err, "field", p)
		return
	}
	c.redirect(w, r, "/fields/"+f.Name, flash{Kind: "ok", Text: "The field " + f.Label + " is defined."})
}

// editField saves a field's form under the version it showed: when someone else saved the field
// since, nothing is changed and the page shows their values and says so.
func (c *Console) editField(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 64<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	cur, err := c.field(r, m, r.PathValue("name"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := &fieldPage{base: base{Title: cur.Label, Nav: "fields"}, Field: cur, Editable: true, Version: version(r), Types: fieldTypes}
	in := readField(r, p)
	p.Values["name"], p.Values["type"] = cur.Name, string(cur.Type)
	f, err := c.deps.Users.UpdateField(r.Context(), m.Actor, cur.Name, p.Version, in)
	if errs.Is(errs.PreconditionFailed, err) {
		fresh, err := c.field(r, m, cur.Name)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		fp := fieldForm(m, fresh)
		fp.Message = "Someone else changed this field while you were editing, so nothing was saved. The form now shows their changes: make yours again and save."
		c.render(w, r, http.StatusConflict, "field", fp)
		return
	}
	if err != nil {
		c.refuse(w, r, err, "field", p)
		return
	}
	c.redirect(w, r, "/fields/"+f.Name, flash{Kind: "ok", Text: "Saved the changes to the field " + f.Label + "."})
}

func (c *Console) deleteField(w http.ResponseWriter, r *http.Request, m *me) {
	if err := readForm(w, r, 8<<10); err != nil {
		c.fail(w, r, err)
		return
	}
	name := r.PathValue("name")
	f, err := c.field(r, m, name)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if err := c.deps.Users.DeleteField(r.Context(), m.Actor, name, version(r)); err != nil {
		c.refuseAction(w, r, "/fields/"+name, err)
		return
	}
	c.redirect(w, r, "/fields", flash{Kind: "ok", Text: "The field " + f.Label + " is deleted, with every user's value of it."})
}
