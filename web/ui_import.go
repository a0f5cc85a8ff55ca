package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// The import flow: "New build profile" from nothing to a first run in three screens
// (Connect, Choose, Configure and run).

// newProfile: GET /ui/new starts the import flow.
func (u *ui) newProfile(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/ui/connections/new")
}
