package connections

import "log/slog"

// Secret holds a credential (PAT, access or refresh token, client secret). Its String, GoString,
// LogValue and MarshalJSON all print "[redacted]", so a Secret that slips into a log line, an
// error or an API answer does not leak; Reveal returns the value for the one place that sends it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value. Call it only where the value is sent to the forge.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]" (for %#v).
func (s Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer with "[redacted]".
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes the secret as "[redacted]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// Empty reports whether the secret has no value.
func (s Secret) Empty() bool { return s == "" }
