package azdosim

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// keysPage is the simulated User settings › SSH public keys page
// (https://dev.azure.com/{org}/_usersSettings/keys on Services,
// {server}/{collection}/_usersSettings/keys on Server): the signed-in user's keys with name
// and fingerprint, a form to add one (name and public key text) and a remove button per key.
var keysPage = template.Must(template.New("keys").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"><title>SSH public keys · User settings</title></head>
<body>
<main>
<h1>User settings › SSH public keys</h1>
<p>Signed in as <strong id="user">{{.User}}</strong> in {{.Kind}} <strong>{{.Coll}}</strong> (simulated Azure DevOps). Accepted key types: {{.Types}}.</p>
{{if .Error}}<p role="alert" id="error">{{.Error}}</p>{{end}}
<h2>Your keys</h2>
{{if .Keys}}<table id="keys">
<thead><tr><th scope="col">Name</th><th scope="col">Fingerprint</th><th scope="col">Type</th><th scope="col">Remove</th></tr></thead>
<tbody>
{{range .Keys}}<tr><td>{{.Name}}</td><td><code>{{.Fingerprint}}</code></td><td>{{.Type}}</td>
<td><form method="post"><input type="hidden" name="action" value="remove"><input type="hidden" name="fingerprint" value="{{.Fingerprint}}"><button type="submit" aria-label="Remove {{.Name}}">Remove</button></form></td></tr>
{{end}}</tbody></table>{{else}}<p id="no-keys">You have no SSH public keys.</p>{{end}}
<h2>Add an SSH public key</h2>
<form method="post" id="add-key">
<input type="hidden" name="action" value="add">
<p><label for="name">Name</label><br><input type="text" id="name" name="name" maxlength="256" required value="{{.Name}}"></p>
<p><label for="key">Public key data</label><br><textarea id="key" name="key" rows="6" cols="80" required placeholder="ssh-rsa AAAA…">{{.Key}}</textarea></p>
<p><button type="submit">Add</button></p>
</form>
</main>
</body></html>
`))

// maxKeysForm bounds a keys page POST body.
const maxKeysForm = 64 << 10

// serveKeysPage answers /[{vdir}/]{collection}/_usersSettings/keys when the path is that page
// and reports whether it did. The signed-in user is the owner of the PAT the request carries
// (Basic, any user name) or, without a credential, "Demo User" (the demo's seeded user, as the
// consent page's default): the simulator has no sign-in, so anyone who can reach it may add
// keys for the demo user, which is why the page is served only with SSH on. GET shows the
// page; POST action=add (name, key) adds a key and action=remove (fingerprint) removes one,
// each answering 303 to the page, or 400 with the page and the error. A POST from another
// site (Sec-Fetch-Site other than same-origin or none, or an Origin whose host is not the
// request's) answers 403. Unknown collections answer 404; a bad credential 401.
func (s *Server) serveKeysPage(w http.ResponseWriter, r *http.Request) bool {
	segs, ok := splitPath(r.URL.EscapedPath())
	if ok {
		segs, ok = s.stripVirtualDir(segs)
	}
	if !ok || len(segs) != 3 || segs[1] != "_usersSettings" || segs[2] != "keys" {
		return false
	}
	coll := segs[0]
	s.mu.Lock()
	c := s.findCollectionLocked(coll)
	s.mu.Unlock()
	if c == nil {
		http.NotFound(w, r)
		return true
	}
	user := "Demo User"
	if r.Header.Get("Authorization") != "" {
		pat, res := s.authenticate(r, false, c.name)
		if res != authOK {
			w.Header().Set("WWW-Authenticate", `Basic realm="azdosim"`)
			http.Error(w, "TF400813: Resource not available for anonymous access. Client authentication required.", http.StatusUnauthorized)
			return true
		}
		user = pat.UserName
	}
	data := map[string]any{"User": user, "Coll": c.name, "Kind": "collection",
		"Types": strings.Join(s.sshd.keyTypes, ", ")}
	if s.opts.Services {
		data["Kind"] = "organization"
	}
	status := http.StatusOK
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPost:
		if !sameOrigin(r) {
			http.Error(w, "cross-site request refused", http.StatusForbidden)
			return true
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxKeysForm)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "the form could not be read", http.StatusBadRequest)
			return true
		}
		var err error
		switch r.PostForm.Get("action") {
		case "remove":
			if s.RemoveSSHPublicKey(user, r.PostForm.Get("fingerprint")) != nil {
				data["Error"] = "That key is not one of your keys."
			}
		default:
			err = s.addSSHKey(user, r.PostForm.Get("name"), r.PostForm.Get("key"))
			if err != nil {
				data["Error"] = "The key was not added: " + err.Error() + "."
				data["Name"], data["Key"] = r.PostForm.Get("name"), r.PostForm.Get("key")
			}
		}
		if data["Error"] == nil {
			w.Header().Set("Location", r.URL.EscapedPath())
			w.WriteHeader(http.StatusSeeOther)
			return true
		}
		status = http.StatusBadRequest
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return true
	}
	data["Keys"] = s.SSHPublicKeys(user)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = keysPage.Execute(w, data)
	return true
}

// sameOrigin reports whether a form POST comes from the simulator's own pages: Sec-Fetch-Site
// absent, same-origin or none, and an Origin header, when present, naming the request's host.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	return true
}
