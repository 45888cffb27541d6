package errkind

import (
	"errors"
	"fmt"
	"testing"
)

func TestIsAndOf(t *testing.T) {
	base := New(Auth, "PROPFIND /dav/", "the server rejected the user name or password; check them in the settings")
	wrapped := fmt.Errorf("sync: %w", base)
	if !errors.Is(wrapped, Auth) {
		t.Fatal("errors.Is(wrapped, Auth) = false")
	}
	if errors.Is(wrapped, Forbidden) {
		t.Fatal("errors.Is(wrapped, Forbidden) = true")
	}
	if got := Of(wrapped); got != Auth {
		t.Fatalf("Of = %q", got)
	}
	if got := Of(errors.New("plain")); got != Unknown {
		t.Fatalf("Of(plain) = %q", got)
	}
	if got := Of(nil); got != "" {
		t.Fatalf("Of(nil) = %q", got)
	}
	if got := Of(fmt.Errorf("x: %w", Timeout)); got != Timeout {
		t.Fatalf("Of(wrapped kind) = %q", got)
	}
	if got := Message(wrapped); got != base.Msg {
		t.Fatalf("Message = %q", got)
	}
}
