package canary

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
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

// MinInterval is the shortest analysis interval accepted.
const MinInterval = time.Second

// Defaults of the analysis, applied when a field is absent.
const (
	DefaultInterval     = time.Minute      // spec.analysis.interval (Flagger's default)
	DefaultThreshold    = 5                // spec.analysis.threshold
	DefaultIterations   = 10               // run length = iterations × interval when neither iterations nor duration is given
	DefaultWindow       = time.Minute      // metrics[].interval, the query window (Flagger's default)
	DefaultReadyTimeout = 10 * time.Minute // spec.analysis.readyTimeout
	DefaultMinRequests  = 10               // spec.analysis.minRequests: requests per query window, built-in metrics only
	DefaultQuantile     = 0.99             // metrics[].quantile for request-duration
	DefaultQueryTimeout = 30 * time.Second // spec.analysis.provider.timeout
)

// NoDataPolicy says what a check whose query returned no data (no series, or NaN) counts as.
type NoDataPolicy string

// No-data policies. The default is NoDataFail (Flagger counts "no values found" as a failed check).
const (
	NoDataFail   NoDataPolicy = "fail"
	NoDataPass   NoDataPolicy = "pass"
	NoDataIgnore NoDataPolicy = "ignore" // the check is left out of this tick
)

// ErrorPolicy says what a check whose query failed (provider unreachable, bad PromQL, several
// series) counts as. There is deliberately no "pass".
type ErrorPolicy string

// Error policies. The default is ErrorFail (Flagger counts a provider error as a failed check).
const (
	ErrorFail   ErrorPolicy = "fail"
	ErrorIgnore ErrorPolicy = "ignore" // the check is left out of this tick (the tick cannot pass on it)
)

// Provider is where the monitor's queries go.
type Provider struct {
	Address     string        `json:"address"`
	BearerToken string        `json:"-"`
	Username    string        `json:"username,omitempty"`
	Password    string        `json:"-"`
	Timeout     time.Duration `json:"timeout"`
}

// Config is a parsed, defaulted and validated canary analysis.
type Config struct {
	Source     string        `json:"source"`    // file name the config came from
	Kind       string        `json:"kind"`      // Canary or CanaryMonitor
	Name       string        `json:"name"`      // metadata.name
	Namespace  string        `json:"namespace"` // metadata.namespace
	Target     string        `json:"target"`    // spec.targetRef.name (Canary) or metadata.name
	Interval   time.Duration `json:"interval"`
	Threshold  int           `json:"threshold"`  // failed ticks (running total) that roll back: total >= threshold
	Iterations int           `json:"iterations"` // ticks in the run
	// MaxConsecutiveFailures rolls back after that many failed ticks in a row; 0 = no such limit.
	MaxConsecutiveFailures int               `json:"maxConsecutiveFailures"`
	Selector               string            `json:"selector"`
	Vars                   map[string]string `json:"vars,omitempty"`
	ReadyQuery             string            `json:"readyQuery,omitempty"`
	ReadyTimeout           time.Duration     `json:"readyTimeout"`
	DryRun                 bool              `json:"dryRun"`
	Provider               Provider          `json:"provider"`
	Metrics                []Metric          `json:"metrics"`
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
	// MinRequests: when > 0, RequestsQuery (requests in the window) is asked first and a value
	// below MinRequests makes the check inconclusive for that tick.
	MinRequests   float64 `json:"minRequests,omitempty"`
	RequestsQuery string  `json:"requestsQuery,omitempty"`
	Builtin       bool    `json:"builtin,omitempty"`
}

// RunLength is how long the analysis runs once the new version is ready.
func (c *Config) RunLength() time.Duration { return time.Duration(c.Iterations) * c.Interval }

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

