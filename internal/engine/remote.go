package engine

import (
	"context"
	"encoding/json"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/webdav"
)

// webdavTest runs the server check against the saved settings with any
// members of params.settings applied over them (so the page can test what
// is in the form before saving; an empty password field uses the saved one).
func (e *Engine) webdavTest(ctx context.Context, params []byte) (any, error) {
	const op = "webdav.test"
	var p struct {
		Settings json.RawMessage `json:"settings"`
	}
	if err := decode(op, params, &p); err != nil {
		return nil, err
	}
	cur, err := e.LoadSettings(ctx)
	if err != nil {
		return nil, err
	}
	s, err := mergeSettings(op, cur, p.Settings)
	if err != nil {
		return nil, err
	}
	if err := s.validate(); err != nil && s.URL == "" {
		return nil, err
	}
	if s.URL == "" {
		return nil, errkind.New(errkind.NotConfigured, op, "enter the server address first")
	}
	c, err := webdav.New(s.URL, s.Username, s.Password, e.cfg.Transport, e.cfg.WebDAVOptions...)
	if err != nil {
		return nil, err
	}
	check, err := c.Check(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"check": check}, nil
}
