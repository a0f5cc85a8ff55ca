package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/labstack/gommon/log"
)

// accessLog is the middleware that writes one line per request, "request", at info, after
// the answer: method, route (the route pattern echo matched, e.g.
// /api/v1/connections/:id; for an unknown path, the nearest pattern or empty), path (the raw path, never the query string: an OAuth callback's carries
// its code and state), status, bytes (the answer's body), ms (the duration in
// milliseconds), remote (the client's address as the connection saw it), userAgent and,
// through LogHandler, requestId. No header and no body is logged.
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod: true, LogURIPath: true, LogRoutePath: true, LogStatus: true, LogLatency: true,
		LogResponseSize: true, LogUserAgent: true, HandleError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
				slog.String("method", v.Method), slog.String("route", routeName(v.RoutePath)), slog.String("path", v.URIPath),
				slog.Int("status", v.Status), slog.Int64("bytes", v.ResponseSize), slog.Int64("ms", v.Latency.Milliseconds()),
				slog.String("remote", c.Request().RemoteAddr), slog.String("userAgent", v.UserAgent))
			return nil
		},
	})
}

// echoLogger is echo's Logger writing to slog, so that the few lines echo logs itself
// (e.g. "response already committed") are slog lines like every other, not text on stdout.
// The JSON variants log their map as the attribute "json"; Fatal and Panic log at error and
// then panic (a server must not exit from inside a handler).
type echoLogger struct {
	log    *slog.Logger
	prefix string
	level  log.Lvl
}

func newEchoLogger(l *slog.Logger) *echoLogger {
	return &echoLogger{log: l, prefix: "echo", level: log.INFO}
}

func (l *echoLogger) emit(lvl log.Lvl, level slog.Level, msg string) {
	if lvl < l.level {
		return
	}
	l.log.Log(context.Background(), level, msg, "component", l.prefix)
}

func (l *echoLogger) Output() io.Writer   { return io.Discard }
func (l *echoLogger) SetOutput(io.Writer) {}
func (l *echoLogger) Prefix() string      { return l.prefix }
func (l *echoLogger) SetPrefix(p string)  { l.prefix = p }
func (l *echoLogger) Level() log.Lvl      { return l.level }
func (l *echoLogger) SetLevel(v log.Lvl)  { l.level = v }
func (l *echoLogger) SetHeader(string)    {}
func (l *echoLogger) Print(i ...any)      { l.emit(log.INFO, slog.LevelInfo, fmt.Sprint(i...)) }
func (l *echoLogger) Printf(f string, a ...any) {
	l.emit(log.INFO, slog.LevelInfo, fmt.Sprintf(f, a...))
}
func (l *echoLogger) Printj(j log.JSON) { l.emit(log.INFO, slog.LevelInfo, fmt.Sprint(j)) }
func (l *echoLogger) Debug(i ...any)    { l.emit(log.DEBUG, slog.LevelDebug, fmt.Sprint(i...)) }
func (l *echoLogger) Debugf(f string, a ...any) {
	l.emit(log.DEBUG, slog.LevelDebug, fmt.Sprintf(f, a...))
}
func (l *echoLogger) Debugj(j log.JSON) { l.emit(log.DEBUG, slog.LevelDebug, fmt.Sprint(j)) }
func (l *echoLogger) Info(i ...any)     { l.emit(log.INFO, slog.LevelInfo, fmt.Sprint(i...)) }
func (l *echoLogger) Infof(f string, a ...any) {
	l.emit(log.INFO, slog.LevelInfo, fmt.Sprintf(f, a...))
}
func (l *echoLogger) Infoj(j log.JSON) { l.emit(log.INFO, slog.LevelInfo, fmt.Sprint(j)) }
func (l *echoLogger) Warn(i ...any)    { l.emit(log.WARN, slog.LevelWarn, fmt.Sprint(i...)) }
func (l *echoLogger) Warnf(f string, a ...any) {
	l.emit(log.WARN, slog.LevelWarn, fmt.Sprintf(f, a...))
}
func (l *echoLogger) Warnj(j log.JSON) { l.emit(log.WARN, slog.LevelWarn, fmt.Sprint(j)) }
func (l *echoLogger) Error(i ...any)   { l.emit(log.ERROR, slog.LevelError, fmt.Sprint(i...)) }
func (l *echoLogger) Errorf(f string, a ...any) {
	l.emit(log.ERROR, slog.LevelError, fmt.Sprintf(f, a...))
}
func (l *echoLogger) Errorj(j log.JSON)         { l.emit(log.ERROR, slog.LevelError, fmt.Sprint(j)) }
func (l *echoLogger) Fatal(i ...any)            { l.Panic(i...) }
func (l *echoLogger) Fatalj(j log.JSON)         { l.Panicj(j) }
func (l *echoLogger) Fatalf(f string, a ...any) { l.Panicf(f, a...) }
func (l *echoLogger) Panic(i ...any)            { l.panic(fmt.Sprint(i...)) }
func (l *echoLogger) Panicj(j log.JSON)         { l.panic(fmt.Sprint(j)) }
func (l *echoLogger) Panicf(f string, a ...any) { l.panic(fmt.Sprintf(f, a...)) }
func (l *echoLogger) panic(msg string)          { l.emit(log.OFF, slog.LevelError, msg); panic(msg) }
