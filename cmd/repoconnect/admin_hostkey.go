package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/repoconnect/repoconnect/services"
	"github.com/repoconnect/repoconnect/services/store"
)

// The admin socket's routes of `repoconnect connection accept-host-key` (sshhostkey.go), so an
// operator accepts a Server's new SSH host key while the service holds the embedded store.

// adminHostKeyRequest is the body of POST /v1/connections/host-key: an empty Fingerprint
// only reads the connection.
type adminHostKeyRequest struct {
	Tenant      string `json:"tenant"`
	Connection  string `json:"connection"`
	Fingerprint string `json:"fingerprint"`
}

// mountAdminHostKey adds the host key route to the admin socket's mux. The answer is the
// connection's view (services.Connection: never a credential).
func mountAdminHostKey(mux *http.ServeMux, svc *services.Service, log *slog.Logger) {
	mux.HandleFunc("POST /v1/connections/host-key", func(w http.ResponseWriter, r *http.Request) {
		var req adminHostKeyRequest
		if !readJSON(w, r, &req) {
			return
		}
		c, err := storeAdmin{svc}.hostKey(r.Context(), req.Tenant, req.Connection, req.Fingerprint)
		if errors.Is(err, store.ErrNotFound) {
			writeProblem(w, adminProblem{Status: http.StatusNotFound, Code: "not_found",
				Detail: fmt.Sprintf("tenant %q has no connection %q", req.Tenant, req.Connection)})
			return
		}
		if err != nil {
			writeAdminError(w, log, err)
			return
		}
		if req.Fingerprint != "" {
			log.Info("SSH host key accepted through the admin socket", "tenant", req.Tenant, "connection", c.ID, "fingerprint", req.Fingerprint)
		}
		writeJSON(w, http.StatusOK, c)
	})
}

// hostKey reads the connection, and with a fingerprint accepts that host key first (keyAdmin).
func (a storeAdmin) hostKey(ctx context.Context, tenant, id, fingerprint string) (*services.Connection, error) {
	if fingerprint == "" {
		return a.svc.GetConnection(ctx, tenant, id)
	}
	return a.svc.AcceptHostKey(ctx, tenant, id, fingerprint)
}

func (c *adminClient) hostKey(ctx context.Context, tenant, id, fingerprint string) (*services.Connection, error) {
	var out services.Connection
	err := c.do(ctx, http.MethodPost, "/v1/connections/host-key", adminHostKeyRequest{Tenant: tenant, Connection: id, Fingerprint: fingerprint}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}
