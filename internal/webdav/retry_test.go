package webdav

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
)

// fakeClock records the waits a client asks for and advances time by them,
// so no test sleeps.
type fakeClock struct {
	now   time.Time
	waits []time.Duration
}

func (f *fakeClock) opts() []Option {
	return []Option{
		WithClock(func() time.Time { return f.now }),
		WithSleep(func(ctx context.Context, d time.Duration) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			f.waits = append(f.waits, d)
			f.now = f.now.Add(d)
			return nil
		}),
	}
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)} }

func failFirst(s *fakeServer, method string, n int, resp func() (*Response, error)) *int {
	count := 0
	s.hook = func(req *Request) (*Response, error, bool) {
		if req.Method != method || count >= n {
			return nil, nil, false
		}
		count++
		r, err := resp()
		return r, err, true
	}
	return &count
}

func TestRetryBackoff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		resp  func() (*Response, error)
		fails int
		waits []time.Duration
	}{
		{"network", func() (*Response, error) { return nil, errors.New("connection reset by peer") }, 3,
			[]time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		{"503", func() (*Response, error) { return &Response{Status: 503}, nil }, 2,
			[]time.Duration{500 * time.Millisecond, time.Second}},
		{"502", func() (*Response, error) { return &Response{Status: 502}, nil }, 1, []time.Duration{500 * time.Millisecond}},
		{"timeout", func() (*Response, error) { return nil, errkind.New(errkind.Timeout, "", "slow") }, 1, []time.Duration{500 * time.Millisecond}},
		{"429 retry-after seconds", func() (*Response, error) {
			return &Response{Status: 429, Header: map[string]string{"Retry-After": "7"}}, nil
		}, 2, []time.Duration{7 * time.Second, 7 * time.Second}},
		{"503 retry-after date", func() (*Response, error) {
			return &Response{Status: 503, Header: map[string]string{"retry-after": "Sun, 22 Nov 2026 03:00:03 GMT"}}, nil
		}, 1, []time.Duration{3 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer()
			s.files["/dav/x"] = []byte("ok")
			clk := newClock()
			failFirst(s, "GET", tc.fails, tc.resp)
			g, err := s.client(t, clk.opts()...).Get(context.Background(), "x", "")
			if err != nil || string(g.Body) != "ok" {
				t.Fatal(g, err)
			}
			if !reflect.DeepEqual(clk.waits, tc.waits) {
				t.Fatalf("waits %v, want %v", clk.waits, tc.waits)
			}
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	s := newFakeServer()
	clk := newClock()
	failFirst(s, "PROPFIND", 100, func() (*Response, error) { return nil, errors.New("connection refused") })
	_, err := s.client(t, append(clk.opts(), WithRetry(6, time.Second, 4*time.Second))...).Stat(context.Background(), "")
	wantKind(t, err, errkind.Network)
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	if !reflect.DeepEqual(clk.waits, want) || len(s.log) != 6 {
		t.Fatalf("waits %v (%d requests)", clk.waits, len(s.log))
	}
}

func TestRetryAfterBeyondBudget(t *testing.T) {
	s := newFakeServer()
	clk := newClock()
	failFirst(s, "PROPFIND", 100, func() (*Response, error) {
		return &Response{Status: 429, Header: map[string]string{"retry-after": "3600"}}, nil
	})
	_, err := s.client(t, clk.opts()...).List(context.Background(), "")
	wantKind(t, err, errkind.RateLimited)
	var e *errkind.Error
	errors.As(err, &e)
	if !e.RetryAfter.Equal(clk.now.Add(time.Hour)) || len(clk.waits) != 0 || len(s.log) != 1 {
		t.Fatalf("RetryAfter %v waits %v requests %d", e.RetryAfter, clk.waits, len(s.log))
	}
}

func TestTotalWaitCapped(t *testing.T) {
	s := newFakeServer()
	clk := newClock()
	failFirst(s, "GET", 100, func() (*Response, error) {
		return &Response{Status: 503, Header: map[string]string{"retry-after": "20"}}, nil
	})
	_, err := s.client(t, clk.opts()...).Get(context.Background(), "x", "")
	wantKind(t, err, errkind.RateLimited)
	var total time.Duration
	for _, w := range clk.waits {
		total += w
	}
	if total > 30*time.Second || len(clk.waits) != 1 {
		t.Fatalf("waited %v in %v", total, clk.waits)
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	for _, st := range []int{400, 401, 403, 404, 409, 412, 423, 507} {
		s := newFakeServer()
		failFirst(s, "GET", 100, func() (*Response, error) { return &Response{Status: st}, nil })
		_, err := s.client(t).Get(context.Background(), "x", "")
		noSecret(t, err)
		if err == nil || len(s.log) > 2 { // 401 may retry once with credentials
			t.Fatalf("%d: %v after %d requests", st, err, len(s.log))
		}
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	s := newFakeServer()
	failFirst(s, "GET", 100, func() (*Response, error) { return &Response{Status: 503}, nil })
	ctx, cancel := context.WithCancel(context.Background())
	c := s.client(t, WithSleep(func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }))
	_, err := c.Get(ctx, "x", "")
	wantKind(t, err, errkind.Canceled)
}

func TestDeleteRetryAfterLostReply(t *testing.T) {
	s := newFakeServer()
	s.files["/dav/x"] = []byte("x")
	s.etags["/dav/x"] = "e"
	lost := false
	s.after = func(req *Request, resp *Response) (*Response, error) {
		if req.Method == "DELETE" && !lost {
			lost = true
			return nil, errors.New("connection reset by peer")
		}
		return resp, nil
	}
	if err := s.client(t).Delete(context.Background(), "x", "e"); err != nil {
		t.Fatal(err)
	}
}

func TestMoveRetryAfterLostReply(t *testing.T) {
	s := newFakeServer()
	s.files["/dav/a"] = []byte("x")
	lost := false
	s.after = func(req *Request, resp *Response) (*Response, error) {
		if req.Method == "MOVE" && !lost {
			lost = true
			return nil, errors.New("EOF")
		}
		return resp, nil
	}
	if err := s.client(t).Move(context.Background(), "a", "b", false); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.files["/dav/b"]; !ok {
		t.Fatal("not moved")
	}
}

func TestSleepCtx(t *testing.T) {
	if err := sleepCtx(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if err := sleepCtx(context.Background(), time.Microsecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleepCtx(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
