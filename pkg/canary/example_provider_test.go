package canary_test

import (
	"fmt"

	"github.com/labrats-work/flightline/pkg/canary"
)

// Without a selector, the built-in metrics are Flagger's queries for spec.provider, naming the
// workload's own Service where Flagger's name the -canary one it would have created.
func ExampleProviderBuiltins() {
	fmt.Println(canary.ProviderBuiltins())
	cfg, err := canary.ParseConfig("canary.yaml", []byte(`apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  provider: contour
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  analysis:
    interval: 1m
    iterations: 5
    metrics:
      - name: request-success-rate
        thresholdRange: {min: 99}
        interval: 1m
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Metrics[0].Query)
	// Output:
	// [apisix appmesh contour gatewayapi gloo istio knative kubernetes kuma linkerd nginx osm skipper traefik]
	// sum(rate(envoy_cluster_upstream_rq{envoy_cluster_name=~"test_podinfo_[0-9a-zA-Z-]+",envoy_response_code!~"5.*"}[1m])) / sum(rate(envoy_cluster_upstream_rq{envoy_cluster_name=~"test_podinfo_[0-9a-zA-Z-]+"}[1m])) * 100
}
