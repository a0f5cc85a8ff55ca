package azdosim

import (
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// gitItemJSON is one item (file or folder) of a repository, shaped like the spec's example
// (specification/git/7.1/httpExamples/items; the SDK's git/models.go GitItem).
type gitItemJSON struct {
	ObjectID        string               `json:"objectId"`
	GitObjectType   string               `json:"gitObjectType"`
	CommitID        string               `json:"commitId"`
	Path            string               `json:"path"`
	IsFolder        bool                 `json:"isFolder,omitempty"`
	Content         *string              `json:"content,omitempty"`
	ContentMetadata *contentMetadataJSON `json:"contentMetadata,omitempty"`
	URL             string               `json:"url"`
}

type contentMetadataJSON struct {
	Encoding    int    `json:"encoding"`
	ContentType string `json:"contentType"`
	FileName    string `json:"fileName"`
	Extension   string `json:"extension,omitempty"`
	IsBinary    bool   `json:"isBinary,omitempty"`
}

// wantsRawContent reports whether an items request asks for the bytes rather than JSON
// metadata: $format=octetStream or text, else an Accept header whose first media type is
// application/octet-stream or text/plain (the Go SDK's GetItemContent sends
// "application/octet-stream;api-version=..."). $format=json forces JSON.
func wantsRawContent(r *http.Request) bool {
	switch strings.ToLower(r.URL.Query().Get("$format")) {
	case "octetstream", "text":
		return true
	case "json":
		return false
	}
	accept := strings.Split(r.Header.Get("Accept"), ",")[0]
	mt, _, err := mime.ParseMediaType(strings.TrimSpace(accept))
	return err == nil && (mt == "application/octet-stream" || mt == "text/plain")
}

// serveItem answers GET .../repositories/{id}/items?path=/a/b (or the path after items/,
// the route template's {*path}) at versionDescriptor.version / versionType (default: the
// default branch). JSON: one gitItemJSON (blob or tree), with content when
// includeContent=true and contentMetadata when includeContentMetadata=true. Raw (see
// wantsRawContent): the file's bytes as application/octet-stream (text/plain when asked),
// Content-Disposition attachment when download=true. Errors: 404 TF401175 for an unresolvable
// version, 404 TF401174 GitItemNotFoundException for a missing path (text partly
// unconfirmed), 400 for raw content of a folder.
func (s *Server) serveItem(w http.ResponseWriter, r *http.Request, rc restCaller, rp *repo, pathTail string) {
	q := r.URL.Query()
	p := q.Get("path")
	if p == "" {
		p = q.Get("scopePath")
	}
	if p == "" {
		p = pathTail
	}
	p = "/" + strings.Trim(path.Clean("/"+p), "/")
	commit, desc, e := resolveVersion(rp, q.Get("versionDescriptor.versionType"), q.Get("versionDescriptor.version"))
	if e != nil {
		writeAPIError(w, e)
		return
	}
	spec := commit + ":" + strings.TrimPrefix(p, "/")
	objType, err := git(rp.barePath, nil, nil, "cat-file", "-t", spec)
	if err != nil {
		writeAPIError(w, newAPIError(http.StatusNotFound, "GitItemNotFoundException",
			"Microsoft.TeamFoundation.Git.Server.GitItemNotFoundException",
			"TF401174: The item '"+p+"' could not be found in the repository '"+rp.name+"' at the version specified by '"+desc+"' (resolved to commit '"+commit+"')."))
		return
	}
	objType = strings.TrimSpace(objType)
	oid, _ := git(rp.barePath, nil, nil, "rev-parse", spec)
	raw := wantsRawContent(r)
	var content []byte
	if objType == "blob" && (raw || q.Get("includeContent") == "true") {
		out, err := git(rp.barePath, nil, nil, "cat-file", "blob", spec)
		if err != nil {
			writeAPIError(w, newAPIError(http.StatusInternalServerError, "GitRepositoryException",
				"Microsoft.TeamFoundation.Git.Server.GitRepositoryException", "The item could not be read."))
			return
		}
		content = []byte(out)
	}
	if raw {
		if objType != "blob" {
			writeAPIError(w, errBadArgument("The item '"+p+"' is a folder; its content cannot be returned as a file."))
			return
		}
		ct := "application/octet-stream"
		if strings.HasPrefix(r.Header.Get("Accept"), "text/plain") || strings.EqualFold(q.Get("$format"), "text") {
			ct = "text/plain; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		if q.Get("download") == "true" {
			w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(p)}))
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(content)
		return
	}
	version := strings.TrimPrefix(defaultBranch(rp.barePath), "refs/heads/")
	if v := q.Get("versionDescriptor.version"); v != "" {
		version = v
	}
	item := gitItemJSON{
		ObjectID:      strings.TrimSpace(oid),
		GitObjectType: objType,
		CommitID:      commit,
		Path:          p,
		IsFolder:      objType == "tree",
		URL: rc.urls.repoAPI(rc.coll.name, rp.proj.id, rp.id) + "/items?path=" + url.QueryEscape(p) +
			"&versionType=Branch&version=" + url.QueryEscape(version) + "&versionOptions=None",
	}
	if content != nil {
		c := string(content)
		item.Content = &c
	}
	if objType == "blob" && q.Get("includeContentMetadata") == "true" {
		ext := strings.TrimPrefix(path.Ext(p), ".")
		// 65001 is the UTF-8 code page, the encoding the service reports for text files.
		item.ContentMetadata = &contentMetadataJSON{Encoding: 65001, ContentType: "text/plain", FileName: path.Base(p), Extension: ext}
	}
	writeJSON(w, http.StatusOK, item)
}
