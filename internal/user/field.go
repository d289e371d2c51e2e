package user

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/usherhq/usher/internal/errs"
)

// FieldType is the kind of value a custom profile field holds.
type FieldType string

// The custom field types.
const (
	TextField   FieldType = "text"
	NumberField FieldType = "number"
	DateField   FieldType = "date" // YYYY-MM-DD
	BoolField   FieldType = "bool"
	EnumField   FieldType = "enum" // one of Options
)

// Field is a custom profile field an administrator defined.
type Field struct {
	Name      string // identifier used in the API, imports and filters: [a-z][a-z0-9_]*
	Label     string // what people see
	Type      FieldType
	Required  bool
	Pattern   string   // for text fields: a regular expression the whole value must match
	Options   []string // for enum fields
	Position  int      // where it comes in the list of fields and on user forms: 1, 2, 3, …
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MaxFieldValue is the longest value a custom field stores.
const MaxFieldValue = 1000

var fieldNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// reservedFieldNames are the built-in attributes a custom field may not shadow, so that import
// columns and filters stay unambiguous.
var reservedFieldNames = []string{"id", "username", "email", "first_name", "last_name", "phone",
	"department", "manager", "manager_id", "manager_name", "status", "source", "external_id", "roles",
	"groups", "action", "password", "created_at", "updated_at", "last_login_at", "version"}

// canonicalise puts the name and the label in the form they are stored in (see canonical).
func (in *FieldInput) canonicalise() {
	in.Name = canonical(in.Name)
	canonicalPtr(&in.Label)
}

// FieldInput defines a custom field or, with nil pointers for what stays, changes one. The name
// and type cannot change once values exist, so they are only read on creation.
type FieldInput struct {
	Name     string
	Label    *string
	Type     FieldType
	Required *bool
	Pattern  *string
	Options  *[]string
	Position *int // moves the field to this place in the order, from 1; the others make room
}

func (in *FieldInput) validate(creating bool) []errs.FieldError {
	var out []errs.FieldError
	bad := func(field, code, msg string) {
		out = append(out, errs.FieldError{Field: field, Code: code, Message: msg})
	}
	if creating {
		switch fe := checkChars("name", "The custom field name", in.Name); {
		case fe != nil:
			out = append(out, *fe)
		case !fieldNameRE.MatchString(in.Name):
			bad("name", "field.name_invalid", "The name must start with a lowercase letter and contain only a–z, 0–9 and _, at most 63 characters.")
		case slices.Contains(reservedFieldNames, in.Name):
			bad("name", "field.name_reserved", "The name "+in.Name+" is a built-in user attribute.")
		}
		switch in.Type {
		case TextField, NumberField, DateField, BoolField, EnumField:
		default:
			bad("type", "field.type_invalid", "The type must be one of text, number, date, bool or enum.")
		}
	}
	if in.Label != nil || creating {
		l := strings.TrimSpace(deref(in.Label))
		if fe := checkChars("label", "The custom field label", l); fe != nil {
			out = append(out, *fe)
		} else if l == "" || utf8.RuneCountInString(l) > 100 {
			bad("label", "field.label_invalid", "The label must be 1 to 100 characters.")
		}
	}
	if in.Pattern != nil && *in.Pattern != "" {
		if in.Type != TextField {
			bad("pattern", "field.pattern_not_text", "Only text fields can have a pattern.")
		} else if _, err := regexp.Compile(*in.Pattern); err != nil {
			bad("pattern", "field.pattern_invalid", "The pattern is not a valid regular expression: "+err.Error())
		}
	}
	if in.Type == EnumField {
		if in.Options == nil && creating || in.Options != nil && len(*in.Options) == 0 {
			bad("options", "field.options_required", "An enum field needs at least one option.")
		}
		if in.Options != nil {
			seen := map[string]bool{}
			for _, o := range *in.Options {
				if o == "" || seen[o] || utf8.RuneCountInString(o) > 200 {
					bad("options", "field.option_invalid", fmt.Sprintf("The option %q is empty, too long or repeated.", o))
				}
				seen[o] = true
			}
		}
	} else if in.Options != nil && len(*in.Options) > 0 {
		bad("options", "field.options_not_enum", "Only enum fields have options.")
	}
	return out
}

// Canonical checks a raw value for the field and returns the form it is stored and compared in.
// key names the input field in errors (custom.<name>).
func (f *Field) Canonical(raw string) (string, *errs.FieldError) {
	key := "custom." + f.Name
	bad := func(code, msg string) (string, *errs.FieldError) {
		return "", &errs.FieldError{Field: key, Code: code, Message: msg}
	}
	if utf8.RuneCountInString(raw) > MaxFieldValue {
		return bad("field.value_too_long", f.Label+" must be at most 1000 characters.")
	}
	switch f.Type {
	case TextField:
		// Line breaks and tabs are text; other control characters are not, and no spreadsheet
		// file (XLSX is XML) can hold them.
		if strings.IndexFunc(raw, func(r rune) bool { return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' }) >= 0 {
			return bad("field.control_chars", f.Label+" must not contain control characters.")
		}
		if f.Pattern != "" {
			re, err := regexp.Compile(`^(?:` + f.Pattern + `)$`)
			if err != nil || !re.MatchString(raw) {
				return bad("field.pattern_mismatch", f.Label+" does not have the expected format.")
			}
		}
		return raw, nil
	case NumberField:
		n, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		// ParseFloat also reads "NaN" and "Inf", which no person means as a number.
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return bad("field.not_a_number", f.Label+" must be a number.")
		}
		return strconv.FormatFloat(n, 'f', -1, 64), nil
	case DateField:
		d, err := time.Parse(time.DateOnly, strings.TrimSpace(raw))
		if err != nil {
			return bad("field.not_a_date", f.Label+" must be a date written YYYY-MM-DD.")
		}
		return d.Format(time.DateOnly), nil
	case BoolField:
		switch strings.ToLower(strings.TrimSpace(raw)) {
		case "true", "yes", "1":
			return "true", nil
		case "false", "no", "0":
			return "false", nil
		}
		return bad("field.not_a_bool", f.Label+" must be true or false.")
	case EnumField:
		if slices.Contains(f.Options, raw) {
			return raw, nil
		}
		return bad("field.not_an_option", f.Label+" must be one of: "+strings.Join(f.Options, ", ")+".")
	}
	return bad("field.type_invalid", "Unknown field type.")
}

// applyCustom validates the custom values of a patch against the definitions and writes them
// into u.Custom. creating says whether required fields must be present.
func applyCustom(u *User, values map[string]*string, defs []Field, creating bool) []errs.FieldError {
	var out []errs.FieldError
	byName := make(map[string]*Field, len(defs))
	for i := range defs {
		byName[defs[i].Name] = &defs[i]
	}
	if u.Custom == nil {
		u.Custom = map[string]string{}
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := values[name]
		f, ok := byName[name]
		if !ok {
			out = append(out, errs.FieldError{Field: "custom." + name, Code: "field.unknown",
				Message: "There is no custom field called " + name + "."})
			continue
		}
		if v == nil || *v == "" {
			if f.Required {
				out = append(out, errs.FieldError{Field: "custom." + name, Code: "field.required", Message: f.Label + " is required."})
				continue
			}
			delete(u.Custom, name)
			continue
		}
		c, fe := f.Canonical(*v)
		if fe != nil {
			out = append(out, *fe)
			continue
		}
		u.Custom[name] = c
	}
	if creating {
		for _, f := range defs {
			if _, ok := u.Custom[f.Name]; f.Required && !ok {
				if _, given := values[f.Name]; !given {
					out = append(out, errs.FieldError{Field: "custom." + f.Name, Code: "field.required", Message: f.Label + " is required."})
				}
			}
		}
	}
	return out
}
