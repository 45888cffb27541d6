// Package webdav is davsync's WebDAV client: the few operations a sync
// cycle needs (Stat, List, Get, Put, MkcolAll, Move, Copy, Delete) and a
// server check (Check) that finds out which of WebDAV's promises a server
// actually keeps.
//
// The package is platform-free and never imports net/http: one HTTP
// exchange goes through the Transport interface, implemented by
// internal/webdav/httptransport natively and by wasm/jsfetch in the
// browser. Everything above a single exchange lives here, so both platforms
// behave the same:
//
//   - Paths are relative to the configured folder, '/'-separated and
//     unescaped; the client percent-encodes every segment (spaces,
//     non-ASCII) and sends MOVE/COPY Destination as a full URL.
//   - Authentication is chosen from the first 401's WWW-Authenticate:
//     Digest (RFC 7616: SHA-512-256, SHA-256, MD5, their -sess forms,
//     qop=auth, nonce counting) before Basic (UTF-8). The challenge is
//     remembered, so later requests do not pay a 401 round trip.
//   - Preemptive authentication: a new Client still pays that one 401
//     unless the caller gives it what an earlier client learned.
//     Client.AuthState (also CheckResult.AuthState) returns a small
//     JSON-serialisable AuthState (scheme; for Digest realm, nonce, opaque,
//     algorithm, qop; never a username or password). WithAuthState(saved)
//     or, for Basic, WithAuthScheme(CheckResult.AuthScheme) makes the first
//     request carry credentials, so an unchanged sync cycle costs exactly
//     one request (GET answered 304). Digest reuses the saved nonce with a
//     fresh cnonce and nc=1; any 401 to that (stale or not) is answered
//     from the new challenge and retried once, and only a 401 to the retry
//     is a credential failure. Without a usable state, or without
//     credentials, the client behaves as before. Save AuthState again after
//     a sync: Digest nonces change.
//   - Multistatus answers are parsed by local element names (any prefix of
//     DAV:), hrefs normalised (absolute or path, any %-case, trailing
//     slash or not), 404 propstats ignored, ETags normalised (W/ and quotes
//     dropped, see NormalizeETag). Bodies above 16 MiB and HTML pages
//     answered with 200 are refused with a clear error.
//   - Trailing slashes: nginx refuses DELETE, MOVE and COPY of a folder
//     named without its trailing slash (409). A path given with a trailing
//     slash ("old/") is sent with it; otherwise a 409 is retried once with
//     the slash (on both URLs for MOVE/COPY). A 409 changed nothing, so the
//     retry cannot do more than the caller asked; if it fails too (a file),
//     the first answer is reported.
//   - nginx answers 500 to a PUT below a missing folder. Put maps that to
//     folder_missing ("the folder ... does not exist on the server;
//     davsync creates it when it syncs — or check the folder URL") only if
//     the file is absent and a PROPFIND of its folder answers 404; both
//     requests happen only on that error path. A real 500 stays server.
//   - Every failure is an *errkind.Error whose kind follows the status
//     (401 auth, 403 forbidden, 409 folder_missing, 412 precondition, 423
//     locked, 429 rate_limited with RetryAfter, 3xx redirected naming the
//     target, ...) and whose message says what to do. Messages never hold
//     the password or the Authorization header.
//   - Idempotent requests (PROPFIND, GET, HEAD, MKCOL, DELETE, MOVE, COPY)
//     are retried on network errors, 408, 429, 5xx with capped exponential
//     backoff that honours Retry-After within a total wait budget. A PUT
//     whose reply was lost is never blindly resent: Put re-reads the file
//     first (see Put).
//
// Beyond the agreed API (see the team brief) the package adds, without
// changing any agreed name: AuthState, WithAuthState, WithAuthScheme,
// Client.AuthState and CheckResult.AuthState; PutCondition.Verify; PutResult.Created,
// Verified, Recovered and Date; GetResult.ContentType; the Option
// functions (WithTimeout, WithRetry, WithMaxRetryWait, WithSleep,
// WithClock, WithRandom, WithUserAgent, WithMaxXML); the header parsers
// ParseWWWAuthenticate, ParseRetryAfter, ParseHTTPDate and NormalizeETag;
// and the Folder*/Strategy* constants of CheckResult.
//
// Which server ignores which precondition is in
// /work/shared/docs/webdav-servers.md; Check measures it for the server at
// hand and recommends a write strategy (StrategyConditional or
// StrategyVerifyAfterWrite) for the sync cycle.
package webdav
