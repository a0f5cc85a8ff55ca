package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/repoconnect/repoconnect/services"
)

func reqContext(c echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request().Context(), requestTimeout)
}

// checkToken: POST /api/v1/check-token {serverUrl, collection, pat, type?, caCertificate?} →
// 200 with the check result (valid true or false); 400 for malformed input. Without a type,
// the kind is told from the server URL.
func (h *handlers) checkToken(c echo.Context) error {
	var in services.ConnectionInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	res, err := h.svc.CheckToken(ctx, tenantOf(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// parseURL: POST /api/v1/parse-url {remoteUrl, virtualDirectory?, resolve?, pat?,
// caCertificate?, connectionId?} → 200 with kind, scheme, host, port, virtualDirectory,
// organization, collection, project, repository, guessed, collectionUrl, cloneUrl, webUrl (the
// answer of `repoconnect parse-url`); 400 problem naming the rejection reason in "code" (and
// its sentence in "detail").
func (h *handlers) parseURL(c echo.Context) error {
	var in services.ParseURLInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	r, err := h.svc.ParseRemoteURL(ctx, tenantOf(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

// createConnection: POST /api/v1/connections → 201 connection; 422 when the token check fails.
func (h *handlers) createConnection(c echo.Context) error {
	var in services.ConnectionInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	conn, err := h.svc.CreateConnection(ctx, tenantOf(c), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/connections/"+conn.ID)
	return c.JSON(http.StatusCreated, conn)
}

// listConnections: GET /api/v1/connections[?limit=&after=] → {count, value, next?}: one page,
// oldest first; "next" is the after of the following page.
func (h *handlers) listConnections(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	cs, next, err := h.svc.ListConnections(c.Request().Context(), tenantOf(c), limit, c.QueryParam("after"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, pageOf(cs, next))
}

func (h *handlers) getConnection(c echo.Context) error {
	conn, err := h.svc.GetConnection(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conn)
}

// updateConnection: PATCH /api/v1/connections/{id} {name?, pat?, caCertificate?} → 200 with
// the connection; a new PAT or certificate is checked first (422 when the check fails).
func (h *handlers) updateConnection(c echo.Context) error {
	var in services.ConnectionUpdate
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	conn, err := h.svc.UpdateConnection(ctx, tenantOf(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conn)
}

func (h *handlers) deleteConnection(c echo.Context) error {
	if err := h.svc.DeleteConnection(c.Request().Context(), tenantOf(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *handlers) listProjects(c echo.Context) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	ps, err := h.svc.ListProjects(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(ps))
}

// listRepositories: GET /api/v1/connections/{id}/repositories[?project=&q=].
func (h *handlers) listRepositories(c echo.Context) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	rs, err := h.svc.ListRepositories(ctx, tenantOf(c), c.Param("id"), c.QueryParam("project"), c.QueryParam("q"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(rs))
}

// listServiceEndpoints: GET /api/v1/connections/{id}/projects/{projectId}/service-endpoints
// → {count, value: [{id, name, type, isReady, url?, owner?}]}, sorted by name; the whole
// list (bounded by the client's answer size limit), as the other catalog lists. A credential
// without vso.serviceendpoint_query is a 422 problem naming the scope.
func (h *handlers) listServiceEndpoints(c echo.Context) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	es, err := h.svc.ListServiceEndpoints(ctx, tenantOf(c), c.Param("id"), c.Param("projectId"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(es))
}

func (h *handlers) listBranches(c echo.Context) error {
	ctx, cancel := reqContext(c)
	defer cancel()
	bs, err := h.svc.ListBranches(ctx, tenantOf(c), c.Param("id"), c.Param("repositoryId"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(bs))
}

func (h *handlers) createBuildProfile(c echo.Context) error {
	var in services.BuildProfileInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	ctx, cancel := reqContext(c)
	defer cancel()
	p, cred, err := h.svc.CreateBuildProfileWithHook(h.hookContext(c, ctx), tenantOf(c), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/build-profiles/"+p.ID)
	return c.JSON(http.StatusCreated, h.view(c, p, cred))
}

// listBuildProfiles: GET /api/v1/build-profiles[?limit=&after=], paged as listConnections.
func (h *handlers) listBuildProfiles(c echo.Context) error {
	limit, err := limitParam(c)
	if err != nil {
		return err
	}
	ps, next, err := h.svc.ListBuildProfiles(c.Request().Context(), tenantOf(c), limit, c.QueryParam("after"))
	if err != nil {
		return err
	}
	vs := make([]profileView, len(ps))
	for i, p := range ps {
		vs[i] = h.view(c, p, nil)
	}
	return c.JSON(http.StatusOK, pageOf(vs, next))
}

func (h *handlers) getBuildProfile(c echo.Context) error {
	p, err := h.svc.GetBuildProfile(c.Request().Context(), tenantOf(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, h.checkedView(c, p))
}

func (h *handlers) deleteBuildProfile(c echo.Context) error {
	if err := h.svc.DeleteBuildProfile(c.Request().Context(), tenantOf(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// cloneBuildProfile: POST /api/v1/build-profiles/{id}/clone {"depth"?, "commit"?, "submodules"?}
// → 200 {commit, branch, path, source, stats}: source is the path the clone took ("cold",
// "cache", "workspace"), stats {fetchedObjects, fetchedBytes, writtenFiles, writtenBytes,
// removedFiles} what it moved. A profile with workspace "reuse" answers the same path each
// time (its workspace, updated in place), unless another run holds it (a new directory then). The clone runs within the request (POST .../clones queues
// it instead). 400 for a bad depth or commit, 404 for an unknown profile, 422
// repository_too_large past --max-clone-size, forge and clone errors as problems.
func (h *handlers) cloneBuildProfile(c echo.Context) error {
	var in services.CloneInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	res, err := h.svc.CloneBuildProfile(c.Request().Context(), tenantOf(c), c.Param("id"), in, nil)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
