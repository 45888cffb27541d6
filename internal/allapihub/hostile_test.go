package allapihub

import (
	"fmt"
	"runtime/debug"
	"strings"
	"testing"
)

// Detection runs on untrusted input before any other check.
// gjson.Valid recurses per nesting level, so deep input used to grow the
// stack without bound (here capped at 16 MiB, which it exceeded: a fatal
// error, not a failure, before the fix).
func TestDetectionBoundsNesting(t *testing.T) {
	defer debug.SetMaxStack(debug.SetMaxStack(16 << 20))
	deep := []byte(`{"accounts":` + strings.Repeat("[", 2_000_000))
	if kindOf(deep) != NotAllAPIHub {
		t.Fatal("deeply nested input detected as a backup")
	}
	if _, err := Read(deep, "", nil, ConvertOptions{}); err == nil {
		t.Fatal("Read accepted deeply nested input")
	}
}

// A message quotes at most a few bytes of the file: a huge "version" used
// to be copied whole into the error shown on the page.
func TestVersionMessageClipped(t *testing.T) {
	huge := `{"version":[` + strings.Repeat(`"xxxxxxxxxx",`, 10_000) + `1],"accounts":[]}`
	_, err := Convert([]byte(huge), ConvertOptions{})
	if err == nil || len(err.Error()) > 400 {
		t.Fatalf("error of %d bytes: %.200v", len(fmt.Sprint(err)), err)
	}
}