type parseOptions struct {
	selector string
	promURL  string
	vars     map[string]string
	dryRun   *bool
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

// Kinds accepted as the analysis document.
var analysisKinds = []string{"flagger.app/v1beta1 Canary", "flightline.dev/v1alpha1 CanaryMonitor"}

// ParseConfig reads a Flagger Canary (flagger.app/v1beta1) or a CanaryMonitor
// (flightline.dev/v1alpha1) from data, resolving templateRef against the MetricTemplate
// documents of the same file; other documents are ignored. file names the source in errors.
func ParseConfig(file string, data []byte, opts ...ParseOption) (*Config, error) {
	var o parseOptions
	for _, opt := range opts {
		opt(&o)
	}
	p := &parser{file: file}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var analysisDoc *yaml.Node
	templates := map[string]*yaml.Node{}
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &ConfigError{File: file, Msg: "invalid YAML: " + err.Error()}
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			return nil, p.errAt(root, "", "a document must be a mapping with apiVersion and kind")
		}
		apiVersion, kind := scalar(get(root, "apiVersion")), scalar(get(root, "kind"))
		switch {
		case (apiVersion == "flagger.app/v1beta1" && kind == "Canary") || (apiVersion == "flightline.dev/v1alpha1" && kind == "CanaryMonitor"):
			if analysisDoc != nil {
				return nil, p.errAt(get(root, "kind"), "kind", "a second %s document: give exactly one analysis (Canary or CanaryMonitor) per file", kind)
			}
			analysisDoc = root
		case kind == "MetricTemplate" && strings.HasPrefix(apiVersion, "flagger.app/"):
			name := scalar(get(get(root, "metadata"), "name"))
			if name == "" {
				return nil, p.errAt(root, "metadata.name", "MetricTemplate without a name")
			}
			templates[name] = root
		case kind == "Canary" || kind == "CanaryMonitor":
			return nil, p.errAt(get(root, "apiVersion"), "apiVersion", "%q with kind %s is not supported; valid: %s", apiVersion, kind, strings.Join(analysisKinds, ", "))
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

// analysisFields are Flagger's analysis fields plus ours.
var analysisFields = []string{
	// Flagger
	"interval", "threshold", "iterations", "maxWeight", "stepWeight", "stepWeights", "stepWeightPromotion",
	"metrics", "webhooks", "match", "mirror", "mirrorWeight", "primaryReadyThreshold", "canaryReadyThreshold",
	"alerts", "sessionAffinity",
	// Flightline
	"duration", "provider", "selector", "vars", "onNoData", "onError", "minRequests",
	"maxConsecutiveFailures", "readyQuery", "readyTimeout", "dryRun",
}

var metricFields = []string{
	"name", "interval", "threshold", "thresholdRange", "query", "templateRef", "templateVariables",
	"onNoData", "onError", "minRequests", "requestsQuery", "quantile",
}

func (p *parser) config(root *yaml.Node, templates map[string]*yaml.Node, o parseOptions) (*Config, error) {
	c := &Config{Source: p.file, Kind: scalar(get(root, "kind"))}
	meta := get(root, "metadata")
	c.Name = scalar(get(meta, "name"))
	c.Namespace = scalar(get(meta, "namespace"))
	spec := get(root, "spec")
	c.Target = scalar(get(get(spec, "targetRef"), "name"))
	if c.Target == "" {
		c.Target = c.Name
	}
	a := get(spec, "analysis")
	if a == nil {
		return nil, p.errAt(root, "spec.analysis", "missing: the analysis (interval, threshold, metrics) is required")
	}
	const ap = "spec.analysis"
	if err := p.checkKeys(a, ap, analysisFields...); err != nil {
		return nil, err
	}
	var err error
	if c.Interval, err = p.duration(get(a, "interval"), ap+".interval", DefaultInterval); err != nil {
		return nil, err
	}
	if c.Interval < MinInterval {
		return nil, p.errAt(get(a, "interval"), ap+".interval", "%s is below %s: metrics do not change faster than Prometheus scrapes them", c.Interval, MinInterval)
	}
	if c.Threshold, err = p.integer(get(a, "threshold"), ap+".threshold", DefaultThreshold); err != nil {
		return nil, err
	}
	if c.Threshold == 0 {
		return nil, p.errAt(get(a, "threshold"), ap+".threshold", "must be at least 1 (the number of failed checks that rolls back)")
	}
	itNode, durNode := get(a, "iterations"), get(a, "duration")
	if c.Iterations, err = p.integer(itNode, ap+".iterations", 0); err != nil {
		return nil, err
	}
	dur, err := p.duration(durNode, ap+".duration", 0)
	if err != nil {
		return nil, err
	}
	switch {
	case itNode != nil && durNode != nil:
		return nil, p.errAt(durNode, ap+".duration", "give iterations or duration, not both")
	case durNode != nil:
		c.Iterations = int(dur / c.Interval)
		if c.Iterations == 0 {
			return nil, p.errAt(durNode, ap+".duration", "%s is shorter than one interval (%s)", dur, c.Interval)
		}
	case itNode == nil:
		c.Iterations = DefaultIterations
	}
	if c.Iterations == 0 {
		return nil, p.errAt(itNode, ap+".iterations", "must be at least 1")
	}
	if c.MaxConsecutiveFailures, err = p.integer(get(a, "maxConsecutiveFailures"), ap+".maxConsecutiveFailures", 0); err != nil {
		return nil, err
	}
	if c.Selector, err = p.str(get(a, "selector"), ap+".selector"); err != nil {
		return nil, err
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
	if o.selector != "" {
		c.Selector = o.selector
	}
	if c.Selector == "" {
		c.Selector = c.Vars["selector"]
	}
	c.Selector = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(c.Selector), "{"), "}"))
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
	if err := p.provider(c, get(a, "provider"), o); err != nil {
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
		d := float64(DefaultMinRequests)
		defMinReq = &d
	}
	ms := get(a, "metrics")
	if ms == nil || ms.Kind != yaml.SequenceNode || len(ms.Content) == 0 {
		return nil, p.errAt(a, ap+".metrics", "at least one metric is required; built-ins: %s", strings.Join(BuiltinNames(), ", "))
	}
	seen := map[string]bool{}
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
	if c.ReadyQuery != "" {
		if c.ReadyQuery, err = p.render(c, get(a, "readyQuery"), ap+".readyQuery", c.ReadyQuery, c.Interval, nil); err != nil {
			return nil, err
		}
	}
	limit := c.Threshold
	if c.MaxConsecutiveFailures > 0 && c.MaxConsecutiveFailures < limit {
		limit = c.MaxConsecutiveFailures
	}
	if c.Iterations < limit {
		return nil, p.errAt(a, ap+".iterations", "the run has %d checks but rolling back needs %d failed ones: raise iterations/duration or lower threshold", c.Iterations, limit)
	}
	if total := c.ReadyTimeout + c.RunLength(); c.RunLength() > MaxRunLength || (c.ReadyQuery != "" && total > MaxRunLength) {
		return nil, p.errAt(a, ap, "readyTimeout (%s) + iterations × interval (%d × %s) is over GitHub's 6h job limit", c.ReadyTimeout, c.Iterations, c.Interval)
	}
	return c, nil
}

