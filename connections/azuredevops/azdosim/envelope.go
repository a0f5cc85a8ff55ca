package azdosim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
)

// apiError is an error answer of an _apis call, written as the Azure DevOps error envelope
// (docs/azure-devops-protocol.md §4).
type apiError struct {
	status            int
	typeKey, typeName string
	message           string
}

func newAPIError(status int, typeKey, typeName, message string) *apiError {
	return &apiError{status: status, typeKey: typeKey, typeName: typeName, message: message}
}

// errorEnvelope is the JSON body of an error (docs/azure-devops-protocol.md §4).
type errorEnvelope struct {
	ID             string  `json:"$id"`
	InnerException *string `json:"innerException"`
	Message        string  `json:"message"`
	TypeName       string  `json:"typeName"`
	TypeKey        string  `json:"typeKey"`
	ErrorCode      int     `json:"errorCode"`
	EventID        int     `json:"eventId"`
}

// writeAPIError writes e as the envelope with Content-Type application/json; charset=utf-8 and
// X-TFS-ServiceError set to the URL-encoded message (docs/azure-devops-protocol.md §4).
func writeAPIError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("X-TFS-ServiceError", strings.ReplaceAll(url.QueryEscape(e.message), "+", "%20"))
	writeJSON(w, e.status, errorEnvelope{ID: "1", Message: e.message, TypeName: e.typeName,
		TypeKey: e.typeKey, EventID: 3000})
}

// writeJSON writes v as JSON with the content type Azure DevOps uses.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// setCommonHeaders adds the correlation headers every Azure DevOps answer carries
// (docs/azure-devops-protocol.md §4): ActivityId and X-VSS-E2EID (fresh random UUIDs) and X-TFS-ProcessId
// (one UUID per server).
func (s *Server) setCommonHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("ActivityId", uuid.NewString())
	h.Set("X-VSS-E2EID", uuid.NewString())
	h.Set("X-TFS-ProcessId", s.processID)
}

// Canned errors shared by several handlers.

func errProjectNotFound(name string) *apiError {
	return newAPIError(http.StatusNotFound, "ProjectDoesNotExistWithNameException",
		"Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistWithNameException",
		"TF200016: The following project does not exist: "+name+". Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.")
}

func errRepoNotFound(name string) *apiError {
	return newAPIError(http.StatusNotFound, "GitRepositoryNotFoundException",
		"Microsoft.TeamFoundation.Git.Server.GitRepositoryNotFoundException",
		"TF401019: The Git repository with name or identifier "+name+" does not exist or you do not have permissions for the operation you are attempting.")
}

// errCollectionNotFound answers an unknown collection. The exact body a real server returns
// is unconfirmed; the simulator answers 404 with this envelope.
func errCollectionNotFound(name string) *apiError {
	return newAPIError(http.StatusNotFound, "CollectionDoesNotExistException",
		"Microsoft.TeamFoundation.Framework.Server.CollectionDoesNotExistException",
		"The collection '"+name+"' does not exist on this server.")
}

func errNotFound() *apiError {
	return newAPIError(http.StatusNotFound, "ResourceNotFoundException",
		"Microsoft.VisualStudio.Services.WebApi.ResourceNotFoundException",
		"The requested resource was not found.")
}

func errBadArgument(msg string) *apiError {
	return newAPIError(http.StatusBadRequest, "InvalidArgumentValueException",
		"Microsoft.TeamFoundation.Core.WebApi.InvalidArgumentValueException", msg)
}
