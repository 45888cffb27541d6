package cycle

import (
	"testing"

	"github.com/davsync/davsync/internal/merge"
)

func TestGuardMessageNamesOnlyLosingSides(t *testing.T) {
	for _, tc := range []struct {
		local, remote int
		want          string
	}{
		{0, 3005, "this sync would delete 3005 records on the server, more than the safety limit allows; nothing was changed. Review the preview and confirm to go ahead, or restore a snapshot."},
		{1, 0, "this sync would delete 1 record on this device, more than the safety limit allows; nothing was changed. Review the preview and confirm to go ahead, or restore a snapshot."},
		{6, 7, "this sync would delete 6 records on this device and 7 records on the server, more than the safety limit allows; nothing was changed. Review the preview and confirm to go ahead, or restore a snapshot."},
		{0, 0, "this sync would replace more records than the safety limit allows; nothing was changed. Review the preview and confirm to go ahead, or restore a snapshot."},
	} {
		p := &Preview{Local: merge.Changes{"accounts": {Deleted: tc.local}}, Remote: merge.Changes{"accounts": {Deleted: tc.remote}}}
		if got := guardMessage(p); got.String() != tc.want {
			t.Errorf("local %d remote %d:\n got %q\nwant %q", tc.local, tc.remote, got, tc.want)
		}
	}
}
