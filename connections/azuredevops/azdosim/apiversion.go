package azdosim

import (
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// apiVersion is a parsed api-version value: "7.0", "7.1-preview", "7.1-preview.1".
type apiVersion struct {
	Major, Minor int
	Preview      bool
}

func (v apiVersion) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

func (v apiVersion) greater(o apiVersion) bool {
	return v.Major > o.Major || (v.Major == o.Major && v.Minor > o.Minor)
}

// apiVersionPattern accepts X.Y, X.Y-preview and X.Y-preview.N.
func apiVersionPattern() *regexp.Regexp {
	return regexp.MustCompile(`^(\d+)\.(\d+)(-preview(\.\d+)?)?$`)
}

// parseAPIVersion parses raw; ok is false when it is malformed.
func parseAPIVersion(raw string) (v apiVersion, ok bool) {
	m := apiVersionPattern().FindStringSubmatch(raw)
	if m == nil {
		return apiVersion{}, false
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		return apiVersion{}, false
	}
	return apiVersion{Major: major, Minor: minor, Preview: m[3] != ""}, true
}

// requestedAPIVersion returns the api-version a request asks for: the query parameter, else
// the api-version parameter of a media range in the Accept header
// ("application/json;api-version=7.1-preview.4", what Microsoft's clients send: the Go SDK's
// client.go CreateRequestMessage; both forms are documented at
// learn.microsoft.com/azure/devops/integrate/concepts/rest-api-versioning). "" when neither
// carries one.
func requestedAPIVersion(r *http.Request) string {
	if v := r.URL.Query().Get("api-version"); v != "" {
		return v
	}
	for _, header := range r.Header.Values("Accept") {
		for _, part := range strings.Split(header, ",") {
			_, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if v := params["api-version"]; v != "" {
				return v
			}
		}
	}
	return ""
}

// releasedVersion is the newest released (non-preview) REST API version: in Services mode
// servicesReleased (a newer ceiling is preview only), on a server its ceiling.
func (s *Server) releasedVersion() apiVersion {
	if s.opts.Services {
		return servicesReleased
	}
	return s.ceiling
}

// checkAPIVersion validates the api-version of an _apis request (query or Accept header, see
// requestedAPIVersion) against the server's ceiling (docs/azure-devops-protocol.md §1) and the -preview
// rules: a version newer than the released one (Services: servicesReleased), and any version
// of a previewOnly resource (connectionData, docs/azure-devops-protocol.md §5), must carry -preview.
// A missing api-version is accepted on GET, HEAD and OPTIONS, where the server picks its
// version (Go SDK versionnegotiation.go: "if no api-version is sent to the server, the server
// will decide the version"); other methods answer VssVersionNotSpecifiedException with the
// text captured in empear-analytics/codescene-ci-cd#14 (the method in quotes). It returns nil or the error to answer with (always HTTP 400).
func (s *Server) checkAPIVersion(r *http.Request, previewOnly bool) *apiError {
	raw := requestedAPIVersion(r)
	if raw == "" {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return nil
		}
		return newAPIError(http.StatusBadRequest, "VssVersionNotSpecifiedException",
			"Microsoft.VisualStudio.Services.WebApi.VssVersionNotSpecifiedException",
			fmt.Sprintf(`No api-version was supplied for the "%s" request. The version must be supplied either as part of the Accept header (e.g. "application/json; api-version=1.0") or as a query parameter (e.g. "?api-version=1.0").`, r.Method))
	}
	v, ok := parseAPIVersion(raw)
	if !ok {
		// Message text unconfirmed; typeKey as in the brief.
		return newAPIError(http.StatusBadRequest, "VssInvalidApiVersionException",
			"Microsoft.VisualStudio.Services.WebApi.VssInvalidApiVersionException",
			fmt.Sprintf("The api-version '%s' is not valid. Expected the format Major.Minor[-preview[.Revision]], for example 7.0 or 7.1-preview.1.", raw))
	}
	if v.greater(s.ceiling) {
		return newAPIError(http.StatusBadRequest, "VssVersionOutOfRangeException",
			"Microsoft.VisualStudio.Services.WebApi.VssVersionOutOfRangeException",
			fmt.Sprintf("The requested REST API version of %s is out of range for this server. The latest REST API version this server supports is %s.", v, s.ceiling))
	}
	if !v.Preview && (previewOnly || v.greater(s.releasedVersion())) {
		return newAPIError(http.StatusBadRequest, "VssInvalidPreviewVersionException",
			"Microsoft.VisualStudio.Services.WebApi.VssInvalidPreviewVersionException",
			fmt.Sprintf(`The requested version "%s" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: "%s-preview"`, raw, raw))
	}
	return nil
}
