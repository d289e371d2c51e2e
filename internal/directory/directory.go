// Package directory is usher's side of LDAP and Active Directory: the directories it reads users
// from, how it reaches them (the connection, tested before it is saved), what it reads (scope,
// attribute mapping, inclusion and exclusion rules, groups) and what it does with users who
// leave. The LDAP client (ldap.go) is its one seam with the outside; users are written through
// user.Service like every other change.
package directory

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/go-ldap/ldap/v3"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// Kind is the kind of server: it decides the presets and how a disabled account is recognised.
type Kind string

// The kinds of directory.
const (
	ActiveDirectory Kind = "active_directory"
	OpenLDAP        Kind = "ldap"
)

// Security is how the connection is protected.
type Security string

// The ways to connect.
const (
	LDAPS    Security = "ldaps"    // TLS from the first byte, port 636 by default
	StartTLS Security = "starttls" // plain LDAP upgraded to TLS before the bind, port 389
	Plain    Security = "none"     // no TLS: the bind password crosses the network readable
)

// Scope says which organisation units users are read from.
type Scope string

// The scopes of seed 000's step 2.
const (
	ScopeAll      Scope = "all"      // the whole base DN
	ScopeNone     Scope = "none"     // nothing: the directory is configured but reads no users
	ScopeSelected Scope = "selected" // only the subtrees of OUs
)

// Match is how an exclusion rule compares an attribute with its values.
type Match string

// The match types of seed 000's exclusion rules.
const (
	Exact   Match = "exact"   // a value of the attribute equals one of the rule's (case-insensitively)
	Partial Match = "partial" // a value of the attribute contains one of the rule's
	AllOf   Match = "all"     // the attribute has every one of the rule's values
)

// Leavers is what a sync does to the users of a directory who are no longer in its scope.
type Leavers string

// The leaver policies.
const (
	DisableLeavers Leavers = "disable"
	DeleteLeavers  Leavers = "delete"
)

// Connection is how usher reaches a directory and whom it binds as.
type Connection struct {
	Host     string
	Port     int
	Security Security
	CACert   string // PEM: the CA certificates trusted in place of the system's roots (empty: those)
	BaseDN   string
	BindDN   string // a DN, or on Active Directory also user@domain
	// Password is the bind password: given, never returned. Empty on a directory read back.
	Password string
}

