// Package errkind gives every failure davsync can report a stable, testable
// kind. The kinds are the strings the extension's message protocol carries
// (see extension/PROTOCOL.md), so a page can pick the fix to show without
// parsing English.
//
// A package reports a failure by returning an *Error (or any error type with
// an ErrKind method); callers test it with errors.Is(err, errkind.Auth) or
// read it with errkind.Of(err). What the error says comes with a message
// key (Say, SayWrap, Internal), so that the pages show it in the user's
// language while Error() stays English for logs and the command line.
package errkind

import (
	"errors"
	"time"

	"github.com/davsync/davsync/internal/msg"
)

// Kind is a stable, machine-readable failure class. Kind implements error so
// that errors.Is(err, errkind.Auth) reads naturally.
type Kind string

// The kinds. Their string values are part of the message protocol: never
// rename one, only add.
const (
	Unknown             Kind = "unknown"              // a bug or an unclassified failure
	Invalid             Kind = "invalid"              // a caller passed a bad argument (a page bug or a bad setting)
	Auth                Kind = "auth"                 // the server rejected the credentials
	Forbidden           Kind = "forbidden"            // credentials accepted, access refused
	NotFound            Kind = "not_found"            // the file or folder does not exist
	FolderMissing       Kind = "folder_missing"       // the parent folder of a write does not exist
	Precondition        Kind = "precondition"         // If-Match / If-None-Match failed: someone else wrote
	Locked              Kind = "locked"               // 423: the resource is locked by another client
	InsufficientStorage Kind = "insufficient_storage" // 507: the server or quota is full
	TooLarge            Kind = "too_large"            // 413, or input above a documented limit
	RateLimited         Kind = "rate_limited"         // 429 or 503 with Retry-After
	Server              Kind = "server"               // 5xx
	Redirected          Kind = "redirected"           // 3xx: the configured URL is not where the server is
	Network             Kind = "network"              // connection refused, reset, DNS, dropped
	Timeout             Kind = "timeout"              // no answer in time
	BadResponse         Kind = "bad_response"         // the server answered something that is not WebDAV (an HTML login page, broken XML)
	Unsupported         Kind = "unsupported"          // the server lacks a method davsync needs (e.g. MOVE refused)
	BadDocument         Kind = "bad_document"         // a backup file that is not valid
	NewerVersion        Kind = "newer_version"        // a backup file written by a newer davsync
	Decrypt             Kind = "decrypt"              // wrong passphrase or a damaged encrypted file
	PassphraseNeeded    Kind = "passphrase_needed"    // the file is encrypted and no passphrase was given
	NeedsConfirmation   Kind = "needs_confirmation"   // the mass-change guard stopped a cycle
	NotConfigured       Kind = "not_configured"       // no WebDAV server set up yet
	Busy                Kind = "busy"                 // another cycle is running
	Canceled            Kind = "canceled"             // the caller gave up
	Storage             Kind = "storage"              // the local store (chrome.storage) failed
	InsecureTransport   Kind = "insecure_transport"   // http:// to another machine without the user's explicit choice
)

