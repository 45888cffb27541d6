package webdav_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
)

func TestRetryBackoff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		resp  func() (*webdav.Response, error)
		fails int
		waits []time.Duration
	}{
		{"network", func() (*webdav.Response, error) { return nil, errors.New("connection reset by peer") }, 3,
			[]time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}},
		{"503", func() (*webdav.Response, error) { return &webdav.Response{Status: 503}, nil }, 2,
			[]time.Duration{500 * time.Millisecond, time.Second}},
		{"502", func() (*webdav.Response, error) { return &webdav.Response{Status: 502}, nil }, 1, []time.Duration{500 * time.Millisecond}},
		{"timeout", func() (*webdav.Response, error) { return nil, errkind.New(errkind.Timeout, "", "slow") }, 1, []time.Duration{500 * time.Millisecond}},
		{"429 retry-after seconds", func() (*webdav.Response, error) {
			return &webdav.Response{Status: 429, Header: map[string]string{"Retry-After": "7"}}, nil
		}, 2, []time.Duration{7 * time.Second, 7 * time.Second}},
		{"503 retry-after date", func() (*webdav.Response, error) {
			return &webdav.Response{Status: 503, Header: map[string]string{"retry-after": "Sun, 22 Nov 2026 03:00:03 GMT"}}, nil
		}, 1, []time.Duration{3 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer()
			s.PutFile("x", []byte("ok"))
			clk := newClock()
			failFirst(s, "GET", tc.fails, tc.resp)
			g, err := newClient(t, s, clk.opts()...).Get(context.Background(), "x", "")
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
	s := newServer()
	clk := newClock()
	failFirst(s, "PROPFIND", 100, func() (*webdav.Response, error) { return nil, errors.New("connection refused") })
	_, err := newClient(t, s, append(clk.opts(), webdav.WithRetry(6, time.Second, 4*time.Second))...).Stat(context.Background(), "")
	wantKind(t, err, errkind.Network)
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	if !reflect.DeepEqual(clk.waits, want) || len(s.Log()) != 6 {
		t.Fatalf("waits %v (%d requests)", clk.waits, len(s.Log()))
	}
}

func TestRetryAfterBeyondBudget(t *testing.T) {
	s := newServer()
	clk := newClock()
	failFirst(s, "PROPFIND", 100, func() (*webdav.Response, error) {
		return &webdav.Response{Status: 429, Header: map[string]string{"retry-after": "3600"}}, nil
	})
	_, err := newClient(t, s, clk.opts()...).List(context.Background(), "")
	wantKind(t, err, errkind.RateLimited)
	var e *errkind.Error
	errors.As(err, &e)
	if !e.RetryAfter.Equal(clk.now.Add(time.Hour)) || len(clk.waits) != 0 || len(s.Log()) != 1 {
		t.Fatalf("RetryAfter %v waits %v requests %d", e.RetryAfter, clk.waits, len(s.Log()))
	}
}

func TestTotalWaitCapped(t *testing.T) {
	s := newServer()
	clk := newClock()
	failFirst(s, "GET", 100, func() (*webdav.Response, error) {
		return &webdav.Response{Status: 503, Header: map[string]string{"retry-after": "20"}}, nil
	})
	_, err := newClient(t, s, clk.opts()...).Get(context.Background(), "x", "")
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
	for _, st := range []int{400, 401, 403, 404, 409, 412, 507} {
		s := newServer()
		failFirst(s, "GET", 100, func() (*webdav.Response, error) { return &webdav.Response{Status: st}, nil })
		_, err := newClient(t, s).Get(context.Background(), "x", "")
		noSecret(t, err)
		if err == nil || len(s.Log()) > 2 { // 401 may retry once with credentials
			t.Fatalf("%d: %v after %d requests", st, err, len(s.Log()))
		}
	}
}

// A lock held for an instant by another client (rclone while it stores a
// concurrent upload) is waited out; one that lasts is reported as locked
// after the retries, with nothing written twice.
func TestLockedIsRetried(t *testing.T) {
	for _, method := range []string{"PUT", "GET", "DELETE", "MOVE"} {
		s := newServer()
		s.PutFile("x", []byte("old"))
		clk := newClock()
		c := newClient(t, s, clk.opts()...)
		if _, err := c.Stat(context.Background(), ""); err != nil { // the login, out of the way
			t.Fatal(err)
		}
		failFirst(s, method, 2, func() (*webdav.Response, error) { return &webdav.Response{Status: 423}, nil })
		var err error
		switch method {
		case "PUT":
			_, err = c.Put(context.Background(), "x", []byte("new"), webdav.PutCondition{IfMatch: s.ETag("x")})
		case "GET":
			_, err = c.Get(context.Background(), "x", "")
		case "DELETE":
			err = c.Delete(context.Background(), "x", "")
		case "MOVE":
			err = c.Move(context.Background(), "x", "y", false)
		}
		if err != nil || !reflect.DeepEqual(clk.waits, []time.Duration{500 * time.Millisecond, time.Second}) {
			t.Fatalf("%s: %v after waits %v", method, err, clk.waits)
		}
		if n := countMethod(s, method); n != 3 {
			t.Fatalf("%s sent %d times, want 3 (two refused, one through): %v", method, n, methods(s))
		}
	}

	s := newServer()
	s.PutFile("x", []byte("old"))
	c := newClient(t, s, newClock().opts()...)
	if _, err := c.Stat(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	failFirst(s, "PUT", 100, func() (*webdav.Response, error) { return &webdav.Response{Status: 423}, nil })
	_, err := c.Put(context.Background(), "x", []byte("new"), webdav.PutCondition{})
	wantKind(t, err, errkind.Locked)
	if got, _ := s.File("x"); string(got) != "old" || countMethod(s, "PUT") != 4 || countMethod(s, "GET") != 0 {
		t.Fatalf("a lasting lock: file %q after %d PUTs and %d GETs", got, countMethod(s, "PUT"), countMethod(s, "GET"))
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	s := newServer()
	failFirst(s, "GET", 100, func() (*webdav.Response, error) { return &webdav.Response{Status: 503}, nil })
	ctx, cancel := context.WithCancel(context.Background())
	c := newClient(t, s, webdav.WithSleep(func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }))
	_, err := c.Get(ctx, "x", "")
	wantKind(t, err, errkind.Canceled)
}

func TestDeleteRetryAfterLostReply(t *testing.T) {
	s := newServer()
	etag := seed(s, "x", "x")
	lost := false
	s.After = func(req *webdav.Request, resp *webdav.Response) (*webdav.Response, error) {
		if req.Method == "DELETE" && !lost {
			lost = true
			return nil, errors.New("connection reset by peer")
		}
		return resp, nil
	}
	if err := newClient(t, s).Delete(context.Background(), "x", etag); err != nil {
		t.Fatal(err)
	}
}

func TestMoveRetryAfterLostReply(t *testing.T) {
	s := newServer()
	s.PutFile("a", []byte("x"))
	lost := false
	s.After = func(req *webdav.Request, resp *webdav.Response) (*webdav.Response, error) {
		if req.Method == "MOVE" && !lost {
			lost = true
			return nil, errors.New("EOF")
		}
		return resp, nil
	}
	if err := newClient(t, s).Move(context.Background(), "a", "b", false); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.File("b"); !ok {
		t.Fatal("not moved")
	}
}

func TestSleepCtx(t *testing.T) {
	if err := webdav.SleepCtx(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if err := webdav.SleepCtx(context.Background(), time.Microsecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := webdav.SleepCtx(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

// Two devices making one folder at the same moment: Apache answers the
// second MKCOL 403. The folder is there, so that is success; a 403 for a
// folder that did not appear is still "forbidden".
func TestMkcolRaceLost(t *testing.T) {
	for _, made := range []bool{true, false} {
		s := newServer()
		c := newClient(t, s)
		s.Hook = func(req *webdav.Request) (*webdav.Response, error) {
			if req.Method != "MKCOL" {
				return nil, nil
			}
			if made {
				s.MkdirAll("snaps") // the other device's MKCOL won
			}
			return &webdav.Response{Status: 403}, nil
		}
		err := c.Mkcol(context.Background(), "snaps")
		if made && err != nil {
			t.Fatalf("the folder exists, yet: %v", err)
		}
		if !made {
			wantKind(t, err, errkind.Forbidden)
		}
	}
}
