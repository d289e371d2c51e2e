package main

import (
	"bufio"
	"embed"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/usherhq/usher/internal/user"
)

//go:embed names/*.txt
var nameFiles embed.FS

// benchPassword is the password of every generated user who has one. All of them share one
// real argon2id hash of it (auth.DefaultHashParams): hashing a million passwords would take
// hours, and one shared hash keeps the rows their real size and the data deterministic.
const (
	benchPassword = "bench-password-2026"
	benchHash     = "$argon2id$v=19$m=19456,t=2,p=1$f6eb7wQuWfMLh8o8NTSZ7A$TF7J3i0f2PX7gHNwobxUiNwTNpkxZ7VAmDSKTSNRWpg"
)

// genEnd is when the generated history ends; created_at spreads over the three years before.
var genEnd = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

const genSpan = 3 * 365 * 24 * time.Hour

var (
	domains     = []string{"example.com", "example.org", "example.net", "corp.example", "mail.example", "acme.example"}
	departments = []string{"Engineering", "Sales", "Marketing", "Finance", "Human Resources", "Legal", "Operations",
		"Customer Support", "Product", "Design", "IT", "Procurement", "Research", "Facilities", "Logistics", "Customer Success"}
	regions     = []string{"EMEA", "Americas", "APAC"}
	employments = []string{"employee", "employee", "employee", "employee", "employee", "employee", "contractor", "contractor", "intern"}
	phoneFormat = []string{"+1 (###) ###-####", "+44 20 #### ####", "+49 30 #######", "+33 1 ## ## ## ##", "+34 91 ### ## ##",
		"+39 06 #### ####", "+81 3-####-####", "+91 ##### #####", "+55 11 #####-####", "+48 22 ### ## ##"}
)

// leaders is how many of the first users may be someone's manager.
const leaders = 1000

// privileged groups grant roles and have few members; the others are ordinary teams.
var privileged = []struct{ name, role string }{
	{"IT Helpdesk", user.UserManagerRole},
	{"Security Auditors", user.AuditorRole},
	{"Platform Administrators", user.AdministratorRole},
}

// groupNames returns the 51 group names: a team per department and region, then the privileged ones.
func groupNames() []string {
	var out []string
	for _, d := range departments {
		for _, r := range regions {
			out = append(out, d+" "+r)
		}
	}
	for _, p := range privileged {
		out = append(out, p.name)
	}
	return out
}

// population generates users deterministically: the same seed and n give the same users.
type population struct {
	n         int
	rng       *rand.Rand
	firsts    []string
	lasts     []string
	teams     int // groups 0..teams-1 are ordinary teams; the rest are privileged
	groups    int
	i         int
	leaderIDs []string
}

func newPopulation(seed uint64, n int) (*population, error) {
	firsts, err := readNames("names/first.txt")
	if err != nil {
		return nil, err
	}
	lasts, err := readNames("names/last.txt")
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x75736865722d6265))
	rng.Shuffle(len(firsts), func(i, j int) { firsts[i], firsts[j] = firsts[j], firsts[i] })
	rng.Shuffle(len(lasts), func(i, j int) { lasts[i], lasts[j] = lasts[j], lasts[i] })
	g := len(groupNames())
	return &population{n: n, rng: rng, firsts: firsts, lasts: lasts, teams: g - len(privileged), groups: g}, nil
}

func readNames(path string) ([]string, error) {
	f, err := nameFiles.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	return out, sc.Err()
}

// skewed picks from names with a popularity skew: the first tenth of the list gets about a
// third of the draws, as with real names.
func (p *population) skewed(names []string) string {
	u := p.rng.Float64()
	return names[int(u*u*float64(len(names)))]
}

// name draws a first and last name from the generated distribution (search uses it for prefixes).
func (p *population) name() (first, last string) { return p.skewed(p.firsts), p.skewed(p.lasts) }

// member is one generated user with the groups they belong to (indexes into groupNames).
type member struct {
	*user.User
	groups []int
}

