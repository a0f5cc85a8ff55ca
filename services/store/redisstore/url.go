package redisstore

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Modes of a Config: which kind of Redis deployment the URL names.
const (
	ModeSingle   = "single"
	ModeSentinel = "sentinel"
	ModeCluster  = "cluster"
)

// urlForms lists the accepted URL forms, for error messages.
const urlForms = "redis://[user:pass@]host:port[/db][?prefix=P], " +
	"redis+sentinel://[user:pass@]host:port,host:port/MASTERNAME[/db][?prefix=P] or " +
	"redis+cluster://[user:pass@]host:port,host:port[?prefix=P] (rediss…:// for TLS)"

// Config is what ParseURL understood of a Redis URL.
type Config struct {
	// Universal are the client options; redis.NewUniversalClient(Universal) makes a client of
	// the right kind (Cluster: IsClusterMode is set, so one seed address is enough).
	Universal *redis.UniversalOptions
	// Prefix is the ?prefix= of the URL, DefaultPrefix when absent.
	Prefix string
	// Mode is ModeSingle, ModeSentinel or ModeCluster.
	Mode string
	// Redacted is the URL with any password (also ?sentinel_password=) replaced by "xxxxx",
	// safe to log.
	Redacted string
}

// ParseURL parses a Redis URL of one of these forms (a scheme with "rediss" uses TLS,
// verifying the server's certificate for the host name of each address):
//
//	redis://[user:pass@]host[:port][/db][?prefix=P&…]                 one server
//	redis+sentinel://[user:pass@]host[:port],…/MASTERNAME[/db][?…]   Sentinel (failover)
//	redis+cluster://[user:pass@]host[:port],…[?…]                    Cluster (seed nodes)
//
// The user and password are Redis' (for Sentinel: the data nodes'; add
// sentinel_username= and sentinel_password= for the sentinels themselves); reserved
// characters in them must be percent-encoded. The default port is 6379 (26379 for
// sentinels). prefix= sets Config.Prefix (see Options.Prefix). Other query options are the
// ones redis.ParseURL knows (dial_timeout, read_timeout, write_timeout, pool_size,
// max_retries, client_name, protocol, skip_verify, …; durations as "3s" or seconds), for
// every form; redis+cluster:// also takes max_redirects. A Cluster has only database 0.
//
// Errors say which form is expected and never contain the password.
func ParseURL(raw string) (*Config, error) {
	p, err := splitURL(raw)
	if err != nil {
		return nil, p.scrub(err)
	}
	cfg, err := p.config()
	if err != nil {
		return nil, p.scrub(err)
	}
	return cfg, nil
}

// parts are the pieces of a Redis URL.
type parts struct {
	raw      string
	scheme   string // lower case
	base     string // "redis" or "rediss"
	mode     string
	userinfo string // as written (escaped), "" when absent
	hasUser  bool
	user     string
	pass     string
	hasPass  bool
	hostList string
	hosts    []string // host:port, default port added
	path     string   // unescaped path ("/3", "/mymaster/3", "")
	query    url.Values
	prefix   string
	// sentinelPass is ?sentinel_password=, kept for scrub.
	sentinelPass string
}

