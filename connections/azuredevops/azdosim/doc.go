// Package azdosim is an HTTP simulator of Azure DevOps Server (on-premises) for tests and the
// demo mode.
//
// It serves the REST calls the service needs (connectionData, projects, repositories, refs,
// vsts/info), git smart HTTP through the real `git http-backend`, and reproduces the quirks
// collected in /work/shared/azure-devops.md ("azure-devops.md §N" in the doc comments below):
// preview-only connectionData, the REST version ceiling per server version, PAT Basic
// authentication with the 203 sign-in page when X-TFS-FedAuthRedirect is missing, the error
// envelope and its headers, the continuation-token paging, percent-encoded names in URLs, URLs
// built from a configured public URL, the upload-pack capability set and the multi_ack
// requirement (TF401041).
//
// The package deliberately shares no code or wire structs with the project's Azure DevOps
// client, so that a disagreement between the two shows up in tests.
//
// Behaviours that no source settled are marked "unconfirmed" where they are implemented.
package azdosim
