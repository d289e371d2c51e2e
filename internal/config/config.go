// Package config is usher's one configuration: defaults, then an optional file, then USHER_*
// environment variables, then command-line flags. Validate reports every wrong setting at once.
package config

import (
	"bufio"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/usherhq/usher/internal/auth"
	"github.com/usherhq/usher/internal/secret"
	"github.com/usherhq/usher/internal/user"
)

// Config is everything usher serve can be told.
type Config struct {
	Listen          string
	MetricsListen   string        // empty: no metrics endpoint
	WriteTimeout    time.Duration // how long a response may wait for the client to read it, plus 1 s per 64 KiB
	DataDir         string
	DatabaseURL     string
	PublicURL       string
	AdminEmail      string
	AdminPassword   string
	LogLevel        string
	LogFormat       string
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	PasswordMinLen  int
	LockoutAfter    int           // consecutive failed sign-ins that lock an account
	AutoUnlockAfter time.Duration // 0: locked accounts stay locked until an administrator unlocks them
	ResetUnlocks    bool          // a completed password reset clears a lockout
	ResetLinkValid  time.Duration
	InvitationValid time.Duration // how long an invitation link works
	InviteResend    time.Duration // least time between two invitation emails to one person
	ImportMaxSize   int64         // the largest import file taken, in bytes
	ImportLease     time.Duration // how long an import's job holds it between two batches
	ImportBatch     int           // rows an import applies in one transaction
	ShutdownTimeout time.Duration
	SMTPHost        string // empty: mail goes to .eml files in the data directory
	SMTPPort        int
	SMTPTLS         string // starttls, tls or none
	SMTPUsername    string
	SMTPPassword    string
	MailFrom        string         // default usher@<host of public-url>
	SecretKey       string         // base64 of 32 bytes; empty: a key file in the data directory
	TrustedProxies  []netip.Prefix // peers whose X-Forwarded-For names the client
	SignInLimits    auth.Limits
	File            string // the configuration file read, if any
}

// setting describes one configuration entry under all its names.
type setting struct {
	name  string // flag and file key
	usage string
	def   string
	get   func(c *Config) string
	set   func(c *Config, v string) error
}

func (s setting) env() string {
	return "USHER_" + strings.ToUpper(strings.ReplaceAll(s.name, "-", "_"))
}

func str(f func(c *Config) *string) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return *f(c) }, func(c *Config, v string) error { *f(c) = v; return nil }
}

func dur(f func(c *Config) *time.Duration) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return f(c).String() }, func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration (write it like 90s, 30m or 12h)", v)
		}
		*f(c) = d
		return nil
	}
}

// size reads a number of bytes: 512MiB, 2GiB, 100MB, 64KiB or a plain number.
func size(f func(c *Config) *int64) (func(*Config) string, func(*Config, string) error) {
	units := []struct {
		suffix string
		n      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	return func(c *Config) string {
			v := *f(c)
			for i := 2; i >= 0; i-- { // the largest of GiB, MiB and KiB that divides it
				if u := units[i]; v >= u.n && v%u.n == 0 {
					return strconv.FormatInt(v/u.n, 10) + u.suffix
				}
			}
			return strconv.FormatInt(v, 10)
		}, func(c *Config, v string) error {
			num, mult := strings.TrimSpace(v), int64(1)
			for _, u := range units {
				if rest, ok := strings.CutSuffix(num, u.suffix); ok {
					num, mult = strings.TrimSpace(rest), u.n
					break
				}
			}
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil || n < 0 || n > (1<<62)/mult {
				return fmt.Errorf("%q is not a size (write it like 512MiB, 2GiB or a number of bytes)", v)
			}
			*f(c) = n * mult
			return nil
		}
}

func integer(f func(c *Config) *int) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return strconv.Itoa(*f(c)) }, func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
		*f(c) = n
		return nil
	}
}

// rate reads "N/DURATION" (120/1m: 120 per minute, all of which may come at once) or 0 for no limit.
func rate(f func(c *Config) *auth.Limit) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string {
			l := f(c)
			if l.Count <= 0 {
				return "0"
			}
			return fmt.Sprintf("%d/%s", l.Count, l.Per)
		}, func(c *Config, v string) error {
			if strings.TrimSpace(v) == "0" {
				*f(c) = auth.Limit{}
				return nil
			}
			n, per, ok := strings.Cut(v, "/")
			count, err1 := strconv.Atoi(strings.TrimSpace(n))
			d, err2 := time.ParseDuration(strings.TrimSpace(per))
			if !ok || err1 != nil || err2 != nil || count <= 0 || d <= 0 {
				return fmt.Errorf("%q is not a rate: write how many per how long, like 120/1m, or 0 for no limit", v)
			}
			*f(c) = auth.Limit{Count: count, Per: d}
			return nil
		}
}