// splitURL splits raw into its parts without letting a password reach an error. The
// returned parts are usable by scrub even with an error.
func splitURL(raw string) (*parts, error) {
	p := &parts{raw: raw}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return p, errForm("malformed Redis URL (no scheme)")
	}
	p.scheme = strings.ToLower(scheme)
	base, kind, _ := strings.Cut(p.scheme, "+")
	switch {
	case base != "redis" && base != "rediss", kind != "" && kind != "sentinel" && kind != "cluster":
		if validScheme(p.scheme) {
			return p, errForm("unknown URL scheme " + strconv.Quote(p.scheme))
		}
		return p, errForm("malformed Redis URL (bad scheme)")
	case kind == "":
		p.mode = ModeSingle
	default:
		p.mode = kind
	}
	p.base = base
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if strings.Contains(tail, "@") {
		// Most likely a password with an unescaped '/', '?' or '#', which ended the authority.
		return p, errForm("malformed Redis URL: '@' after the host (percent-encode '/', '?', '#' and '@' in a password)")
	}
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		p.userinfo, p.hasUser, p.hostList = authority[:i], true, authority[i+1:]
		u, pw, hasPass := strings.Cut(p.userinfo, ":")
		var err1, err2 error
		p.user, err1 = url.PathUnescape(u)
		p.pass, err2 = url.PathUnescape(pw)
		p.hasPass = hasPass
		if err1 != nil || err2 != nil || strings.ContainsAny(p.userinfo, "@ ") {
			return p, errForm("malformed user name or password in the Redis URL (percent-encode reserved characters)")
		}
	} else {
		p.hostList = authority
	}
	if strings.Contains(tail, "#") {
		return p, errForm("a Redis URL has no #fragment (percent-encode '#' in a password)")
	}
	u, err := url.Parse("x://h" + tail)
	if err != nil {
		return p, errForm("malformed path or query in the Redis URL")
	}
	p.path = u.Path
	if p.query, err = url.ParseQuery(u.RawQuery); err != nil {
		return p, errForm("malformed query in the Redis URL")
	}
	p.sentinelPass = p.query.Get("sentinel_password")
	p.prefix = DefaultPrefix
	if p.query.Has("prefix") {
		p.prefix = p.query.Get("prefix")
		p.query.Del("prefix")
		if err := checkPrefix(p.prefix); err != nil {
			return p, err
		}
	}
	defPort := "6379"
	if p.mode == ModeSentinel {
		defPort = "26379"
	}
	if p.hosts, err = splitHosts(p.hostList, defPort); err != nil {
		return p, err
	}
	return p, nil
}

// config builds the Config of the parts.
func (p *parts) config() (*Config, error) {
	cfg := &Config{Prefix: p.prefix, Mode: p.mode, Redacted: p.redacted()}
	switch p.mode {
	case ModeSingle:
		if len(p.hosts) != 1 {
			return nil, errForm("a " + p.scheme + ":// URL names one server (use redis+sentinel:// or redis+cluster:// for several)")
		}
		u := &url.URL{Scheme: p.base, Host: p.hosts[0], Path: p.path, RawQuery: p.query.Encode()}
		if p.hasUser {
			u.User = p.userInfo()
		}
		o, err := redis.ParseURL(u.String())
		if err != nil {
			return nil, optionError(err)
		}
		cfg.Universal = universalOf(o)
		cfg.Universal.Addrs = []string{o.Addr}
		cfg.Universal.DB = o.DB
		cfg.Universal.Username, cfg.Universal.Password = o.Username, o.Password
		return cfg, nil
	case ModeSentinel:
		segs := strings.Split(strings.Trim(p.path, "/"), "/")
		if segs[0] == "" || len(segs) > 2 {
			return nil, errForm("a " + p.scheme + ":// URL needs the master name as its path (/MASTERNAME or /MASTERNAME/db)")
		}
		db := 0
		if len(segs) == 2 {
			n, err := strconv.Atoi(segs[1])
			if err != nil || n < 0 {
				return nil, errForm("the database after the master name must be a number")
			}
			db = n
		}
		sentUser, sentPass := p.query.Get("sentinel_username"), p.query.Get("sentinel_password")
		p.query.Del("sentinel_username")
		p.query.Del("sentinel_password")
		o, err := p.options()
		if err != nil {
			return nil, err
		}
		cfg.Universal = universalOf(o)
		cfg.Universal.MasterName = segs[0]
		cfg.Universal.DB = db
		if o.DB != 0 {
			cfg.Universal.DB = o.DB // ?db= wins, as in redis.ParseURL
		}
		cfg.Universal.SentinelUsername, cfg.Universal.SentinelPassword = sentUser, sentPass
	default: // ModeCluster
		if strings.Trim(p.path, "/") != "" && strings.Trim(p.path, "/") != "0" {
			return nil, errForm("a Redis Cluster has only database 0; " + p.scheme + ":// takes no database path")
		}
		redirects := 0
		if p.query.Has("max_redirects") {
			n, err := strconv.Atoi(p.query.Get("max_redirects"))
			if err != nil {
				return nil, formError("redisstore: invalid max_redirects in the Redis URL: want a number")
			}
			redirects = n
			p.query.Del("max_redirects")
		}
		o, err := p.options()
		if err != nil {
			return nil, err
		}
		if o.DB != 0 {
			return nil, errForm("a Redis Cluster has only database 0")
		}
		cfg.Universal = universalOf(o)
		cfg.Universal.MaxRedirects = redirects
		cfg.Universal.IsClusterMode = true
	}
	cfg.Universal.Addrs = p.hosts
	cfg.Universal.Username, cfg.Universal.Password = p.user, p.pass
	return cfg, nil
}

