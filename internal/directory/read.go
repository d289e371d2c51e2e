package directory

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// entry is a directory entry read as a user: what the mapping gives of it.
type entry struct {
	DN                                                      string
	ExternalID                                              string // the primary attribute's value
	Username, Email, FirstName, LastName, Phone, Department string
	ManagerDN                                               string
	Custom                                                  map[string]string // custom field name → value ("" when the entry has none)
	Disabled                                                bool
	// managerLevel is how many managers above the entry a sync creates too (managersFirst).
	managerLevel int
}

// EntryError is an entry a sync could not take, with why.
type EntryError struct {
	DN     string `json:"dn"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
	// Of an entry refused while reading: the user it names ("" when it has no primary
	// attribute) and when it last changed (OpenLDAP), so that it neither looks gone nor is
	// passed over by the next incremental sync.
	externalID, changed string
}

// generalizedTime is LDAP's time format, as OpenLDAP writes modifyTimestamp.
const generalizedTime = "20060102150405Z"

// markWindow is how far before its mark an incremental sync of OpenLDAP reads again.
const markWindow = 10 * time.Minute

// maxValue bounds a value (and a DN) a sync takes from an entry: a user's attributes are short,
// and a hostile server cannot make a plan hold megabytes per user.
const maxValue = 4096

// reads reports whether a sync maps attr to a field of the user.
func (d *Directory) reads(attr string) bool {
	m := d.Mapping
	for _, a := range []string{m.Username, m.Email, m.FirstName, m.LastName, m.Phone, m.Department, m.Manager} {
		if strings.EqualFold(a, attr) {
			return true
		}
	}
	for _, a := range m.Custom {
		if strings.EqualFold(a, attr) {
			return true
		}
	}
	return false
}

// adDisabled is userAccountControl's ACCOUNTDISABLE bit.
const adDisabled = 0x2

// attributes are the attributes a sync of d reads.
func (d *Directory) attributes() []string {
	m := d.Mapping
	set := []string{m.Primary, m.Username, m.Email, m.FirstName, m.LastName, m.Phone, m.Department, m.Manager}
	for _, a := range m.Custom {
		set = append(set, a)
	}
	for _, x := range d.Exclusions {
		if x.Enabled {
			set = append(set, x.Attribute)
		}
	}
	if d.Kind == ActiveDirectory {
		set = append(set, "userAccountControl")
	} else {
		set = append(set, "modifyTimestamp", d.DisabledAttribute) // the mark of the next incremental sync
	}
	var out []string
	for _, a := range set {
		if a != "" && !slices.ContainsFunc(out, func(b string) bool { return strings.EqualFold(a, b) }) {
			out = append(out, a)
		}
	}
	return out
}

// bases are the subtrees a sync of d reads.
func (d *Directory) bases() []string {
	switch d.Scope {
	case ScopeNone:
		return nil
	case ScopeSelected:
		return d.OUs
	}
	return []string{d.BaseDN}
}

// excluded reports whether an enabled exclusion rule matches e.
func (d *Directory) excluded(e *ldap.Entry) bool {
	for _, x := range d.Exclusions {
		if !x.Enabled {
			continue
		}
		values := e.GetEqualFoldAttributeValues(x.Attribute)
		has := func(match func(v, want string) bool, want string) bool {
			return slices.ContainsFunc(values, func(v string) bool { return match(strings.ToLower(v), strings.ToLower(want)) })
		}
		switch x.Match {
		case Exact:
			if slices.ContainsFunc(x.Values, func(w string) bool { return has(func(v, w string) bool { return v == w }, w) }) {
				return true
			}
		case Partial:
			if slices.ContainsFunc(x.Values, func(w string) bool { return has(strings.Contains, w) }) {
				return true
			}
		case AllOf:
			if !slices.ContainsFunc(x.Values, func(w string) bool { return !has(func(v, w string) bool { return v == w }, w) }) {
				return true
			}
		}
	}
	return false
}

// toEntry reads an LDAP entry through d's mapping.
func (d *Directory) toEntry(e *ldap.Entry) (entry, *EntryError) {
	m := d.Mapping
	get := func(attr string) string {
		if attr == "" {
			return ""
		}
		return strings.TrimSpace(e.GetEqualFoldAttributeValue(attr))
	}
	out := entry{DN: e.DN, Username: get(m.Username), Email: get(m.Email), FirstName: get(m.FirstName),
		LastName: get(m.LastName), Phone: get(m.Phone), Department: get(m.Department), ManagerDN: get(m.Manager)}
	// The primary attribute first: an entry refused for another reason is still the user it
	// names, and must not look gone.
	out.ExternalID = primaryValue(e, m.Primary)
	if len(out.ExternalID) > maxValue {
		out.ExternalID = ""
	}
	refuse := func(dn, field, reason string) (entry, *EntryError) {
		return out, &EntryError{DN: dn, Field: field, Reason: reason, externalID: out.ExternalID,
			changed: e.GetEqualFoldAttributeValue("modifyTimestamp")}
	}
	if len(e.DN) > maxValue {
		return refuse(e.DN[:maxValue]+"…", "", "The entry's DN is too long.")
	}
	for _, a := range e.Attributes {
		for _, v := range a.Values {
			if len(v) > maxValue && d.reads(a.Name) {
				return refuse(e.DN, a.Name, fmt.Sprintf("A value of %s is %d bytes long: usher takes at most %d.", a.Name, len(v), maxValue))
			}
		}
	}
	if out.ExternalID == "" {
		return refuse(e.DN, m.Primary, "The entry has no "+m.Primary+", the attribute that names a user across syncs.")
	}
	if len(m.Custom) > 0 {
		out.Custom = make(map[string]string, len(m.Custom))
		for field, attr := range m.Custom {
			out.Custom[field] = get(attr)
		}
	}
	if d.Kind == ActiveDirectory {
		uac, err := strconv.ParseInt(get("userAccountControl"), 10, 64)
		out.Disabled = err == nil && uac&adDisabled != 0
	} else if d.DisabledAttribute != "" {
		values := e.GetEqualFoldAttributeValues(d.DisabledAttribute)
		out.Disabled = len(values) > 0 && (d.DisabledValue == "" ||
			slices.ContainsFunc(values, func(v string) bool { return strings.EqualFold(v, d.DisabledValue) }))
	}
	return out, nil
}

// primaryValue is the value that names an entry across syncs: Active Directory's binary GUID
// in its usual text form, a SID in hex, any other attribute as text.
func primaryValue(e *ldap.Entry, attr string) string {
	raw := e.GetEqualFoldRawAttributeValue(attr)
	if len(raw) == 0 {
		return ""
	}
	switch strings.ToLower(attr) {
	case "objectguid":
		if len(raw) == 16 {
			return fmt.Sprintf("%08x-%04x-%04x-%s-%s", binary.LittleEndian.Uint32(raw[0:4]), binary.LittleEndian.Uint16(raw[4:6]),
				binary.LittleEndian.Uint16(raw[6:8]), hex.EncodeToString(raw[8:10]), hex.EncodeToString(raw[10:16]))
		}
		return hex.EncodeToString(raw)
	case "objectsid":
		return hex.EncodeToString(raw)
	}
	return strings.TrimSpace(string(raw))
}

// readEntries reads the users of d in scope, passing over those an exclusion rule matches; with
// a mark (an incremental sync), only the entries changed since. An entry that cannot be a user is
// in refused. On OpenLDAP, *latest is raised to the greatest modifyTimestamp read.
func (d *Directory) readEntries(ctx context.Context, c *conn, mark string, latest *string, fn func(entry) error) (refused []EntryError, err error) {
	attrs := d.attributes()
	filter := d.Filter
	switch {
	case mark == "":
	case d.Kind == ActiveDirectory:
		filter = "(&" + d.Filter + "(uSNChanged>=" + ldap.EscapeFilter(mark) + "))"
	default:
		// A window before the mark is read again: an entry changed while the last sync read
		// (after it was read, in the same seconds as later ones) or brought in late by
		// replication has a timestamp a little before the greatest one read.
		from := mark
		if t, err := time.Parse(generalizedTime, mark); err == nil {
			from = t.Add(-markWindow).Format(generalizedTime)
		}
		filter = "(&" + d.Filter + "(modifyTimestamp>=" + ldap.EscapeFilter(from) + "))"
	}
	for _, base := range d.bases() {
		_, err := c.each(ctx, base, ldap.ScopeWholeSubtree, filter, attrs, 0, func(e *ldap.Entry) error {
			if t := e.GetEqualFoldAttributeValue("modifyTimestamp"); t > *latest {
				*latest = t // generalized time, all in UTC with the same digits, compares as text
			}
			if d.excluded(e) {
				return nil
			}
			en, bad := d.toEntry(e)
			if bad != nil {
				refused = append(refused, *bad)
				return nil
			}
			return fn(en)
		})
		if err != nil {
			return refused, err
		}
	}
	return refused, nil
}

// highestUSN is an Active Directory domain controller's highestCommittedUSN (every change it has
// made so far has an update sequence number up to it) and its name (dsServiceName): the numbers
// are that controller's own.
func highestUSN(c *conn) (usn, server string, err error) {
	res, err := c.l.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"highestCommittedUSN", "dsServiceName"}, nil))
	if err != nil {
		return "", "", requestProblem("search", err, c.t)
	}
	if len(res.Entries) == 0 {
		return "", "", nil
	}
	e := res.Entries[0]
	return e.GetAttributeValue("highestCommittedUSN"), e.GetAttributeValue("dsServiceName"), nil
}