// prefixes reads a comma-separated list of CIDRs or single addresses.
func prefixes(f func(c *Config) *[]netip.Prefix) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string {
			var out []string
			for _, p := range *f(c) {
				out = append(out, p.String())
			}
			return strings.Join(out, ",")
		}, func(c *Config, v string) error {
			var ps []netip.Prefix
			for _, item := range strings.Split(v, ",") {
				item = strings.TrimSpace(item)
				if item == "" {
					continue
				}
				p, err := netip.ParsePrefix(item)
				if err != nil {
					a, err2 := netip.ParseAddr(item)
					if err2 != nil {
						return fmt.Errorf("%q is not an address or a CIDR range like 10.0.0.0/8", item)
					}
					p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
				}
				ps = append(ps, p.Masked())
			}
			*f(c) = ps
			return nil
		}
}

func boolean(f func(c *Config) *bool) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return strconv.FormatBool(*f(c)) }, func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*f(c) = b
		return nil
	}
}

func settings() []setting {
	mk := func(name, def, usage string, gs func() (func(*Config) string, func(*Config, string) error)) setting {
		g, s := gs()
		return setting{name: name, def: def, usage: usage, get: g, set: s}
	}
	return []setting{
		mk("listen", "127.0.0.1:8080", "address to serve HTTP on", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.Listen })
		}),
		mk("metrics-listen", "", "address to serve Prometheus metrics (/metrics) on, apart from --listen; empty: no metrics", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.MetricsListen })
		}),
		mk("write-timeout", "30s", "how long a response may wait for the client to read it, plus 1s for every 64 KiB it holds; a client that reads slower is cut off, so it cannot hold the server", func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.WriteTimeout })
		}),
		mk("data-dir", "./usher-data", "directory for the SQLite database, the secret key and the mail drop", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.DataDir })
		}),
		mk("database-url", "", "PostgreSQL URL (postgres://…); empty for the embedded SQLite", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.DatabaseURL })
		}),
		mk("public-url", "", "the URL people reach usher at, used in emailed links (default http://LISTEN)", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.PublicURL })
		}),
		mk("admin-email", "", "email of the Default Administrator to create on first start", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.AdminEmail })
		}),
		mk("admin-password", "", "password of the Default Administrator to create on first start", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.AdminPassword })
		}),
		mk("log-level", "info", "debug, info, warn or error", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.LogLevel })
		}),
		mk("log-format", "text", "text or json", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.LogFormat })
		}),
		mk("session-idle", "2h", "a session unused this long ends", func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.SessionIdle })
		}),
		mk("session-absolute", "12h", "a session ends this long after sign-in", func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.SessionAbsolute })
		}),
		mk("password-min-length", "12", "shortest password accepted, in characters", func() (func(*Config) string, func(*Config, string) error) {
			return integer(func(c *Config) *int { return &c.PasswordMinLen })
		}),
		mk("lockout-threshold", "5", "consecutive failed sign-ins that lock an account", func() (func(*Config) string, func(*Config, string) error) {
			return integer(func(c *Config) *int { return &c.LockoutAfter })
		}),
		mk("lockout-auto-unlock", "0s", "unlock a locked-out account at its next sign-in after this long; 0 keeps it locked until an administrator unlocks it", func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.AutoUnlockAfter })
		}),
		mk("reset-unlocks", "false", "let a completed password reset clear a lockout", func() (func(*Config) string, func(*Config, string) error) {
			return boolean(func(c *Config) *bool { return &c.ResetUnlocks })
		}),
		mk("reset-link-lifetime", "60m", "how long an emailed password reset link works", func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.ResetLinkValid })
		}),
		mk("invitation-lifetime", "360h", "how long an emailed or copied invitation link works (15 days)", func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.InvitationValid })
		}),
		mk("invitation-resend-interval", "60s", "least time between two invitation emails to one person; 0s for none", func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.InviteResend })
		}),
		mk("import-max-size", "512MiB", "the largest file an import takes; a larger upload is refused before it is read", func() (func(*Config) string, func(*Config, string) error) {
			return size(func(c *Config) *int64 { return &c.ImportMaxSize })
		}),
		mk("import-lease", "10s", "how long an import's job holds the import between two batches: an import whose process died goes on elsewhere (or at the next start) once this runs out", func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.ImportLease })
		}),
		mk("import-batch-size", "500", "rows an import applies in one transaction: larger is faster, smaller stops sooner on cancel", func() (func(*Config) string, func(*Config, string) error) {
			return integer(func(c *Config) *int { return &c.ImportBatch })
		}),
		mk("signin-rate-address", "120/1m", "sign-in attempts taken from one client address (an IPv6 /64); more are refused with 429; 0 for no limit", func() (func(*Config) string, func(*Config, string) error) {
			return rate(func(c *Config) *auth.Limit { return &c.SignInLimits.SignInPerAddress })
		}),
		mk("signin-rate-login", "10/1m", "sign-in attempts taken for one username or email, from anywhere; 0 for no limit", func() (func(*Config) string, func(*Config, string) error) {
			return rate(func(c *Config) *auth.Limit { return &c.SignInLimits.SignInPerLogin })
		}),
		mk("reset-rate-address", "10/1m", "password reset requests taken from one client address; 0 for no limit", func() (func(*Config) string, func(*Config, string) error) {
			return rate(func(c *Config) *auth.Limit { return &c.SignInLimits.ResetPerAddress })
		}),
		mk("reset-interval", "60s", "least time between two reset emails to one account on requests from the sign-in page", func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.SignInLimits.ResetInterval })
		}),
		mk("trusted-proxies", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client; empty trusts none", func() (func(*Config) string, func(*Config, string) error) {
			return prefixes(func(c *Config) *[]netip.Prefix { return &c.TrustedProxies })
		}),
		mk("shutdown-timeout", "15s", "how long to let requests finish on shutdown", func() (func(*Config) string, func(*Config, string) error) {
			return dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })
		}),
		mk("smtp-host", "", "SMTP server to send email through; empty to write .eml files to DATA-DIR/mail", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.SMTPHost })
		}),
		mk("smtp-port", "587", "SMTP server port", func() (func(*Config) string, func(*Config, string) error) {
			return integer(func(c *Config) *int { return &c.SMTPPort })
		}),
		mk("smtp-tls", "starttls", "starttls (required), tls (from the first byte, usually port 465) or none", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.SMTPTLS })
		}),
		mk("smtp-username", "", "SMTP user name; empty for no authentication", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.SMTPUsername })
		}),
		mk("smtp-password", "", "SMTP password", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.SMTPPassword })
		}),
		mk("mail-from", "", "sender address of usher's email (default usher@HOST of --public-url)", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.MailFrom })
		}),
		mk("secret-key", "", "base64 of 32 random bytes that encrypt stored secrets (default: a key generated in DATA-DIR/secret.key); give every replica the same", func() (func(*Config) string, func(*Config, string) error) {
			return str(func(c *Config) *string { return &c.SecretKey })
		}),
	}
}

