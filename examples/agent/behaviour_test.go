package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBehaviour_AnswerIsGrounded is a behavioural test: one run of it proves little, because
// the agent's answers vary (AGENT_WRONG_ANSWER_RATE, drawn from a source seeded differently in
// every run, as a model's sampling is). A plain go test run passes it (the rate defaults to 0);
// the gate judges it as a probability, one run at a time, until the evidence decides:
//
//	AGENT_WRONG_ANSWER_RATE=0.3 flightline test --packages ./examples/agent \
//	  --behavioural TestBehaviour --pass-rate 0.9
//
// fails the gate (after 26 runs on average); a rate of 0.02 passes it (after 30).
func TestBehaviour_AnswerIsGrounded(t *testing.T) {
	faults, err := faultsFromEnv(os.Getenv)
	require.NoError(t, err)
	srv := httptest.NewServer(New("1.5.0", faults).Handler())
	defer srv.Close()

	const prompt = "which version is serving?"
	code, resp := chat(t, srv.URL, `{"messages":[{"role":"user","content":"`+prompt+`"}]}`)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, resp.Choices, 1)
	sum := sha256.Sum256([]byte(prompt))
	want := hex.EncodeToString(sum[:4])
	require.Containsf(t, resp.Choices[0].Message.Content, want,
		"the answer is not grounded in the prompt (wrong-answer rate %g, run %s)", faults.WrongAnswerRate, os.Getenv("FLIGHTLINE_TEST_ITERATION"))
}
