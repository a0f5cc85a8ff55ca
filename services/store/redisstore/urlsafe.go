package redisstore

import (
	"errors"
	"net/url"
	"strings"
)

// redacted replaces passwords in Config.Redacted, like url.URL.Redacted.
const redacted = "xxxxx"

// formError is an error of ParseURL's own wording, which quotes nothing of the URL but a
// well-formed scheme, so scrub leaves it alone.
type formError string

func (e formError) Error() string { return string(e) }

func errForm(msg string) error {
	return formError("redisstore: " + msg + "; want " + urlForms)
}

// redacted returns the URL with the password and ?sentinel_password= replaced by "xxxxx".
func (p *parts) redacted() string {
	var b strings.Builder
	b.WriteString(p.scheme + "://")
	if p.hasUser {
		u, _, _ := strings.Cut(p.userinfo, ":")
		b.WriteString(u)
		if p.hasPass {
			b.WriteString(":" + redacted)
		}
		b.WriteString("@")
	}
	b.WriteString(p.hostList)
	b.WriteString((&url.URL{Path: p.path}).EscapedPath())
	q := url.Values{}
	for k, v := range p.query {
		q[k] = v
	}
	if p.prefix != DefaultPrefix {
		q.Set("prefix", p.prefix)
	}
	if q.Has("sentinel_password") {
		q.Set("sentinel_password", redacted)
	}
	if len(q) > 0 {
		b.WriteString("?" + q.Encode())
	}
	return b.String()
}

// scrub replaces anything that may be the password in err's message by "xxxxx": the
// password (as written and decoded), ?sentinel_password=, and whatever lies between "://"
// and the last '@' of the raw URL.
func (p *parts) scrub(err error) error {
	var fe formError
	if err == nil || errors.As(err, &fe) {
		return err
	}
	msg := err.Error()
	var secrets []string
	if _, rest, ok := strings.Cut(p.raw, "://"); ok {
		if i := strings.LastIndexByte(rest, '@'); i >= 0 {
			secrets = append(secrets, rest[:i])
			if _, pw, ok := strings.Cut(rest[:i], ":"); ok {
				secrets = append(secrets, pw)
			}
		}
	}
	if p.pass != "" {
		secrets = append(secrets, p.pass, url.PathEscape(p.pass), url.QueryEscape(p.pass))
	}
	if sp := p.sentinelPass; sp != "" {
		secrets = append(secrets, sp, url.QueryEscape(sp))
	}
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg, changed = strings.ReplaceAll(msg, s, redacted), true
		}
	}
	if !changed {
		return err
	}
	return errors.New(msg)
}
