package faultproxy

import (
	"net/http"
	"time"
)

// LogMax caps the entries Stats.Log holds; later requests are counted in
// Stats.LogDropped instead, until Reset.
const LogMax = 100000

// LogEntry is one request as the proxy handled it, in arrival order.
// Bytes are message bodies, as in MethodStats: BytesUp what the client
// sent, BytesDown what the proxy wrote back to it. Status is what the
// client was answered (0: the connection was reset, or the client went
// away before an answer). DurationMs runs from the proxy having read the
// request's headers to its last byte of answer (a delay rule included);
// AtMs is when the request arrived, in ms since the proxy started or was
// last Reset, so the gaps between requests show the client's own time.
type LogEntry struct {
	Method     string  `json:"method"`
	Path       string  `json:"path"`
	Status     int     `json:"status"`
	BytesUp    int64   `json:"bytes_up"`
	BytesDown  int64   `json:"bytes_down"`
	AtMs       float64 `json:"at_ms"`
	DurationMs float64 `json:"duration_ms"`
}

// logWriter notes the status and body bytes of an answer. Unwrap lets
// http.ResponseController reach the connection (Hijack, Flush); answers
// written on a hijacked connection report through noteHijacked and, when
// their last byte is about to leave, endHijacked.
type logWriter struct {
	http.ResponseWriter
	status int
	down   int64
	end    func() // completes the log entry; only its first call counts
}

func (lw *logWriter) WriteHeader(code int) {
	if lw.status == 0 {
		lw.status = code
	}
	lw.ResponseWriter.WriteHeader(code)
}

func (lw *logWriter) Write(b []byte) (int, error) {
	if lw.status == 0 {
		lw.status = http.StatusOK
	}
	n, err := lw.ResponseWriter.Write(b)
	lw.down += int64(n)
	return n, err
}

func (lw *logWriter) Unwrap() http.ResponseWriter { return lw.ResponseWriter }

// noteHijacked records an answer written on the hijacked connection of w.
func noteHijacked(w http.ResponseWriter, status int, down int64) {
	if lw, ok := w.(*logWriter); ok {
		if lw.status == 0 {
			lw.status = status
		}
		lw.down += down
	}
}

// endHijacked completes w's log entry now rather than when the handler
// returns: a client answered on a hijacked connection can read Stats before
// the handler has returned, and must find its request there, complete.
func endHijacked(w http.ResponseWriter) {
	if lw, ok := w.(*logWriter); ok {
		lw.end()
	}
}

// logBegin appends a request's entry and returns its index and the
// generation it belongs to (Reset starts a new one), or -1 when the log is
// full.
func (p *Proxy) logBegin(method, path string, up int64, start time.Time) (int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.stats.Log) >= LogMax {
		p.stats.LogDropped++
		return -1, p.logGen
	}
	at := float64(start.Sub(p.logZero).Microseconds()) / 1000
	p.stats.Log = append(p.stats.Log, LogEntry{Method: method, Path: path, BytesUp: up, AtMs: at})
	return len(p.stats.Log) - 1, p.logGen
}

// logEnd completes the entry logBegin made, unless a Reset came between.
func (p *Proxy) logEnd(i, gen int, lw *logWriter, start time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if i < 0 || gen != p.logGen || i >= len(p.stats.Log) {
		return
	}
	e := &p.stats.Log[i]
	e.Status = lw.status
	e.BytesDown = lw.down
	e.DurationMs = float64(time.Since(start).Microseconds()) / 1000
}
