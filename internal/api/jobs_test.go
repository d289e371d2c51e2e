package api_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/directory"
	"github.com/usherhq/usher/internal/user"
)

type jobsPage struct {
	Items []struct {
		Kind   string `json:"kind"`
		ID     string `json:"id"`
		Title  string `json:"title"`
		Status string `json:"status"`
		Link   string `json:"link"`
	} `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// walkJobs follows the jobs list's cursors at limit a page and returns the ids in order.
func walkJobs(t *testing.T, c *client, query string, limit int) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for range 100 {
		var p jobsPage
		url := "/api/v1/jobs?limit=" + strconv.Itoa(limit) + query
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		c.do("GET", url, nil).want(http.StatusOK).into(&p)
		if len(p.Items) > limit {
			t.Fatalf("a page of %d at limit %d", len(p.Items), limit)
		}
		for _, it := range p.Items {
			ids = append(ids, it.ID)
		}
		if cursor = p.NextCursor; cursor == "" {
			return ids
		}
	}
	t.Fatalf("the jobs list at limit %d does not end", limit)
	return nil
}

// TestJobsList: the jobs list shows imports and directory syncs together, newest first, to
// whoever may see each; its pages, at any size, give every job once; its filters apply to
// both kinds; a cursor usher did not make is refused.
func TestJobsList(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		dir := e.savedDirectory()
		run := func(status directory.RunStatus) string {
			time.Sleep(2 * time.Millisecond)
			r := &directory.Run{ID: unique("run"), DirectoryID: dir, Status: directory.RunQueued, Full: true, ActorName: "admin",
				ActorPermissions: user.AllPermissions(), CreatedAt: time.Now().UTC()}
			must(t, e.app.Store.InsertRun(ctx, r))
			switch status {
			case directory.RunRunning:
				must(t, e.app.Store.StartRun(ctx, r.ID, time.Now().UTC()))
			case directory.RunHeld:
				must(t, e.app.Store.StartRun(ctx, r.ID, time.Now().UTC()))
				must(t, e.app.Store.HoldRun(ctx, r.ID, &directory.Plan{Version: 1, Full: true}, "The directory returned no users.", time.Now().UTC()))
			}
			return r.ID
		}
		upload := func(name string) string {
			time.Sleep(2 * time.Millisecond)
			var imp struct {
				ID string `json:"id"`
			}
			e.admin.upload(name, []byte("Email,First name,Last name\nana@example.org,Ana,Lima\n")).want(http.StatusCreated).into(&imp)
			return imp.ID
		}
		// Newest first: the order they are made in, reversed.
		made := []string{run(directory.RunHeld), upload("first.csv"), upload("second.csv"), run(directory.RunRunning), upload("third.csv")}
		want := slices.Clone(made)
		slices.Reverse(want)

		var all jobsPage
		e.admin.do("GET", "/api/v1/jobs", nil).want(http.StatusOK).into(&all)
		var got []string
		for _, it := range all.Items {
			got = append(got, it.ID)
		}
		if !slices.Equal(got, want) || all.NextCursor != "" {
			t.Fatalf("jobs %v (next %q), want %v", got, all.NextCursor, want)
		}
		sync := all.Items[1]
		if sync.Kind != "directory_sync" || sync.Status != "processing" || sync.Link != "/api/v1/directories/"+dir+"/runs/"+made[3] || sync.Title == "" {
			t.Fatalf("a running sync in the jobs list: %+v", sync)
		}
		for _, limit := range []int{1, 2, 3, 4} {
			if got := walkJobs(t, e.admin, "", limit); !slices.Equal(got, want) {
				t.Fatalf("pages of %d: %v, want %v", limit, got, want)
			}
		}
		if got := walkJobs(t, e.admin, "&kind=directory_sync", 1); !slices.Equal(got, []string{made[3], made[0]}) {
			t.Fatalf("syncs only: %v", got)
		}
		if got := walkJobs(t, e.admin, "&status=needs_confirmation", 1); !slices.Equal(got, []string{made[0]}) {
			t.Fatalf("held: %v", got)
		}
		if got := walkJobs(t, e.admin, "&status=staged", 2); !slices.Equal(got, []string{made[4], made[2], made[1]}) {
			t.Fatalf("staged: %v", got)
		}
		// A User Manager imports but does not manage directories; a Viewer does neither.
		if got := walkJobs(t, e.manager, "", 2); !slices.Equal(got, []string{made[4], made[2], made[1]}) {
			t.Fatalf("a User Manager sees %v, want the imports alone", got)
		}
		if got := walkJobs(t, e.viewer, "", 2); len(got) != 0 {
			t.Fatalf("a Viewer sees jobs: %v", got)
		}
		var first jobsPage
		e.admin.do("GET", "/api/v1/jobs?limit=2", nil).want(http.StatusOK).into(&first)
		bad := tamper(t, first.NextCursor)
		bad["one of the same list with other filters"] = first.NextCursor + "&status=staged"
		bad["an unsealed one"] = "eyJpIjoiIiwicmQiOnRydWV9"
		for what, cursor := range bad {
			if p := e.admin.do("GET", "/api/v1/jobs?limit=2&cursor="+cursor, nil).problem(http.StatusUnprocessableEntity, "filter.cursor_invalid"); len(p.Errors) != 1 {
				t.Errorf("%s: %+v", what, p)
			}
		}
	})
}
