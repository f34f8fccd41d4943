package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Faults are the injected misbehaviours. Rates are fractions of chat requests in [0, 1].
// ErrorRate and AIFailureRate apply deterministically (an accumulator, not a dice roll): a rate
// of 0.25 fails exactly every fourth request, so tests can count on the numbers.
// WrongAnswerRate is a dice roll, as a language model's answers vary: each answer is wrong with
// that probability, from a random source seeded differently in every process. A wrong answer
// is a well-formed 200 that no metric counts; only a behavioural test sees it.
type Faults struct {
	ErrorRate       float64       `json:"errorRate"`       // share of chat requests answered 500
	Latency         time.Duration `json:"-"`               // added to every chat request
	AIFailureRate   float64       `json:"aiFailureRate"`   // share of chat requests counted in ai_ir_failures_total
	WrongAnswerRate float64       `json:"wrongAnswerRate"` // chance that an answer is wrong
}

func (f Faults) String() string {
	s := fmt.Sprintf("errorRate=%g latency=%s aiFailureRate=%g", f.ErrorRate, f.Latency, f.AIFailureRate)
	if f.WrongAnswerRate > 0 {
		s += fmt.Sprintf(" wrongAnswerRate=%g", f.WrongAnswerRate)
	}
	return s
}

// MarshalJSON writes latency as a duration string ("250ms").
func (f Faults) MarshalJSON() ([]byte, error) {
	j := faultsJSON{ErrorRate: &f.ErrorRate, Latency: f.Latency.String(), AIFailureRate: &f.AIFailureRate}
	if f.WrongAnswerRate > 0 {
		j.WrongAnswerRate = &f.WrongAnswerRate
	}
	return json.Marshal(j)
}

type faultsJSON struct {
	ErrorRate       *float64 `json:"errorRate,omitempty"`
	Latency         string   `json:"latency,omitempty"`
	AIFailureRate   *float64 `json:"aiFailureRate,omitempty"`
	WrongAnswerRate *float64 `json:"wrongAnswerRate,omitempty"`
}

func (f Faults) validate() error {
	for name, r := range map[string]float64{"errorRate": f.ErrorRate, "aiFailureRate": f.AIFailureRate, "wrongAnswerRate": f.WrongAnswerRate} {
		if r < 0 || r > 1 {
			return fmt.Errorf("%s %g: want a fraction between 0 and 1", name, r)
		}
	}
	if f.Latency < 0 {
		return fmt.Errorf("latency %s: want a non-negative duration", f.Latency)
	}
	return nil
}

// faultsFromEnv reads AGENT_ERROR_RATE, AGENT_LATENCY, AGENT_AI_FAILURE_RATE and
// AGENT_WRONG_ANSWER_RATE.
func faultsFromEnv(getenv func(string) string) (Faults, error) {
	var f Faults
	var err error
	for _, v := range []struct {
		env string
		dst *float64
	}{{"AGENT_ERROR_RATE", &f.ErrorRate}, {"AGENT_AI_FAILURE_RATE", &f.AIFailureRate}, {"AGENT_WRONG_ANSWER_RATE", &f.WrongAnswerRate}} {
		if s := getenv(v.env); s != "" {
			if *v.dst, err = strconv.ParseFloat(s, 64); err != nil {
				return f, fmt.Errorf("%s=%q: want a number between 0 and 1", v.env, s)
			}
		}
	}
	if s := getenv("AGENT_LATENCY"); s != "" {
		if f.Latency, err = time.ParseDuration(s); err != nil {
			return f, fmt.Errorf("AGENT_LATENCY=%q: want a duration such as 250ms", s)
		}
	}
	if err := f.validate(); err != nil {
		return f, fmt.Errorf("fault injection from the environment: %w", err)
	}
	return f, nil
}

// Agent is the service: a fake model, its metrics and its faults.
type Agent struct {
	version  string
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	failures prometheus.Counter

	mu        sync.Mutex
	faults    Faults
	errAcc    float64
	aiFailAcc float64
}

const chatRoute, healthRoute = "/v1/chat", "/healthz"

// New returns an Agent reporting version, with every metric family present from the start.
func New(version string, faults Faults) *Agent {
	a := &Agent{version: version, faults: faults, registry: prometheus.NewRegistry()}
	a.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total", Help: "HTTP requests by status code and route.",
	}, []string{"code", "route"})
	a.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "HTTP request duration by route.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 1.5, 2.5, 5, 10},
	}, []string{"route"})
	a.failures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ai_ir_failures_total", Help: "Chat requests whose model answer failed (inference or response validation).",
	})
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "build_info", Help: "Always 1; the labels say which build is serving.",
	}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	a.registry.MustRegister(a.requests, a.duration, a.failures, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Initialise the label combinations so that every series exists, at zero, from start-up.
	for _, code := range []string{"200", "400", "500"} {
		a.requests.WithLabelValues(code, chatRoute)
	}
	a.requests.WithLabelValues("200", healthRoute)
	a.duration.WithLabelValues(chatRoute)
	a.duration.WithLabelValues(healthRoute)
	return a
}

