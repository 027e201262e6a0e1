package server

import (
	"testing"

	"github.com/chorusdb/chorus/auth"
)

// TestBackupRoutesNeedAdmin: a backup reads every key and a restore
// writes any, so both need admin, even the backup's GET (other /v1/ GETs
// need read only).
func TestBackupRoutesNeedAdmin(t *testing.T) {
	for _, c := range []struct{ method, pattern string }{
		{"GET", "GET /v1/admin/backup/partitions/{p}"},
		{"HEAD", "GET /v1/admin/backup/partitions/{p}"},
		{"POST", "POST /v1/admin/restore"},
		{"GET", "/v1/admin/restore"},
	} {
		if a := httpAccess(c.method, c.pattern, true); a.open || a.need != auth.Admin {
			t.Errorf("%s %s: %+v, want the admin role", c.method, c.pattern, a)
		}
	}
	if a := httpAccess("GET", "GET /v1/status", false); a.need != auth.Read {
		t.Errorf("GET /v1/status: %+v, want read (the rule for /v1/admin/ only)", a)
	}
}