// Address is host:port.
func (c Connection) Address() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// Mapping names the directory attribute each user field comes from.
type Mapping struct {
	Username   string `json:"username"`
	Email      string `json:"email"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	Phone      string `json:"phone"`
	Department string `json:"department"`
	Manager    string `json:"manager"` // a DN-valued attribute: the manager's entry
	// Custom maps a custom field's name to the attribute it is read from.
	Custom map[string]string `json:"custom,omitempty"`
	// Primary is the attribute that names a user across syncs, so that a renamed or moved
	// entry stays the same user (objectGUID on Active Directory, entryUUID on OpenLDAP).
	Primary string `json:"primary"`
}

// fillFrom gives each field m leaves empty the attribute of preset.
func (m *Mapping) fillFrom(preset Mapping) {
	for _, f := range []struct {
		dst *string
		src string
	}{{&m.Username, preset.Username}, {&m.Email, preset.Email},
		{&m.FirstName, preset.FirstName}, {&m.LastName, preset.LastName}, {&m.Phone, preset.Phone},
		{&m.Department, preset.Department}, {&m.Manager, preset.Manager}, {&m.Primary, preset.Primary}} {
		if *f.dst == "" {
			*f.dst = f.src
		}
	}
}

// Exclusion is a rule that leaves out the entries it matches.
type Exclusion struct {
	Attribute string   `json:"attribute"`
	Match     Match    `json:"match"`
	Values    []string `json:"values"`
	Enabled   bool     `json:"enabled"`
}

// GroupMapping makes directory groups usher groups, with their members: the groups named in
// DNs and those Filter finds under BaseDN. A group's members are the users of the directory its
// member attributes name; other members (nested groups, entries out of scope) are passed over.
type GroupMapping struct {
	Enabled bool     `json:"enabled"`
	DNs     []string `json:"dns,omitempty"`     // groups chosen one by one
	BaseDN  string   `json:"base_dn,omitempty"` // where Filter looks; empty: the directory's base DN
	Filter  string   `json:"filter,omitempty"`  // which entries are groups; empty: only DNs
	// Members are the attributes that list a group's members by DN (member; uniqueMember of
	// groupOfUniqueNames), Name the one that names it, Primary the one that identifies it
	// across syncs, so that a renamed or moved group stays the same group.
	Members []string `json:"member_attributes,omitempty"`
	Name    string   `json:"name_attribute,omitempty"`
	Primary string   `json:"primary,omitempty"`
	// By is who last changed the mapping: a sync gives a group's members (and so its roles)
	// only within what they may grant, as they hold it when the sync runs.
	By *Configurer `json:"configured_by,omitempty"`
}

// Configurer is the administrator who configured a group mapping, with the permissions they
// held then.
type Configurer struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	Permissions user.Permissions `json:"permissions"`
}

// settings is the mapping without who configured it: what decides the groups a sync reads.
func (g GroupMapping) settings() GroupMapping {
	g.By = nil
	return g
}

// fillFrom gives each attribute g leaves empty the attribute of preset.
func (g *GroupMapping) fillFrom(preset GroupMapping) {
	if len(g.Members) == 0 {
		g.Members = preset.Members
	}
	if g.Name == "" {
		g.Name = preset.Name
	}
	if g.Primary == "" {
		g.Primary = preset.Primary
	}
}

// Config is what a directory reads and what it does with it.
type Config struct {
	Scope      Scope       `json:"scope"`
	OUs        []string    `json:"ous,omitempty"`
	Mapping    Mapping     `json:"mapping"`
	Filter     string      `json:"filter"` // the inclusion rule, an LDAP filter
	Exclusions []Exclusion `json:"exclusions,omitempty"`
	// On OpenLDAP, the attribute that marks a disabled account, and the value it must have
	// (empty: any value). Active Directory uses userAccountControl.
	DisabledAttribute string  `json:"disabled_attribute,omitempty"`
	DisabledValue     string  `json:"disabled_value,omitempty"`
	Leavers           Leavers `json:"leavers"`
	// Threshold is the share of the directory's users, in percent, a sync may disable or
	// delete without an administrator confirming it.
	Threshold int          `json:"threshold"`
	Groups    GroupMapping `json:"groups"`
	// Schedule is when the directory syncs on its own.
	Schedule Schedule `json:"schedule"`
	// EmailSummary sends the administrators a summary after each sync that completes (failed
	// and held syncs are always told).
	EmailSummary bool `json:"email_summary,omitempty"`
}

// Directory is a configured directory.
type Directory struct {
	ID   string
	Name string
	Kind Kind
	Connection
	Config
	// SealedPassword is the bind password sealed with the secret key: for the store only.
	SealedPassword string
	// State is where the last completed sync left off, for the next one to read only what
	// changed since.
	State SyncState
	// NextSyncAt is when the schedule syncs the directory next; nil when it does not.
	NextSyncAt *time.Time
	Version    int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// SyncState is where the last completed sync of a directory left off.
type SyncState struct {
	// Mark is the high-water mark of changes read: the greatest modifyTimestamp seen (OpenLDAP)
	// or the server's highestCommittedUSN when the sync began (Active Directory).
	Mark   string     `json:"mark,omitempty"`
	FullAt *time.Time `json:"full_at,omitempty"` // when the last full sync began
	// Version is the directory's version the mark was made with: other settings (scope,
	// filter, mapping) need a full sync. Server is the Active Directory domain controller whose
	// update sequence numbers the mark counts.
	Version int64  `json:"version,omitempty"`
	Server  string `json:"server,omitempty"`
}

// Preset is the configuration a new directory of a kind starts from: the attributes Active
// Directory and OpenLDAP usually hold each field in.
func Preset(k Kind) Config {
	c := Config{Scope: ScopeAll, Leavers: DisableLeavers, Threshold: 10}
	switch k {
	case ActiveDirectory:
		c.Mapping = Mapping{Username: "sAMAccountName", Email: "mail", FirstName: "givenName", LastName: "sn",
			Phone: "telephoneNumber", Department: "department", Manager: "manager", Primary: "objectGUID"}
		c.Filter = "(&(objectCategory=person)(objectClass=user))"
		c.Groups = GroupMapping{Filter: "(objectClass=group)", Members: []string{"member"}, Name: "cn", Primary: "objectGUID"}
	default:
		c.Mapping = Mapping{Username: "uid", Email: "mail", FirstName: "givenName", LastName: "sn",
			Phone: "telephoneNumber", Department: "departmentNumber", Manager: "manager", Primary: "entryUUID"}
		c.Filter = "(objectClass=inetOrgPerson)"
		c.DisabledAttribute = "pwdAccountLockedTime"
		c.Groups = GroupMapping{Filter: "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))",
			Members: []string{"member", "uniqueMember"}, Name: "cn", Primary: "entryUUID"}
	}
	return c
}

// DefaultPort is the usual port of a security.
func DefaultPort(s Security) int {
	if s == LDAPS {
		return 636
	}
	return 389
}

func (k Kind) valid() bool     { return k == ActiveDirectory || k == OpenLDAP }
func (s Security) valid() bool { return s == LDAPS || s == StartTLS || s == Plain }
func (s Scope) valid() bool    { return s == ScopeAll || s == ScopeNone || s == ScopeSelected }
func (m Match) valid() bool    { return m == Exact || m == Partial || m == AllOf }
func (l Leavers) valid() bool  { return l == DisableLeavers || l == DeleteLeavers }

// attributeName is an attribute description: a name (letters, digits, hyphens) or an OID,
// with options (";binary").
var attributeName = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)(;[A-Za-z0-9-]+)*$`)

