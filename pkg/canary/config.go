package canary

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxRunLength is GitHub's job limit: a configuration whose ready wait plus analysis would run
// longer is refused, as is any single duration above it.
const MaxRunLength = 6 * time.Hour

// MinInterval is the shortest analysis interval accepted. (Flagger raises intervals below 10s to
// 10s; Flightline accepts down to 1s, for demos and staging checks, and says so in its notes.)
const MinInterval = time.Second

// Defaults of the analysis, applied when a field is absent.
const (
	DefaultInterval     = time.Minute      // spec.analysis.interval (Flagger's default)
	DefaultThreshold    = 1                // spec.analysis.threshold (Flagger's default)
	DefaultWindow       = time.Minute      // metrics[].interval, the query window (Flagger's default)
	DefaultReadyTimeout = 10 * time.Minute // spec.analysis.readyTimeout
	DefaultQuantile     = 0.99             // metrics[].quantile for request-duration
	DefaultQueryTimeout = 30 * time.Second // spec.analysis.provider.timeout
	// KubernetesIterations is what Flagger uses when spec.provider is kubernetes and the
	// analysis has no iterations: that provider cannot shift traffic, so it runs blue/green.
	KubernetesIterations = 10
)

// NoDataPolicy says what a check whose query returned no data (no series, or NaN) counts as.
type NoDataPolicy string

// No-data policies. The default is NoDataFail (Flagger counts "no values found" as a failed check).
const (
	NoDataFail   NoDataPolicy = "fail"
	NoDataPass   NoDataPolicy = "pass"
	NoDataIgnore NoDataPolicy = "ignore" // the check is left out of this tick
)

// ErrorPolicy says what a check whose query Prometheus answered with an error (bad PromQL, a
// scalar, an execution error) counts as. There is deliberately no "pass". A query that got no
// answer at all (Prometheus unreachable) is never a failure: it makes the check inconclusive.
type ErrorPolicy string

// Error policies. The default is ErrorFail (Flagger counts a query error as a failed check).
const (
	ErrorFail   ErrorPolicy = "fail"
	ErrorIgnore ErrorPolicy = "ignore" // the check is left out of this tick (the tick cannot pass on it)
)

// Strategy is how Flagger would run this analysis, which decides how many passing checks
// reach the promotion point.
type Strategy string

// Strategies, as Flagger's scheduler chooses them.
const (
	Progressive Strategy = "canary"     // stepWeight / stepWeights up to maxWeight
	BlueGreen   Strategy = "blue-green" // iterations
	ABTesting   Strategy = "ab-testing" // iterations with match conditions
)

// Provider is where the monitor's queries go.
type Provider struct {
	Address     string        `json:"address"`
	BearerToken string        `json:"-"`
	Username    string        `json:"username,omitempty"`
	Password    string        `json:"-"`
	Timeout     time.Duration `json:"timeout"`
}

// NoteStatus says what Flightline does with a field it read.
type NoteStatus string

// Note statuses.
const (
	NoteMapped        NoteStatus = "mapped"         // acted on through a Flightline equivalent
	NoteDeprecated    NoteStatus = "deprecated"     // read, but there is a better way
	NoteNotYet        NoteStatus = "not yet"        // not acted on yet: the follow-up issue
	NoteNotApplicable NoteStatus = "not applicable" // Flightline routes no traffic
	NoteDiffers       NoteStatus = "differs"        // acted on, not exactly as Flagger does
)

// Note is a field present in the configuration that is not acted on as Flagger would, said
// out loud: the step summary and the log list every note.
type Note struct {
	Field  string     `json:"field"`
	Status NoteStatus `json:"status"`
	Detail string     `json:"detail"`
}

func (n Note) String() string { return fmt.Sprintf("%s: %s — %s", n.Field, n.Status, n.Detail) }

// Config is a parsed, defaulted and validated canary analysis.
type Config struct {
	Source       string `json:"source"`    // file name the config came from
	Kind         string `json:"kind"`      // Canary or CanaryMonitor
	Name         string `json:"name"`      // metadata.name
	Namespace    string `json:"namespace"` // metadata.namespace
	Target       string `json:"target"`    // spec.targetRef.name (Canary) or metadata.name
	TargetKind   string `json:"-"`         // spec.targetRef.kind (Deployment, DaemonSet, StatefulSet, Service)
	MeshProvider string `json:"meshProvider,omitempty"`
	// Service, Ingress and Route are the template functions service, ingress and route:
	// spec.service.name, spec.ingressRef.name, spec.routeRef.name, each the target when absent.
	Service string `json:"service,omitempty"`
	Ingress string `json:"ingress,omitempty"`
	Route   string `json:"route,omitempty"`
	// SkipAnalysis is spec.skipAnalysis: Flagger promotes without any check.
	SkipAnalysis bool          `json:"skipAnalysis,omitempty"`
	Interval     time.Duration `json:"interval"`
	// Threshold is the number of failed checks (a running total) that rolls back.
	Threshold int      `json:"threshold"`
	Strategy  Strategy `json:"strategy"`
	// Iterations, StepWeight, StepWeights, MaxWeight and Mirror are Flagger's fields as read.
	Iterations  int   `json:"iterations,omitempty"`
	StepWeight  int   `json:"stepWeight,omitempty"`
	StepWeights []int `json:"stepWeights,omitempty"`
	MaxWeight   int   `json:"maxWeight,omitempty"`
	Mirror      bool  `json:"mirror,omitempty"`
	// PassesNeeded is how many passing checks reach Flagger's promotion point.
	PassesNeeded int `json:"passesNeeded"`
	// MaxDuration bounds the run (ours): reached before a decision, the run is inconclusive.
	MaxDuration time.Duration `json:"maxDuration"`
	// MinPassedRatio (ours, 0 = off): at the promotion point, a run where fewer than this share
	// of its checks passed is inconclusive instead of a success.
	MinPassedRatio float64 `json:"minPassedRatio,omitempty"`
	// MaxConsecutiveFailures rolls back after that many failed checks in a row; 0 = no such limit.
	MaxConsecutiveFailures int               `json:"maxConsecutiveFailures"`
	Selector               string            `json:"selector"`
	Vars                   map[string]string `json:"vars,omitempty"`
	Version                string            `json:"version,omitempty"`
	Digest                 string            `json:"digest,omitempty"`
	ReadyQuery             string            `json:"readyQuery,omitempty"`
	ReadyTimeout           time.Duration     `json:"readyTimeout"`
	DryRun                 bool              `json:"dryRun"`
	Provider               Provider          `json:"provider"`
	Metrics                []Metric          `json:"metrics"`
	Webhooks               []Webhook         `json:"webhooks,omitempty"`
	Notes                  []Note            `json:"notes,omitempty"`
}