// next returns the next user, or nil after n. Users come in created_at order, so their
// UUIDv7 ids grow as they would have.
func (p *population) next() *member {
	if p.i >= p.n {
		return nil
	}
	i, r := p.i, p.rng
	p.i++
	step := genSpan / time.Duration(p.n)
	created := genEnd.Add(-genSpan + time.Duration(i)*step + time.Duration(r.Int64N(int64(step)))).Truncate(time.Microsecond)
	first, last := p.name()
	u := &user.User{
		ID:        p.uuidV7(created),
		Username:  fmt.Sprintf("%s%s%d", ascii(first)[:1], ascii(last), i+1),
		Email:     fmt.Sprintf("%s.%s+%d@%s", ascii(first), ascii(last), i+1, domains[r.IntN(len(domains))]),
		FirstName: first,
		LastName:  last,
		Source:    user.Local,
		CreatedAt: created,
		UpdatedAt: created,
		Version:   1,
	}
	if r.Float64() < 0.8 {
		u.Phone = p.phone()
	}
	if r.Float64() < 0.95 {
		u.Department = departments[r.IntN(len(departments))]
	}
	switch x := r.Float64(); {
	case x < 0.85:
		u.Status = user.Active
	case x < 0.93:
		u.Status = user.Invited
	case x < 0.95:
		u.Status = user.Locked
	default:
		u.Status = user.Disabled
	}
	switch x := r.Float64(); {
	case x < 0.90:
	case x < 0.98:
		u.Source, u.ExternalID = user.Directory, p.uuidV4()
	default:
		u.Source, u.ExternalID = user.SCIM, "00u"+strconv.FormatInt(int64(i+1)*7919, 36)
	}
	left := genEnd.Sub(created)
	later := func() time.Time { return created.Add(time.Duration(r.Int64N(int64(left)))).Truncate(time.Microsecond) }
	if u.Status != user.Invited && (u.Status != user.Disabled || r.Float64() < 0.8) {
		a := created.Add(time.Duration(r.Int64N(int64(min(left, 72*time.Hour))))).Truncate(time.Microsecond)
		u.ActivatedAt = &a
		u.PasswordHash = benchHash
		if u.Status == user.Active && r.Float64() < 0.8 {
			l := later()
			u.LastLoginAt = &l
		}
	}
	if r.Float64() < 0.5 {
		u.UpdatedAt = later()
		u.Version = 2 + r.Int64N(6)
	}
	if i >= leaders && r.Float64() < 0.4 {
		u.ManagerID = p.leaderIDs[r.IntN(leaders)]
	} else if u.Source == user.Directory && r.Float64() < 0.5 {
		f, l := p.name()
		u.ManagerName = f + " " + l
	}
	if i < leaders {
		p.leaderIDs = append(p.leaderIDs, u.ID)
	}
	if r.Float64() < 0.6 {
		u.Custom = map[string]string{"cost_center": fmt.Sprintf("CC-%04d", r.IntN(400))}
	}
	if r.Float64() < 0.7 {
		if u.Custom == nil {
			u.Custom = map[string]string{}
		}
		u.Custom["employment"] = employments[r.IntN(len(employments))]
	}
	m := &member{User: u}
	if r.Float64() < 0.6 {
		for range 1 + r.IntN(3) {
			if g := r.IntN(p.teams); !containsInt(m.groups, g) {
				m.groups = append(m.groups, g)
			}
		}
	}
	for k := range privileged {
		if r.Float64() < 0.0005 {
			m.groups = append(m.groups, p.teams+k)
		}
	}
	return m
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func (p *population) phone() string {
	f := phoneFormat[p.rng.IntN(len(phoneFormat))]
	b := []byte(f)
	for k, c := range b {
		if c == '#' {
			b[k] = byte('0' + p.rng.IntN(10))
		}
	}
	return string(b)
}

// uuidV7 is a version 7 UUID for time t with seeded random bits.
func (p *population) uuidV7(t time.Time) string {
	var u uuid.UUID
	ms := uint64(t.UnixMilli())
	for k := range 6 {
		u[k] = byte(ms >> (40 - 8*k))
	}
	lo, hi := p.rng.Uint64(), p.rng.Uint64()
	for k := range 8 {
		u[6+k] = byte(lo >> (8 * k))
	}
	u[14], u[15] = byte(hi), byte(hi>>8)
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return u.String()
}

func (p *population) uuidV4() string {
	var u uuid.UUID
	lo, hi := p.rng.Uint64(), p.rng.Uint64()
	for k := range 8 {
		u[k], u[8+k] = byte(lo>>(8*k)), byte(hi>>(8*k))
	}
	u[6] = 0x40 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return u.String()
}

// folds spells the letters of the name lists in ASCII, for usernames and email addresses.
var folds = map[rune]string{
	'á': "a", 'à': "a", 'â': "a", 'ä': "a", 'ã': "a", 'å': "a", 'æ': "ae", 'ç': "c", 'č': "c", 'ć': "c",
	'é': "e", 'è': "e", 'ê': "e", 'ë': "e", 'ě': "e", 'ę': "e", 'í': "i", 'ì': "i", 'î': "i", 'ï': "i", 'ı': "i",
	'ñ': "n", 'ń': "n", 'ó': "o", 'ò': "o", 'ô': "o", 'ö': "o", 'õ': "o", 'ø': "o", 'ő': "o", 'ú': "u",
	'ù': "u", 'û': "u", 'ü': "u", 'ů': "u", 'ű': "u", 'ý': "y", 'ÿ': "y", 'ß': "ss", 'ł': "l", 'ś': "s",
	'š': "s", 'ş': "s", 'ź': "z", 'ż': "z", 'ž': "z", 'ř': "r", 'ğ': "g", 'đ': "d", 'ễ': "e",
}

// ascii is name in lower-case ASCII letters only: "O'Brien" → "obrien", "Sørensen" → "sorensen".
func ascii(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r)
		case folds[r] != "":
			b.WriteString(folds[r])
		}
	}
	return b.String()
}
