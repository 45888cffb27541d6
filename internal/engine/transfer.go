package engine

import (
	"context"
	"github.com/davsync/davsync/internal/backup"

	"github.com/davsync/davsync/internal/errkind"
	"github.com/davsync/davsync/internal/local"
	"github.com/davsync/davsync/internal/transfer"
)

func (e *Engine) dataExport(ctx context.Context, params []byte) (any, error) {
	const op = "data.export"
	var p struct {
		Scope      string `json:"scope"`
		Passphrase string `json:"passphrase"`
	}
	if err := decode(op, params, &p); err != nil {
		return nil, err
	}
	scope := transfer.Scope(p.Scope)
	switch scope {
	case "":
		scope = transfer.ScopeAll
	case transfer.ScopeAll, transfer.ScopeAccounts, transfer.ScopePreferences:
	default:
		return nil, errkind.New(errkind.Invalid, op, "scope must be all, accounts or preferences")
	}
	doc, err := e.loadDoc(ctx)
	if err != nil {
		return nil, err
	}
	b, name, err := transfer.Export(doc, scope, transfer.ExportOptions{Passphrase: p.Passphrase, KDF: e.cfg.KDF, Now: e.cfg.Wall()})
	if err != nil {
		return nil, err
	}
	return map[string]any{"json": string(b), "filename": name}, nil
}

// importModes maps the page's import mode to the sections' modes.
func importModes(op, m string) (transfer.Mode, error) {
	switch m {
	case "", "merge":
		return transfer.ModeMerge, nil
	case "add":
		return transfer.ModeAdd, nil
	case "replace":
		return transfer.ModeReplace, nil
	}
	return "", errkind.New(errkind.Invalid, op, "mode must be merge, add or replace")
}

// maxImportRounds bounds how often an import is re-planned because the
// user (or a sync) changed the data while it was being planned.
const maxImportRounds = 4

// dataImport previews (dryRun) or applies an import. Applying cannot lose an
// edit: the plan is computed from revision rev and committed with CommitIf
// on that revision, so if anything changed meanwhile the commit is refused
// and the import is planned again on the new state; after maxImportRounds
// such rounds it is planned with the store held (local.Store.Apply), so a
// stream of edits cannot keep it from completing either. The state it
// replaces is kept as an undo point ("import").
func (e *Engine) dataImport(ctx context.Context, params []byte) (any, error) {
	const op = "data.import"
	var p struct {
		JSON       string `json:"json"`
		Passphrase string `json:"passphrase"`
		Mode       string `json:"mode"`
		DryRun     bool   `json:"dryRun"`
		SkipDups   *bool  `json:"skipDuplicates"`
	}
	if err := decode(op, params, &p); err != nil {
		return nil, err
	}
	if p.JSON == "" {
		return nil, errkind.New(errkind.Invalid, op, "nothing to import: choose a file or paste its content")
	}
	m, err := importModes(op, p.Mode)
	if err != nil {
		return nil, err
	}
	st, err := e.Store(ctx)
	if err != nil {
		return nil, err
	}
	skip := p.SkipDups == nil || *p.SkipDups
	planFor := func(doc *backup.Document) (*transfer.ImportPlan, error) {
		return transfer.Plan(doc, []byte(p.JSON), transfer.ImportOptions{
			Passphrase: p.Passphrase, KDF: e.cfg.KDF,
			Accounts: m, Preferences: m, SkipDuplicates: skip,
			Now: st.Clock().Now(), Wall: e.cfg.Wall(),
		})
	}
	commitOf := func(plan *transfer.ImportPlan) (local.Commit, error) {
		// Past every time the imported document holds, not only the
		// plan's stamp: a file from a device whose clock runs ahead carries
		// later times, and a deletion made after the import must beat them.
		st.Clock().Observe(max(plan.Stamp, plan.Doc.Newest()))
		c := local.Commit{Doc: plan.Doc, UndoLabel: "import"}
		// Versions that lost the merge go to the conflict log in the same
		// commit, so the user can bring them back (as after a sync).
		if len(plan.Conflicts) > 0 {
			se, err := e.syncEngine(ctx)
			if err != nil {
				return c, err
			}
			if c.State, err = se.ConflictState(ctx, plan.Conflicts); err != nil {
				return c, err
			}
		}
		return c, nil
	}
	// Planned without holding the store (planning may derive a key), then
	// swapped in if nothing changed meanwhile.
	for round := 0; round < maxImportRounds; round++ {
		doc, rev, err := st.Load(ctx)
		if err != nil {
			return nil, err
		}
		plan, err := planFor(doc)
		if err != nil {
			return nil, err
		}
		if p.DryRun {
			return map[string]any{"preview": plan.Preview}, nil
		}
		c, err := commitOf(plan)
		if err != nil {
			return nil, err
		}
		ok, _, err := st.CommitIf(ctx, rev, c)
		if err != nil {
			return nil, err
		}
		if ok {
			return map[string]any{"result": plan.Result()}, nil
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
		return nil, err
	}
	return map[string]any{"result": plan.Result()}, nil
}
