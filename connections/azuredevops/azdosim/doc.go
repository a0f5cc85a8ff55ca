// Package azdosim is an HTTP simulator of Azure DevOps Server (on-premises) and, with
// Options.Services, of Azure DevOps Services, for tests and the demo mode.
//
// It serves the REST calls the service needs (connectionData, projects, repositories, refs,
// vsts/info) and those Microsoft's Go client makes (resource locations and areas, items,
// commits, pull requests: locations.go, compat_test.go), git smart HTTP through the real
// `git http-backend`, and reproduces the quirks
// collected in docs/azure-devops-protocol.md ("§N" in the doc comments below):
// preview-only connectionData, the REST version ceiling per server version, PAT Basic
// authentication with the 203 sign-in page when X-TFS-FedAuthRedirect is missing, the error
// envelope and its headers, the continuation-token paging, percent-encoded names in URLs, URLs
// built from a configured public URL, the upload-pack capability set and the multi_ack
// requirement (TF401041).
//
// The Services flavour (services.go, bearer.go) adds organizations with an Entra tenant
// (X-VSS-ResourceTenant, the Bearer authorization_uri challenge, 404 for unknown
// organizations before authentication), Bearer access tokens on REST and git, and the OAuth
// endpoints of both identity providers of docs/azure-devops-protocol.md §6 on the same host: Azure DevOps
// OAuth apps under /_vssps (vssps.go: response_type=Assertion, the exact scope set,
// expires_in as a string, rotating single-use refresh tokens, the organization policy
// "Third-party application access via OAuth" answering TF400813, the profile and accounts
// APIs of the vssps host) and Microsoft Entra ID under /_entra (entra.go, entratoken.go: PKCE
// S256, refresh tokens only with offline_access, scope required on refresh, AADSTS errors).
// Organization membership of OAuth users (membership.go) gives non-members the policy's
// TF400813. Git over HTTP takes every documented credential form (auth.go:
// authenticateBasic). A consent page (consent.go) stands in for the interactive sign-in; tests
// answer it with azdosimtest.SubmitConsent. Administrative methods (oauthadmin.go) revoke
// consents, deactivate users, regenerate secrets and expire tokens.
//
// With Options.SSHAddr the simulator also serves git over SSH (sshserver.go, with
// golang.org/x/crypto/ssh): publickey authentication against the keys users added
// (AddSSHPublicKey, or the User settings › SSH public keys page /{collection}/_usersSettings/keys:
// sshkeyspage.go) of the accepted types (Options.SSHKeyTypes; a refused key leaves OpenSSH
// with "Permission denied (publickey)" and SSHRefusals with the reason), the real
// `git upload-pack` for the Azure DevOps SSH paths (sshpath.go: v3/{org}/{project}/{repo} and
// the vs-ssh form in Services mode, {collection}/{project}/_git|_ssh/{repo} on a Server) with
// the same advertisement and TF401019 texts as over HTTP, the simulator's own stable RSA host
// key (DefaultSSHHostKey; SetSSHHostKey simulates a changed one), and sshUrl values in REST
// answers that point at the SSH listener.
//
// The package deliberately shares no code or wire structs with the project's Azure DevOps
// client, so that a disagreement between the two shows up in tests.
//
// Behaviours that no source settled are marked "unconfirmed" where they are implemented.
package azdosim
