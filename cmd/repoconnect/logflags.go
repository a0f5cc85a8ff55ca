package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/repoconnect/repoconnect/web"
	"github.com/spf13/cobra"
)

// logFlags are --log-level and --log-format, for the commands that log (serve). Both are
// checked as they are set, from the command line or their variables, so a bad value is a
// usage error naming the flag or the variable.
type logFlags struct {
	level  levelValue
	format choiceValue
}

// logFormats are the values of --log-format: slog's TextHandler (key=value) or JSONHandler
// (one JSON object a line).
var logFormats = []string{"text", "json"}

func (f *logFlags) register(cmd *cobra.Command) {
	f.level = levelValue{level: slog.LevelInfo, name: "info"}
	f.format = choiceValue{value: "text", choices: logFormats}
	cmd.Flags().Var(&f.level, "log-level", "log level: debug, info, warn, error")
	cmd.Flags().Var(&f.format, "log-format", "log format on standard error: text (key=value) or json (one object a line)")
}

// logger returns the logger the flags describe, writing to w (standard error when nil).
func (f *logFlags) logger(w io.Writer) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	opts := &slog.HandlerOptions{Level: f.level.level}
	var h slog.Handler
	if f.format.value == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	// Every line logged with a request's context carries its requestId (web.LogHandler),
	// the services' lines included.
	h = web.LogHandler(h)
	return slog.New(h)
}

// newLogger returns a text logger on stderr at the given level name (debug, info, warn,
// error; anything else is info), for the commands without log flags.
func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// levelValue is a pflag.Value holding a slog level by name.
type levelValue struct {
	level slog.Level
	name  string
}

func (v *levelValue) String() string { return v.name }
func (v *levelValue) Type() string   { return "level" }
func (v *levelValue) Set(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("%q is not a log level: debug, info, warn or error", s)
	}
	if err := v.level.UnmarshalText([]byte(s)); err != nil {
		return err
	}
	v.name = s
	return nil
}

// choiceValue is a pflag.Value that accepts one of choices.
type choiceValue struct {
	value   string
	choices []string
}

func (v *choiceValue) String() string { return v.value }
func (v *choiceValue) Type() string   { return strings.Join(v.choices, "|") }
func (v *choiceValue) Set(s string) error {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, c := range v.choices {
		if s == c {
			v.value = s
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", s, strings.Join(v.choices, ", "))
}
