package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// The token check of the pages: the new-connection form's Check (wizardCheck) and a stored
// connection's Check again (checkAgain).

// wizardCheck: POST /ui/connections/new/check runs the token check of the form (the service
// of POST /api/v1/check-token) and answers its steps.
func (u *ui) wizardCheck(c echo.Context) error {
	f := readWizard(c)
	if f.Kind == "" {
		return u.fragment(c, http.StatusOK, "check-result", wizardData{Form: f, Problem: kindProblem()})
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	res, err := u.svc.CheckToken(ctx, tenantOf(c), f.input(strings.TrimSpace(c.FormValue("pat"))))
	if err != nil {
		p := problemFor(err)
		if p.Status >= 500 || p.Status == statusClientClosedRequest {
			return u.fail(c, err)
		}
		return u.fragment(c, http.StatusOK, "check-result", wizardData{Form: f, Problem: &p})
	}
	return u.fragment(c, http.StatusOK, "check-result", wizardData{Form: f, Check: res})
}

// checkAgain: POST /ui/connections/{id}/check runs the connection's check (the same service
// as POST /api/v1/connections/{id}/check). With view=row it answers the list row, otherwise
// the check's steps with the status badge updated out of band.
func (u *ui) checkAgain(c echo.Context) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	tenant, id := tenantOf(c), c.Param("id")
	res, err := u.svc.CheckConnection(ctx, tenant, id)
	if err != nil {
		return u.fail(c, err)
	}
	conn, err := u.svc.GetConnection(ctx, tenant, id)
	if err != nil {
		return u.fail(c, err)
	}
	if c.FormValue("view") == "row" {
		return u.fragment(c, http.StatusOK, "conn-row", conn)
	}
	return u.fragment(c, http.StatusOK, "check-outcome", connectionData{Conn: conn, Check: res})
}