// hostName is a DNS name or an IP address, without a scheme or a port.
var hostName = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

const (
	maxName     = 100
	maxText     = 2000  // a DN, a filter, an attribute value
	maxCACert   = 65536 // a PEM bundle
	maxRules    = 100
	maxValues   = 100
	maxOUs      = 1000
	maxCustom   = 100
	maxPassword = 1024
)

// validate checks a directory as a whole, as it would be saved.
func (d *Directory) validate(fields map[string]bool) []errs.FieldError {
	var bad []errs.FieldError
	add := func(field, code, msg string) {
		bad = append(bad, errs.FieldError{Field: field, Code: code, Message: msg})
	}
	switch name := d.Name; {
	case strings.TrimSpace(name) == "":
		add("name", "directory.name_required", "Give the directory a name, such as \"Head office AD\".")
	case len([]rune(name)) > maxName:
		add("name", "directory.name_too_long", fmt.Sprintf("A directory name has at most %d characters.", maxName))
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		add("name", "directory.name_invalid", "A directory name cannot contain control characters such as line breaks.")
	}
	if !d.Kind.valid() {
		add("kind", "directory.kind_invalid", `The kind is "active_directory" or "ldap".`)
	}
	bad = append(bad, d.Connection.validate()...)
	bad = append(bad, d.Config.validate(d.BaseDN, fields)...)
	return bad
}

