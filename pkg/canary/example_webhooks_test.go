package canary_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/labrats-work/flightline/pkg/canary"
)

func ExampleWebhookCaller_Call() {
	// A gate that answers 403 until it is opened, as Flagger's loadtester /gate/check does.
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println(string(body))
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("Forbidden"))
	}))
	defer gate.Close()

	c := canary.NewWebhookCaller(canary.WithHTTPClient(gate.Client()))
	hook := canary.Webhook{Name: "promotion-gate", Type: canary.HookConfirmPromotion, URL: gate.URL, Timeout: 10 * time.Second}
	got := c.Call(context.Background(), hook, canary.WebhookPayload{Name: "agent", Namespace: "agents", Phase: canary.PhaseProgressing, Checksum: "65859d8f96"})
	fmt.Println(got.OK, got)
	// Output:
	// {"name":"agent","namespace":"agents","phase":"Progressing","checksum":"65859d8f96"}
	// false confirm-promotion "promotion-gate" failed (HTTP 403): Forbidden
}