// Problem is one wrong setting.
type Problem struct {
	Setting string // the flag name
	Source  string // where the value came from: default, file, env or flag
	Message string
}

func (p Problem) String() string {
	s := setting{name: p.Setting}
	return fmt.Sprintf("--%s (%s, from %s): %s", p.Setting, s.env(), p.Source, p.Message)
}

// Error is every problem of a configuration.
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the configuration has %d problem(s):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// Flags registers every setting as a flag on fs, plus --config.
func Flags(fs *pflag.FlagSet) {
	fs.String("config", "", "configuration file (lines of name = value, names as the flags)")
	for _, s := range settings() {
		fs.String(s.name, s.def, s.usage+" ["+s.env()+"]")
	}
}

// Load builds the configuration from defaults, the file named by --config or USHER_CONFIG,
// the environment and the flags that were set, then validates it. The error lists every problem.
func Load(fs *pflag.FlagSet, environ []string) (*Config, error) {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	c := &Config{}
	source := map[string]string{}
	var problems []Problem
	apply := func(s setting, v, from string) {
		if err := s.set(c, v); err != nil {
			problems = append(problems, Problem{Setting: s.name, Source: from, Message: err.Error()})
			return
		}
		source[s.name] = from
	}
	all := settings()
	for _, s := range all {
		apply(s, s.def, "default")
	}
	file := env["USHER_CONFIG"]
	if f := fs.Lookup("config"); f != nil && f.Changed {
		file = f.Value.String()
	}
	if file != "" {
		c.File = file
		values, fileProblems := readFile(file, all)
		problems = append(problems, fileProblems...)
		for _, s := range all {
			if v, ok := values[s.name]; ok {
				apply(s, v, "file "+file)
			}
		}
	}
	for _, s := range all {
		if v, ok := env[s.env()]; ok {
			apply(s, v, "env")
		}
	}
	for _, s := range all {
		if f := fs.Lookup(s.name); f != nil && f.Changed {
			apply(s, f.Value.String(), "flag")
		}
	}
	for _, p := range c.validate() {
		p.Source = source[p.Setting]
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		return c, &Error{Problems: problems}
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Listen
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.MailFrom == "" {
		host := "localhost"
		if u, err := url.Parse(c.PublicURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		c.MailFrom = "usher@" + host
	}
	return c, nil
}

func readFile(path string, all []setting) (map[string]string, []Problem) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []Problem{{Setting: "config", Source: "flag", Message: "cannot read the configuration file: " + err.Error()}}
	}
	defer f.Close()
	known := map[string]bool{}
	for _, s := range all {
		known[s.name] = true
	}
	values := map[string]string{}
	var problems []Problem
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"`)
		switch {
		case !ok:
			problems = append(problems, Problem{Setting: "config", Source: "file " + path, Message: fmt.Sprintf("line %d is not name = value", n)})
		case !known[k]:
			problems = append(problems, Problem{Setting: "config", Source: "file " + path, Message: fmt.Sprintf("line %d: there is no setting called %q", n, k)})
		default:
			values[k] = v
		}
	}
	return values, problems
}