func (c *Connection) validate() []errs.FieldError {
	var bad []errs.FieldError
	add := func(field, code, msg string) {
		bad = append(bad, errs.FieldError{Field: field, Code: code, Message: msg})
	}
	switch {
	case c.Host == "":
		add("host", "directory.host_required", "Give the host name or IP address of the directory server.")
	case len(c.Host) > 253 || (!hostName.MatchString(c.Host) && net.ParseIP(c.Host) == nil):
		add("host", "directory.host_invalid", "Give a host name such as dc1.example.com or an IP address, without ldap:// or a port.")
	}
	if c.Port < 1 || c.Port > 65535 {
		add("port", "directory.port_invalid", "The port is a number from 1 to 65535 (usually 636 for LDAPS, 389 otherwise).")
	}
	if !c.Security.valid() {
		add("security", "directory.security_invalid", `Security is "ldaps", "starttls" or "none".`)
	}
	if c.CACert != "" {
		if len(c.CACert) > maxCACert {
			add("ca_cert", "directory.ca_cert_invalid", "The CA certificate is too long: give the PEM certificate of the CA alone.")
		} else if _, msg := certPool(c.CACert); msg != "" {
			add("ca_cert", "directory.ca_cert_invalid", msg)
		}
	}
	if msg := checkDN(c.BaseDN, "The base DN"); msg != "" {
		add("base_dn", "directory.base_dn_invalid", msg)
	}
	switch {
	case strings.TrimSpace(c.BindDN) == "":
		add("bind_dn", "directory.bind_dn_required", "Give the DN (or, on Active Directory, user@domain) that usher binds as.")
	case strings.Contains(c.BindDN, "="):
		if msg := checkDN(c.BindDN, "The bind DN"); msg != "" {
			add("bind_dn", "directory.bind_dn_invalid", msg)
		}
	case !strings.Contains(c.BindDN, "@") || len(c.BindDN) > maxText:
		add("bind_dn", "directory.bind_dn_invalid", "The bind DN is a DN such as cn=usher,ou=services,dc=example,dc=com, or user@domain on Active Directory.")
	}
	if len(c.Password) > maxPassword {
		add("bind_password", "directory.password_too_long", fmt.Sprintf("The bind password has at most %d characters.", maxPassword))
	}
	return bad
}

func checkDN(dn, what string) string {
	if strings.TrimSpace(dn) == "" {
		return what + " is required, such as dc=example,dc=com."
	}
	if len(dn) > maxText {
		return fmt.Sprintf("%s has at most %d characters.", what, maxText)
	}
	if _, err := ldap.ParseDN(dn); err != nil {
		return what + " is not a valid DN (such as ou=people,dc=example,dc=com): " + plainLDAPError(err) + "."
	}
	return ""
}

// underDN reports whether dn is base or below it.
func underDN(dn, base string) bool {
	d, err1 := ldap.ParseDN(dn)
	b, err2 := ldap.ParseDN(base)
	if err1 != nil || err2 != nil {
		return false
	}
	return b.EqualFold(d) || b.AncestorOfFold(d)
}