// options parses the query options of a multi-host URL with redis.ParseURL (on a stand-in
// address), keeping TLS (without a fixed server name: each address names its own).
func (p *parts) options() (*redis.Options, error) {
	u := &url.URL{Scheme: p.base, Host: "localhost", Path: "/", RawQuery: p.query.Encode()}
	o, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, optionError(err)
	}
	if o.TLSConfig != nil {
		o.TLSConfig.ServerName = ""
	}
	return o, nil
}

// optionError turns an error of redis.ParseURL into one that names no URL (a *url.Error
// quotes the whole URL, password included).
func optionError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return errForm("malformed Redis URL")
	}
	return errors.New("redisstore: Redis URL: " + err.Error())
}

// userInfo returns the user and password as a *url.Userinfo.
func (p *parts) userInfo() *url.Userinfo {
	if p.hasPass {
		return url.UserPassword(p.user, p.pass)
	}
	return url.User(p.user)
}

// splitHosts splits a comma-separated host list into "host:port" addresses, adding defPort
// where a host has none.
func splitHosts(list, defPort string) ([]string, error) {
	if list == "" {
		return nil, errForm("no host in the Redis URL")
	}
	var out []string
	for _, h := range strings.Split(list, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			switch {
			case strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]"):
				host, port = h[1:len(h)-1], defPort
			case !strings.Contains(h, ":"):
				host, port = h, defPort
			default:
				return nil, errForm("malformed host:port in the Redis URL")
			}
		}
		if host == "" || strings.ContainsAny(host, "[]/@?#,% ") {
			return nil, errForm("malformed or empty host in the Redis URL")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, errForm("malformed port in the Redis URL (want 1 to 65535)")
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	return out, nil
}

// validScheme reports whether s looks like a URL scheme ([a-z][a-z0-9+.-]*), so that it may
// be quoted in an error.
func validScheme(s string) bool {
	if s == "" || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// universalOf copies the connection options redis.ParseURL sets into UniversalOptions
// (Addrs, DB, user and password are the caller's).
func universalOf(o *redis.Options) *redis.UniversalOptions {
	return &redis.UniversalOptions{
		TLSConfig:               o.TLSConfig,
		Protocol:                o.Protocol,
		ClientName:              o.ClientName,
		MaxRetries:              o.MaxRetries,
		MinRetryBackoff:         o.MinRetryBackoff,
		MaxRetryBackoff:         o.MaxRetryBackoff,
		DialTimeout:             o.DialTimeout,
		ReadTimeout:             o.ReadTimeout,
		WriteTimeout:            o.WriteTimeout,
		PoolFIFO:                o.PoolFIFO,
		PoolSize:                o.PoolSize,
		PoolTimeout:             o.PoolTimeout,
		MinIdleConns:            o.MinIdleConns,
		MaxIdleConns:            o.MaxIdleConns,
		MaxActiveConns:          o.MaxActiveConns,
		MaxConcurrentDials:      o.MaxConcurrentDials,
		PipelinePoolSize:        o.PipelinePoolSize,
		PipelineReadBufferSize:  o.PipelineReadBufferSize,
		PipelineWriteBufferSize: o.PipelineWriteBufferSize,
		ConnMaxIdleTime:         o.ConnMaxIdleTime,
		ConnMaxLifetime:         o.ConnMaxLifetime,
		ConnMaxLifetimeJitter:   o.ConnMaxLifetimeJitter,
	}
}
