package main

import (
	"fmt"
	"io"
	"slices"
	"time"
)

// samples are latencies by kind of operation. Each worker keeps its own, merged at the end,
// so that recording never contends.
type samples map[string][]time.Duration

func (s samples) add(kind string, d time.Duration) { s[kind] = append(s[kind], d) }

func (s samples) merge(o samples) {
	for k, ds := range o {
		s[k] = append(s[k], ds...)
	}
}

// summary is the distribution of one kind.
type summary struct {
	kind               string
	n                  int
	p50, p95, p99, max time.Duration
}

func summarise(kind string, ds []time.Duration) summary {
	s := slices.Clone(ds)
	slices.Sort(s)
	return summary{kind: kind, n: len(s), p50: percentile(s, 50), p95: percentile(s, 95), p99: percentile(s, 99), max: percentile(s, 100)}
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// table prints a Markdown table of each kind in order and of all of them together, marking
// the rows whose p99 is over target (0: no target).
func (s samples) table(w io.Writer, order []string, target time.Duration) (overall summary) {
	fmt.Fprintln(w, "| kind | n | p50 | p95 | p99 | max |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|")
	var all []time.Duration
	row := func(x summary) {
		mark := ""
		if target > 0 && x.p99 > target {
			mark = " ✗"
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s%s | %s |\n", x.kind, x.n, ms(x.p50), ms(x.p95), ms(x.p99), mark, ms(x.max))
	}
	for _, k := range order {
		if len(s[k]) == 0 {
			continue
		}
		row(summarise(k, s[k]))
		all = append(all, s[k]...)
	}
	overall = summarise("**overall**", all)
	row(overall)
	return overall
}

// ms formats a duration in milliseconds with a precision that suits its size.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f < 10:
		return fmt.Sprintf("%.2f ms", f)
	case f < 100:
		return fmt.Sprintf("%.1f ms", f)
	}
	return fmt.Sprintf("%.0f ms", f)
}
