package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/labrats-work/flightline/pkg/metrics"
)

// fakeAPI answers /api/v1/query and /api/v1/query_range with a canned "data" payload, the way
// Prometheus's HTTP API does, and records the Authorization header it saw.
func fakeAPI(t *testing.T, data string, gotAuth *string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if gotAuth != nil {
			*gotAuth = r.Header.Get("Authorization")
		}
		w.Header().Set("Content-Type", "application/json")
		if data == "ERROR" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"parse error at char 5"}`)
			return
		}
		fmt.Fprintf(w, `{"status":"success","data":%s}`, data)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestPrometheusQuery(t *testing.T) {
	const ts = 1700000000
	vec := func(samples ...string) string {
		return `{"resultType":"vector","result":[` + join(samples) + `]}`
	}
	tests := []struct {
		name    string
		data    string
		want    float64
		wantErr func(t *testing.T, err error)
	}{
		{name: "one series", data: vec(`{"metric":{"job":"agent"},"value":[1700000000,"99.5"]}`), want: 99.5},
		{name: "a scalar fails, as in Flagger", data: `{"resultType":"scalar","result":[1700000000,"3"]}`, wantErr: func(t *testing.T, err error) {
			assert.ErrorIs(t, err, metrics.ErrScalar)
			assert.False(t, metrics.Unreachable(err))
		}},
		{name: "positive infinity is a value", data: vec(`{"metric":{},"value":[1700000000,"+Inf"]}`), want: math.Inf(1)},
		{name: "no series is no data", data: vec(), wantErr: func(t *testing.T, err error) {
			assert.ErrorIs(t, err, metrics.ErrNoData)
			assert.Contains(t, err.Error(), "no series")
		}},
		{name: "NaN is no data", data: vec(`{"metric":{},"value":[1700000000,"NaN"]}`), wantErr: func(t *testing.T, err error) {
			assert.ErrorIs(t, err, metrics.ErrNoData)
			assert.Contains(t, err.Error(), "NaN")
		}},
		{name: "several series: the last one, as Flagger reads them", data: vec(
			`{"metric":{"code":"200","route":"/ask"},"value":[1700000000,"1"]}`,
			`{"metric":{"code":"500","route":"/ask"},"value":[1700000000,"2"]}`), want: 2},
		{name: "several series ending in NaN: no data, as in Flagger", data: vec(
			`{"metric":{"code":"200"},"value":[1700000000,"1"]}`,
			`{"metric":{"code":"500"},"value":[1700000000,"NaN"]}`),
			wantErr: func(t *testing.T, err error) { assert.ErrorIs(t, err, metrics.ErrNoData) }},
		{name: "matrix is refused", data: `{"resultType":"matrix","result":[]}`, wantErr: func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "matrix")
		}},
		{name: "server error", data: "ERROR", wantErr: func(t *testing.T, err error) {
			assert.Contains(t, err.Error(), "parse error")
			assert.NotErrorIs(t, err, metrics.ErrNoData)
			assert.False(t, metrics.Unreachable(err), "an answer from Prometheus is not unreachable")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := metrics.NewPrometheus(fakeAPI(t, tt.data, nil))
			require.NoError(t, err)
			s, err := p.Query(context.Background(), "up", time.Unix(ts, 0))
			if tt.wantErr != nil {
				require.Error(t, err)
				tt.wantErr(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, s.Value)
		})
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

func TestPrometheusAuth(t *testing.T) {
	data := `{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"1"]}]}`
	var got string
	p, err := metrics.NewPrometheus(fakeAPI(t, data, &got), metrics.WithBearerToken("s3cret"))
	require.NoError(t, err)
	_, err = p.Query(context.Background(), "1", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "Bearer s3cret", got)

	p, err = metrics.NewPrometheus(fakeAPI(t, data, &got), metrics.WithBasicAuth("u", "p"))
	require.NoError(t, err)
	_, err = p.Query(context.Background(), "1", time.Time{})
	require.NoError(t, err)
	assert.Equal(t, "Basic dTpw", got)
}

func TestNewPrometheusBadInput(t *testing.T) {
	for _, tt := range []struct {
		addr string
		opts []metrics.PrometheusOption
		want string
	}{
		{addr: "prometheus:9090", want: "want an http(s) URL"},
		{addr: "", want: "want an http(s) URL"},
		{addr: "http://p:9090", opts: []metrics.PrometheusOption{metrics.WithBearerToken("t"), metrics.WithBasicAuth("u", "p")}, want: "not both"},
		{addr: "http://p:9090", opts: []metrics.PrometheusOption{metrics.WithTimeout(0)}, want: "must be positive"},
	} {
		_, err := metrics.NewPrometheus(tt.addr, tt.opts...)
		require.Error(t, err, tt.addr)
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestPrometheusTimeout(t *testing.T) {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) }) // runs first: releases the handler so Close returns
	p, err := metrics.NewPrometheus(srv.URL, metrics.WithTimeout(100*time.Millisecond))
	require.NoError(t, err)
	start := time.Now()
	_, err = p.Query(context.Background(), "up", time.Time{})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
	assert.ErrorIs(t, err, metrics.ErrUnreachable, "a client-side timeout got no answer")
	assert.Less(t, time.Since(start), 4*time.Second)
}

func TestPrometheusQueryRange(t *testing.T) {
	data := `{"resultType":"matrix","result":[{"metric":{"job":"agent"},"values":[[1700000000,"1"],[1700000001,"2"]]}]}`
	p, err := metrics.NewPrometheus(fakeAPI(t, data, nil))
	require.NoError(t, err)
	ss, err := p.QueryRange(context.Background(), "up", metrics.Range{Start: time.Unix(1700000000, 0), End: time.Unix(1700000001, 0), Step: time.Second})
	require.NoError(t, err)
	require.Len(t, ss, 1)
	assert.Equal(t, map[string]string{"job": "agent"}, ss[0].Labels)
	assert.Equal(t, []metrics.Point{{Time: time.Unix(1700000000, 0), Value: 1}, {Time: time.Unix(1700000001, 0), Value: 2}}, ss[0].Points)

	_, err = p.QueryRange(context.Background(), "up", metrics.Range{Start: time.Unix(1, 0), End: time.Unix(2, 0)})
	assert.ErrorContains(t, err, "step")
}

func TestPrometheusUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	p, err := metrics.NewPrometheus(addr, metrics.WithTimeout(2*time.Second))
	require.NoError(t, err)
	_, err = p.Query(context.Background(), "up", time.Time{})
	require.ErrorIs(t, err, metrics.ErrUnreachable)
	assert.True(t, metrics.Unreachable(err))

	_, err = p.Query(context.Background(), "up", time.Time{})
	assert.ErrorIs(t, err, metrics.ErrUnreachable)

	// A gateway in front of Prometheus answering 502 with its own page: no answer from Prometheus.
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	t.Cleanup(gw.Close)
	p, err = metrics.NewPrometheus(gw.URL)
	require.NoError(t, err)
	_, err = p.Query(context.Background(), "up", time.Time{})
	assert.ErrorIs(t, err, metrics.ErrUnreachable)
}

// Userinfo in the address becomes basic auth and never appears in an error; headers are sent;
// a redirect to another host carries neither.
func TestPrometheusCredentialsStayOut(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Empty(t, r.Header.Get("Authorization"), "no credentials on a redirect to another host")
		assert.Empty(t, r.Header.Get("X-Scope-OrgID"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}`)
	}))
	t.Cleanup(other.Close)
	var auth, org string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, org = r.Header.Get("Authorization"), r.Header.Get("X-Scope-OrgID")
		if r.URL.Query().Get("query") == "redirect" || r.FormValue("query") == "redirect" {
			http.Redirect(w, r, other.URL+"/api/v1/query?query=1", http.StatusTemporaryRedirect)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, "boom")
	}))
	t.Cleanup(srv.Close)
	withUser := strings.Replace(srv.URL, "http://", "http://alice:hunter2@", 1)
	p, err := metrics.NewPrometheus(withUser, metrics.WithHeaders(http.Header{"X-Scope-OrgID": {"team-a"}}))
	require.NoError(t, err)
	_, err = p.Query(context.Background(), "up", time.Time{})
	require.Error(t, err)
	assert.Equal(t, "Basic YWxpY2U6aHVudGVyMg==", auth)
	assert.Equal(t, "team-a", org)
	assert.NotContains(t, err.Error(), "hunter2")
	assert.NotContains(t, err.Error(), "alice")
	_, _ = p.Query(context.Background(), "redirect", time.Time{})

	// An address that does not parse is echoed redacted.
	_, err = metrics.NewPrometheus("http://bob:s3cret@[::1")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")
}

func TestRedactURLs(t *testing.T) {
	assert.Equal(t, `dial https://REDACTED@p:9090/api: refused`, metrics.RedactURLs(`dial https://u:p@p:9090/api: refused`))
	assert.Equal(t, `no url here`, metrics.RedactURLs(`no url here`))
	clean, u, pw := metrics.SplitUserinfo("https://u:p%40ss@prom.example:443/x")
	assert.Equal(t, "https://prom.example:443/x", clean)
	assert.Equal(t, "u", u)
	assert.Equal(t, "p@ss", pw)
}
