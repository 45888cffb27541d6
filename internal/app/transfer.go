package app

import (
	"context"

	"github.com/davsync/davsync/internal/backup"
	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/msg"
	"github.com/davsync/davsync/internal/transfer"
)

// Export returns the device's data (scope all, accounts or preferences) as
// a file, encrypted when passphrase is set, and a file name for it.
func (a *App) Export(ctx context.Context, scope transfer.Scope, passphrase string) ([]byte, string, error) {
	switch scope {
	case "":
		scope = transfer.ScopeAll
	case transfer.ScopeAll, transfer.ScopeAccounts, transfer.ScopePreferences:
	default:
		return nil, "", errkind.Internal(errkind.Invalid, "data.export", "scope must be all, accounts or preferences", nil)
	}
	doc, err := a.Doc(ctx)
	if err != nil {
		return nil, "", err
	}
	return transfer.Export(doc, scope, transfer.ExportOptions{Passphrase: passphrase, KDF: a.cfg.KDF, Now: a.cfg.Wall()})
}

// ImportRequest is a file to import and how.
type ImportRequest struct {
	Data       []byte
	Passphrase string
	// Mode is merge, add or replace ("" = merge), for accounts and
	// preferences alike.
	Mode transfer.Mode
	// SkipDuplicates, in add mode, leaves out records that look like an
	// existing record under another id.
	SkipDuplicates bool
	// DryRun only plans: Import returns the preview and changes nothing.
	DryRun bool
}

// maxImportRounds bounds how often an import is re-planned because the
// user (or a sync) changed the data while it was being planned.
const maxImportRounds = 4

// Import previews (DryRun) or applies an import. Applying cannot lose an
// edit: the plan is computed from revision rev and committed with CommitIf
// on that revision, so if anything changed meanwhile the commit is refused
// and the import is planned again on the new state; after maxImportRounds
// such rounds it is planned with the store held (local.Store.Apply), so a
// stream of edits cannot keep it from completing either. The state it
// replaces is kept as an undo point ("import"), and versions that lost the
// merge go to the conflict log in the same commit.
func (a *App) Import(ctx context.Context, req ImportRequest) (transfer.ImportResult, error) {
	const op = "data.import"
	if len(req.Data) == 0 {
		return transfer.ImportResult{}, errkind.Say(errkind.Invalid, op, msg.New("errNothingToImport"))
	}
	switch req.Mode {
	case "":
		req.Mode = transfer.ModeMerge
	case transfer.ModeMerge, transfer.ModeAdd, transfer.ModeReplace:
	default:
		return transfer.ImportResult{}, errkind.Internal(errkind.Invalid, op, "mode must be merge, add or replace", nil)
	}
	st, err := a.Store(ctx)
	if err != nil {
		return transfer.ImportResult{}, err
	}
	planFor := func(doc *backup.Document) (*transfer.ImportPlan, error) {
		return transfer.Plan(doc, req.Data, transfer.ImportOptions{
			Passphrase: req.Passphrase, KDF: a.cfg.KDF,
			Accounts: req.Mode, Preferences: req.Mode, SkipDuplicates: req.SkipDuplicates,
			Now: st.Clock().Now(), Wall: a.cfg.Wall(),
		})
	}
	commitOf := func(plan *transfer.ImportPlan) (local.Commit, error) {
		// Past every time the imported document holds, not only the
		// plan's stamp: a file from a device whose clock runs ahead carries
		// later times, and a deletion made after the import must beat them.
		st.Clock().Observe(max(plan.Stamp, plan.Doc.Newest()))
		c := local.Commit{Doc: plan.Doc, UndoLabel: "import"}
		var err error
		c.State, _, err = a.conflictState(ctx, plan.Conflicts, "")
		return c, err
	}
	// Planned without holding the store (planning may derive a key), then
	// swapped in if nothing changed meanwhile.
	for round := 0; round < maxImportRounds; round++ {
		doc, rev, err := st.Load(ctx)
		if err != nil {
			return transfer.ImportResult{}, err
		}
		plan, err := planFor(doc)
		if err != nil {
			return transfer.ImportResult{}, err
		}
		if req.DryRun {
			return transfer.ImportResult{ImportPreview: plan.Preview}, nil
		}
		c, err := commitOf(plan)
		if err != nil {
			return transfer.ImportResult{}, err
		}
		ok, _, err := st.CommitIf(ctx, rev, c)
		if err != nil {
			return transfer.ImportResult{}, err
		}
		if ok {
			a.emitStatus(ctx)
			return plan.Result(), nil
		}
	}
	// Edits kept landing while the file was planned: plan once more with
	// the store held, so the import completes on top of all of them.
	var plan *transfer.ImportPlan
	if _, err := st.Apply(ctx, func(doc *backup.Document) (local.Commit, error) {
		var err error
		if plan, err = planFor(doc); err != nil {
			return local.Commit{}, err
		}
		return commitOf(plan)
	}); err != nil {
		return transfer.ImportResult{}, err
	}
	a.emitStatus(ctx)
	return plan.Result(), nil
}
