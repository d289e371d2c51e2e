package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/usherhq/usher/internal/user"
)

// runImport is P-IMPORT: a CSV file of -n new users (a fifth with a department and a phone)
// uploaded to the real server as a browser's form would send it
// (POST /api/v1/imports), previewed, then applied by the job (POST …/start) until it completes.
// It reports the time of each phase and the peak RssAnon of this process (server and client).
// Use a database of its own: the users it makes stay.
func runImport(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	var db dbFlags
	db.register(fs)
	n := fs.Int("n", 100000, "rows in the file")
	batch := fs.Int("batch", 500, "rows a transaction applies (--import-batch-size)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "usher-bench-import")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	body, contentType, err := importBody(dir, *n)
	if err != nil {
		return err
	}
	a, base, stop, err := serve(ctx, db, fmt.Sprintf("USHER_IMPORT_BATCH_SIZE=%d", *batch), "USHER_IMPORT_MAX_SIZE=4GiB")
	if err != nil {
		return err
	}
	defer stop()
	if err := a.Background.Jobs.Start(ctx); err != nil {
		return err
	}
	defer a.Background.Jobs.Stop(context.WithoutCancel(ctx))
	cookie, err := adminSession(ctx, a)
	if err != nil {
		return err
	}
	before, err := a.Users.Counts(ctx, user.System("bench"))
	if err != nil {
		return err
	}
	peak, stopSampling := sampleAnon()
	start := time.Now()
	f, err := os.Open(body)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/imports", f)
	if err != nil {
		return err
	}
	req.ContentLength = st.Size()
	req.Header.Set("Content-Type", contentType)
	req.AddCookie(cookie)
	var imp struct {
		ID       string           `json:"id"`
		Status   string           `json:"status"`
		Rows     int64            `json:"rows"`
		RowsDone int64            `json:"rows_done"`
		Plan     map[string]int64 `json:"plan"`
		Result   map[string]int64 `json:"result"`
	}
	if err := call(req, http.StatusCreated, &imp); err != nil {
		return err
	}
	staged := time.Since(start)
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/imports/"+imp.ID+"/start", nil)
	req.AddCookie(cookie)
	if err := call(req, http.StatusOK, &imp); err != nil {
		return err
	}
	for imp.Status != "completed" {
		if imp.Status == "failed" || imp.Status == "cancelled" {
			return fmt.Errorf("the import %s: %+v", imp.Status, imp)
		}
		time.Sleep(100 * time.Millisecond)
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/imports/"+imp.ID, nil)
		req.AddCookie(cookie)
		if err := call(req, http.StatusOK, &imp); err != nil {
			return err
		}
	}
	took := time.Since(start)
	stopSampling()
	_, hwm, err := memory(os.Getpid())
	if err != nil {
		return err
	}
	fmt.Printf("import: %s, %d users before, %d rows (%.0f MB), batches of %d\n\n", db.name(), before.Total, imp.Rows, float64(st.Size())/1e6, *batch)
	fmt.Println("| upload + preview | apply | total | rows/s | created | errors | peak RssAnon | VmHWM |")
	fmt.Println("|--:|--:|--:|--:|--:|--:|--:|--:|")
	fmt.Printf("| %.1f s | %.1f s | %.1f s | %.0f | %d | %d | %d MB | %d MB |\n", staged.Seconds(), (took - staged).Seconds(),
		took.Seconds(), float64(imp.Rows)/took.Seconds(), imp.Result["create"], imp.Result["error"], *peak/1024, hwm/1024)
	return nil
}

// importBody writes the multipart form of an upload of a CSV file of n new users to a file in
// dir, and returns its path and content type.
func importBody(dir string, n int) (string, string, error) {
	path := filepath.Join(dir, "upload")
	f, err := os.Create(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	mw := multipart.NewWriter(f)
	w, err := mw.CreateFormFile("file", "people.csv")
	if err != nil {
		return "", "", err
	}
	if _, err := io.WriteString(w, "Email,First name,Last name,Phone,Department,Groups\n"); err != nil {
		return "", "", err
	}
	for i := range n {
		phone, dept := "", ""
		if i%5 == 0 {
			phone, dept = fmt.Sprintf("+49 30 %07d", i), fmt.Sprintf("Department %d", i%40)
		}
		if _, err := fmt.Fprintf(w, "imported%07d@bench.example,Imported,Person %d,%s,%s,\n", i, i, phone, dept); err != nil {
			return "", "", err
		}
	}
	if err := mw.Close(); err != nil {
		return "", "", err
	}
	return path, mw.FormDataContentType(), nil
}

// call sends req and decodes the JSON answer, which must have the status want.
func call(req *http.Request, want int, v any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, b)
	}
	return json.Unmarshal(b, v)
}
