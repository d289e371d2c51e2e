package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/usherhq/usher/internal/store"
	"github.com/usherhq/usher/internal/store/storetest"
)

// TestJOBImportSurvivesKills (QUALITY JOB): an import of 10,000 rows whose usher serve process
// is killed with SIGKILL at random points, twenty times, and started again each time, ends with
// every row applied exactly once: no user duplicated or lost, every row with one outcome.
func TestJOBImportSurvivesKills(t *testing.T) {
	t.Parallel()
	const rows, kills = 10000, 20
	for _, dialect := range storetest.Dialects(t) {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			const adminPW = "a long enough secret"
			args := []string{"--data-dir", t.TempDir(), "--import-lease", "1s", "--import-batch-size", "50"}
			if dialect == store.Postgres {
				args = append(args, "--database-url", storetest.NewPostgresDatabase(t))
			}
			p := startProcess(t, append(args, "--admin-email", "admin@example.org", "--admin-password", adminPW)...)
			status, body, cookies := post(t, p.base+"/api/v1/auth/login", "", map[string]string{"login": "admin@example.org", "password": adminPW})
			if status != http.StatusOK || len(cookies) == 0 {
				t.Fatalf("login: %d %s", status, body)
			}
			cookie := cookies[0].Value

			var file bytes.Buffer
			file.WriteString("Email,First name,Last name,Department\n")
			for i := range rows {
				fmt.Fprintf(&file, "person%05d@example.com,Person,Number %d,Dept %d\n", i, i, i%7)
			}
			id := uploadImport(t, p.base, cookie, file.Bytes())
			if status, body, _ := post(t, p.base+"/api/v1/imports/"+id+"/start", cookie, nil); status != http.StatusOK {
				t.Fatalf("start: %d %s", status, body)
			}

			var imp struct {
				Status   string           `json:"status"`
				Rows     int64            `json:"rows"`
				RowsDone int64            `json:"rows_done"`
				Result   map[string]int64 `json:"result"`
			}
			killedAt := []int64{}
			for i := range kills {
				if i%4 == 0 {
					// Soon after the start: before the job picks the import up, or while it waits
					// for the dead process's lease to run out.
					time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
				} else {
					// In the middle of applying: once this process has applied a batch, at a
					// random point of the next few (a batch of 50 takes some tens of ms).
					getJSON(t, p.base+"/api/v1/imports/"+id, cookie, &imp)
					for was := imp.RowsDone; imp.RowsDone == was && imp.Status != "completed"; {
						time.Sleep(5 * time.Millisecond)
						getJSON(t, p.base+"/api/v1/imports/"+id, cookie, &imp)
					}
					time.Sleep(time.Duration(rand.IntN(60)) * time.Millisecond)
				}
				p.cmd.Process.Signal(syscall.SIGKILL)
				p.cmd.Wait()
				p = startProcess(t, args...)
				getJSON(t, p.base+"/api/v1/imports/"+id, cookie, &imp)
				killedAt = append(killedAt, imp.RowsDone)
			}
			deadline := time.Now().Add(3 * time.Minute)
			for getJSON(t, p.base+"/api/v1/imports/"+id, cookie, &imp); imp.Status != "completed"; getJSON(t, p.base+"/api/v1/imports/"+id, cookie, &imp) {
				if time.Now().After(deadline) {
					t.Fatalf("after the kills the import is still %s: %d of %d rows", imp.Status, imp.RowsDone, imp.Rows)
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Logf("rows done after each kill: %v", killedAt)
			if killedAt[len(killedAt)-1] == 0 || killedAt[len(killedAt)-1] == rows {
				t.Errorf("the kills did not fall while the import was applied")
			}
			if imp.Rows != rows || imp.RowsDone != rows || imp.Result["create"] != rows || imp.Result["error"] != 0 || imp.Result["skip"] != 0 {
				t.Fatalf("after %d kills: %+v", kills, imp)
			}
			var counts struct {
				Total int64 `json:"total"`
			}
			getJSON(t, p.base+"/api/v1/users/counts", cookie, &counts)
			if counts.Total != rows+1 {
				t.Fatalf("%d users after the import, want %d", counts.Total, rows+1)
			}
		})
	}
}

// uploadImport stages a CSV file and returns the import's id.
func uploadImport(t *testing.T, base, cookie string, content []byte) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "people.csv")
	fw.Write(content)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/v1/imports", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.AddCookie(&http.Cookie{Name: "usher_session", Value: cookie})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", res.StatusCode, b)
	}
	var imp struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &imp); err != nil {
		t.Fatal(err)
	}
	return imp.ID
}
