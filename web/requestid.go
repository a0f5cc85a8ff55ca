package web

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

// HeaderRequestID is the header that carries a request's id, in the request (chosen by the
// client or a proxy in front of the service) and in the answer (always).
const HeaderRequestID = "X-Request-Id"

// maxRequestIDLen bounds a client-chosen request id; a longer one is replaced.
const maxRequestIDLen = 128

type requestIDKey struct{}

// WithRequestID returns ctx carrying id as its request id (see RequestID and LogHandler).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the request id ctx carries, or "" when it carries none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// saneRequestID reports whether a client-chosen id can be kept as is: 1 to 128 characters of
// A-Z, a-z, 0-9, '.', '_', ':' and '-' (enough for UUIDs, W3C trace ids and the ids of
// common proxies), so it cannot forge log lines or carry markup.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// requestIDs is the middleware that gives every request an id: the request's X-Request-Id
// when it is sane (saneRequestID), else a new random UUID. The id is sent back as the
// answer's X-Request-Id, is put in the request's context (RequestID) and so appears in every
// log line written with that context through LogHandler and in every problem body.
func requestIDs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		id := r.Header.Get(HeaderRequestID)
		if !saneRequestID(id) {
			id = uuid.NewString()
		}
		c.Response().Header().Set(HeaderRequestID, id)
		c.SetRequest(r.WithContext(WithRequestID(r.Context(), id)))
		return next(c)
	}
}

// LogHandler wraps h so that every record logged with a context that carries a request id
// (every line logged while serving a request, with the request's context) gets the
// attribute requestId. Wrapping a handler LogHandler returned already returns it as is.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{h}
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("requestId", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
