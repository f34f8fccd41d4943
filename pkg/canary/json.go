package canary

import (
	"encoding/json"
	"fmt"
	"time"
)

// Durations are written as Go duration strings ("1m0s") in reports, not nanoseconds.

type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("reading duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("reading duration %q: %w", s, err)
	}
	*d = jsonDuration(v)
	return nil
}

type configJSON struct {
	*configAlias
	Interval     jsonDuration `json:"interval"`
	ReadyTimeout jsonDuration `json:"readyTimeout"`
	MaxDuration  jsonDuration `json:"maxDuration"`
	Provider     providerJSON `json:"provider"`
}

type configAlias Config

type providerJSON struct {
	*providerAlias
	Timeout jsonDuration `json:"timeout"`
}

type providerAlias Provider

// MarshalJSON writes durations as strings; secrets are left out.
func (c Config) MarshalJSON() ([]byte, error) {
	p := c.Provider
	return json.Marshal(configJSON{configAlias: (*configAlias)(&c), Interval: jsonDuration(c.Interval), ReadyTimeout: jsonDuration(c.ReadyTimeout), MaxDuration: jsonDuration(c.MaxDuration),
		Provider: providerJSON{providerAlias: (*providerAlias)(&p), Timeout: jsonDuration(p.Timeout)}})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (c *Config) UnmarshalJSON(b []byte) error {
	aux := configJSON{configAlias: (*configAlias)(c), Provider: providerJSON{providerAlias: (*providerAlias)(&c.Provider)}}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	c.Interval, c.ReadyTimeout, c.Provider.Timeout = time.Duration(aux.Interval), time.Duration(aux.ReadyTimeout), time.Duration(aux.Provider.Timeout)
	c.MaxDuration = time.Duration(aux.MaxDuration)
	return nil
}

type metricJSON struct {
	*metricAlias
	Window jsonDuration `json:"window"`
}

type metricAlias Metric

// MarshalJSON writes the window as a duration string.
func (m Metric) MarshalJSON() ([]byte, error) {
	return json.Marshal(metricJSON{metricAlias: (*metricAlias)(&m), Window: jsonDuration(m.Window)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (m *Metric) UnmarshalJSON(b []byte) error {
	aux := metricJSON{metricAlias: (*metricAlias)(m)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	m.Window = time.Duration(aux.Window)
	return nil
}
