package azuredevops

import (
	"context"
	"errors"
	"net/url"
	"regexp"
	"strings"

	"github.com/repoconnect/repoconnect/connections"
)

// tf400813User matches the TF400813 that names a user: "TF400813: The user '{id}' is not
// authorized to access this resource." Azure DevOps answers it to an OAuth token when the
// organization policy "Third-party application access via OAuth" is off (docs/azure-devops-protocol.md §6;
// microsoft/azure-devops-auth-samples#57), and also when the user is not a member of the
// organization or signed in from another directory than the organization's
// (microsoft/azure-devops-auth-samples#52). The anonymous form ("Resource not available for
// anonymous access") is another matter: the token itself was not accepted.
var tf400813User = regexp.MustCompile(`TF400813: The user '[^']*' is not authorized`)

// userRefusal marks an error whose cause is a TF400813 naming the user of an OAuth token.
type userRefusal struct{}

func (*userRefusal) Error() string { return "TF400813 naming the token's user" }

// explainingKey marks the context of the lookups of explainRefusal, so that their own
// refusals are not explained again.
type explainingKey struct{}

// explainRefusal tells the causes of a TF400813 naming the user of an OAuth token apart. The
// answer is the same for the organization policy and for a user outside the organization, so
// it asks, with the same token and through the same door, who the user is (GET
// {vssps}/_apis/profile/profiles/me: the profile of any valid token, learn.microsoft.com
// rest/api/azure/devops/profile/profiles/get) and which organizations the user is a member of
// (GET {vssps}/_apis/accounts?memberId={id}, specification/account/7.1/accounts.json). When the
// list lacks the organization the error becomes NotMemberError; when it has it, or when the
// lookups fail (a token without vso.profile, the host unreachable) or cannot be made (no
// VSSPSURL for an endpoint that is not Services), err is returned as it was. Any other error
// is returned unchanged.
func (c *Client) explainRefusal(ctx context.Context, err error) error {
	var ur *userRefusal
	if !errors.As(err, &ur) || c.cred.Bearer.Empty() || ctx.Value(explainingKey{}) != nil {
		return err
	}
	base := c.vssps
	if base == "" && c.ep.Kind() == KindServices {
		base = DefaultAzureDevOpsOAuthURL
	}
	if base == "" {
		return err
	}
	ctx = context.WithValue(ctx, explainingKey{}, true)
	member, name, lerr := c.isMember(ctx, base)
	if lerr != nil {
		c.log.DebugContext(ctx, "azure devops membership lookup failed", "err", lerr)
		return err
	}
	if member {
		return err
	}
	return NotMemberError(c.ep, name)
}

// wireProfile is the part of a profile (profile/profiles/me) the client reads.
type wireProfile struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// wireAccounts is the accounts API's answer: {"count","value":[{accountName,...}]}.
type wireAccounts struct {
	Value []struct {
		AccountName string `json:"accountName"`
	} `json:"value"`
}

// isMember reports whether the token's user is a member of the client's organization, and
// the user's display name.
func (c *Client) isMember(ctx context.Context, base string) (bool, string, error) {
	var prof wireProfile
	if _, err := c.getURL(ctx, base+"/_apis/profile/profiles/me", url.Values{"api-version": {"7.1-preview.3"}}, &prof); err != nil {
		return false, "", err
	}
	if prof.ID == "" {
		return false, "", errorString("the profile names no id")
	}
	var acc wireAccounts
	q := url.Values{"memberId": {prof.ID}, "api-version": {"7.1-preview.1"}}
	if _, err := c.getURL(ctx, base+"/_apis/accounts", q, &acc); err != nil {
		return false, "", err
	}
	for _, a := range acc.Value {
		if strings.EqualFold(a.AccountName, c.ep.Collection) {
			return true, prof.DisplayName, nil
		}
	}
	return false, prof.DisplayName, nil
}

// NotMemberError is the error of an OAuth connection whose user is not a member of the
// organization, or signed in from another directory than the organization's (both answer
// TF400813, microsoft/azure-devops-auth-samples#52): it names the organization, where an
// administrator adds users, and the other way out (authorize with a member's account). user
// is the display name from the profile ("" when unknown). Kind ErrForbidden, reason
// not_org_member.
func NotMemberError(ep Endpoint, user string) *connections.Error {
	who := "the account that authorized the connection"
	if user != "" {
		who += " (" + quoteServer(user) + ")"
	}
	return connections.Errorf(connections.ErrForbidden, connections.ReasonNotOrgMember,
		"%s is not a member of the organization %s, or signed in from another Microsoft Entra directory than the one the organization is connected to, so Azure DevOps refuses its token (TF400813); an organization administrator can add the user at %s/_settings/users, or authorize the connection again with an account that is a member of %s",
		who, ep.Collection, ep.CollectionURL(), ep.Collection)
}
