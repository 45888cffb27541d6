package webdav

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/msg"
)

// Discovery is where Discover found the WebDAV folder, and why there.
type Discovery struct {
	// URL is the folder to use.
	URL string `json:"url"`
	// Reason says how it was found.
	Reason msg.Msg `json:"reason"`
	// Product is the server's own name for itself when it said one
	// (Nextcloud's and ownCloud's status.php), else "".
	Product string `json:"product,omitempty"`
}

// Discover finds the WebDAV folder of a server the user named only by its
// address (https://cloud.example.com): Nextcloud and ownCloud keep each
// user's files at /remote.php/dav/files/<user>/ (status.php says which
// product answers), older ones at /remote.php/webdav/; servers that
// publish /.well-known/webdav redirect it to their folder (followed here
// only, and only on the same origin); other servers are tried at a few
// common paths and at the address itself. Each candidate must answer a
// logged-in PROPFIND as a folder. A rejected password ends the search at
// once (errkind.Auth): trying it against more paths would only repeat it.
func Discover(ctx context.Context, rawURL, username, password string, t Transport, opts ...Option) (*Discovery, error) {
	const op = "discover"
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errkind.Say(errkind.Invalid, op, msg.New("errEnterAddress"))
	}
	origin := u.Scheme + "://" + u.Host
	product := statusProduct(ctx, origin, t)
	type candidate struct {
		path   string
		reason msg.Msg
	}
	var cands []candidate
	user := escapeSegment(username)
	if username != "" {
		cands = append(cands, candidate{"/remote.php/dav/files/" + user + "/", msg.New("discFilesFolder", username)})
	}
	cands = append(cands, candidate{"/remote.php/webdav/", msg.New("discLegacy")})
	if loc := wellKnown(ctx, origin, t); loc != "" {
		cands = append(cands, candidate{loc, msg.New("discWellKnown")})
	}
	for _, p := range []string{"/dav/", "/webdav/"} {
		cands = append(cands, candidate{p, msg.New("discCommon")})
	}
	if p := u.EscapedPath(); p != "" && p != "/" {
		cands = append([]candidate{{p, msg.New("discAsGiven")}}, cands...)
	} else {
		cands = append(cands, candidate{"/", msg.New("discItself")})
	}
	var firstErr error
	for _, c := range cands {
		cl, err := New(origin+c.path, username, password, t, opts...)
		if err != nil {
			return nil, err
		}
		r, err := cl.Stat(ctx, "")
		switch {
		case err == nil && r.IsDir:
			return &Discovery{URL: cl.BaseURL(), Reason: c.reason, Product: product}, nil
		case errkind.Of(err) == errkind.Auth:
			return nil, err
		case err != nil && firstErr == nil && errkind.Of(err) != errkind.NotFound && errkind.Of(err) != errkind.Unsupported &&
			errkind.Of(err) != errkind.BadResponse && errkind.Of(err) != errkind.Redirected && errkind.Of(err) != errkind.Forbidden:
			firstErr = err // the network or the server, not "no folder here"
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, errkind.Say(errkind.NotFound, op, msg.New("errNothingDiscovered", origin))
}

// statusProduct asks Nextcloud's and ownCloud's status.php (no login) who
// answers at origin; "" when nothing says.
func statusProduct(ctx context.Context, origin string, t Transport) string {
	resp, err := t.RoundTrip(ctx, &Request{Method: "GET", URL: origin + "/status.php", Header: map[string]string{"User-Agent": "davsync"}, MaxBody: 64 << 10})
	if err != nil || resp.Status != 200 {
		return ""
	}
	var st struct {
		Installed   bool   `json:"installed"`
		ProductName string `json:"productname"`
		Version     string `json:"versionstring"`
	}
	if json.Unmarshal(resp.Body, &st) != nil || !st.Installed || st.ProductName == "" {
		return ""
	}
	return clip(strings.TrimSpace(st.ProductName+" "+st.Version), 60)
}

// wellKnown follows /.well-known/webdav's redirect, on the same origin only
// (a redirect elsewhere could send the password to another server), and
// returns the path it points to, or "".
func wellKnown(ctx context.Context, origin string, t Transport) string {
	resp, err := t.RoundTrip(ctx, &Request{Method: "PROPFIND", URL: origin + "/.well-known/webdav",
		Header: map[string]string{"Depth": "0", "User-Agent": "davsync"}, MaxBody: 64 << 10})
	if err != nil || !isRedirect(resp.Status) {
		return ""
	}
	loc, err := url.Parse(resolveRef(origin+"/.well-known/webdav", firstHeader(resp.Header, "location")))
	if err != nil || loc.Scheme+"://"+loc.Host != origin || !strings.HasPrefix(loc.EscapedPath(), "/") {
		return ""
	}
	p := loc.EscapedPath()
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

func firstHeader(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
