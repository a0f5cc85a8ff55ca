package azdosim

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
)

// apiVersion is a parsed api-version query value: "7.0", "7.1-preview", "7.1-preview.1".
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

// checkAPIVersion validates the api-version query parameter of an _apis request against the
// server's ceiling (azure-devops.md §1) and, for previewOnly resources (connectionData,
// azure-devops.md §5), the -preview suffix. A missing api-version is accepted as the ceiling.
// It returns nil or the error to answer with (always HTTP 400).
func (s *Server) checkAPIVersion(r *http.Request, previewOnly bool) *apiError {
	raw := r.URL.Query().Get("api-version")
	if raw == "" {
		return nil
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
	if previewOnly && !v.Preview {
		return newAPIError(http.StatusBadRequest, "VssInvalidPreviewVersionException",
			"Microsoft.VisualStudio.Services.WebApi.VssInvalidPreviewVersionException",
			fmt.Sprintf(`The requested version "%s" of the resource is under preview. The -preview flag must be supplied in the api-version for such requests. For example: "%s-preview"`, raw, raw))
	}
	return nil
}
