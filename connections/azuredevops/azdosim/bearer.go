package azdosim

import (
	"strings"
	"time"
)

// azureDevOpsResource is the Microsoft Entra resource (application) id of Azure DevOps;
// Entra scopes for it read "499b84ac-1321-427f-aa17-267ca6975798/vso.code"
// (docs/azure-devops-protocol.md §6).
const azureDevOpsResource = "499b84ac-1321-427f-aa17-267ca6975798"

// oidcScopes are the OpenID Connect scopes Entra accepts beside resource scopes; they grant
// nothing on Azure DevOps (offline_access asks for a refresh token).
var oidcScopes = map[string]bool{"offline_access": true, "openid": true, "profile": true, "email": true}

// authenticateBearer checks an OAuth access token (Services mode, docs/azure-devops-protocol.md §6). It
// returns the token's user and normalized scopes as a PAT (so identityOf and hasScope apply
// unchanged) and:
//   - authInvalid: unknown token, consent revoked, user deactivated, an Azure DevOps token
//     minted under a client secret that was regenerated since, or an Entra token granting
//     no Azure DevOps scope (a token for another resource);
//   - authTokenExpired: past its lifetime or ExpireAccessTokens;
//   - authPolicy: an Azure DevOps OAuth app's token used on organization collName while its
//     policy "Third-party application access via OAuth" is off (Entra tokens are not
//     governed by the policy; server-level requests, collName "", neither);
//   - authNotMember: a token of either provider used on organization collName by a user
//     who is not a member of it (SetMember; membership.go).
func (s *Server) authenticateBearer(token, collName string) (PAT, authResult) {
	if token == "" {
		return PAT{}, authInvalid
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.oauth.access[token]
	if t == nil || s.stateLocked(t) != tokenAlive {
		return PAT{}, authInvalid
	}
	scopes, ok := accessScopes(t.grant)
	if !ok {
		return PAT{}, authInvalid
	}
	if !time.Now().Before(t.expires) {
		return PAT{}, authTokenExpired
	}
	p := PAT{UserName: t.user, Scopes: scopes}
	if t.provider == providerAzureDevOps && collName != "" && !s.oauthAllowedLocked(collName) {
		return p, authPolicy
	}
	if collName != "" && s.findCollectionLocked(collName) != nil && !s.isMemberLocked(collName, t.user) {
		return p, authNotMember
	}
	return p, authOK
}

// accessScopes turns a grant's scopes into PAT-style scopes for hasScope. Azure DevOps OAuth
// scopes are used as they are (an app registered without scopes gets full access). Entra
// scopes lose the resource prefix ("499b84ac-.../vso.code" → "vso.code"), ".../.default"
// means full access ("app_token"), and the OpenID scopes are ignored; ok is false when no
// Azure DevOps scope remains.
func accessScopes(g grant) (scopes []string, ok bool) {
	if g.provider == providerAzureDevOps {
		return g.scopes, true
	}
	for _, sc := range g.scopes {
		name, isADO := entraResourceScope(sc)
		switch {
		case !isADO:
		case name == ".default":
			scopes = append(scopes, "app_token")
		default:
			scopes = append(scopes, name)
		}
	}
	return scopes, len(scopes) > 0
}

// entraResourceScope splits "499b84ac-1321-427f-aa17-267ca6975798/vso.code" into "vso.code"
// and true; anything else (OpenID scopes, other resources) gives false.
func entraResourceScope(sc string) (name string, ok bool) {
	res, name, found := strings.Cut(sc, "/")
	if !found || !strings.EqualFold(res, azureDevOpsResource) || name == "" {
		return "", false
	}
	return name, true
}
