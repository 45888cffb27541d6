package engine

import (
	"context"

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
// and the import is planned again on the new state. The state it replaces
// is kept as an undo point ("import").
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
	for round := 0; round < maxImportRounds; round++ {
		doc, rev, err := st.Load(ctx)
		if err != nil {
			return nil, err
		}
		plan, err := transfer.Plan(doc, []byte(p.JSON), transfer.ImportOptions{
			Passphrase: p.Passphrase, KDF: e.cfg.KDF,
			Accounts: m, Preferences: m, SkipDuplicates: skip,
			Now: st.Clock().Now(), Wall: e.cfg.Wall(),
		})
		if err != nil {
			return nil, err
		}
		if p.DryRun {
			return map[string]any{"preview": plan.Preview}, nil
		}
		st.Clock().Observe(plan.Stamp)
		ok, _, err := st.CommitIf(ctx, rev, local.Commit{Doc: plan.Doc, UndoLabel: "import"})
		if err != nil {
			return nil, err
		}
		if ok {
			return map[string]any{"result": plan.Result()}, nil
		}
	}
	return nil, errkind.New(errkind.Busy, op, "the data kept changing while importing; try again in a moment")
}
