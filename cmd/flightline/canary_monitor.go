package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/labrats-work/flightline/pkg/actions"
	"github.com/labrats-work/flightline/pkg/canary"
	"github.com/labrats-work/flightline/pkg/forge"
	"github.com/labrats-work/flightline/pkg/imagepolicy"
	"github.com/labrats-work/flightline/pkg/metrics"
	"github.com/labrats-work/flightline/pkg/promote"
	"github.com/labrats-work/flightline/pkg/registry"
	"github.com/labrats-work/flightline/pkg/rollback"
)

// Exit codes of canary-monitor besides 0 (success) and 1 (bad input or a failure to monitor,
// such as a new version that never became ready).
const (
	exitRollback     = 2 // the analysis failed: the promotion was (or must be) reverted
	exitInconclusive = 3 // too little traffic or data to decide
)

// reverter reverts the promotion being watched. It is what canary-monitor needs from the
// rollback flow (pkg/rollback).
type reverter interface {
	Revert(ctx context.Context, reason string, failedChecks []string) (url string, err error)
}

type canaryMonitorOptions struct {
	config, prometheusURL, selector string
	templates                       []string
	version, digest                 string
	promUser, promPassword          string
	promToken, promHeaders          string
	policy, promotionPR, file       string
	report, merge                   string
	rollback, dryRun, validate      bool
	platform                        platformFlags
	scrape                          []string      // --scrape: /metrics URLs instead of a Prometheus server
	scrapeInterval                  time.Duration // --scrape-interval
}

