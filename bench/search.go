package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/usherhq/usher/internal/errs"
	"github.com/usherhq/usher/internal/user"
)

// The kinds of P-SEARCH query, in the order of the results table. Searches are listed in match
// order, the API's default with a search text.
var searchKinds = []string{"list", "status", "name-prefix", "email-prefix", "sort", "deep", "status+sort"}

// A search sorted by a column is outside P-SEARCH (QUALITY.md names lists, status filters, name
// and email prefixes and deep pages) and is refused beyond store.MaxSortedMatches matches; it is
// measured beside it, the refusals apart.
const searchSorted, searchRefused = "search+sort", "search+sort refused"

var otherSorts = []string{"username", "email", "created_at", "updated_at", "-name", "-username", "-email", "-created_at", "-updated_at"}

// runSearch is P-SEARCH: concurrent workers call user.Service.ListUsers, the same call the API
// and the console make, with a mix of lists, filters, prefix searches, sorts and deep pages; with
// -serve, they are clients of usher serve running in its own process, GET /api/v1/users with an
// API token over keep-alive connections, as a client sees it.
func runSearch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("search", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	workers := fs.Int("workers", 16, "concurrent clients")
	duration := fs.Duration("duration", 30*time.Second, "how long to measure")
	warmup := fs.Duration("warmup", 5*time.Second, "how long to run the same mix before measuring")
	seed := fs.Uint64("seed", 1, "seed of the query mix and of the names the prefixes are drawn from")
	depth := fs.Int("depth", 25, "pages a deep walk follows; pages 2 and later are recorded as deep")
	limit := fs.Int("limit", 50, "page size (the API's default)")
	slowest := fs.Int("slowest", 10, "list this many of the slowest queries with their filters")
	serveFlag := fs.Bool("serve", false, "measure over HTTP: start usher serve in its own process and send GET /api/v1/users to it")
	bin := fs.String("usher", "", "with -serve, the usher binary to run (default: build one at "+defaultBinary+")")
	only := fs.String("only", "", "comma-separated kinds to run (default all: "+strings.Join(searchKinds, ",")+","+searchSorted+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	kinds := append(slices.Clone(searchKinds), searchSorted)
	if *only != "" {
		kinds = strings.Split(*only, ",")
	}
	st, _, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := userService(st)
	if err != nil {
		return err
	}
	actor := user.System("bench")
	counts, err := svc.Counts(ctx, actor)
	if err != nil {
		return err
	}
	list, how := serviceLister(svc, actor), "user.Service.ListUsers in this process"
	if *serveFlag {
		st.Close()
		server, err := startServer(ctx, db, *bin)
		if err != nil {
			return err
		}
		defer server.stop()
		token, err := remoteToken(ctx, server.base)
		if err != nil {
			return err
		}
		client := keepAlive(*workers)
		defer client.CloseIdleConnections()
		list, how = httpLister(client, server.base, token), "GET /api/v1/users from usher serve (pid "+strconv.Itoa(server.pid)+") over keep-alive HTTP"
	}
	fmt.Printf("search: %s, %d users, %d workers, %s (after %s warm-up), page size %d, deep walks of %d pages; %s\n\n",
		db.name(), counts.Total, *workers, *duration, *warmup, *limit, *depth, how)

	var slow slowList
	run := func(d time.Duration, seedOffset uint64) (samples, int, error) {
		// Queries in flight at the deadline run to their end and count: cancelling them would
		// drop exactly the slowest ones.
		deadline := time.Now().Add(d)
		var mu sync.Mutex
		all := samples{}
		var firstErr error
		var wg sync.WaitGroup
		for w := range *workers {
			wg.Go(func() {
				q, err := newQuerier(*seed+seedOffset+uint64(w), list, *limit)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				mine := samples{}
				q.slow, q.deadline = slowList{keep: *slowest}, deadline
				for time.Now().Before(deadline) && ctx.Err() == nil {
					kind := kinds[q.rng.IntN(len(kinds))]
					if err := q.run(ctx, kind, *depth, mine); err != nil && ctx.Err() == nil {
						mu.Lock()
						firstErr = fmt.Errorf("%s: %w", kind, err)
						mu.Unlock()
						return
					}
				}
				mu.Lock()
				all.merge(mine)
				for _, x := range q.slow.items {
					slow.add(x)
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		n := 0
		for _, ds := range all {
			n += len(ds)
		}
		return all, n, firstErr
	}
	if *warmup > 0 {
		if _, _, err := run(*warmup, 1000); err != nil {
			return err
		}
	}
	slow = slowList{keep: *slowest}
	start := time.Now()
	res, n, err := run(*duration, 0)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	overall := res.table(os.Stdout, searchKinds, 25*time.Millisecond)
	for _, k := range []string{searchSorted, searchRefused} {
		if ds := res[k]; len(ds) > 0 {
			x := summarise(k, ds)
			fmt.Printf("| (%s) | %d | %s | %s | %s | %s |\n", k, x.n, ms(x.p50), ms(x.p95), ms(x.p99), ms(x.max))
		}
	}
	verdict := "meets"
	if overall.p99 > 25*time.Millisecond {
		verdict = "misses"
	}
	fmt.Printf("\n%d queries in %s: %.0f queries/s; overall p99 %s %s the P-SEARCH target of 25 ms\n",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), ms(overall.p99), verdict)
	if len(slow.items) > 0 {
		fmt.Printf("\nslowest %d:\n", len(slow.items))
		for _, x := range slow.items {
			fmt.Printf("  %9s  %-12s %s\n", ms(x.d), x.kind, x.what)
		}
	}
	return nil
}

// slowQuery is one query and its time, for the list of the slowest.
type slowQuery struct {
	d          time.Duration
	kind, what string
}

// slowList keeps the keep slowest queries, slowest first.
type slowList struct {
	keep  int
	items []slowQuery
}

func (l *slowList) add(x slowQuery) {
	if l.keep <= 0 || len(l.items) == l.keep && x.d <= l.items[len(l.items)-1].d {
		return
	}
	i, _ := slices.BinarySearchFunc(l.items, x, func(a, b slowQuery) int { return cmp.Compare(b.d, a.d) })
	l.items = slices.Insert(l.items, i, x)
	if len(l.items) > l.keep {
		l.items = l.items[:l.keep]
	}
}

func describe(f user.Filter, page int) string {
	var parts []string
	if f.Q != "" {
		parts = append(parts, fmt.Sprintf("q=%q", f.Q))
	}
	if f.Status != "" {
		parts = append(parts, "status="+string(f.Status))
	}
	sort := f.Sort
	if sort == "" {
		sort = "name"
		if f.Q != "" {
			sort = user.MatchSort
		}
	}
	parts = append(parts, "sort="+sort)
	if page > 1 {
		parts = append(parts, fmt.Sprintf("page %d", page))
	}
	return strings.Join(parts, " ")
}

// querier is one worker: its own random stream and a source of realistic names.
type querier struct {
	rng      *rand.Rand
	names    *population
	list     lister
	limit    int
	slow     slowList
	deadline time.Time // a deep walk stops at the page after it
}

func newQuerier(seed uint64, list lister, limit int) (*querier, error) {
	// The same name lists and skew as gen, so that prefixes are as common as in the data.
	names, err := newPopulation(1, 1)
	if err != nil {
		return nil, err
	}
	names.rng = rand.New(rand.NewPCG(seed, 0x6e616d6573))
	return &querier{rng: rand.New(rand.NewPCG(seed, 0x7365617263)), names: names, list: list, limit: limit}, nil
}

// namePrefix is the start of a first or last name, 2 to 5 letters, in the case a person might type.
func (q *querier) namePrefix() string {
	first, last := q.names.name()
	n := first
	if q.rng.IntN(2) == 0 {
		n = last
	}
	r := []rune(n)
	p := string(r[:min(len(r), 2+q.rng.IntN(4))])
	switch q.rng.IntN(3) {
	case 0:
		return strings.ToLower(p)
	case 1:
		return strings.ToUpper(p)
	}
	return p
}

// emailPrefix is "first.l…", as gen spells addresses, cut after 1 or more letters of the last name.
func (q *querier) emailPrefix() string {
	first, last := q.names.name()
	l := ascii(last)
	p := ascii(first) + "." + l[:1+q.rng.IntN(len(l))]
	if q.rng.IntN(4) == 0 {
		p = strings.ToUpper(p)
	}
	return p
}

func (q *querier) status() user.Status { return user.Statuses[q.rng.IntN(len(user.Statuses))] }

// filter returns a filter of a random narrowing: none, a status, or a name or email prefix.
func (q *querier) filter() user.Filter {
	switch q.rng.IntN(4) {
	case 0:
		return user.Filter{}
	case 1:
		return user.Filter{Status: q.status()}
	case 2:
		return user.Filter{Q: q.namePrefix()}
	}
	return user.Filter{Q: q.emailPrefix()}
}

func (q *querier) run(ctx context.Context, kind string, depth int, out samples) error {
	var f user.Filter
	switch kind {
	case "list":
	case "status":
		f.Status = q.status()
	case "name-prefix":
		f.Q = q.namePrefix()
	case "email-prefix":
		f.Q = q.emailPrefix()
	case "sort":
		f.Sort = otherSorts[q.rng.IntN(len(otherSorts))]
	case "status+sort":
		f.Status = q.status()
		f.Sort = otherSorts[q.rng.IntN(len(otherSorts))]
	case searchSorted:
		f = q.filter()
		for f.Q == "" {
			f = q.filter()
		}
		f.Sort = append([]string{"name"}, otherSorts...)[q.rng.IntN(len(otherSorts)+1)]
	case "deep":
		f = q.filter()
		if f.Q == "" { // a search walks in match order
			f.Sort = append([]string{"name"}, otherSorts...)[q.rng.IntN(len(otherSorts)+1)]
		}
		return q.walk(ctx, f, depth, out)
	default:
		return fmt.Errorf("unknown kind %q (kinds: %s)", kind, strings.Join(searchKinds, ", "))
	}
	f.Limit = q.limit
	start := time.Now()
	_, err := q.list(ctx, f)
	if e, ok := errs.As(err); ok && kind == searchSorted && e.Code == "filter.search_too_broad" {
		kind, err = searchRefused, nil
	}
	if err != nil {
		return err
	}
	d := time.Since(start)
	out.add(kind, d)
	q.slow.add(slowQuery{d: d, kind: kind, what: describe(f, 1)})
	return nil
}

// walk follows the cursors of f for depth pages, recording every page after the first.
func (q *querier) walk(ctx context.Context, f user.Filter, depth int, out samples) error {
	f.Limit = q.limit
	for page := 1; page <= depth; page++ {
		start := time.Now()
		next, err := q.list(ctx, f)
		if err != nil {
			return err
		}
		if page > 1 {
			d := time.Since(start)
			out.add("deep", d)
			q.slow.add(slowQuery{d: d, kind: "deep", what: describe(f, page)})
		}
		if next == "" || time.Now().After(q.deadline) {
			return nil
		}
		f.Cursor = next
	}
	return nil
}
