package web

// The SSH section of the connection page (templates/fragments_ssh.html): set a key
// (generated, or the user's own), show the public key and where to add it, Check SSH with
// each failure's next step, trust a Server's host key, remove the key. Every form posts and
// redirects without JavaScript; with htmx it swaps the section's body (#ssh's content) in place.
// The routes are in mountUI's /ui group (ui.go), behind the pages' middleware.

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/connections"
	"github.com/repoconnect/repoconnect/services"
)

func init() {
	// sshTypes names key types for a sentence: "rsa, ecdsa".
	uiFuncs["sshTypes"] = func(ts []string) string { return strings.Join(ts, ", ") }
}

// sshData is the SSH section: the connection, the check just made (nil: the section shows
// the outcome recorded on the connection), a refused form's problem, a notice after an
// action and the removal's confirmation.
type sshData struct {
	Conn          *services.Connection
	Check         *services.SSHCheck
	Error         *Problem
	Notice        string
	ConfirmRemove bool
	// Own: the form shows "Use my own private key" chosen (after a refused private key).
	Own bool
}

// HasKey reports whether the connection holds an SSH key.
func (d sshData) HasKey() bool { return d.Conn != nil && d.Conn.SSH != nil }

// AcceptedTypes are the key types to name in the forms ("rsa", …): the key's view's, else
// the types the connection's server accepts (services.SSHKeyTypesOf: from the view, no
// request); empty when the connection's server cannot be read.
func (d sshData) AcceptedTypes() []string {
	switch {
	case d.Conn == nil:
		return nil
	case d.HasKey() && len(d.Conn.SSH.AcceptedKeyTypes) > 0:
		return d.Conn.SSH.AcceptedKeyTypes
	}
	return services.SSHKeyTypesOf(d.Conn)
}

// OnServices reports whether the connection is on Azure DevOps Services (host keys pinned).
func (d sshData) OnServices() bool { return d.Conn != nil && services.IsServicesType(d.Conn.Type) }

// sshOutcome is the SSH check's outcome as the section says it: Kind is "ok" or the reason
// (data-ssh-outcome), Lead and Detail sentences, Next the step the reason calls for
// (add, generate, admin, port, host-key, host-key-changed, or "" for none).
type sshOutcome struct {
	OK          bool
	Kind        string
	Lead        string
	Detail      string
	Next        string
	Fingerprint string
	Host        string // the host:port that showed Fingerprint, when known
	Port        int
	Repository  string
	Refs        int
	Fresh       bool // the check was just made: the outcome takes the focus
}