// Handler serves /v1/chat, /healthz, /metrics and /admin/faults.
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+chatRoute, a.instrument(chatRoute, http.HandlerFunc(a.chat)))
	mux.Handle("GET "+healthRoute, a.instrument(healthRoute, http.HandlerFunc(a.health)))
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /admin/faults", a.getFaults)
	mux.HandleFunc("PUT /admin/faults", a.putFaults)
	return mux
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (a *Agent) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		a.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		a.requests.WithLabelValues(strconv.Itoa(rec.code), route).Inc()
	})
}

// ChatRequest is the OpenAI-style request body.
type ChatRequest struct {
	Model    string    `json:"model,omitempty"`
	Messages []Message `json:"messages"`
}

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatResponse is the OpenAI-style answer.
type ChatResponse struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
}

// Choice is one answer.
type Choice struct {
	Index        int     `json:"index"`
	Message      Message `json:"message"`
	FinishReason string  `json:"finish_reason"`
}

// decide applies the faults to one chat request.
func (a *Agent) decide() (fail, aiFail, wrong bool, latency time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errAcc += a.faults.ErrorRate
	if a.errAcc >= 1-1e-9 {
		a.errAcc--
		fail = true
	}
	a.aiFailAcc += a.faults.AIFailureRate
	if a.aiFailAcc >= 1-1e-9 {
		a.aiFailAcc--
		aiFail = true
	}
	wrong = a.faults.WrongAnswerRate > 0 && rand.Float64() < a.faults.WrongAnswerRate
	return fail, aiFail, wrong, a.faults.Latency
}

func (a *Agent) chat(w http.ResponseWriter, r *http.Request) {
	var req ChatRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	var prompt string
	for _, m := range req.Messages {
		if m.Role == "user" {
			prompt = m.Content
		}
	}
	if strings.TrimSpace(prompt) == "" {
		httpError(w, http.StatusBadRequest, `messages must include a non-empty {"role":"user","content":"…"}`)
		return
	}
	fail, aiFail, wrong, latency := a.decide()
	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if fail {
		httpError(w, http.StatusInternalServerError, "injected fault: model backend unavailable")
		return
	}
	sum := sha256.Sum256([]byte(prompt))
	if wrong {
		sum = sha256.Sum256([]byte("not quite: " + prompt)) // confident, well-formed and wrong
	}
	answer := fmt.Sprintf("(agent %s) You asked %d words; my deterministic answer is %s.", a.version, len(strings.Fields(prompt)), hex.EncodeToString(sum[:4]))
	finish := "stop"
	if aiFail {
		a.failures.Inc()
		answer, finish = "I could not complete that request.", "error"
	}
	writeJSON(w, http.StatusOK, ChatResponse{ID: "chatcmpl-" + hex.EncodeToString(sum[:6]), Object: "chat.completion",
		Model: "flightline-fake-" + a.version, Choices: []Choice{{Message: Message{Role: "assistant", Content: answer}, FinishReason: finish}}})
}

func (a *Agent) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": a.version})
}

func (a *Agent) getFaults(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	f := a.faults
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, f)
}

// putFaults replaces the fields given: {"errorRate":0.5,"latency":"200ms","aiFailureRate":0.1}.
func (a *Agent) putFaults(w http.ResponseWriter, r *http.Request) {
	var in faultsJSON
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		httpError(w, http.StatusBadRequest, "invalid faults (fields: errorRate, latency, aiFailureRate): "+err.Error())
		return
	}
	a.mu.Lock()
	f := a.faults
	a.mu.Unlock()
	if in.ErrorRate != nil {
		f.ErrorRate = *in.ErrorRate
	}
	if in.AIFailureRate != nil {
		f.AIFailureRate = *in.AIFailureRate
	}
	if in.WrongAnswerRate != nil {
		f.WrongAnswerRate = *in.WrongAnswerRate
	}
	if in.Latency != "" {
		d, err := time.ParseDuration(in.Latency)
		if err != nil {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("latency %q: want a duration such as 250ms", in.Latency))
			return
		}
		f.Latency = d
	}
	if err := f.validate(); err != nil {
		httpError(w, http.StatusBadRequest, err.Error())
		return
	}
	a.mu.Lock()
	a.faults, a.errAcc, a.aiFailAcc = f, 0, 0
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, f)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]map[string]string{"error": {"message": msg}})
}
