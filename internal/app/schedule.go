package app

import (
	"context"
	"errors"
	"time"

	"github.com/davsync/davsync/internal/cycle"
	"github.com/davsync/davsync/internal/errkind"
)

// Backoff bounds.
const (
	backoffBase = 30 * time.Second
	backoffMax  = time.Hour
	followUp    = 30 * time.Second
	// dueSlack lets an alarm that fires a little early still run.
	dueSlack = 30 * time.Second
)

// skipReason says why a scheduled cycle of remote r does not run now ("" =
// it runs).
func (a *App) skipReason(r Remote, fp string, serr error, st *RemoteStatus, now int64) string {
	switch {
	case errors.Is(serr, errkind.NotConfigured):
		return "not_configured"
	case !r.Enabled:
		return "disabled"
	case !r.AutoSync:
		return "auto_sync_off"
	case st.Paused && st.PausedFor == fp:
		return "paused_auth"
	case st.NextRun > now+dueSlack.Milliseconds() && !(st.Paused && st.PausedFor != fp):
		return "not_due"
	}
	return ""
}

// finish records the outcome of an operation of remote r in its status:
// success resets the backoff; a failure backs off exponentially (30 s
// doubling, at most 1 h) or until the server's Retry-After, whichever is
// later; a rejected password pauses automatic sync until the settings
// change; a held question keeps its preview for the confirmation.
func (a *App) finish(ctx context.Context, r Remote, fp string, st *RemoteStatus, started int64, res *cycle.Result, held []*cycle.Preview, err error) {
	now := a.cfg.Wall()
	// The schedule may have changed while the cycle ran (Reschedule leaves
	// a running cycle alone): use the settings as they are now.
	a.mu.Lock()
	a.reschedule = false
	a.mu.Unlock()
	if s, serr := a.Settings(ctx); serr == nil {
		if cur, ok := s.Remote(r.ID); ok {
			r.AutoSync, r.IntervalMinutes, r.Enabled = cur.AutoSync, cur.IntervalMinutes, cur.Enabled
		}
	}
	interval := r.interval().Milliseconds()
	auto := r.AutoSync && r.Enabled
	st.Preview, st.PreviewFor, st.Answered = nil, "", nil
	if err == nil {
		st.State = StateIdle
		st.LastSync = now
		st.Error = nil
		st.Failures = 0
		st.Paused, st.PausedFor = false, ""
		if res != nil {
			if res.Local != nil || res.Remote != nil {
				st.LastChanges = &CycleChanges{Local: res.Local, Remote: res.Remote}
			}
			if res.Checked {
				st.Warnings = res.Warnings
			}
		}
		// From the start, not the end: the periodic alarm fires one period
		// after the one that started this cycle, and a NextRun measured from
		// a slow cycle's end would make it skip that alarm (a 2x interval).
		st.NextRun = started + interval
		if res != nil && res.FollowUp {
			st.NextRun = now + followUp.Milliseconds()
		}
		if !auto {
			st.NextRun = 0
		}
		_ = a.saveStatus(ctx, r.ID, st)
		return
	}
	k := errkind.Of(err)
	info := ErrorOf(err)
	info.At, info.Detail = now, nil // a held preview is the status's own field
	if ra := retryAfter(err); !ra.IsZero() {
		info.RetryAfter = ra.UnixMilli()
	}
	st.Error = info
	switch k {
	case errkind.NeedsConfirmation:
		st.State = StateNeedsConfirmation
		if res != nil {
			st.Preview = res.Preview
			st.PreviewFor = heldKey(fp, r)
			// A confirm that got past one question and stopped at the next
			// (mass change, then encryption) keeps the first answer.
			for _, h := range held {
				if res.Preview != nil && h.Reason != res.Preview.Reason {
					st.Answered = append(st.Answered, h)
				}
			}
		}
		st.NextRun = started + interval
	case errkind.Auth:
		st.State = StateNeedsAttention
		st.Paused, st.PausedFor = true, fp
		st.NextRun = 0
	case errkind.Forbidden, errkind.PassphraseNeeded, errkind.Decrypt, errkind.NotConfigured, errkind.NewerVersion,
		errkind.BadDocument, errkind.InsufficientStorage, errkind.TooLarge, errkind.Invalid, errkind.Redirected,
		errkind.Unsupported, errkind.FolderMissing, errkind.NotFound, errkind.InsecureTransport:
		st.State = StateNeedsAttention
		st.Failures++
		st.NextRun = started + interval
	default:
		st.State = StateError
		st.Failures++
		d := backoffBase << min(st.Failures-1, 16)
		if d > backoffMax || d <= 0 {
			d = backoffMax
		}
		st.NextRun = started + d.Milliseconds()
		if info.RetryAfter > st.NextRun {
			st.NextRun = info.RetryAfter
		}
	}
	if !auto {
		st.NextRun = 0
	}
	_ = a.saveStatus(ctx, r.ID, st)
}

// heldKey binds a held preview to the settings it was computed for.
func heldKey(fp string, r Remote) string { return fp + "|" + r.Strategy }

// retryAfter returns the server's Retry-After carried anywhere in err's
// chain: the cycle wraps request errors with its own context (a snapshot, a
// read-back), and the wrapper must not make davsync retry a rate-limited
// server sooner than it asked.
func retryAfter(err error) time.Time {
	for err != nil {
		if ke, ok := err.(*errkind.Error); ok && !ke.RetryAfter.IsZero() {
			return ke.RetryAfter
		}
		err = errors.Unwrap(err)
	}
	return time.Time{}
}

// Reschedule recomputes remote id's next scheduled run after its automatic
// sync, interval or enabled switch changed. The worker re-creates the
// remote's periodic alarm then, so the first one fires one (new) interval
// from now; a NextRun from the old interval would skip it (a weekly NextRun
// kept after switching to hourly skips every alarm for a week). A running
// operation is left alone: its finish reads the new settings.
func (a *App) Reschedule(ctx context.Context, id string) error {
	a.mu.Lock()
	if !a.run.TryLock() {
		// Whatever holds run reschedules when it ends.
		a.reschedule = true
		a.mu.Unlock()
		return nil
	}
	a.mu.Unlock()
	defer a.run.Unlock()
	return a.rescheduleLocked(ctx)
}

// rescheduleLocked recomputes every remote's next run.
func (a *App) rescheduleLocked(ctx context.Context) error {
	s, err := a.Settings(ctx)
	if err != nil {
		return err
	}
	now := a.cfg.Wall()
	for _, r := range s.Remotes {
		st := a.loadStatus(ctx, r.ID)
		fp := a.fingerprint(ctx, r)
		next := st.NextRun
		switch {
		case !r.AutoSync || !r.Enabled || (st.Paused && st.PausedFor == fp):
			next = 0
		case st.NextRun == 0:
			// Nothing scheduled yet: the first alarm runs whenever it fires.
		default:
			next = now + r.interval().Milliseconds()
			if st.Error != nil && st.Error.RetryAfter > next {
				next = st.Error.RetryAfter
			}
		}
		if next != st.NextRun {
			st.NextRun = next
			if err := a.saveStatus(ctx, r.ID, st); err != nil {
				return err
			}
		}
	}
	return nil
}