// Outcome is the check just made, or the one recorded on the connection; nil when the key
// was never checked.
func (d sshData) Outcome() *sshOutcome {
	if !d.HasKey() {
		return nil
	}
	v := d.Conn.SSH
	o := &sshOutcome{Port: v.Port, Fingerprint: v.SeenHostKeyFingerprint}
	switch {
	case d.Check != nil:
		c := d.Check
		o.OK, o.Kind, o.Detail, o.Repository, o.Refs, o.Fresh = c.OK, c.Reason, c.Message, c.Repository, c.Refs, true
		if c.HostKeyFingerprint != "" && !c.OK {
			o.Fingerprint = c.HostKeyFingerprint
		}
	case !v.CheckedAt.IsZero():
		o.OK, o.Kind, o.Detail = v.CheckReason == "", v.CheckReason, v.CheckMessage
	default:
		return nil
	}
	if o.Fingerprint != "" && o.Fingerprint == v.SeenHostKeyFingerprint {
		o.Host = v.SeenHostKeyHost
	}
	if o.OK {
		o.Kind, o.Detail = "ok", ""
		o.Lead = "SSH works: the service signed in with the key and listed the repository's refs."
		if o.Repository != "" {
			o.Lead = "SSH works: the service signed in with the key and listed " + strconv.Itoa(o.Refs) + " refs of " + o.Repository + "."
		}
		return o
	}
	o.Detail = sentence(o.Detail)
	switch connections.Reason(o.Kind) {
	case connections.ReasonSSHKeyNotAdded:
		o.Lead, o.Next = "Azure DevOps refused the key: it is not added to your user's SSH public keys yet.", "add"
	case connections.ReasonSSHKeyTypeRefused:
		o.Lead, o.Next = "The server does not accept keys of this type ("+v.KeyType+").", "generate"
	case connections.ReasonSSHDisabled:
		o.Lead, o.Next = "SSH is turned off on the server.", "admin"
	case connections.ReasonSSHWrongPort:
		o.Lead, o.Next = "Nothing answered SSH on the port the service tried.", "port"
	case connections.ReasonHostKeyUnconfirmed:
		o.Lead, o.Next = "The server's SSH host key is not confirmed yet: this is the first SSH contact with it.", "host-key"
	case connections.ReasonHostKeyChanged:
		o.Lead, o.Next = "Warning: the server's SSH host key has changed since it was trusted. Every clone over SSH is stopped until the new key is accepted.", "host-key-changed"
		if d.OnServices() { // pinned to Microsoft's fingerprint: nobody accepts a key on the page
			o.Lead = "Warning: the SSH host key of Azure DevOps Services does not match the fingerprint Microsoft publishes. Every clone over SSH is stopped."
		}
	default:
		o.Lead = "The SSH check failed."
	}
	// The host key's outcomes show the fingerprint on its own line and say what to compare:
	// the service's sentence (which says the same) would repeat them.
	if o.Lead == o.Detail || o.Next == "host-key" || o.Next == "host-key-changed" {
		o.Detail = ""
	}
	return o
}

// sshAnswer answers an SSH form that succeeded: the section again for htmx (with the check
// just made, or a notice), a redirect to the connection page's section otherwise (the
// outcome of a check is recorded on the connection, so the page shows it after the redirect).
func (u *ui) sshAnswer(c echo.Context, d sshData) error {
	if !isHX(c) {
		return c.Redirect(http.StatusSeeOther, "/ui/connections/"+d.Conn.ID+"#ssh")
	}
	return u.fragment(c, http.StatusOK, "ssh-body", d)
}

// sshRefused answers an SSH form the service refused (bad input): the section with the
// problem beside its field, in place for htmx or on the whole page with the refusal's
// status. Errors that are not the user's (5xx, a missing connection) are the pages' usual.
func (u *ui) sshRefused(c echo.Context, err error, own bool) error {
	p := problemFor(err)
	if p.Status >= 500 || p.Status == http.StatusNotFound || p.Status == statusClientClosedRequest {
		return u.fail(c, err)
	}
	ctx, tenant := c.Request().Context(), tenantOf(c)
	conn, gerr := u.svc.GetConnection(ctx, tenant, c.Param("id"))
	if gerr != nil {
		return u.fail(c, gerr)
	}
	d := sshData{Conn: conn, Error: &p, Own: own}
	if isHX(c) {
		return u.fragment(c, p.Status, "ssh-body", d)
	}
	return u.renderConnection(c, p.Status, connectionData{Conn: conn, SSH: d, Canonical: "/ui/connections/" + conn.ID})
}

