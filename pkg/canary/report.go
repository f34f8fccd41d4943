package canary

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// ReportVersion is the version of the JSON report format.
const ReportVersion = 2

// Report is the full record of an analysis: the configuration, every tick's raw observations,
// thresholds and verdicts, and the decision. It is JSON-serialisable and Replay re-derives its
// decision from the recorded observations.
type Report struct {
	Version int    `json:"version"`
	Config  Config `json:"config"` // secrets (bearer token, password) are never serialised
	DryRun  bool   `json:"dryRun"`
	// StartedAt is when monitoring began (before waiting for readiness); ReadyAt when the new
	// version was seen serving (equal to StartedAt without a readyQuery).
	StartedAt time.Time `json:"startedAt"`
	ReadyAt   time.Time `json:"readyAt"`
	Ticks     []Tick    `json:"ticks"`
	Decision  Decision  `json:"decision"`
	Reason    string    `json:"reason"`
	DecidedAt time.Time `json:"decidedAt"`
	// Aborted marks a run ended by Engine.Abort (never ready, cancelled, Prometheus not answering before the watch).
	Aborted bool `json:"aborted,omitempty"`
	// Unreachable marks a run ended because Prometheus could not be reached for threshold checks in a row.
	Unreachable bool `json:"unreachable,omitempty"`
	// WouldRollbackAt is the tick at which the rollback rule first held (in a dry run, the run
	// went on; otherwise it is the decision time).
	WouldRollbackAt *time.Time `json:"wouldRollbackAt,omitempty"`
	RollbackReason  string     `json:"rollbackReason,omitempty"`
	FailedChecks    []string   `json:"failedChecks,omitempty"`
	// WaitingPromotion marks a run whose promotion a confirm-promotion webhook held at least once.
	WaitingPromotion bool `json:"waitingPromotion,omitempty"`
	// PostRollout are the post-rollout webhooks' answers, called once after the decision.
	PostRollout []HookCall `json:"postRollout,omitempty"`
	// ReadyHooks are the rollout hooks' answers while the monitor waited for the new version to
	// serve (load tests that make the traffic it waits for): recorded, never counted.
	ReadyHooks []HookCall `json:"readyHooks,omitempty"`
	// Events are the event webhooks' answers: the watch's start, every check, the decision.
	Events []HookCall `json:"events,omitempty"`
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing canary report: %w", err)
	}
	return nil
}

// ReadReport reads a report written by WriteJSON.
func ReadReport(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("reading canary report: %w", err)
	}
	if r.Version != ReportVersion {
		return nil, fmt.Errorf("reading canary report: version %d, this build reads version %d", r.Version, ReportVersion)
	}
	return &r, nil
}

// Replay re-runs the engine over the observations recorded in r (with r's configuration) and
// returns the report it produces; for an untampered report its decision, reason and verdicts
// equal the original's.
func Replay(r *Report) (*Report, error) {
	cfg := r.Config
	e := NewEngine(&cfg)
	e.report.StartedAt, e.report.ReadyAt = r.StartedAt, r.ReadyAt
	for _, t := range r.Ticks {
		if err := replayTick(e, t); err != nil {
			return nil, fmt.Errorf("replaying tick %d: %w", t.N, err)
		}
	}
	if r.Aborted {
		e.Abort(r.DecidedAt, r.Reason)
	}
	if cfg.SkipAnalysis && len(r.Ticks) == 0 {
		e.Skip(r.DecidedAt)
	}
	e.report.PostRollout, e.report.Events, e.report.ReadyHooks = r.PostRollout, r.Events, r.ReadyHooks // recorded answers, not part of the decision
	return e.Report(), nil
}
