package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDefaultAddr(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"workstation: loopback only", nil, "127.0.0.1:8080"},
		{"kubernetes pod: every interface", map[string]string{"KUBERNETES_SERVICE_HOST": "10.96.0.1"}, ":8080"},
		{"empty variable is not a pod", map[string]string{"KUBERNETES_SERVICE_HOST": ""}, "127.0.0.1:8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, defaultAddr(func(k string) string { return tc.env[k] }))
		})
	}
}