func (c *Config) validate() []Problem {
	var out []Problem
	bad := func(name, msg string) { out = append(out, Problem{Setting: name, Message: msg}) }
	if msg := checkAddress(c.Listen); msg != "" {
		bad("listen", msg)
	}
	if c.MetricsListen != "" {
		if msg := checkAddress(c.MetricsListen); msg != "" {
			bad("metrics-listen", msg)
		} else if clash := sameSocket(c.MetricsListen, c.Listen); clash != "" {
			bad("metrics-listen", fmt.Sprintf("must differ from --listen %q: both would listen on port %s; metrics are kept off the public address, so give --metrics-listen another port", c.Listen, clash))
		}
	}
	if c.WriteTimeout < time.Second {
		bad("write-timeout", "must be at least 1s")
	}
	if c.DatabaseURL == "" && strings.TrimSpace(c.DataDir) == "" {
		bad("data-dir", "must not be empty when no database URL is given")
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			bad("database-url", "must be a PostgreSQL URL like postgres://user:password@host:5432/usher")
		}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			bad("public-url", "must be an absolute http or https URL without query, like https://usher.example.com")
		}
	}
	if c.AdminEmail != "" {
		if fe := user.ValidateEmail("admin-email", c.AdminEmail); fe != nil {
			bad("admin-email", fe.Message)
		}
		if c.AdminPassword == "" {
			bad("admin-password", "is required with --admin-email")
		}
	}
	if c.AdminPassword != "" {
		if c.AdminEmail == "" {
			bad("admin-email", "is required with --admin-password")
		}
		if len([]rune(c.AdminPassword)) < c.PasswordMinLen {
			bad("admin-password", fmt.Sprintf("must be at least %d characters", c.PasswordMinLen))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", fmt.Sprintf("%q is not one of debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log-format", fmt.Sprintf("%q is not text or json", c.LogFormat))
	}
	if c.SessionIdle <= 0 {
		bad("session-idle", "must be positive")
	}
	if c.SessionAbsolute <= 0 {
		bad("session-absolute", "must be positive")
	} else if c.SessionIdle > c.SessionAbsolute {
		bad("session-idle", "must not be longer than --session-absolute")
	}
	if c.PasswordMinLen < 8 || c.PasswordMinLen > 128 {
		bad("password-min-length", "must be between 8 and 128")
	}
	if c.LockoutAfter < 1 || c.LockoutAfter > 100 {
		bad("lockout-threshold", "must be between 1 and 100")
	}
	if c.AutoUnlockAfter < 0 || c.AutoUnlockAfter > 0 && c.AutoUnlockAfter < time.Minute {
		bad("lockout-auto-unlock", "must be 0 (off) or at least 1m")
	}
	if c.ResetLinkValid < 5*time.Minute || c.ResetLinkValid > 24*time.Hour {
		bad("reset-link-lifetime", "must be between 5m and 24h")
	}
	if c.InvitationValid < time.Hour || c.InvitationValid > 90*24*time.Hour {
		bad("invitation-lifetime", "must be between 1h and 2160h (90 days)")
	}
	if c.ImportMaxSize < 1<<10 {
		bad("import-max-size", "must be at least 1KiB")
	}
	if c.ImportBatch < 1 || c.ImportBatch > 10000 {
		bad("import-batch-size", "must be between 1 and 10000")
	}
	if c.ImportLease < time.Second || c.ImportLease > 10*time.Minute {
		bad("import-lease", "must be between 1s and 10m")
	}
	if c.InviteResend < 0 || c.InviteResend > 24*time.Hour {
		bad("invitation-resend-interval", "must be between 0 (no interval) and 24h")
	}
	if c.SignInLimits.ResetInterval < 0 || c.SignInLimits.ResetInterval > 24*time.Hour {
		bad("reset-interval", "must be between 0 (no interval) and 24h")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "must be positive")
	}
	if net.ParseIP(c.SMTPHost) == nil && strings.ContainsAny(c.SMTPHost, " /:@") {
		bad("smtp-host", fmt.Sprintf("%q is not a host name or IP address (give the port with --smtp-port)", c.SMTPHost))
	}
	if c.SMTPPort < 1 || c.SMTPPort > 65535 {
		bad("smtp-port", "must be a port number from 1 to 65535")
	}
	switch c.SMTPTLS {
	case "starttls", "tls", "none":
	default:
		bad("smtp-tls", fmt.Sprintf("%q is not one of starttls, tls or none", c.SMTPTLS))
	}
	if c.SMTPPassword != "" && c.SMTPUsername == "" {
		bad("smtp-username", "is required with --smtp-password")
	}
	if c.MailFrom != "" {
		if a, err := mail.ParseAddress(c.MailFrom); err != nil || !strings.Contains(a.Address, "@") {
			bad("mail-from", fmt.Sprintf("%q is not an email address (like usher@example.com or \"usher\" <usher@example.com>)", c.MailFrom))
		}
	}
	if c.SecretKey != "" {
		if _, err := secret.ParseKey(c.SecretKey); err != nil {
			bad("secret-key", err.Error())
		}
	}
	return out
}