func (c *Config) validate(baseDN string, fields map[string]bool) []errs.FieldError {
	var bad []errs.FieldError
	add := func(field, code, msg string) {
		bad = append(bad, errs.FieldError{Field: field, Code: code, Message: msg})
	}
	if !c.Scope.valid() {
		add("scope", "directory.scope_invalid", `The scope is "all", "none" or "selected".`)
	}
	if c.Scope == ScopeSelected && len(c.OUs) == 0 {
		add("ous", "directory.ous_required", "Select at least one organisation unit, or import all of them.")
	}
	if len(c.OUs) > maxOUs {
		add("ous", "directory.too_many_ous", fmt.Sprintf("Select at most %d organisation units.", maxOUs))
	}
	for i, ou := range c.OUs {
		field := fmt.Sprintf("ous[%d]", i)
		if msg := checkDN(ou, "The organisation unit"); msg != "" {
			add(field, "directory.ou_invalid", msg)
		} else if baseDN != "" && !underDN(ou, baseDN) {
			add(field, "directory.ou_outside_base", "The organisation unit "+ou+" is not under the base DN "+baseDN+".")
		}
	}
	bad = append(bad, c.Mapping.validate(fields)...)
	if msg := checkFilter(c.Filter); msg != "" {
		add("filter", "directory.filter_invalid", msg)
	}
	if len(c.Exclusions) > maxRules {
		add("exclusions", "directory.too_many_rules", fmt.Sprintf("A directory has at most %d exclusion rules.", maxRules))
	}
	for i, x := range c.Exclusions {
		field := fmt.Sprintf("exclusions[%d]", i)
		if !attributeName.MatchString(x.Attribute) {
			add(field+".attribute", "directory.attribute_invalid", "Give the attribute the rule looks at, such as department.")
		}
		if !x.Match.valid() {
			add(field+".match", "directory.match_invalid", `The match type is "exact", "partial" or "all".`)
		}
		if len(x.Values) == 0 || len(x.Values) > maxValues || slices.ContainsFunc(x.Values, func(v string) bool { return strings.TrimSpace(v) == "" || len(v) > maxText }) {
			add(field+".values", "directory.values_invalid", fmt.Sprintf("Give the rule from 1 to %d values, none of them empty.", maxValues))
		}
	}
	if c.DisabledAttribute != "" && !attributeName.MatchString(c.DisabledAttribute) {
		add("disabled_attribute", "directory.attribute_invalid", "Give the attribute that marks a disabled account, such as pwdAccountLockedTime, or leave it empty.")
	}
	if len(c.DisabledValue) > maxText {
		add("disabled_value", "directory.value_too_long", fmt.Sprintf("The value has at most %d characters.", maxText))
	}
	if !c.Leavers.valid() {
		add("leavers", "directory.leavers_invalid", `What happens to users who leave the directory is "disable" or "delete".`)
	}
	if c.Threshold < 1 || c.Threshold > 100 {
		add("threshold", "directory.threshold_invalid", "The safety threshold is a percentage from 1 to 100.")
	}
	bad = append(bad, c.Groups.validate(baseDN)...)
	return bad
}

// maxGroupDNs is how many groups a mapping may name one by one.
const maxGroupDNs = 1000

func (g *GroupMapping) validate(baseDN string) []errs.FieldError {
	var bad []errs.FieldError
	add := func(field, code, msg string) {
		bad = append(bad, errs.FieldError{Field: "groups." + field, Code: code, Message: msg})
	}
	if len(g.DNs) > maxGroupDNs {
		add("dns", "directory.too_many_groups", fmt.Sprintf("Name at most %d groups one by one; a filter can choose more.", maxGroupDNs))
	}
	for i, dn := range g.DNs {
		field := fmt.Sprintf("dns[%d]", i)
		if msg := checkDN(dn, "The group's DN"); msg != "" {
			add(field, "directory.group_dn_invalid", msg)
		} else if baseDN != "" && !underDN(dn, baseDN) {
			add(field, "directory.group_outside_base", "The group "+dn+" is not under the base DN "+baseDN+".")
		}
	}
	if g.BaseDN != "" {
		if msg := checkDN(g.BaseDN, "The groups' base DN"); msg != "" {
			add("base_dn", "directory.base_dn_invalid", msg)
		} else if baseDN != "" && !underDN(g.BaseDN, baseDN) {
			add("base_dn", "directory.ou_outside_base", "The groups' base DN is not under the base DN "+baseDN+".")
		}
	}
	if g.Filter != "" {
		if msg := checkFilter(g.Filter); msg != "" {
			add("filter", "directory.filter_invalid", msg)
		}
	} else if g.Enabled && len(g.DNs) == 0 {
		add("filter", "directory.groups_required", "Choose the groups to synchronise: give their DNs, an LDAP filter such as (objectClass=group), or both.")
	}
	if len(g.Members) > 10 {
		add("member_attributes", "directory.attribute_invalid", "Give at most 10 member attributes.")
	}
	for i, m := range g.Members {
		if !attributeName.MatchString(m) {
			add(fmt.Sprintf("member_attributes[%d]", i), "directory.attribute_invalid",
				fmt.Sprintf("%q is not an attribute name: give the attribute that lists a group's members, such as member.", m))
		}
	}
	if g.Enabled && len(g.Members) == 0 {
		add("member_attributes", "directory.mapping_required", "Give the attribute that lists a group's members, such as member.")
	}
	for _, a := range []struct{ field, v, example string }{{"name_attribute", g.Name, "cn"}, {"primary", g.Primary, "objectGUID or entryUUID"}} {
		switch {
		case a.v == "" && g.Enabled:
			add(a.field, "directory.mapping_required", "Give the attribute, such as "+a.example+".")
		case a.v != "" && !attributeName.MatchString(a.v):
			add(a.field, "directory.attribute_invalid", fmt.Sprintf("%q is not an attribute name: give one such as %s.", a.v, a.example))
		}
	}
	return bad
}