// Kinds lists every kind: what it means (for the protocol's documentation)
// and, in English, the short name and the fix the extension shows for it
// (its locales translate them; the command-line tool prints them). The
// generator of extension/PROTOCOL.md reads it, and a test checks the
// English locale says the same.
var Kinds = []struct {
	Kind       Kind
	Doc        string
	Title, Fix string
}{
	{Unknown, "a bug or an unclassified failure", "Something went wrong", "Try again; if it keeps happening, reload the extension."},
	{Invalid, "a bad argument or setting", "Invalid input", "Check the value you entered."},
	{Auth, "the server rejected the credentials", "Sign-in failed", "Check the user name and password in the settings (an account with two-factor login may need an app password)."},
	{Forbidden, "credentials accepted, access refused", "Access refused", "This account may not use that folder: pick another folder or ask the server's administrator."},
	{NotFound, "the file or folder does not exist", "Not found", "Check the server address in the settings."},
	{FolderMissing, "the parent folder of a write does not exist", "Folder missing", "Create the folder on the server or correct the address; Test connection creates it."},
	{Precondition, "someone else wrote (If-Match failed)", "Changed by another device", "Another device wrote at the same moment; sync again."},
	{Locked, "423: locked by another program", "Locked on the server", "Wait until the other program finishes, or remove the lock on the server."},
	{InsufficientStorage, "507: the server or quota is full", "Server storage full", "Free space on the server or raise the account's quota."},
	{TooLarge, "413, or input above a limit", "Too large", "Use a smaller file, or raise the server's upload limit."},
	{RateLimited, "429 or 503 with Retry-After", "Server asks to slow down", "davsync tries again by itself at the time given below."},
	{Server, "5xx", "Server error", "The server had a problem; davsync tries again later. If it persists, check the server's logs."},
	{Redirected, "3xx: fix the URL", "Address redirected", "Change the server address in the settings to the one given below."},
	{Network, "connection refused, reset, DNS, dropped", "Cannot reach the server", "Check the address and your connection; davsync tries again later."},
	{Timeout, "no answer in time", "Server did not answer in time", "The server is slow or out of reach; davsync tries again later."},
	{BadResponse, "not WebDAV (an HTML login page, broken XML)", "Not a WebDAV answer", "The address seems to lead to a web page, not a WebDAV folder: check it (on Nextcloud it ends in /remote.php/dav/files/<user>/)."},
	{Unsupported, "the server lacks a method davsync needs", "Server lacks a feature", "The server lacks a WebDAV feature davsync needs; try another folder or server."},
	{BadDocument, "not a valid backup", "Invalid backup file", "Pick another file; nothing was changed."},
	{NewerVersion, "a backup from a newer davsync", "Backup from a newer davsync", "Update davsync on this device; nothing was changed."},
	{Decrypt, "wrong passphrase or a damaged encrypted file", "Wrong passphrase", "Enter the passphrase used on the other device; nothing was changed."},
	{PassphraseNeeded, "the file is encrypted and no passphrase is at hand", "Passphrase needed", "Enter the passphrase in the encryption settings."},
	{NeedsConfirmation, "a question held the operation (the preview is in the status and error.detail)", "Large change waits for your confirmation", "Look at the preview, then confirm the sync or undo the change."},
	{NotConfigured, "no server set up yet", "No server set up", "Enter your WebDAV server in the settings."},
	{Busy, "another operation runs", "A sync is already running", "Wait for the running sync to finish."},
	{Canceled, "the caller gave up", "Canceled", "Start it again when you are ready."},
	{Storage, "the browser's storage failed", "Browser storage failed", "The browser could not save davsync's data; free disk space and reload the extension."},
	{InsecureTransport, "an http:// URL to another machine without the user's explicit choice", "Unencrypted connection", "Use an https:// address, or allow the unencrypted connection to this server in the settings if the network between you is yours."},
}

// Error implements error so that a Kind can be the target of errors.Is.
func (k Kind) Error() string { return string(k) }

// Title is the kind's short name in English ("Sign-in failed").
func (k Kind) Title() string {
	for _, x := range Kinds {
		if x.Kind == k {
			return x.Title
		}
	}
	return string(k)
}

// Fix says in English what the user can do about a failure of this kind.
func (k Kind) Fix() string {
	for _, x := range Kinds {
		if x.Kind == k {
			return x.Fix
		}
	}
	return ""
}