// HTTPS reports whether people reach usher over https, as the public URL says.
func (c *Config) HTTPS() bool {
	u, err := url.Parse(c.PublicURL)
	return err == nil && u.Scheme == "https"
}

// checkAddress says what is wrong with a listen address, or returns "".
func checkAddress(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not host:port (for example 127.0.0.1:8080 or :8080)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("the port %q is not a number from 0 to 65535", port)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Sprintf("the host %q must be an IP address or localhost", host)
	}
	return ""
}

// sameSocket tells where metrics and listen, two valid addresses, would both listen ("8080 of
// 127.0.0.1"), or "" when they can both be bound: another port, port 0, or addresses apart.
// Written addresses are compared as the sockets they bind: ":8080" and "0.0.0.0:8080" take port
// 8080 of every address, and localhost is 127.0.0.1 and ::1.
func sameSocket(metrics, listen string) string {
	mh, mp, _ := net.SplitHostPort(metrics)
	lh, lp, _ := net.SplitHostPort(listen)
	port, _ := strconv.Atoi(mp)
	if other, _ := strconv.Atoi(lp); port == 0 || port != other {
		return ""
	}
	m, l := boundIPs(mh), boundIPs(lh)
	switch {
	case m == nil && l == nil:
		return fmt.Sprintf("%d of every address", port)
	case m == nil:
		return fmt.Sprintf("%d, --metrics-listen on every address", port)
	case l == nil:
		return fmt.Sprintf("%d, --listen on every address", port)
	}
	for _, a := range m {
		for _, b := range l {
			if a.Equal(b) {
				return fmt.Sprintf("%d of %s", port, a)
			}
		}
	}
	return ""
}

// boundIPs are the addresses a listening host takes; nil for every address ("", 0.0.0.0, ::).
func boundIPs(host string) []net.IP {
	if host == "localhost" {
		return []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return nil
	}
	return []net.IP{ip}
}

// Print writes the effective configuration, with secrets hidden, one setting per line.
func (c *Config) Print(w interface{ Write([]byte) (int, error) }) {
	for _, s := range settings() {
		v := s.get(c)
		if (s.name == "admin-password" || s.name == "smtp-password" || s.name == "secret-key") && v != "" {
			v = "(set)"
		}
		if s.name == "database-url" && v != "" {
			if u, err := url.Parse(v); err == nil && u.User != nil {
				if _, has := u.User.Password(); has {
					u.User = url.UserPassword(u.User.Username(), "xxxxx")
				}
				v = u.String()
			}
		}
		fmt.Fprintf(w, "%s = %s\n", s.name, v)
	}
}
