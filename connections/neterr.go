package connections

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// ClassifyTransport turns a failure to get an answer from host ("name[:port]") into an *Error
// of kind ErrUnreachable (saying whether DNS, a refused connection or a timeout of the given
// length) or ErrTLS (saying which certificate problem, and that a private CA's certificate can
// be supplied). An unrecognized failure is ErrUnreachable with its innermost cause. A cancelled
// context is returned as is. The message never contains a URL.
func ClassifyTransport(err error, host string, timeout time.Duration) error {
	if e := RecognizeTransport(err, host, timeout); e != nil {
		return e
	}
	return Errorf(ErrUnreachable, ReasonUnreachable, "could not reach %s (%v)", host, rootCause(err)).Wrap(err)
}

// RecognizeTransport is ClassifyTransport for errors it recognizes (DNS, refused, reset,
// timeout, TLS and certificate failures, a cancelled context); it returns nil for anything
// else, so callers can fall back to their own classification. An *Error already in err's
// chain is returned as is, since it was classified where more was known: ErrRateLimited or
// ErrUpstreamUnavailable from the retrying transport of package connections/resilience, or a
// refusal of the outbound policy (ErrDestinationNotAllowed, made before any connection, so that
// nothing tells a refused destination's open ports from its closed ones).
func RecognizeTransport(err error, host string, timeout time.Duration) error {
	if e := AsError(err); e != nil {
		return e
	}
	hostname := host
	if h, _, e := net.SplitHostPort(host); e == nil {
		hostname = h
	}
	var (
		dnsErr      *net.DNSError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidCert x509.CertificateInvalidError
		recordErr   tls.RecordHeaderError
		verifyErr   *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknownAuth) || (errors.As(err, &verifyErr) && errors.As(verifyErr.Err, &unknownAuth)):
		return Errorf(ErrTLS, ReasonTLS,
			"the certificate of %s is signed by an unknown authority; supply the CA certificate (PEM) of your organization in the connection's caCertificate field", host).Wrap(err)
	case errors.As(err, &hostErr):
		return Errorf(ErrTLS, ReasonTLS,
			"the certificate of %s is not valid for that name (%v); use the host name the certificate was issued for", host, hostErr.Error()).Wrap(err)
	case errors.As(err, &invalidCert):
		reason := "is not valid"
		switch invalidCert.Reason {
		case x509.Expired:
			reason = "has expired or is not yet valid"
		case x509.NotAuthorizedToSign:
			reason = "was signed by a certificate that may not sign others"
		}
		return Errorf(ErrTLS, ReasonTLS,
			"the certificate of %s %s; renew the server's certificate", host, reason).Wrap(err)
	// An https:// URL to a port that speaks plain HTTP: the TLS client reads the server's
	// "HTTP/1.x 400" as a record header. net/http's Client replaces that tls.RecordHeaderError
	// (unwrapped, so no errors.As finds it) with http.ErrSchemeMismatch (net/http client.go,
	// golang.org/issue/11111); a bare Transport or another protocol (SSH, SMTP) leaves the
	// RecordHeaderError itself.
	case errors.Is(err, http.ErrSchemeMismatch),
		errors.As(err, &recordErr) && string(recordErr.RecordHeader[:]) == "HTTP/":
		return Errorf(ErrTLS, ReasonTLS,
			"%s does not speak TLS on this port; try http:// instead of https://", host).Wrap(err)
	case errors.As(err, &recordErr): // another protocol answered (SSH, SMTP...): no http:// to suggest
		return Errorf(ErrTLS, ReasonTLS,
			"%s does not speak TLS on this port; check the port of the server URL", host).Wrap(err)
	case errors.As(err, &dnsErr):
		return Errorf(ErrUnreachable, ReasonUnreachable,
			"the host name %s could not be resolved (DNS); check the server URL", hostname).Wrap(err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return Errorf(ErrUnreachable, ReasonUnreachable,
			"the connection to %s was refused; check the host and port, and that the server is running", host).Wrap(err)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return Errorf(ErrUnreachable, ReasonUnreachable,
			"%s did not answer within %s (timeout); check the server URL, firewalls and proxies", host, timeout).Wrap(err)
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		return Errorf(ErrUnreachable, ReasonUnreachable,
			"the network path to %s failed (%v)", host, rootCause(err)).Wrap(err)
	}
	if strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:") {
		return Errorf(ErrTLS, ReasonTLS,
			"the TLS handshake with %s failed (%v)", host, rootCause(err)).Wrap(err)
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// rootCause returns the innermost error's text, which never carries the request URL.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
