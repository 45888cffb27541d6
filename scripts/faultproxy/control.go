package faultproxy

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// control serves the control API, for test harnesses that are not Go
// (browser tests) or run the proxy as a separate process:
//
//	GET    /_faultproxy/stats        the Stats as JSON (counters and the per-request log)
//	GET    /_faultproxy/received     the Received requests as a JSON array
//	GET    /_faultproxy/received.txt ReceivedBytes (text/plain)
//	POST   /_faultproxy/reset        zero the counters, empty the log, forget the received requests
//	POST   /_faultproxy/rules        add a rule (JSON object) or rules (array); answers {"ids":[...]}
//	DELETE /_faultproxy/rules        remove every rule
//	DELETE /_faultproxy/rules/ID     remove one rule
//	POST   /_faultproxy/seed?n=N     reseed the random source
//
// These requests are not counted in the stats.
func (p *Proxy) control(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, ControlPrefix)
	switch {
	case path == "stats" && r.Method == http.MethodGet:
		writeJSON(w, p.Stats())
	case path == "received" && r.Method == http.MethodGet:
		writeJSON(w, p.Received())
	case path == "received.txt" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(p.ReceivedBytes())
	case path == "reset" && r.Method == http.MethodPost:
		p.Reset()
		w.WriteHeader(http.StatusNoContent)
	case path == "rules" && r.Method == http.MethodPost:
		var raw json.RawMessage
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&raw); err != nil {
			http.Error(w, "rules: "+err.Error(), http.StatusBadRequest)
			return
		}
		var rules []Rule
		if trimmed := strings.TrimSpace(string(raw)); strings.HasPrefix(trimmed, "[") {
			if err := json.Unmarshal(raw, &rules); err != nil {
				http.Error(w, "rules: "+err.Error(), http.StatusBadRequest)
				return
			}
		} else {
			var one Rule
			if err := json.Unmarshal(raw, &one); err != nil {
				http.Error(w, "rules: "+err.Error(), http.StatusBadRequest)
				return
			}
			rules = append(rules, one)
		}
		ids := []int{}
		for _, rule := range rules {
			id, err := p.Add(rule)
			if err != nil {
				http.Error(w, "rules: "+err.Error(), http.StatusBadRequest)
				return
			}
			ids = append(ids, id)
		}
		writeJSON(w, map[string][]int{"ids": ids})
	case path == "rules" && r.Method == http.MethodDelete:
		p.Clear()
		w.WriteHeader(http.StatusNoContent)
	case strings.HasPrefix(path, "rules/") && r.Method == http.MethodDelete:
		id, err := strconv.Atoi(strings.TrimPrefix(path, "rules/"))
		if err != nil {
			http.Error(w, "rule id must be a number", http.StatusBadRequest)
			return
		}
		p.Remove(id)
		w.WriteHeader(http.StatusNoContent)
	case path == "seed" && r.Method == http.MethodPost:
		n, err := strconv.ParseUint(r.URL.Query().Get("n"), 10, 64)
		if err != nil {
			http.Error(w, "seed needs ?n=<unsigned integer>", http.StatusBadRequest)
			return
		}
		p.Seed(n)
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "faultproxy: unknown control request "+r.Method+" "+r.URL.Path, http.StatusNotFound)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
