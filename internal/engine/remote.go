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
	s, cleared, err := mergeSettings(op, cur, p.Settings)
	if err != nil {
		return nil, err
	}
	if s.URL == "" {
		return nil, errkind.New(errkind.NotConfigured, op, "enter the server address first")
	}
	// Exactly the rules Save applies: what cannot be saved is not tested
	// either (an http:// URL to another machine without the user's choice
	// would otherwise send the password there).
	if err := s.validate(); err != nil {
		return nil, err
	}
	if cleared {
		return nil, errkind.New(errkind.Auth, op, "the saved password belongs to "+origin(cur.URL)+" and is never sent to another server; type the password for "+origin(s.URL))
	}
	c, err := webdav.New(s.URL, s.Username, s.Password, e.cfg.Transport, e.cfg.WebDAVOptions...)
	if err != nil {
		return nil, err
	}
	check, err := c.Check(ctx)
	if err != nil {
		return nil, err
	}
	// The user checked the saved settings: what the server asks for now is
	// what cycles expect from here on.
	if check.CredentialsOK && s.URL == cur.URL && s.Username == cur.Username && s.Password == cur.Password {
		if se, serr := e.syncEngine(ctx); serr == nil {
			_ = se.AcceptAuth(ctx, check.AuthScheme)
		}
	}
	return map[string]any{"check": check}, nil
}