func (m *Mapping) validate(fields map[string]bool) []errs.FieldError {
	var bad []errs.FieldError
	attr := func(field, v string, required bool) {
		switch {
		case v == "" && required:
			bad = append(bad, errs.FieldError{Field: "mapping." + field, Code: "directory.mapping_required",
				Message: "Map this field to the attribute that holds it."})
		case v != "" && !attributeName.MatchString(v):
			bad = append(bad, errs.FieldError{Field: "mapping." + field, Code: "directory.attribute_invalid",
				Message: fmt.Sprintf("%q is not an attribute name (letters, digits and hyphens, such as givenName).", v)})
		}
	}
	attr("username", m.Username, true)
	attr("email", m.Email, true)
	attr("first_name", m.FirstName, false)
	attr("last_name", m.LastName, false)
	attr("phone", m.Phone, false)
	attr("department", m.Department, false)
	attr("manager", m.Manager, false)
	attr("primary", m.Primary, true)
	if len(m.Custom) > maxCustom {
		bad = append(bad, errs.FieldError{Field: "mapping.custom", Code: "directory.too_many_fields",
			Message: fmt.Sprintf("Map at most %d custom fields.", maxCustom)})
	}
	for _, name := range slices.Sorted(mapKeys(m.Custom)) {
		field := "mapping.custom." + name
		if fields != nil && !fields[strings.ToLower(name)] {
			bad = append(bad, errs.FieldError{Field: field, Code: "directory.field_unknown",
				Message: "There is no custom field named " + name + ": add it under Custom fields first."})
		}
		attr("custom."+name, m.Custom[name], true)
	}
	return bad
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// checkFilter says what is wrong with an LDAP filter, or "".
func checkFilter(f string) string {
	if strings.TrimSpace(f) == "" {
		return "Give an LDAP filter, such as (objectClass=person)."
	}
	if len(f) > maxText {
		return fmt.Sprintf("A filter has at most %d characters.", maxText)
	}
	if _, err := ldap.CompileFilter(f); err != nil {
		return "This is not a valid LDAP filter: " + plainLDAPError(err) + ". A filter looks like (&(objectClass=person)(department=Sales))."
	}
	return ""
}

// plainLDAPError is the text of a go-ldap error without its "LDAP Result Code …" prefix.
func plainLDAPError(err error) string {
	var le *ldap.Error
	if e, ok := err.(*ldap.Error); ok {
		le = e
	}
	if le != nil && le.Err != nil {
		return le.Err.Error()
	}
	return err.Error()
}

// certPool parses a PEM bundle of CA certificates; msg says what is wrong with one that cannot
// be read.
func certPool(pemText string) (pool *x509.CertPool, msg string) {
	pool = x509.NewCertPool()
	rest := []byte(pemText)
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, "The CA certificate holds a " + strings.ToLower(b.Type) + ", not a certificate: give the PEM text that starts with -----BEGIN CERTIFICATE-----."
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, "The CA certificate cannot be read: " + err.Error() + "."
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 || strings.TrimSpace(string(rest)) != "" {
		return nil, "The CA certificate is not PEM text: give the text that starts with -----BEGIN CERTIFICATE-----."
	}
	return pool, ""
}