// Error is a failure with a kind, the operation it happened in, and a message
// that tells the user what happened and what to do. Msg must never contain a
// password, a passphrase or an Authorization header.
type Error struct {
	Kind Kind
	// Op names what was being done, e.g. "PUT davsync/davsync.json".
	Op string
	// Msg is the user-facing explanation, including the fix.
	Msg string
	// RetryAfter is when a rate-limited or busy server may be tried again; zero if unknown.
	RetryAfter time.Time
	// Detail is machine-readable JSON a page needs to act on the error (the
	// preview of a held operation, which a confirmation must name); nil
	// when there is none. Like Msg it never holds a secret.
	Detail []byte
	// Note is Msg as a message key with parameters, which the pages render
	// in the user's language (Msg stays the English for logs and the
	// command line). Its zero value means the message has no key.
	Note msg.Msg
	// Err is the underlying cause, if any.
	Err error
}

// Say returns an *Error of kind k whose message is m: Msg is its English,
// Note its key for the pages.
func Say(k Kind, op string, m msg.Msg) *Error {
	return &Error{Kind: k, Op: op, Msg: m.Text, Note: m}
}

// SayWrap is Say keeping err as the cause. When the cause is davsync's own
// *Error its message follows in brackets (the pages show its note below
// m's); a foreign error's text (a browser's, a parser's) is not shown.
func SayWrap(k Kind, op string, m msg.Msg, err error) *Error {
	e := &Error{Kind: k, Op: op, Msg: m.Text, Note: m, Err: err}
	var cause *Error
	if errors.As(err, &cause) {
		if c := Message(cause); c != "" {
			e.Msg += " (" + c + ")"
		}
	}
	return e
}

// New returns an *Error of kind k with an English message and no key: for
// what only the command line or a native tool says. Anything the pages may
// show uses Say (or Internal).
func New(k Kind, op, msg string) *Error { return &Error{Kind: k, Op: op, Msg: msg} }

// Wrap is New keeping err as the cause.
func Wrap(k Kind, op, msg string, err error) *Error {
	return &Error{Kind: k, Op: op, Msg: msg, Err: err}
}

func (e *Error) Error() string {
	s := e.Msg
	if s == "" {
		s = string(e.Kind)
	}
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is this error's Kind, so errors.Is(err, errkind.Auth) works.
func (e *Error) Is(target error) bool {
	k, ok := target.(Kind)
	return ok && k == e.Kind
}

// ErrKind returns the error's kind.
func (e *Error) ErrKind() Kind { return e.Kind }

// kinded is implemented by any error type that knows its kind.
type kinded interface{ ErrKind() Kind }

// Of returns the kind of the first error in err's chain that has one, or
// Unknown. Of(nil) is "".
func Of(err error) Kind {
	if err == nil {
		return ""
	}
	var k kinded
	if errors.As(err, &k) {
		return k.ErrKind()
	}
	var kk Kind
	if errors.As(err, &kk) {
		return kk
	}
	return Unknown
}

// DetailOf returns the Detail of the first *Error in err's chain that has
// one, or nil.
func DetailOf(err error) []byte {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Detail != nil {
			return e.Detail
		}
		err = errors.Unwrap(err)
	}
	return nil
}

// Internal returns an *Error for what only a bug (in davsync or in a page
// talking to it) can cause: a bad argument, an impossible state. Its
// English is detail, a developer's words the pages show as the parameter
// of a translated "internal error; please report it" (errInternal).
// cause, when not nil, is kept as the underlying error.
func Internal(k Kind, op, detail string, cause error) *Error {
	return &Error{Kind: k, Op: op, Msg: detail, Note: msg.New("errInternal", detail), Err: cause}
}

// Notes returns the keyed messages of err's chain, outermost first: what
// the pages show, in the user's language, instead of Message's English.
// An *Error without a key adds nothing (its English stays in Message).
func Notes(err error) []msg.Msg {
	var out []msg.Msg
	for err != nil {
		if e, ok := err.(*Error); ok && e.Note.Key != "" {
			out = append(out, e.Note)
		}
		err = errors.Unwrap(err)
	}
	return out
}

// Message returns the user-facing message of the first *Error in err's chain,
// or err.Error() when there is none.
func Message(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Msg != "" {
		return e.Msg
	}
	return err.Error()
}
