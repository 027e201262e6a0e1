package inject

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHTTPAdminRequests(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+string(b)+" "+r.Header.Get("Authorization"))
		if strings.Contains(string(b), "melted") {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"server: disk \"melted\": want none, full or slow"}`)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	a := HTTPAdmin{URL: func(int) string { return srv.URL }, Token: "t0k"}
	ctx := context.Background()
	if err := a.SetFaults(ctx, 0, NodeFaults{ClockOffset: "-1h0m0s"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Leave(ctx, 1); err != nil {
		t.Fatal(err)
	}
	err := a.SetFaults(ctx, 2, NodeFaults{Disk: "melted"})
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "want none, full or slow") {
		t.Fatalf("a refused fault: %v, want the status and the node's message", err)
	}
	want := []string{
		`POST /v1/faults {"clock_offset":"-1h0m0s"} Bearer t0k`,
		`POST /v1/cluster/leave  Bearer t0k`,
		`POST /v1/faults {"disk":"melted"} Bearer t0k`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
