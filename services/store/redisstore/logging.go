package redisstore

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// LogTo sends go-redis' own log lines (connection pool failures such as "failed to dial
// after 5 attempts") to log at Warn level, with the attribute component=go-redis, instead of
// the standard library logger on stderr. go-redis keeps one logger per process, so this is
// process-wide; call it once at start-up. Those lines name addresses, never passwords.
func LogTo(log *slog.Logger) {
	redis.SetLogger(slogPrinter{log})
}

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(ctx context.Context, format string, v ...any) {
	p.log.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