func newCanaryMonitorCmd(a *app) *cobra.Command {
	var o canaryMonitorOptions
	cmd := &cobra.Command{
		Use:   "canary-monitor",
		Short: "Watch Prometheus after a promotion and revert it when the checks fail",
		Long: `canary-monitor runs a Flagger canary analysis against Prometheus and decides as Flagger's
scheduler decides: --config takes a Flagger Canary (flagger.app/v1beta1) unchanged, or a
CanaryMonitor (flightline.dev/v1alpha1) of the same shape; MetricTemplates come from the same
file or from --templates (files or directories), looked up by namespace and name. It first
proves that Prometheus answers and every query parses (exit 1 "cannot watch" otherwise), waits
until the new version serves (readyQuery; by default, with --version, a series with that
version), then checks every metric each interval and logs one line per check, until success
(as many passing checks as Flagger needs to reach its promotion point), rollback (failed checks
reach threshold) or inconclusive. Prometheus unreachable never reverts: such a check is
inconclusive, and threshold of them in a row end the watch (exit 1, nothing reverted).

--validate loads the configuration and reports what it will do with every field, querying
nothing (exit 1 on a refusal).

On rollback (and with rollback: true) it reverts the promotion through the rollback flow with
trigger "canary", the decision as reason and the failing checks; whether the promotion can be
reverted is checked (as a dry run) before the watch starts. With rollback: false it only
decides, so that a following job can revert with a fresh token. The JSON report (config, every tick's values and verdicts, the decision) is
written to --report for artifacts and replay.

Outputs: decision, failed-checks, revert-pr-url, report.
Exit codes: 0 success (or any decision with --dry-run), 2 rollback, 3 inconclusive,
1 bad input or a failure to monitor (cannot watch, a new version that never became ready,
Prometheus unreachable for threshold checks in a row: nothing is reverted in any of these).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCanaryMonitor(cmd.Context(), a, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "canary analysis file: a Flagger Canary or a CanaryMonitor (required)")
	f.StringVar(&o.prometheusURL, "prometheus-url", "", "Prometheus address; overrides spec.analysis.provider.address")
	f.StringVar(&o.selector, "selector", "", `PromQL label matchers of the new version for the built-in metrics, e.g. job="agent"; overrides spec.analysis.selector`)
	f.StringSliceVar(&o.templates, "templates", nil, "files or directories holding the MetricTemplates the analysis refers to (comma or newline separated)")
	f.StringVar(&o.version, "version", "", "the version being watched: {{ version }} in queries, and a readiness gate that waits until a series with that version serves")
	f.StringVar(&o.digest, "digest", "", "the image digest being watched: {{ digest }} in queries")
	f.StringVar(&o.promUser, "prometheus-username", "", "Prometheus basic-auth user name (masked)")
	f.StringVar(&o.promPassword, "prometheus-password", "", "Prometheus basic-auth password (masked)")
	f.StringVar(&o.promToken, "prometheus-token", "", "Prometheus bearer token (masked)")
	f.StringVar(&o.promHeaders, "prometheus-headers", "", "extra HTTP headers for Prometheus, one 'Name: value' per line (values masked), e.g. X-Scope-OrgID: team-a")
	f.BoolVar(&o.validate, "validate", false, "load the configuration and report what it will do with every field; query nothing")
	f.StringVar(&o.policy, "policy", "", "the ImagePolicy (NAMESPACE/NAME) whose promotion is watched (for the revert)")
	f.StringVar(&o.promotionPR, "promotion-pr", "", "the promotion to revert (PR number or merge SHA); default: the last merged promotion of the policy")
	o.platform.register(cmd) // platform-repo, platform-dir, token, base-branch (for the revert)
	f.StringVar(&o.file, "file", "", "path of the ImagePolicy file in the platform repository (default: the one in the promotion's marker)")
	f.StringVar(&o.merge, "merge", "none", "what to do with the revert PR: none (leave it for review), merge (merge now) or auto (enable auto-merge)")
	f.BoolVar(&o.rollback, "rollback", true, "revert on failure; false: only decide (a later job reverts with a fresh token)")
	f.BoolVar(&o.dryRun, "dry-run", false, `watch and decide but never revert; report "would have rolled back at T"`)
	f.StringVar(&o.report, "report", "canary-report.json", "where to write the JSON report")
	f.StringSliceVar(&o.scrape, "scrape", nil, "scrape these /metrics URLs with Prometheus's engine in-process instead of querying a Prometheus server (series get job=<the canary's target>, instance=host:port; full binary only)")
	f.DurationVar(&o.scrapeInterval, "scrape-interval", time.Second, "how often --scrape scrapes")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func runCanaryMonitor(ctx context.Context, a *app, o canaryMonitorOptions) error {
	switch o.merge {
	case "none", "merge", "auto":
	default:
		return fmt.Errorf("merge %q: valid values are none, merge, auto", o.merge)
	}
	cred, err := promCredentials(a, &o)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(o.config)
	if err != nil {
		return fmt.Errorf("reading --config: %w", err)
	}
	tpl, err := canary.LoadTemplates(splitList(o.templates))
	if err != nil {
		return err
	}
	popts := []canary.ParseOption{canary.WithSelector(o.selector), canary.WithPrometheusURL(o.prometheusURL),
		canary.WithVersion(o.version), canary.WithDigest(o.digest), canary.WithTemplates(tpl...)}
	if o.dryRun {
		popts = append(popts, canary.WithDryRun(true))
	}
	cfg, err := canary.ParseConfig(o.config, data, popts...)
	if err != nil {
		return errors.New(metrics.RedactURLs(err.Error()))
	}
	a.rt.Mask(cfg.Provider.BearerToken)
	a.rt.Mask(cfg.Provider.Password)
	// Userinfo in the address never travels further than here: it becomes basic auth.
	var urlUser, urlPass string
	cfg.Provider.Address, urlUser, urlPass = metrics.SplitUserinfo(cfg.Provider.Address)
	a.rt.Mask(urlPass)
	a.rt.Mask(urlUser)
	for _, m := range cfg.Metrics { // a template's headers may hold credentials too
		for _, vs := range m.Headers {
			for _, v := range vs {
				a.rt.Mask(v)
			}
		}
	}
	for _, n := range cfg.Notes {
		if n.Status == canary.NoteDeprecated && strings.Contains(n.Field, "provider.") {
			a.rt.Annotate(actions.Warning, n.String(), actions.Annotation{Title: "canary-monitor: deprecated", File: o.config})
		}
	}
	if o.validate {
		a.rt.Logf("%s", canary.Describe(cfg))
		sum := new(actions.Summary)
		sum.Heading(3, "canary "+cfg.Name+": configuration loaded")
		sum.Code("text", canary.Describe(cfg))
		if err := a.rt.WriteSummary(sum); err != nil {
			return err
		}
		return a.rt.SetOutputs([2]string{"decision", ""}, [2]string{"failed-checks", ""}, [2]string{"revert-pr-url", ""}, [2]string{"report", ""})
	}
	var prov metrics.Provider
	perMetric := map[string]metrics.Provider{} // a template's own address or TLS setting
	metricKey := map[string]string{}
	if len(o.scrape) > 0 {
		sp, closeScrape, err := openScrape(ctx, o.scrape, o.scrapeInterval, cfg.Target)
		if err != nil {
			return fmt.Errorf("--scrape: %w", err)
		}
		defer func() { _ = closeScrape() }() // the scrape loop holds no data worth an error at exit
		prov = sp
		a.rt.Logf("metrics: scraping %s every %s in-process (Prometheus's engine, no server)", strings.Join(o.scrape, ", "), o.scrapeInterval)
	} else {
		if cfg.Provider.Address == "" {
			return errors.New("no Prometheus address: give --prometheus-url (input prometheus-url) or spec.analysis.provider.address")
		}
		user, pass, token := cfg.Provider.Username, cfg.Provider.Password, cfg.Provider.BearerToken
		if urlUser != "" || urlPass != "" {
			user, pass, token = urlUser, urlPass, ""
		}
		if cred.user != "" || cred.pass != "" || cred.token != "" {
			user, pass, token = cred.user, cred.pass, cred.token // the inputs win over the file and the URL
		}
		if user != "" || pass != "" {
			// The header's own form, in case an error text echoes it back.
			a.rt.Mask(base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)))
		}
		// newProm is the provider for one address: the analysis' own gets the credentials and
		// headers; a template's own address gets them when the template names a secretRef (the
		// inputs stand for that secret). A template's own headers go with its queries wherever
		// they are sent, over the input's for a name both give.
		newProm := func(address string, insecure, creds bool, own http.Header) (metrics.Provider, error) {
			popt := []metrics.PrometheusOption{metrics.WithTimeout(cfg.Provider.Timeout), metrics.WithInsecureSkipVerify(insecure)}
			headers := http.Header{}
			if creds {
				switch {
				case token != "":
					popt = append(popt, metrics.WithBearerToken(token))
				case user != "" || pass != "":
					popt = append(popt, metrics.WithBasicAuth(user, pass))
				}
				headers = cred.headers.Clone()
			}
			for k, v := range own {
				headers[k] = v
			}
			if len(headers) > 0 {
				popt = append(popt, metrics.WithHeaders(headers))
			}
			return metrics.NewPrometheus(address, popt...)
		}
		if prov, err = newProm(cfg.Provider.Address, false, true, nil); err != nil {
			return fmt.Errorf("spec.analysis.provider: %w", err)
		}
		for _, m := range cfg.Metrics {
			if m.Address == "" && !m.InsecureSkipVerify && len(m.Headers) == 0 {
				continue
			}
			addr, creds := m.Address, m.SecretRef != ""
			if addr == "" {
				addr, creds = cfg.Provider.Address, true
			}
			key := fmt.Sprintf("%s|%t|%t", addr, m.InsecureSkipVerify, creds)
			if len(m.Headers) > 0 {
				key += "|" + m.Template // each template's own headers
			}
			if perMetric[key] == nil {
				mp, err := newProm(addr, m.InsecureSkipVerify, creds, m.Headers)
				if err != nil {
					return fmt.Errorf("MetricTemplate %s: %w", m.Template, err)
				}
				perMetric[key] = redactingProvider{Provider: mp, redact: a.rt.Redact}
			}
			metricKey[m.Name] = key
		}
	}
	// Whatever comes back from Prometheus (an error text may echo a header) has every masked
	// secret replaced before it reaches a check, the report, an output or a PR body.
	prov = redactingProvider{Provider: prov, redact: a.rt.Redact}
	var rev *rollbackReverter
	if o.rollback && !cfg.DryRun {
		// Everything the revert needs is checked before watching, not hours later.
		if rev, err = newRollbackReverter(ctx, a, o); err != nil {
			return err
		}
	}

	a.rt.Logf("canary %s: %d metrics every %s; %s; rollback at %d failed checks (consecutive limit %d); at most %s; dry run %t",
		cfg.Name, len(cfg.Metrics), cfg.Interval, cfg.StrategyText(), cfg.Threshold, cfg.MaxConsecutiveFailures, cfg.MaxDuration, cfg.DryRun)
	for _, n := range cfg.Notes {
		a.rt.Logf("note: %s", n)
	}
	if cfg.ReadyQuery != "" {
		a.rt.Logf("waiting up to %s for readyQuery %s", cfg.ReadyTimeout, cfg.ReadyQuery)
	}
	for _, w := range cfg.Webhooks {
		if u, err := url.Parse(w.URL); err == nil && u.User != nil {
			if pass, ok := u.User.Password(); ok && pass != "" {
				a.rt.Mask(pass) // a webhook's basic auth, in case an answer echoes it
			}
		}
	}
	report, monErr := canary.Monitor(ctx, cfg, prov, canary.WithTickFunc(func(t canary.Tick) {
		a.rt.Logf("%s", t.String())
	}), canary.WithMetricProvider(func(m canary.Metric) metrics.Provider { return perMetric[metricKey[m.Name]] }),
		canary.WithWebhookCaller(canary.NewWebhookCaller(canary.WithRedactor(a.rt.Redact))))
	a.rt.Logf("decision: %s (%s)", report.Decision, report.Reason)

	var revertURL string
	var revertErr error
	if report.Decision == canary.Rollback && rev != nil {
		revertURL, revertErr = rev.Revert(ctx, canary.Clean(report.Reason), report.FailedChecks)
		if revertErr != nil {
			a.rt.Annotate(actions.Error, "the canary failed but the revert did not go through: "+canary.Clean(revertErr.Error()), actions.Annotation{Title: "canary-monitor: not reverted"})
		}
	}

	if err := writeReport(o.report, report); err != nil {
		return err
	}
	if err := a.rt.SetOutputs(
		[2]string{"decision", string(report.Decision)},
		[2]string{"failed-checks", strings.Join(report.FailedChecks, "\n")},
		[2]string{"revert-pr-url", revertURL},
		[2]string{"report", o.report},
	); err != nil {
		return err
	}
	sum := canarySummary(cfg, report, revertURL, revertErr, o)
	if rev != nil && rev.summary != "" {
		sum.Para(rev.summary)
	}
	if err := a.rt.WriteSummary(sum); err != nil {
		return err
	}
	switch {
	case monErr != nil:
		return monErr
	case revertErr != nil:
		return fmt.Errorf("reverting the promotion after the canary failed: %w", revertErr)
	case cfg.DryRun:
		return nil
	case report.Decision == canary.Rollback:
		return &exitError{code: exitRollback, err: fmt.Errorf("canary %s failed: %s", cfg.Name, report.Reason)}
	case report.Decision == canary.Inconclusive:
		return &exitError{code: exitInconclusive, err: fmt.Errorf("canary %s inconclusive: %s", cfg.Name, report.Reason)}
	}
	return nil
}

// redactingProvider replaces masked secrets in the errors of the provider it wraps, keeping
// what they wrap (no data, unreachable, a bad query) for the callers that branch on it.
type redactingProvider struct {
	metrics.Provider
	redact func(string) string
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func (p redactingProvider) wrap(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: metrics.RedactURLs(p.redact(err.Error())), err: err}
}

func (p redactingProvider) Query(ctx context.Context, q string, at time.Time) (metrics.Sample, error) {
	s, err := p.Provider.Query(ctx, q, at)
	return s, p.wrap(err)
}

func (p redactingProvider) QueryRange(ctx context.Context, q string, r metrics.Range) ([]metrics.Series, error) {
	s, err := p.Provider.QueryRange(ctx, q, r)
	return s, p.wrap(err)
}

type promCred struct {
	user, pass, token string
	headers           http.Header
}

// promCredentials reads the prometheus-* inputs, masking every value.
func promCredentials(a *app, o *canaryMonitorOptions) (promCred, error) {
	c := promCred{user: o.promUser, pass: o.promPassword, token: o.promToken}
	for _, v := range []string{c.user, c.pass, c.token} {
		a.rt.Mask(v)
	}
	if c.token != "" && (c.user != "" || c.pass != "") {
		return c, errors.New("prometheus-token and prometheus-username/prometheus-password: give one kind of credential, not both")
	}
	for i, line := range strings.Split(o.promHeaders, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		a.rt.Mask(value)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return c, fmt.Errorf("prometheus-headers line %d: want 'Name: value' (the value is masked)", i+1)
		}
		if c.headers == nil {
			c.headers = http.Header{}
		}
		c.headers.Add(name, value)
	}
	return c, nil
}

// splitList splits list inputs given as several flags, commas or lines.
func splitList(in []string) []string {
	var out []string
	for _, s := range in {
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' }) {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// rollbackReverter reverts through pkg/rollback with trigger "canary".
type rollbackReverter struct {
	a       *app
	f       forge.Forge
	req     rollback.Request
	summary string // the rollback flow's own summary, once it ran
}

var _ reverter = (*rollbackReverter)(nil)

// newRollbackReverter opens the platform repository and runs the rollback flow as a dry run, so
// that a missing promotion, a superseded one or a bad input fails now rather than after the watch.
func newRollbackReverter(ctx context.Context, a *app, o canaryMonitorOptions) (*rollbackReverter, error) {
	if o.policy == "" && o.promotionPR == "" {
		return nil, errors.New("rollback is true but there is nothing to revert: give policy (NAMESPACE/NAME) or promotion-pr, or set rollback: false to only decide")
	}
	f, err := o.platform.open(ctx)
	if err != nil {
		return nil, fmt.Errorf("rollback is true: %w (or set rollback: false to only decide)", err)
	}
	r := &rollbackReverter{a: a, f: f, req: rollback.Request{
		Policy: o.policy, PR: o.promotionPR, File: o.file, Trigger: "canary",
		Merge: promote.MergeMode(o.merge), Base: o.platform.base,
		TrustedAuthors: o.platform.trusted, AppSlug: o.platform.appSlug,
	}}
	check := r.req
	check.DryRun = true
	check.Reason = "canary pre-flight check"
	res, err := rollback.Run(ctx, f, r.src(), check)
	if err != nil {
		if errors.Is(err, rollback.ErrNoPromotion) && o.promotionPR == "" {
			if perr := policyInFile(ctx, f, o); perr != nil {
				err = fmt.Errorf("%w; %w", err, perr)
			}
		}
		return nil, fmt.Errorf("rollback is true but the promotion could not be reverted: %w", err)
	}
	a.rt.Logf("if the canary fails, this reverts %s (%s, range %s back to %s)", res.Reverted.URL, res.Promotion.Policy, res.Promotion.Range, res.RestoredRange)
	// Revert the promotion under watch, never one that lands while the canary watches (that
	// one makes the revert refuse as superseded).
	if r.req.PR == "" && res.Reverted.ID() != "" {
		r.req.PR = res.Reverted.ID()
	}
	return r, nil
}

// policyInFile explains a "no promotion" by a mistyped policy when it is one: the policy is not
// in the platform file (the file input, or promote's default) and these are the candidates.
func policyInFile(ctx context.Context, f forge.Forge, o canaryMonitorOptions) error {
	ref, err := imagepolicy.ParseRef(o.policy)
	if err != nil {
		return fmt.Errorf("policy %q: %w", o.policy, err)
	}
	file := o.file
	if file == "" {
		file = promote.DefaultFile
	}
	base := o.platform.base
	if base == "" {
		if base, err = f.DefaultBranch(ctx); err != nil {
			return nil
		}
	}
	data, err := f.ReadFile(ctx, base, file)
	if err != nil {
		return nil // no file to look in: the rollback flow's message stands
	}
	if _, err := imagepolicy.Find(data, ref); err != nil {
		return fmt.Errorf("in %s on %s: %w", file, base, err)
	}
	return nil
}

func (r *rollbackReverter) src() imagepolicy.TagSource {
	return registry.New(registry.WithGetenv(r.a.getenv))
}

// Revert implements reverter.
func (r *rollbackReverter) Revert(ctx context.Context, reason string, failedChecks []string) (string, error) {
	req := r.req
	req.Reason, req.Checks = reason, failedChecks
	res, err := rollback.Run(ctx, r.f, r.src(), req)
	if res.Message != "" {
		r.a.rt.Logf("%s", res.Message)
	}
	for _, w := range res.Warnings {
		r.a.rt.Annotate(actions.Warning, w, actions.Annotation{Title: "canary-monitor: rollback"})
	}
	if res.Operation != "" {
		r.summary = res.Summary()
	}
	if err != nil {
		return "", err
	}
	return res.Revert.URL, nil
}

func writeReport(path string, r *canary.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing --report: %w", err)
	}
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing --report: %w", err)
	}
	return nil
}

// canarySummary is the step summary: the decision, a table of ticks and a chart per metric
// against its thresholds.
func canarySummary(cfg *canary.Config, r *canary.Report, revertURL string, revertErr error, o canaryMonitorOptions) *actions.Summary {
	s := new(actions.Summary)
	icon := map[canary.Decision]string{canary.Success: "✅", canary.Rollback: "❌", canary.Inconclusive: "⚠️"}[r.Decision]
	s.Heading(3, fmt.Sprintf("%s canary %s: %s", icon, cfg.Name, r.Decision))
	s.Para(r.Reason)
	var facts []string
	if r.WouldRollbackAt != nil {
		facts = append(facts, fmt.Sprintf("rollback rule met at %s: %s", r.WouldRollbackAt.UTC().Format(time.RFC3339), r.RollbackReason))
	}
	switch {
	case revertURL != "":
		facts = append(facts, "reverted: "+revertURL)
	case cfg.DryRun && r.Decision == canary.Rollback:
		facts = append(facts, "dry run: nothing was reverted")
	case r.Decision == canary.Rollback && !o.rollback && revertErr == nil:
		facts = append(facts, "rollback: false — nothing was reverted here; the decision is in the outputs for a following job")
	case r.Decision == canary.Rollback && revertErr != nil:
		facts = append(facts, "not reverted: "+revertErr.Error())
	}
	for _, fc := range r.FailedChecks {
		facts = append(facts, "failed check — "+fc)
	}
	for _, h := range r.PostRollout {
		facts = append(facts, "post-rollout webhook — "+h.String())
	}
	if failed := eventFailures(r.Events); failed != "" {
		facts = append(facts, failed)
	}
	facts = append(facts, fmt.Sprintf("rule (Flagger's): %s, a check every %s; a failed check does not advance; roll back when failed checks ≥ threshold %d", cfg.StrategyText(), cfg.Interval, cfg.Threshold)+
		map[bool]string{true: fmt.Sprintf(" or %d fail in a row", cfg.MaxConsecutiveFailures), false: ""}[cfg.MaxConsecutiveFailures > 0]+
		fmt.Sprintf("; at most %s", cfg.MaxDuration))
	s.List(facts...)
	if len(cfg.Notes) > 0 {
		notes := make([]string, len(cfg.Notes))
		for i, n := range cfg.Notes {
			notes[i] = fmt.Sprintf("`%s`: %s — %s", n.Field, n.Status, n.Detail)
		}
		s.Para("Fields not acted on as Flagger would:")
		s.List(notes...)
	}
	if len(r.Ticks) == 0 {
		s.Para("No check ran.")
		return s
	}
	header := []string{"#", "time (UTC)"}
	for _, m := range cfg.Metrics {
		header = append(header, fmt.Sprintf("%s (%s)", m.Name, thresholdText(m)))
	}
	hooks := false
	for _, t := range r.Ticks {
		hooks = hooks || len(t.Hooks) > 0
	}
	if hooks {
		header = append(header, "webhooks")
	}
	header = append(header, "tick", "failed", "in a row")
	var rows [][]string
	for _, t := range r.Ticks {
		row := []string{strconv.Itoa(t.N), t.At.UTC().Format("15:04:05")}
		for _, c := range t.Checks {
			row = append(row, checkCell(c))
		}
		for len(row) < 2+len(cfg.Metrics) { // the pre-rollout step, a rollback webhook: no metric checks
			row = append(row, "— ("+t.Kind+" step)")
		}
		if hooks {
			row = append(row, hooksCell(t.Hooks))
		}
		row = append(row, string(t.Verdict), strconv.Itoa(t.FailedTotal), strconv.Itoa(t.Consecutive))
		rows = append(rows, row)
	}
	s.Table(header, rows)
	labels := make([]string, len(r.Ticks))
	for i, t := range r.Ticks {
		labels[i] = strconv.Itoa(t.N)
	}
	for i, m := range cfg.Metrics {
		values := make([]float64, len(r.Ticks))
		missing := 0
		for j, t := range r.Ticks {
			values[j] = math.NaN()
			if i >= len(t.Checks) {
				missing++
			} else if c := t.Checks[i]; c.Result.Outcome == canary.GotValue {
				values[j] = float64(c.Result.Value)
			} else {
				missing++
			}
		}
		series := []actions.Series{{Name: m.Name, Values: values}}
		if m.Min != nil {
			series = append(series, actions.Series{Name: "min " + strconv.FormatFloat(*m.Min, 'g', -1, 64), Values: constant(*m.Min, len(values))})
		}
		if m.Max != nil {
			series = append(series, actions.Series{Name: "max " + strconv.FormatFloat(*m.Max, 'g', -1, 64), Values: constant(*m.Max, len(values))})
		}
		title := m.Name
		if m.Unit != "" {
			title += " (" + m.Unit + ")"
		}
		if missing > 0 {
			title += fmt.Sprintf(" — %d ticks without a value drawn at the axis minimum", missing)
		}
		s.Chart(actions.Chart{Title: title, XLabels: labels, YLabel: m.Unit, Series: series})
	}
	return s
}

func constant(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func thresholdText(m canary.Metric) string {
	var parts []string
	if m.Min != nil {
		parts = append(parts, "≥ "+strconv.FormatFloat(*m.Min, 'g', -1, 64))
	}
	if m.Max != nil {
		parts = append(parts, "≤ "+strconv.FormatFloat(*m.Max, 'g', -1, 64))
	}
	return strings.Join(parts, ", ") + " " + m.Unit
}

// eventFailures says how many event webhook calls failed, with the last failure.
func eventFailures(calls []canary.HookCall) string {
	var n int
	var last canary.HookCall
	for _, c := range calls {
		if !c.OK {
			n++
			last = c
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("event webhooks — %d of %d calls failed; last: %s", n, len(calls), last)
}

// hooksCell lists a tick's webhook calls, each cleaned when it was recorded.
func hooksCell(calls []canary.HookCall) string {
	parts := make([]string, len(calls))
	for i, c := range calls {
		parts[i] = c.String()
	}
	return strings.Join(parts, "; ")
}

func checkCell(c canary.Check) string {
	var v string
	switch c.Result.Outcome {
	case canary.GotValue:
		v = strconv.FormatFloat(float64(c.Result.Value), 'g', 5, 64)
	case canary.GotNoData:
		v = "no data"
	case canary.GotUnreachable:
		v = "unreachable"
	default:
		v = "error"
	}
	if c.Verdict == canary.Indecisive || c.Verdict == canary.Ignored {
		return fmt.Sprintf("%s — %s (%s)", v, c.Verdict, c.Reason)
	}
	return v + " " + string(c.Verdict)
}
