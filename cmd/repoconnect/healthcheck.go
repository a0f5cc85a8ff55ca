package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

type healthcheckFlags struct {
	url     string
	addr    string
	timeout time.Duration
}

// defaultAddr is serve's --addr default, which healthcheck derives its URL from too.
const defaultAddr = "127.0.0.1:8080"

func newHealthcheckCommand() *cobra.Command {
	f := &healthcheckFlags{}
	cmd := &cobra.Command{
		Use:   "healthcheck [--url URL | --addr ADDR]",
		Short: "Ask a running serve whether it is ready (GET /readyz), for a container HEALTHCHECK without curl",
		Long: `Ask a running repoconnect serve whether it is ready: GET {URL}, by default http://{addr}/readyz
with serve's --addr (REPOCONNECT_ADDR, so the same environment as serve works unchanged); a
wildcard listen address (0.0.0.0, ::, or none) is asked on loopback (127.0.0.1, ::1).

It prints one line saying what answered. Exit status: 0 the answer is 200, 1 any other answer
or none within --timeout, 2 bad usage. For a Dockerfile:
  HEALTHCHECK CMD ["repoconnect", "healthcheck"]`,
		Args: argsN(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runHealthcheck(cmd, f) },
	}
	cmd.Flags().StringVar(&f.url, "url", "", "URL to ask (default http://{addr}/readyz)")
	cmd.Flags().StringVar(&f.addr, "addr", defaultAddr, "the address serve listens on, as its --addr")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	return cmd
}

// healthURL is the URL healthcheck asks: --url, else http://{addr}/readyz with a wildcard or
// empty host mapped to loopback. Errors: a usage error naming the flag.
func (f *healthcheckFlags) healthURL() (string, error) {
	if f.url != "" {
		u, err := url.Parse(f.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", usageError("--url is an http:// or https:// URL such as http://127.0.0.1:8080/readyz, not %q", f.url)
		}
		return f.url, nil
	}
	host, port, err := net.SplitHostPort(f.addr)
	if err != nil || port == "" {
		return "", usageError("--addr is serve's listen address HOST:PORT (127.0.0.1:8080, :8080), not %q", f.addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

func runHealthcheck(cmd *cobra.Command, f *healthcheckFlags) error {
	target, err := f.healthURL()
	if err != nil {
		return err
	}
	if f.timeout <= 0 {
		return usageError("--timeout is how long to wait (5s, 30s), not %s", f.timeout)
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return usageError("--url: %v", err)
	}
	// A plain client: the operator names the URL (loopback as a rule); no redirect is followed,
	// so what answered is the service itself.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		reason := err.Error()
		var ue *url.Error
		if ctx.Err() != nil {
			reason = fmt.Sprintf("no answer within %s", f.timeout)
		} else if errors.As(err, &ue) {
			reason = ue.Err.Error()
		}
		return &exitError{code: 1, msg: fmt.Sprintf("unhealthy: nothing answered at %s: %s", target, reason)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode == http.StatusOK {
		fmt.Fprintf(cmd.OutOrStdout(), "healthy: %s answered %s\n", target, resp.Status)
		return nil
	}
	detail := strings.Join(strings.Fields(string(body)), " ")
	if len(detail) > 200 {
		detail = detail[:200] + "…"
	}
	if detail != "" {
		detail = ": " + detail
	}
	return &exitError{code: 1, msg: fmt.Sprintf("unhealthy: %s answered %s%s", target, resp.Status, detail)}
}