func (p *parser) provider(c *Config, n *yaml.Node, o parseOptions) error {
	const pp = "spec.analysis.provider"
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
	if c.Provider.BearerToken != "" && (c.Provider.Username != "" || c.Provider.Password != "") {
		return p.errAt(n, pp, "give bearerToken or username/password, not both")
	}
	var err error
	if c.Provider.Timeout, err = p.duration(get(n, "timeout"), pp+".timeout", DefaultQueryTimeout); err != nil {
		return err
	}
	if o.promURL != "" {
		c.Provider.Address = o.promURL
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

func (p *parser) metric(c *Config, n *yaml.Node, path string, templates map[string]*yaml.Node, defNoData NoDataPolicy, defOnError ErrorPolicy, defMinReq float64) (Metric, error) {
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
	if get(n, "threshold") != nil && tr == nil {
		return m, p.errAt(get(n, "threshold"), path+".threshold", "the deprecated single threshold is not supported: use thresholdRange {min, max}")
	}
	if m.Min == nil && m.Max == nil {
		return m, p.errAt(n, path+".thresholdRange", "missing: give min, max or both")
	}
	if m.Min != nil && m.Max != nil && *m.Min > *m.Max {
		return m, p.errAt(tr, path+".thresholdRange", "min %g is above max %g", *m.Min, *m.Max)
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
	var raw string
	rawNode := n
	switch {
	case qNode != nil && refNode != nil:
		return m, p.errAt(refNode, path+".templateRef", "give query or templateRef, not both")
	case qNode != nil:
		raw, rawNode = qNode.Value, qNode
	case refNode != nil:
		if err := p.checkKeys(refNode, path+".templateRef", "name", "namespace"); err != nil {
			return m, err
		}
		name := scalar(get(refNode, "name"))
		t, ok := templates[name]
		if !ok {
			names := make([]string, 0, len(templates))
			for k := range templates {
				names = append(names, k)
			}
			sort.Strings(names)
			return m, p.errAt(refNode, path+".templateRef.name", "no MetricTemplate %q in this file; templates here: [%s]", name, strings.Join(names, ", "))
		}
		if ns := scalar(get(refNode, "namespace")); ns != "" {
			if tns := scalar(get(get(t, "metadata"), "namespace")); tns != "" && tns != ns {
				return m, p.errAt(refNode, path+".templateRef.namespace", "MetricTemplate %q is in namespace %q, not %q", name, tns, ns)
			}
		}
		tspec := get(t, "spec")
		prov := get(tspec, "provider")
		if pt := scalar(get(prov, "type")); pt != "" && pt != "prometheus" {
			return m, p.errAt(get(prov, "type"), "MetricTemplate "+name+".spec.provider.type", "unsupported provider %q; valid: prometheus", pt)
		}
		if addr := scalar(get(prov, "address")); addr != "" && c.Provider.Address == "" {
			c.Provider.Address = addr
		}
		qn := get(tspec, "query")
		if scalar(qn) == "" {
			return m, p.errAt(t, "MetricTemplate "+name+".spec.query", "missing")
		}
		raw, rawNode = qn.Value, qn
	default:
		b, ok := builtins[m.Name]
		if !ok {
			return m, p.errAt(get(n, "name"), path+".name", "%q is not a built-in metric and has no query or templateRef; built-ins: %s", m.Name, strings.Join(BuiltinNames(), ", "))
		}
		if c.Selector == "" {
			return m, p.errAt(get(n, "name"), "spec.analysis.selector", "required by the built-in metric %q: give the PromQL label matchers of the new version, e.g. job=\"agent\",version=\"1.5.0\" (selector in the file, vars.selector, or --selector)", m.Name)
		}
		m.Builtin = true
		m.Unit = b.unit
		m.Query = b.query(c.Selector, promDuration(m.Window), quantile)
		m.RequestsQuery = requestsQuery(c.Selector, promDuration(m.Window))
		m.MinRequests = defMinReq
	}
	if !m.Builtin {
		if m.Query, err = p.render(c, rawNode, path+".query", raw, m.Window, tvars); err != nil {
			return m, err
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
		if m.RequestsQuery, err = p.render(c, rq, path+".requestsQuery", rq.Value, m.Window, tvars); err != nil {
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

var templateVar = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}`)

// render substitutes Flagger's template variables in a query: {{ name }}, {{ namespace }},
// {{ target }}, {{ interval }}, {{ selector }} and {{ variables.X }} (from templateVariables,
// then spec.analysis.vars).
func (p *parser) render(c *Config, n *yaml.Node, path, q string, window time.Duration, tvars map[string]string) (string, error) {
	var bad error
	out := templateVar.ReplaceAllStringFunc(q, func(match string) string {
		name := templateVar.FindStringSubmatch(match)[1]
		switch name {
		case "name":
			return c.Name
		case "namespace":
			return c.Namespace
		case "target":
			return c.Target
		case "interval":
			return promDuration(window)
		case "selector":
			return c.Selector
		}
		if v, ok := strings.CutPrefix(name, "variables."); ok {
			if x, ok := tvars[v]; ok {
				return x
			}
			if x, ok := c.Vars[v]; ok {
				return x
			}
			if bad == nil {
				bad = p.errAt(n, path, "{{ %s }} is not defined: set it in the metric's templateVariables or in spec.analysis.vars", name)
			}
			return match
		}
		if bad == nil {
			bad = p.errAt(n, path, "unknown template variable {{ %s }}; valid: name, namespace, target, interval, selector, variables.NAME", name)
		}
		return match
	})
	if bad != nil {
		return "", bad
	}
	if strings.Contains(out, "{{") {
		return "", p.errAt(n, path, "unparsed template text in %q: write variables as {{ namespace }} or {{ variables.NAME }}", q)
	}
	return out, nil
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