// Metric is one check, with its query rendered.
type Metric struct {
	Name     string        `json:"name"`
	Query    string        `json:"query"`
	Min      *float64      `json:"min,omitempty"`
	Max      *float64      `json:"max,omitempty"`
	Window   time.Duration `json:"window"`
	Unit     string        `json:"unit,omitempty"`
	OnNoData NoDataPolicy  `json:"onNoData"`
	OnError  ErrorPolicy   `json:"onError"`
	// WholeMilliseconds compares the value and the bounds truncated to whole milliseconds, as
	// Flagger does for its built-in request-duration.
	WholeMilliseconds bool `json:"wholeMilliseconds,omitempty"`
	// MinRequests: when > 0, RequestsQuery (requests in the window) is asked first and a value
	// below MinRequests makes the check inconclusive for that tick (ours, off unless set).
	MinRequests   float64 `json:"minRequests,omitempty"`
	RequestsQuery string  `json:"requestsQuery,omitempty"`
	Builtin       bool    `json:"builtin,omitempty"`
	// Template names the MetricTemplate (namespace/name) and its file, when the query came from one.
	Template string `json:"template,omitempty"`
	// Address is the template's own Prometheus address when it differs from the analysis' (empty:
	// the analysis' provider). InsecureSkipVerify and SecretRef are the template provider's.
	Address            string `json:"address,omitempty"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
	SecretRef          string `json:"secretRef,omitempty"`
	// Headers are the template provider's headers, sent with this metric's queries. Their
	// values may be credentials: they are never serialised, and the notes name them only.
	Headers http.Header `json:"-"`
}

// MinRunLength is the shortest run: PassesNeeded checks, all passing.
func (c *Config) MinRunLength() time.Duration { return time.Duration(c.PassesNeeded) * c.Interval }

// LongestFlaggerRun is the longest run Flagger's rules allow without a transport failure:
// threshold-1 failed checks and PassesNeeded passing ones.
func (c *Config) LongestFlaggerRun() time.Duration {
	return time.Duration(c.PassesNeeded+c.Threshold-1) * c.Interval
}

// ConfigError is a bad configuration value, located in its file where possible.
type ConfigError struct {
	File      string
	Line, Col int
	Field     string // e.g. spec.analysis.metrics[1].interval
	Msg       string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// TemplateSource is a file that may hold MetricTemplate documents (other kinds are ignored).
type TemplateSource struct {
	File string
	Data []byte
}

// LoadTemplates reads the files named by paths; a directory contributes its *.yaml and *.yml
// files (not recursively), in name order.
func LoadTemplates(paths []string) ([]TemplateSource, error) {
	var out []TemplateSource
	for _, p := range paths {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		files := []string{p}
		if st.IsDir() {
			files = nil
			entries, err := os.ReadDir(p)
			if err != nil {
				return nil, fmt.Errorf("templates: %w", err)
			}
			for _, e := range entries {
				if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
					files = append(files, filepath.Join(p, n))
				}
			}
			if len(files) == 0 {
				return nil, fmt.Errorf("templates: directory %s has no .yaml or .yml file", p)
			}
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("templates: %w", err)
			}
			out = append(out, TemplateSource{File: f, Data: data})
		}
	}
	return out, nil
}

type parseOptions struct {
	selector  string
	promURL   string
	vars      map[string]string
	dryRun    *bool
	version   string
	digest    string
	templates []TemplateSource
}

// ParseOption overrides a value of the file, as the command line does.
type ParseOption func(*parseOptions)

// WithSelector sets spec.analysis.selector (the PromQL label matchers of the new version).
func WithSelector(s string) ParseOption { return func(o *parseOptions) { o.selector = s } }

// WithPrometheusURL sets spec.analysis.provider.address.
func WithPrometheusURL(u string) ParseOption { return func(o *parseOptions) { o.promURL = u } }

// WithVars adds to spec.analysis.vars (overriding the file's values of the same names).
func WithVars(v map[string]string) ParseOption { return func(o *parseOptions) { o.vars = v } }

// WithDryRun sets spec.analysis.dryRun.
func WithDryRun(b bool) ParseOption { return func(o *parseOptions) { o.dryRun = &b } }

// WithVersion sets the version being watched: the template variable {{ version }}, and by
// default a readiness gate that waits for a series of that version.
func WithVersion(v string) ParseOption { return func(o *parseOptions) { o.version = v } }

// WithDigest sets the image digest being watched: the template variable {{ digest }}.
func WithDigest(d string) ParseOption { return func(o *parseOptions) { o.digest = d } }

// WithTemplates adds files holding MetricTemplates, looked up by namespace and name.
func WithTemplates(src ...TemplateSource) ParseOption {
	return func(o *parseOptions) { o.templates = append(o.templates, src...) }
}

// Kinds accepted as the analysis document.
var analysisKinds = []string{"flagger.app/v1beta1 Canary", "flightline.dev/v1alpha1 CanaryMonitor"}

// metricTemplate is a MetricTemplate document and where it came from.
type metricTemplate struct {
	name, namespace, file string
	node                  *yaml.Node
}

func (t *metricTemplate) id() string {
	if t.namespace == "" {
		return t.name
	}
	return t.namespace + "/" + t.name
}

// ParseConfig reads a Flagger Canary (flagger.app/v1beta1) or a CanaryMonitor
// (flightline.dev/v1alpha1) from data, resolving templateRef against the MetricTemplate
// documents of the same file and of WithTemplates, by namespace and name; other documents are
// ignored. file names the source in errors.
func ParseConfig(file string, data []byte, opts ...ParseOption) (*Config, error) {
	var o parseOptions
	for _, opt := range opts {
		opt(&o)
	}
	p := &parser{file: file}
	var analysisDoc *yaml.Node
	var templates []*metricTemplate
	sources := append([]TemplateSource{{File: file, Data: data}}, o.templates...)
	for i, src := range sources {
		tp := &parser{file: src.File}
		dec := yaml.NewDecoder(bytes.NewReader(src.Data))
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, &ConfigError{File: src.File, Msg: "invalid YAML: " + err.Error()}
			}
			if len(doc.Content) == 0 {
				continue
			}
			root := doc.Content[0]
			if root.Kind != yaml.MappingNode {
				return nil, tp.errAt(root, "", "a document must be a mapping with apiVersion and kind")
			}
			apiVersion, kind := scalar(get(root, "apiVersion")), scalar(get(root, "kind"))
			switch {
			case kind == "MetricTemplate" && strings.HasPrefix(apiVersion, "flagger.app/"):
				meta := get(root, "metadata")
				t := &metricTemplate{name: scalar(get(meta, "name")), namespace: scalar(get(meta, "namespace")), file: src.File, node: root}
				if t.name == "" {
					return nil, tp.errAt(root, "metadata.name", "MetricTemplate without a name")
				}
				for _, u := range templates {
					if u.name == t.name && u.namespace == t.namespace {
						return nil, tp.errAt(meta, "metadata", "MetricTemplate %s is defined twice: here and in %s", t.id(), u.file)
					}
				}
				templates = append(templates, t)
			case i > 0:
				// a templates file: other kinds are ignored
			case (apiVersion == "flagger.app/v1beta1" && kind == "Canary") || (apiVersion == "flightline.dev/v1alpha1" && kind == "CanaryMonitor"):
				if analysisDoc != nil {
					return nil, p.errAt(get(root, "kind"), "kind", "a second %s document: give exactly one analysis (Canary or CanaryMonitor) per file", kind)
				}
				analysisDoc = root
			case kind == "Canary" || kind == "CanaryMonitor":
				return nil, p.errAt(get(root, "apiVersion"), "apiVersion", "%q with kind %s is not supported; valid: %s", apiVersion, kind, strings.Join(analysisKinds, ", "))
			}
		}
	}
	if analysisDoc == nil {
		return nil, &ConfigError{File: file, Msg: "no analysis document found; valid kinds: " + strings.Join(analysisKinds, ", ")}
	}
	return p.config(analysisDoc, templates, o)
}

type parser struct{ file string }

func (p *parser) errAt(n *yaml.Node, field, format string, args ...any) *ConfigError {
	e := &ConfigError{File: p.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	return e
}

// get returns the value node of key in mapping m, or nil.
func get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func keys(m *yaml.Node) []string {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]string, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		out = append(out, m.Content[i].Value)
	}
	return out
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// checkKeys refuses keys of mapping m outside valid.
func (p *parser) checkKeys(m *yaml.Node, path string, valid ...string) error {
	if m == nil {
		return nil
	}
	if m.Kind != yaml.MappingNode {
		return p.errAt(m, path, "want a mapping")
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if !contains(valid, k.Value) {
			sorted := append([]string(nil), valid...)
			sort.Strings(sorted)
			return p.errAt(k, path+"."+k.Value, "unknown field; valid fields: %s", strings.Join(sorted, ", "))
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *parser) str(n *yaml.Node, path string) (string, error) {
	if n == nil {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", p.errAt(n, path, "want a string")
	}
	return n.Value, nil
}

func (p *parser) duration(n *yaml.Node, path string, def time.Duration) (time.Duration, error) {
	if n == nil || n.Value == "" {
		return def, nil
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil || d <= 0 {
		return 0, p.errAt(n, path, "invalid duration %q: want a positive Go duration such as 30s, 1m or 1h30m", n.Value)
	}
	if d > MaxRunLength {
		return 0, p.errAt(n, path, "%s is over GitHub's 6h job limit", d)
	}
	return d, nil
}

func (p *parser) integer(n *yaml.Node, path string, def int) (int, error) {
	if n == nil {
		return def, nil
	}
	i, err := strconv.Atoi(n.Value)
	if err != nil || i < 0 {
		return 0, p.errAt(n, path, "invalid count %q: want a non-negative integer", n.Value)
	}
	return i, nil
}

func (p *parser) integers(n *yaml.Node, path string) ([]int, error) {
	if n == nil {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, p.errAt(n, path, "want a list of integers")
	}
	out := make([]int, 0, len(n.Content))
	for i, c := range n.Content {
		v, err := p.integer(c, fmt.Sprintf("%s[%d]", path, i), 0)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (p *parser) float(n *yaml.Node, path string) (*float64, error) {
	if n == nil {
		return nil, nil
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, p.errAt(n, path, "invalid number %q", n.Value)
	}
	return &f, nil
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, error) {
	if n == nil {
		return false, nil
	}
	b, err := strconv.ParseBool(n.Value)
	if err != nil {
		return false, p.errAt(n, path, "invalid boolean %q: want true or false", n.Value)
	}
	return b, nil
}

func (p *parser) stringMap(n *yaml.Node, path string) (map[string]string, error) {
	if n == nil {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, p.errAt(n, path, "want a mapping of names to strings")
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return nil, p.errAt(v, path+"."+n.Content[i].Value, "want a string")
		}
		out[n.Content[i].Value] = v.Value
	}
	return out, nil
}

// specFields are the Canary's spec fields, with what Flightline does with each one that is not
// acted on directly (the compatibility table in actions/canary-monitor/README.md lists them all).
var specNotes = map[string]Note{
	"autoscalerRef":           {Status: NoteNotApplicable, Detail: "Flux and Kubernetes scale the workload; Flightline routes no traffic and scales nothing"},
	"upstreamRef":             {Status: NoteNotApplicable, Detail: "Flightline routes no traffic"},
	"progressDeadlineSeconds": {Status: NoteNotApplicable, Detail: "Kubernetes owns the rollout; the readiness gate (readyTimeout) bounds the wait for the new version"},
	"revertOnDeletion":        {Status: NoteNotApplicable, Detail: "Flightline changes nothing in the cluster"},
	"suspend":                 {Status: NoteNotApplicable, Detail: "a workflow run is started on purpose; do not run the monitor to suspend it"},
}

var specFields = []string{"provider", "metricsServer", "targetRef", "autoscalerRef", "ingressRef", "routeRef", "upstreamRef",
	"service", "analysis", "canaryAnalysis", "progressDeadlineSeconds", "skipAnalysis", "revertOnDeletion", "suspend"}

// analysisFields are Flagger's analysis fields plus ours.
var analysisFields = []string{
	// Flagger
	"interval", "threshold", "iterations", "maxWeight", "stepWeight", "stepWeights", "stepWeightPromotion",
	"metrics", "webhooks", "match", "mirror", "mirrorWeight", "primaryReadyThreshold", "canaryReadyThreshold",
	"alerts", "sessionAffinity",
	// Flightline
	"duration", "maxDuration", "minPassedRatio", "provider", "selector", "vars", "onNoData", "onError", "minRequests",
	"maxConsecutiveFailures", "readyQuery", "readyTimeout", "dryRun",
}

var analysisNotes = map[string]Note{
	"stepWeightPromotion":   {Status: NoteNotApplicable, Detail: "Flightline routes no traffic: the promotion is Flux's"},
	"mirrorWeight":          {Status: NoteNotApplicable, Detail: "Flightline routes no traffic"},
	"primaryReadyThreshold": {Status: NoteNotApplicable, Detail: "Kubernetes owns the rollout; the readiness gate waits for the new version"},
	"canaryReadyThreshold":  {Status: NoteNotApplicable, Detail: "Kubernetes owns the rollout; the readiness gate waits for the new version"},
	"sessionAffinity":       {Status: NoteNotApplicable, Detail: "Flightline routes no traffic"},
	"alerts":                {Status: NoteNotApplicable, Detail: "no alert provider is called: the decision is in the step summary, the outputs and the exit code"},
}

var metricFields = []string{
	"name", "interval", "threshold", "thresholdRange", "query", "templateRef", "templateVariables",
	"onNoData", "onError", "minRequests", "requestsQuery", "quantile",
}

func (p *parser) note(c *Config, field string, st NoteStatus, format string, args ...any) {
	c.Notes = append(c.Notes, Note{Field: field, Status: st, Detail: fmt.Sprintf(format, args...)})
}

func (p *parser) config(root *yaml.Node, templates []*metricTemplate, o parseOptions) (*Config, error) {
	c := &Config{Source: p.file, Kind: scalar(get(root, "kind")), Version: o.version, Digest: o.digest}
	meta := get(root, "metadata")
	c.Name = scalar(get(meta, "name"))
	c.Namespace = scalar(get(meta, "namespace"))
	spec := get(root, "spec")
	c.Target = scalar(get(get(spec, "targetRef"), "name"))
	c.TargetKind = scalar(get(get(spec, "targetRef"), "kind"))
	if c.Target == "" {
		c.Target = c.Name
	}
	orTarget := func(v string) string {
		if v == "" {
			return c.Target
		}
		return v
	}
	c.Service = orTarget(scalar(get(get(spec, "service"), "name")))
	c.Ingress = orTarget(scalar(get(get(spec, "ingressRef"), "name")))
	c.Route = orTarget(scalar(get(get(spec, "routeRef"), "name")))
	for _, k := range keys(spec) {
		if !contains(specFields, k) {
			p.note(c, "spec."+k, NoteNotApplicable, "not a Flagger Canary field; ignored")
		}
		if n, ok := specNotes[k]; ok {
			n.Field = "spec." + k
			c.Notes = append(c.Notes, n)
		}
	}
	ap := "spec.analysis"
	a := get(spec, "analysis")
	if old := get(spec, "canaryAnalysis"); old != nil {
		if a == nil {
			a, ap = old, "spec.canaryAnalysis"
			p.note(c, "spec.canaryAnalysis", NoteDeprecated, "read as spec.analysis, as Flagger does; rename it to analysis")
		} else {
			p.note(c, "spec.canaryAnalysis", NoteDeprecated, "ignored: spec.analysis is present and Flagger reads only that one")
		}
	}
	if a == nil {
		return nil, p.errAt(root, "spec.analysis", "missing: the analysis (interval, threshold, metrics) is required")
	}
	if err := p.checkKeys(a, ap, analysisFields...); err != nil {
		return nil, err
	}
	for _, k := range keys(a) {
		if n, ok := analysisNotes[k]; ok {
			n.Field = ap + "." + k
			c.Notes = append(c.Notes, n)
		}
	}
	var err error
	if c.SkipAnalysis, err = p.boolean(get(spec, "skipAnalysis"), "spec.skipAnalysis"); err != nil {
		return nil, err
	}
	if c.Interval, err = p.duration(get(a, "interval"), ap+".interval", DefaultInterval); err != nil {
		return nil, err
	}
	if c.Interval < MinInterval {
		return nil, p.errAt(get(a, "interval"), ap+".interval", "%s is below %s: metrics do not change faster than Prometheus scrapes them", c.Interval, MinInterval)
	}
	if c.Interval < 10*time.Second {
		p.note(c, ap+".interval", NoteDiffers, "%s: Flagger raises intervals below 10s to 10s; Flightline checks every %s", c.Interval, c.Interval)
	}
	if c.Threshold, err = p.integer(get(a, "threshold"), ap+".threshold", DefaultThreshold); err != nil {
		return nil, err
	}
	if c.Threshold == 0 {
		c.Threshold = DefaultThreshold // Flagger: threshold 0 means its default, 1
	}
	if d := get(a, "duration"); d != nil {
		return nil, p.errAt(d, ap+".duration", "removed: the run length now follows Flagger (as many passing checks as steps to the promotion point, failed checks do not advance); "+
			"use iterations (blue/green) or stepWeight/maxWeight to set it, and maxDuration to bound the run")
	}
	if err := p.strategy(c, spec, a, ap); err != nil {
		return nil, err
	}
	if c.MaxConsecutiveFailures, err = p.integer(get(a, "maxConsecutiveFailures"), ap+".maxConsecutiveFailures", 0); err != nil {
		return nil, err
	}
	if r, err := p.float(get(a, "minPassedRatio"), ap+".minPassedRatio"); err != nil {
		return nil, err
	} else if r != nil {
		if *r < 0 || *r > 1 {
			return nil, p.errAt(get(a, "minPassedRatio"), ap+".minPassedRatio", "%g is not a share between 0 and 1 (0.5: at least half the checks passed)", *r)
		}
		c.MinPassedRatio = *r
	}
	if c.Vars, err = p.stringMap(get(a, "vars"), ap+".vars"); err != nil {
		return nil, err
	}
	for k, v := range o.vars {
		if c.Vars == nil {
			c.Vars = map[string]string{}
		}
		c.Vars[k] = v
	}
	c.Selector = o.selector
	selNode := get(a, "selector")
	if c.Selector == "" {
		if c.Selector, err = p.str(selNode, ap+".selector"); err != nil {
			return nil, err
		}
	}
	if c.Selector == "" {
		c.Selector = c.Vars["selector"]
	}
	c.Selector = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(c.Selector), "{"), "}"))
	if strings.Contains(c.Selector, "{{") {
		if c.Selector, err = p.render(c, selNode, ap+".selector", c.Selector, c.Interval, nil, nil); err != nil {
			return nil, err
		}
	}
	if c.ReadyQuery, err = p.str(get(a, "readyQuery"), ap+".readyQuery"); err != nil {
		return nil, err
	}
	if c.ReadyTimeout, err = p.duration(get(a, "readyTimeout"), ap+".readyTimeout", DefaultReadyTimeout); err != nil {
		return nil, err
	}
	if c.DryRun, err = p.boolean(get(a, "dryRun"), ap+".dryRun"); err != nil {
		return nil, err
	}
	if o.dryRun != nil {
		c.DryRun = *o.dryRun
	}
	if err := p.provider(c, spec, get(a, "provider"), ap, o); err != nil {
		return nil, err
	}
	defNoData, err := p.noData(get(a, "onNoData"), ap+".onNoData", NoDataFail)
	if err != nil {
		return nil, err
	}
	defOnError, err := p.onError(get(a, "onError"), ap+".onError", ErrorFail)
	if err != nil {
		return nil, err
	}
	defMinReq, err := p.float(get(a, "minRequests"), ap+".minRequests")
	if err != nil {
		return nil, err
	}
	if defMinReq == nil {
		zero := 0.0
		defMinReq = &zero
	}
	if err := p.webhooks(c, get(a, "webhooks"), ap+".webhooks"); err != nil {
		return nil, err
	}
	ms := get(a, "metrics")
	if ms != nil && ms.Kind != yaml.SequenceNode {
		return nil, p.errAt(ms, ap+".metrics", "want a list")
	}
	seen := map[string]bool{}
	if ms != nil {
		for i, mn := range ms.Content {
			m, err := p.metric(c, mn, fmt.Sprintf("%s.metrics[%d]", ap, i), templates, defNoData, defOnError, *defMinReq)
			if err != nil {
				return nil, err
			}
			if seen[m.Name] {
				return nil, p.errAt(get(mn, "name"), fmt.Sprintf("%s.metrics[%d].name", ap, i), "duplicate metric name %q", m.Name)
			}
			seen[m.Name] = true
			c.Metrics = append(c.Metrics, m)
		}
	}
	if o.promURL != "" {
		c.Provider.Address = o.promURL // the input replaces the file's address, not a template's own
	}
	if len(c.Metrics) == 0 && !c.SkipAnalysis {
		if len(c.Webhooks) == 0 {
			return nil, p.errAt(a, ap+".metrics", "at least one metric is required (an analysis without metrics or webhooks checks nothing); built-ins: %s", strings.Join(BuiltinNames(), ", "))
		}
	}
	if c.ReadyQuery == "" && c.Version != "" {
		c.ReadyQuery = versionReadyQuery(c.Selector, c.Version)
		if prov, _, _ := resolveProvider(c.MeshProvider); c.Selector == "" && usesProviderBuiltin(c) {
			if prov == "istio" {
				// Istio's own series carry the version: wait until the new version answers requests.
				c.ReadyQuery = fmt.Sprintf(`istio_requests_total{reporter="destination",destination_workload_namespace=%q,destination_workload=~%q,destination_version=%q}`, c.Namespace, c.Target, c.Version)
			} else {
				// The provider's series carry no version: also accept what kube-state-metrics
				// says, a ready container of the target's pods running the image tagged version.
				c.ReadyQuery += " or " + kubeStateReadyQuery(c.Namespace, c.Target, c.TargetKind, c.Version)
			}
		}
	} else if c.ReadyQuery != "" {
		if c.ReadyQuery, err = p.render(c, get(a, "readyQuery"), ap+".readyQuery", c.ReadyQuery, c.Interval, nil, nil); err != nil {
			return nil, err
		}
	}
	longest := c.LongestFlaggerRun()
	mdNode := get(a, "maxDuration")
	if c.MaxDuration, err = p.duration(mdNode, ap+".maxDuration", 0); err != nil {
		return nil, err
	}
	budget := MaxRunLength
	if c.ReadyQuery != "" {
		budget -= c.ReadyTimeout
	}
	if c.MaxDuration == 0 {
		// Room for as many inconclusive checks (Prometheus briefly unreachable, no traffic under
		// a minRequests guard) as Flagger's longest run has checks, within GitHub's job limit.
		c.MaxDuration = min(2*(longest+c.Interval), budget)
	}
	if c.MinRunLength() > c.MaxDuration {
		return nil, p.errAt(mdNode, ap+".maxDuration", "%s is shorter than the %d passing checks every %s that reach the promotion point (%s): raise maxDuration or lower iterations / maxWeight",
			c.MaxDuration, c.PassesNeeded, c.Interval, c.MinRunLength())
	}
	if c.MaxDuration > budget {
		return nil, p.errAt(a, ap, "readyTimeout (%s) + maxDuration (%s) is over GitHub's 6h job limit", c.ReadyTimeout, c.MaxDuration)
	}
	return c, nil
}

func usesProviderBuiltin(c *Config) bool {
	for _, m := range c.Metrics {
		if m.Builtin && m.RequestsQuery == "" && !strings.Contains(m.Query, "http_requests_total") && !strings.Contains(m.Query, "ai_ir_failures_total") {
			return true
		}
	}
	return false
}

// kubeStateReadyQuery selects, from kube-state-metrics (installed with kube-prometheus-stack),
// the ready containers of target's pods in namespace whose image is tagged version (with or
// without a digest after the tag). The pod names follow the workload kind: NAME-RSHASH-ID for a
// Deployment (Flagger's kubernetes observer's pattern), NAME-ID for a DaemonSet, NAME-N for a
// StatefulSet, so a neighbour whose name starts with target's is not counted.
func kubeStateReadyQuery(ns, target, kind, version string) string {
	pod := regexp.QuoteMeta(target) + "-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"
	switch kind {
	case "DaemonSet":
		pod = regexp.QuoteMeta(target) + "-[0-9a-z]{5}"
	case "StatefulSet":
		pod = regexp.QuoteMeta(target) + "-[0-9]+"
	}
	image := ".+:" + regexp.QuoteMeta(version) + "(@sha256:[0-9a-f]{64})?"
	return fmt.Sprintf(`((kube_pod_container_status_ready{namespace=%q,pod=~%q} == 1) and on(namespace, pod, container) kube_pod_container_info{namespace=%q,pod=~%q,image=~%q})`,
		ns, pod, ns, pod, image)
}

// versionReadyQuery is the default readiness query when a version is given: a series of the
// selector's job carrying version="V".
func versionReadyQuery(selector, version string) string {
	m := fmt.Sprintf("version=%q", version)
	if strings.Contains(selector, m) {
		return matchers(selector)
	}
	return matchers(selector, m)
}

// strategy decides, as Flagger's scheduler does, how the analysis runs and how many passing
// checks reach the promotion point.
func (p *parser) strategy(c *Config, spec, a *yaml.Node, ap string) error {
	var err error
	c.MeshProvider = scalar(get(spec, "provider"))
	if c.Iterations, err = p.integer(get(a, "iterations"), ap+".iterations", 0); err != nil {
		return err
	}
	if c.StepWeight, err = p.integer(get(a, "stepWeight"), ap+".stepWeight", 0); err != nil {
		return err
	}
	if c.MaxWeight, err = p.integer(get(a, "maxWeight"), ap+".maxWeight", 0); err != nil {
		return err
	}
	if c.StepWeights, err = p.integers(get(a, "stepWeights"), ap+".stepWeights"); err != nil {
		return err
	}
	if c.Mirror, err = p.boolean(get(a, "mirror"), ap+".mirror"); err != nil {
		return err
	}
	match := get(a, "match")
	hasMatch := match != nil && match.Kind == yaml.SequenceNode && len(match.Content) > 0
	if hasMatch {
		p.note(c, ap+".match", NoteNotApplicable, "Flightline routes no traffic by header or cookie; match only makes this an A/B analysis, as in Flagger")
	}
	iterations := c.Iterations
	if c.MeshProvider == "kubernetes" {
		if hasMatch {
			hasMatch = false
			p.note(c, ap+".match", NoteMapped, "ignored with spec.provider kubernetes, as Flagger ignores it: the analysis runs blue/green")
		}
		if iterations < 1 {
			iterations = KubernetesIterations
			p.note(c, ap+".iterations", NoteMapped, "spec.provider kubernetes cannot shift traffic: Flagger runs blue/green with iterations %d", KubernetesIterations)
		}
	}
	switch {
	case hasMatch && iterations > 0:
		c.Strategy, c.PassesNeeded = ABTesting, iterations
	case iterations > 0:
		// Flagger counts iterations 1..N, then one more passing check routes all traffic to the
		// new version before it promotes: N+1 passing checks.
		c.Strategy, c.PassesNeeded = BlueGreen, iterations+1
	default:
		c.Strategy = Progressive
		n, err := progressiveChecks(c.StepWeight, c.StepWeights, c.MaxWeight, c.Mirror)
		if err != nil {
			return p.errAt(a, ap, "%s", err)
		}
		c.PassesNeeded = n
	}
	return nil
}

// totalWeight is Flagger's 100 %.
const totalWeight = 100

func maxWeightOf(step int, steps []int, maxW int) int {
	if len(steps) > 0 {
		return min(totalWeight, steps[len(steps)-1])
	}
	if maxW > 0 {
		return maxW
	}
	return totalWeight
}

// nextStep is the weight Flagger adds after a passing check at weight w.
func nextStep(step int, steps []int, w int) int {
	if step > 0 || len(steps) == 0 {
		return step
	}
	room := totalWeight - w
	if room == 0 {
		return 1
	}
	if w == 0 {
		return min(room, steps[0])
	}
	for i := 0; i < len(steps)-1; i++ {
		if steps[i] == w {
			return min(room, steps[i+1]-w)
		}
	}
	return room
}

// progressiveChecks counts the passing checks a progressive analysis needs: the first tick
// routes the first step (no check); each passing check at weight w below maxWeight routes the
// next step; the passing check at maxWeight promotes. With mirror, one more check runs on
// mirrored traffic before the first step.
func progressiveChecks(step int, steps []int, maxW int, mirror bool) (int, error) {
	if step <= 0 && len(steps) == 0 {
		return 0, errors.New("neither iterations nor stepWeight/stepWeights is set: Flagger never advances such a canary; set stepWeight and maxWeight (progressive) or iterations (blue/green)")
	}
	top := maxWeightOf(step, steps, maxW)
	if top > totalWeight {
		return 0, fmt.Errorf("maxWeight %d is over 100: Flagger never reaches it, so the canary never promotes", top)
	}
	w, checks := 0, 0
	if mirror {
		checks++ // the check on mirrored traffic at weight 0
	}
	w = min(totalWeight, w+nextStep(step, steps, w))
	for range 1000 {
		checks++
		if w >= top {
			return checks, nil
		}
		n := nextStep(step, steps, w)
		if n <= 0 {
			break
		}
		w = min(totalWeight, w+n)
	}
	return 0, fmt.Errorf("the weights (stepWeight %d, stepWeights %v, maxWeight %d) never reach the promotion point", step, steps, maxW)
}

func (p *parser) provider(c *Config, spec, n *yaml.Node, ap string, o parseOptions) error {
	pp := ap + ".provider"
	if err := p.checkKeys(n, pp, "type", "address", "bearerToken", "username", "password", "timeout"); err != nil {
		return err
	}
	if t := scalar(get(n, "type")); t != "" && t != "prometheus" {
		return p.errAt(get(n, "type"), pp+".type", "unsupported provider %q; valid: prometheus", t)
	}
	c.Provider.Address = scalar(get(n, "address"))
	c.Provider.BearerToken = scalar(get(n, "bearerToken"))
	c.Provider.Username = scalar(get(n, "username"))
	c.Provider.Password = scalar(get(n, "password"))
	if c.Provider.BearerToken != "" {
		p.note(c, pp+".bearerToken", NoteDeprecated, "a credential in a committed file: give it through the prometheus-token input (a secret) instead")
	}
	if c.Provider.Password != "" {
		p.note(c, pp+".password", NoteDeprecated, "a credential in a committed file: give it through the prometheus-password input (a secret) instead")
	}
	if c.Provider.BearerToken != "" && (c.Provider.Username != "" || c.Provider.Password != "") {
		return p.errAt(n, pp, "give bearerToken or username/password, not both")
	}
	var err error
	if c.Provider.Timeout, err = p.duration(get(n, "timeout"), pp+".timeout", DefaultQueryTimeout); err != nil {
		return err
	}
	if ms := scalar(get(spec, "metricsServer")); ms != "" && c.Provider.Address == "" {
		c.Provider.Address = ms
		p.note(c, "spec.metricsServer", NoteMapped, "used as the Prometheus address")
	}
	return nil
}

func (p *parser) noData(n *yaml.Node, path string, def NoDataPolicy) (NoDataPolicy, error) {
	if n == nil {
		return def, nil
	}
	switch v := NoDataPolicy(n.Value); v {
	case NoDataFail, NoDataPass, NoDataIgnore:
		return v, nil
	}
	return "", p.errAt(n, path, "unknown policy %q; valid: fail, pass, ignore", n.Value)
}

func (p *parser) onError(n *yaml.Node, path string, def ErrorPolicy) (ErrorPolicy, error) {
	if n == nil {
		return def, nil
	}
	switch v := ErrorPolicy(n.Value); v {
	case ErrorFail, ErrorIgnore:
		return v, nil
	}
	return "", p.errAt(n, path, "unknown policy %q; valid: fail, ignore (there is no pass on error)", n.Value)
}

// lookupTemplate finds a MetricTemplate as Flagger does: in the templateRef's namespace, else
// the Canary's. A template written without a namespace matches any namespace, but only when
// no template of that name has the namespace itself.
func lookupTemplate(templates []*metricTemplate, name, ns string) (*metricTemplate, []string) {
	var loose *metricTemplate
	var have []string
	for _, t := range templates {
		if t.name == name && t.namespace == ns {
			return t, nil
		}
		if t.name == name && t.namespace == "" {
			loose = t
		}
		have = append(have, t.id()+" ("+t.file+")")
	}
	if loose != nil {
		return loose, nil
	}
	sort.Strings(have)
	return nil, have
}

func (p *parser) metric(c *Config, n *yaml.Node, path string, templates []*metricTemplate, defNoData NoDataPolicy, defOnError ErrorPolicy, defMinReq float64) (Metric, error) {
	var m Metric
	if err := p.checkKeys(n, path, metricFields...); err != nil {
		return m, err
	}
	m.Name = scalar(get(n, "name"))
	if m.Name == "" {
		return m, p.errAt(n, path+".name", "missing")
	}
	var err error
	if m.Window, err = p.duration(get(n, "interval"), path+".interval", DefaultWindow); err != nil {
		return m, err
	}
	tr := get(n, "thresholdRange")
	if err := p.checkKeys(tr, path+".thresholdRange", "min", "max"); err != nil {
		return m, err
	}
	if m.Min, err = p.float(get(tr, "min"), path+".thresholdRange.min"); err != nil {
		return m, err
	}
	if m.Max, err = p.float(get(tr, "max"), path+".thresholdRange.max"); err != nil {
		return m, err
	}
	if m.Min != nil && m.Max != nil && *m.Min > *m.Max {
		return m, p.errAt(tr, path+".thresholdRange", "min %g is above max %g", *m.Min, *m.Max)
	}
	thNode := get(n, "threshold")
	if tr == nil {
		// Flagger's deprecated single threshold: a minimum for request-success-rate, a maximum
		// for every other metric; absent, it is 0.
		th := 0.0
		if thNode != nil {
			v, err := p.float(thNode, path+".threshold")
			if err != nil {
				return m, err
			}
			th = *v
			p.note(c, path+".threshold", NoteDeprecated, "read as Flagger reads it (%s); write thresholdRange {%s: %g}", map[bool]string{true: "a minimum", false: "a maximum"}[m.Name == "request-success-rate"],
				map[bool]string{true: "min", false: "max"}[m.Name == "request-success-rate"], th)
		} else {
			p.note(c, path+".thresholdRange", NoteMapped, "missing: Flagger compares against threshold 0 (%s 0); write thresholdRange", map[bool]string{true: "min", false: "max"}[m.Name == "request-success-rate"])
		}
		if m.Name == "request-success-rate" {
			m.Min = &th
		} else {
			m.Max = &th
		}
	} else if thNode != nil {
		p.note(c, path+".threshold", NoteDeprecated, "ignored: thresholdRange is present and Flagger uses only that")
	}
	if m.OnNoData, err = p.noData(get(n, "onNoData"), path+".onNoData", defNoData); err != nil {
		return m, err
	}
	if m.OnError, err = p.onError(get(n, "onError"), path+".onError", defOnError); err != nil {
		return m, err
	}
	tvars, err := p.stringMap(get(n, "templateVariables"), path+".templateVariables")
	if err != nil {
		return m, err
	}
	qNode, refNode := get(n, "query"), get(n, "templateRef")
	quantile := DefaultQuantile
	if qn := get(n, "quantile"); qn != nil {
		q, err := p.float(qn, path+".quantile")
		if err != nil {
			return m, err
		}
		if *q <= 0 || *q >= 1 {
			return m, p.errAt(qn, path+".quantile", "%g is not between 0 and 1 (exclusive), e.g. 0.99 for p99", *q)
		}
		quantile = *q
	}
	switch {
	case qNode != nil && refNode != nil:
		return m, p.errAt(refNode, path+".templateRef", "give query or templateRef, not both")
	case qNode != nil:
		if m.Query, err = p.render(c, qNode, path+".query", qNode.Value, m.Window, tvars, nil); err != nil {
			return m, err
		}
	case refNode != nil:
		if err := p.checkKeys(refNode, path+".templateRef", "name", "namespace", "apiVersion", "kind"); err != nil {
			return m, err
		}
		name := scalar(get(refNode, "name"))
		ns := scalar(get(refNode, "namespace"))
		if ns == "" {
			ns = c.Namespace
		}
		t, have := lookupTemplate(templates, name, ns)
		if t == nil {
			id := name
			if ns != "" {
				id = ns + "/" + name
			}
			return m, p.errAt(refNode, path+".templateRef", "no MetricTemplate %s in %s or the templates input; templates found: [%s] (give the file or directory that holds it with the templates input)", id, p.file, strings.Join(have, ", "))
		}
		m.Template = t.id() + " (" + t.file + ")"
		tp := &parser{file: t.file}
		tspec := get(t.node, "spec")
		if err := tp.checkKeys(tspec, "MetricTemplate "+t.id()+" spec", "provider", "query"); err != nil {
			return m, err
		}
		prov := get(tspec, "provider")
		tpath := "MetricTemplate " + t.id() + " spec.provider"
		if err := tp.checkKeys(prov, tpath, "type", "address", "secretRef", "insecureSkipVerify", "region", "headers"); err != nil {
			return m, err
		}
		if pt := scalar(get(prov, "type")); pt != "" && pt != "prometheus" {
			return m, tp.errAt(get(prov, "type"), tpath+".type", "unsupported provider %q; valid: prometheus (Flightline queries Prometheus only)", pt)
		}
		if addr := scalar(get(prov, "address")); addr != "" {
			switch {
			case c.Provider.Address == "":
				c.Provider.Address = addr
			case addr != c.Provider.Address:
				m.Address = addr // Flagger queries each template's provider at its own address
				p.note(c, tpath+".address", NoteMapped, "%s is queried at its own address %s, not at the analysis' %s (the prometheus-url input replaces only the latter)", t.id(), addr, c.Provider.Address)
			}
		}
		if sr := get(prov, "secretRef"); sr != nil {
			m.SecretRef = scalar(get(sr, "name"))
			p.note(c, tpath+".secretRef", NoteMapped, "secret %q is not read (Flightline has no cluster access): the prometheus-username / prometheus-password or prometheus-token inputs stand for it", m.SecretRef)
		}
		if isv := get(prov, "insecureSkipVerify"); isv != nil {
			if m.InsecureSkipVerify, err = tp.boolean(isv, tpath+".insecureSkipVerify"); err != nil {
				return m, err
			}
			if m.InsecureSkipVerify {
				p.note(c, tpath+".insecureSkipVerify", NoteMapped, "TLS certificates of %s's Prometheus are not verified, as the template asks", t.id())
			}
		}
		if hn := get(prov, "headers"); hn != nil {
			if m.Headers, err = tp.headers(hn, tpath+".headers"); err != nil {
				return m, err
			}
			p.templateHeadersNotes(c, m.Headers, tpath+".headers", t.id())
		}
		if get(prov, "region") != nil {
			p.note(c, tpath+".region", NoteNotApplicable, "only for cloud metric providers")
		}
		qn := get(tspec, "query")
		if scalar(qn) == "" {
			return m, tp.errAt(t.node, "MetricTemplate "+t.id()+" spec.query", "missing")
		}
		if m.Query, err = tp.render(c, qn, "MetricTemplate "+t.id()+" spec.query", qn.Value, m.Window, tvars, t); err != nil {
			return m, err
		}
	default:
		b, ok := builtins[m.Name]
		if !ok {
			return m, p.errAt(get(n, "name"), path+".name", "%q is not a built-in metric and has no query or templateRef; built-ins: %s", m.Name, strings.Join(BuiltinNames(), ", "))
		}
		m.Builtin = true
		m.Unit = b.unit
		m.WholeMilliseconds = m.Name == "request-duration"
		if c.Selector == "" && m.Name != "ai-failure-rate" {
			if err := p.providerBuiltin(c, &m, n, path); err != nil {
				return m, err
			}
			break
		}
		if c.Selector == "" {
			return m, p.errAt(get(n, "name"), "spec.analysis.selector", "required by the built-in metric %q (the app's own ai_ir_failures_total): give the PromQL label matchers of the new version, e.g. job=\"agent\",version=\"1.5.0\" (selector in the file, vars.selector, or the selector input)", m.Name)
		}
		m.Query = b.query(c.Selector, promDuration(m.Window), quantile)
		m.MinRequests = defMinReq
		if m.MinRequests > 0 {
			m.RequestsQuery = requestsQuery(c.Selector, promDuration(m.Window))
		}
		if c.MeshProvider != "" && c.MeshProvider != "kubernetes" {
			p.note(c, path, NoteDiffers, "built-in %s is measured on the app's own http_* series (the selector), not on %s's metrics as Flagger would (leave the selector out to use %s's)", m.Name, c.MeshProvider, c.MeshProvider)
		}
	}
	if mr := get(n, "minRequests"); mr != nil {
		v, err := p.float(mr, path+".minRequests")
		if err != nil {
			return m, err
		}
		m.MinRequests = *v
	}
	if rq := get(n, "requestsQuery"); rq != nil {
		if m.RequestsQuery, err = p.render(c, rq, path+".requestsQuery", rq.Value, m.Window, tvars, nil); err != nil {
			return m, err
		}
	}
	if m.MinRequests > 0 && m.RequestsQuery == "" {
		if c.Selector == "" {
			return m, p.errAt(get(n, "minRequests"), path+".requestsQuery", "minRequests needs a requestsQuery (or a selector for the built-in one)")
		}
		m.RequestsQuery = requestsQuery(c.Selector, promDuration(m.Window))
	}
	if m.MinRequests <= 0 {
		m.MinRequests, m.RequestsQuery = 0, "" // no guard
	}
	return m, nil
}

// providerBuiltin renders Flagger's built-in query of m for spec.provider (Flagger's default
// mesh provider, istio, when none is set), restricted to the version where the provider's
// metrics carry it.
func (p *parser) providerBuiltin(c *Config, m *Metric, n *yaml.Node, path string) error {
	prov, why, ok := resolveProvider(c.MeshProvider)
	if !ok {
		return p.errAt(get(n, "name"), path+".name", "built-in %q for spec.provider %q: not a provider Flagger has built-in queries for (valid: %s, and appmesh:…, gloo:…, gatewayapi:… as Flagger reads them; Flagger reads any other name as istio, say istio if that is meant): give the selector input to measure the app's own http_* series, or a MetricTemplate",
			m.Name, c.MeshProvider, strings.Join(ProviderBuiltins(), ", "))
	}
	pb := providerBuiltins[prov]
	// The names go into label matchers and regular expressions: they must be what Kubernetes
	// accepts, and the namespace must be there (an empty one selects nothing, or the wrong series).
	for _, f := range []struct{ field, v string }{{"metadata.namespace", c.Namespace}, {"spec.targetRef.name", c.Target},
		{"spec.service.name", c.Service}, {"spec.ingressRef.name", c.Ingress}, {"spec.routeRef.name", c.Route}} {
		switch {
		case f.field == "metadata.namespace" && f.v == "":
			return p.errAt(get(n, "name"), path+".name", "built-in %q for spec.provider %q selects the workload by namespace, and metadata.namespace is not set: write the namespace the Canary is applied to", m.Name, prov)
		case !k8sName.MatchString(f.v):
			return p.errAt(get(n, "name"), path+".name", "built-in %q for spec.provider %q: %s %q is not a Kubernetes name (lowercase letters, digits, '-' and '.')", m.Name, prov, f.field, f.v)
		}
	}
	if why != "" {
		p.noteOnce(c, "spec.provider", NoteMapped, "%s", why)
	}
	if pb.flux != "" {
		detail, err := p.render(c, n, path, pb.flux, m.Window, nil, nil)
		if err != nil {
			return err
		}
		p.noteOnce(c, "spec.provider", NoteDiffers, "%s", detail)
	}
	extra := ""
	switch {
	case c.Version != "" && pb.versionLabel != "":
		extra = fmt.Sprintf(",%s=%q", pb.versionLabel, c.Version)
	case c.Version != "":
		p.note(c, path, NoteDiffers, "%s's metrics carry no version label: %s covers every pod of %s; the readiness gate waits for version %s (a series labelled version=%q, or a ready container of %s running the image tagged %s, as kube-state-metrics reports it; give readyQuery if neither exists in this Prometheus), and the first windows may still hold the old pods' last requests", prov, m.Name, c.Target, c.Version, c.Version, c.Target, c.Version)
	}
	rc := c
	if pb.encode != nil {
		e := *c
		e.Name, e.Namespace, e.Target, e.Service, e.Ingress, e.Route = pb.encode(c.Name), pb.encode(c.Namespace), pb.encode(c.Target), pb.encode(c.Service), pb.encode(c.Ingress), pb.encode(c.Route)
		rc = &e
	}
	q, err := p.render(rc, n, path, strings.ReplaceAll(pb.queries[m.Name], "@version@", extra), m.Window, nil, nil)
	if err != nil {
		return err
	}
	m.Query = q
	if pb.durationSeconds && m.Name == "request-duration" {
		p.note(c, path, NoteDiffers, "%s's duration is in seconds: the query multiplies it by 1000 where Flagger multiplies the value, the same number of milliseconds", prov)
	}
	return nil
}

// promDuration renders d the way PromQL writes durations (1m, 90s, 1h30m).
func promDuration(d time.Duration) string {
	if d%time.Second != 0 {
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
	s := int64(d / time.Second)
	var b strings.Builder
	for _, u := range []struct {
		n    int64
		unit string
	}{{3600, "h"}, {60, "m"}, {1, "s"}} {
		if s >= u.n {
			fmt.Fprintf(&b, "%d%s", s/u.n, u.unit)
			s %= u.n
		}
	}
	return b.String()
}