// setSSHKey: POST /ui/connections/{id}/ssh-key {mode: generate|own|port, keyType?,
// privateKey?, passphrase?, port?} sets the connection's SSH key (services.SetSSHKey); mode
// port changes the port only, and without a port clears it (the server's SSH URL's port).
func (u *ui) setSSHKey(c echo.Context) error {
	in := services.SSHKeyInput{KeyType: strings.TrimSpace(c.FormValue("keyType"))}
	mode := c.FormValue("mode")
	switch mode {
	case "own":
		in.PrivateKey = connections.Secret(strings.TrimSpace(c.FormValue("privateKey")))
		in.Passphrase = connections.Secret(c.FormValue("passphrase"))
		if in.PrivateKey == "" { // blank, or spaces only: not a port change (SetSSHKey's reading)
			return u.sshRefused(c, bodyError("privateKey", "paste the private key, from its -----BEGIN line to its -----END line"), true)
		}
	case "port":
	case "generate":
		in.Generate = true
	default: // an old cached page, a typo, a script: never replace a working key by guess
		return u.sshRefused(c, bodyError("mode", "this form is out of date: reload the page and choose again"), false)
	}
	if p := strings.TrimSpace(c.FormValue("port")); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return u.sshRefused(c, bodyError("port", "the port is a number from 1 to 65535, the port the server's SSH listens on"), mode == "own")
		}
		in.Port = n
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	conn, err := u.svc.SetSSHKey(ctx, tenantOf(c), c.Param("id"), in)
	if err != nil {
		return u.sshRefused(c, err, mode == "own")
	}
	notice := "The key is ready: add its public key in Azure DevOps, then check SSH."
	switch {
	case mode == "port" && in.Port == 0: // the page's "use the port of the server's SSH URL"
		notice = "The saved SSH port is cleared: clones dial the port of the server's SSH URL."
	case mode == "port":
		notice = "The SSH port is saved: check SSH again."
	}
	return u.sshAnswer(c, sshData{Conn: conn, Notice: notice})
}

// confirmRemoveSSHKey: GET /ui/connections/{id}/ssh-key/remove shows the connection page
// with the removal's confirmation in the SSH section.
func (u *ui) confirmRemoveSSHKey(c echo.Context) error {
	ctx, tenant := c.Request().Context(), tenantOf(c)
	conn, err := u.svc.GetConnection(ctx, tenant, c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	d := sshData{Conn: conn}
	d.ConfirmRemove = d.HasKey()
	if isHX(c) {
		return u.fragment(c, http.StatusOK, "ssh-body", d)
	}
	return u.renderConnection(c, http.StatusOK, connectionData{Conn: conn, SSH: d})
}

// removeSSHKey: POST /ui/connections/{id}/ssh-key/remove removes the key (services.RemoveSSHKey).
func (u *ui) removeSSHKey(c echo.Context) error {
	conn, err := u.svc.RemoveSSHKey(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return u.fail(c, err)
	}
	return u.sshAnswer(c, sshData{Conn: conn, Notice: "The SSH key is removed: clones go over HTTPS with the connection's token again."})
}

// checkSSH: POST /ui/connections/{id}/ssh-check runs the SSH check (services.CheckSSH).
func (u *ui) checkSSH(c echo.Context) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	tenant, id := tenantOf(c), c.Param("id")
	res, err := u.svc.CheckSSH(ctx, tenant, id, strings.TrimSpace(c.FormValue("repository")))
	if err != nil {
		return u.sshRefused(c, err, false)
	}
	if !isHX(c) { // the outcome is recorded on the connection: the page shows it
		return c.Redirect(http.StatusSeeOther, "/ui/connections/"+id+"#ssh")
	}
	conn, err := u.svc.GetConnection(ctx, tenant, id)
	if err != nil {
		return u.fail(c, err)
	}
	return u.sshAnswer(c, sshData{Conn: conn, Check: res})
}

// acceptHostKey: POST /ui/connections/{id}/ssh-host-key {fingerprint} trusts the host key
// the latest check saw (services.AcceptHostKey).
func (u *ui) acceptHostKey(c echo.Context) error {
	conn, err := u.svc.AcceptHostKey(c.Request().Context(), tenantOf(c), c.Param("id"), strings.TrimSpace(c.FormValue("fingerprint")))
	if err != nil {
		return u.sshRefused(c, err, false)
	}
	return u.sshAnswer(c, sshData{Conn: conn, Notice: "The host key is trusted: check SSH again."})
}
