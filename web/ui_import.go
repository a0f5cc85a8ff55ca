package web

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
)

// The import flow: "New build profile" from nothing to a first run in three screens
// (Connect, Choose, Configure and run).

// newProfile: GET /ui/new starts the import flow.
func (u *ui) newProfile(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/ui/connections/new")
}

// chooseScreen: GET /ui/new/choose?connection={id}: screen 2, choosing the repository.
func (u *ui) chooseScreen(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/ui/connections/"+url.PathEscape(c.QueryParam("connection")))
}
