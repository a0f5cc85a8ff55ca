package azdosimtest

import (
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
)

// SubmitConsent answers the simulator's consent page the way a user would: it reads (and
// closes) page's body, finds the form's action and the hidden single-use consent id, and
// POSTs the form (action resolved against page.Request.URL) with hc: field user = user (the
// display name of the consenting user; the simulator derives the identity from it) and
// decision = "accept" or "deny". The simulator answers 302 to the app's redirect_uri with
// code and state (or error=access_denied); hc follows it as its CheckRedirect allows, so the
// returned response is the callback's answer, or the 302 itself for a client that does not
// follow redirects. Errors: page not a 200 consent page, or the POST failing.
func SubmitConsent(hc *http.Client, page *http.Response, user string, accept bool) (*http.Response, error) {
	body, err := io.ReadAll(page.Body)
	_ = page.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("azdosimtest: reading the consent page: %w", err)
	}
	if page.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("azdosimtest: consent page answered %d", page.StatusCode)
	}
	action, id, err := parseConsentForm(string(body))
	if err != nil {
		return nil, err
	}
	if page.Request == nil || page.Request.URL == nil {
		return nil, errors.New("azdosimtest: consent page response has no request URL")
	}
	target, err := page.Request.URL.Parse(action)
	if err != nil {
		return nil, fmt.Errorf("azdosimtest: consent form action %q: %w", action, err)
	}
	decision := "deny"
	if accept {
		decision = "accept"
	}
	return hc.PostForm(target.String(), url.Values{"consent": {id}, "user": {user}, "decision": {decision}})
}

var (
	formActionRE = regexp.MustCompile(`<form[^>]*\saction="([^"]*)"`)
	consentIDRE  = regexp.MustCompile(`<input[^>]*\sname="consent"[^>]*\svalue="([^"]*)"`)
)

// parseConsentForm extracts the form action and the hidden consent id from the consent
// page's HTML (entities decoded).
func parseConsentForm(page string) (action, consentID string, err error) {
	a := formActionRE.FindStringSubmatch(page)
	c := consentIDRE.FindStringSubmatch(page)
	if a == nil || c == nil {
		return "", "", errors.New("azdosimtest: no consent form on the page")
	}
	return html.UnescapeString(a[1]), html.UnescapeString(c[1]), nil
}
