package web

// The API of a connection's SSH credential (docs/ssh.md, services/ssh.go): set or remove the
// key, run the SSH check, trust a Server's host key. The private key and its passphrase come
// in through decodeJSON (whose errors never echo the body) as connections.Secret, which
// prints "[redacted]" everywhere; no handler here logs or answers them.

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/services"
)

// setSSHKey: PUT /api/v1/connections/{id}/ssh-key {"generate": true[, "keyType"]} or
// {"privateKey": PEM[, "passphrase"]}, with "port" optional → 200 with the connection (its
// "ssh" view: public key, fingerprint, addKeyUrl; never the private key). 400 naming the
// field (generate, keyType, privateKey, passphrase, port) for bad input, 400
// ssh_key_type_refused for a key of a type the server refuses, 404 for an unknown
// connection; nothing is stored on an error.
func (h *handlers) setSSHKey(c echo.Context) error {
	var in services.SSHKeyInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	conn, err := h.svc.SetSSHKey(ctx, tenantOf(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conn)
}

// removeSSHKey: DELETE /api/v1/connections/{id}/ssh-key → 200 with the connection, which
// clones over HTTPS again (cloneOver "https"); 404 for an unknown connection.
func (h *handlers) removeSSHKey(c echo.Context) error {
	conn, err := h.svc.RemoveSSHKey(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conn)
}

// sshCheckInput is the body of POST .../ssh-check: the repository whose refs are listed (an
// id or "project/name"; absent: the first repository the catalog lists).
type sshCheckInput struct {
	Repository string `json:"repository,omitempty"`
}

// checkSSH: POST /api/v1/connections/{id}/ssh-check [{"repository"}] → 200 with the outcome
// (services.SSHCheck), ok true or false: a failed check (key not added, refused type, SSH
// disabled, wrong port, host key) is an answer with its reason and message, as
// POST /check-token answers a refused token. 400 when the connection has no SSH key, 404 for
// an unknown connection.
func (h *handlers) checkSSH(c echo.Context) error {
	var in sshCheckInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	res, err := h.svc.CheckSSH(ctx, tenantOf(c), c.Param("id"), in.Repository)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// hostKeyInput is the body of POST .../ssh-host-key: the fingerprint the user compared.
type hostKeyInput struct {
	Fingerprint string `json:"fingerprint"`
}

// acceptHostKey: POST /api/v1/connections/{id}/ssh-host-key {"fingerprint": "SHA256:…"} →
// 200 with the connection, trusting the host key its latest check or clone saw. 400 (field
// fingerprint) when it is not that key or the connection is on Azure DevOps Services (whose
// host keys are pinned), 404 for an unknown connection.
func (h *handlers) acceptHostKey(c echo.Context) error {
	var in hostKeyInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	conn, err := h.svc.AcceptHostKey(c.Request().Context(), tenantOf(c), c.Param("id"), in.Fingerprint)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conn)
}
