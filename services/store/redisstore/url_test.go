package redisstore

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const secret = "s3cr%2Ft"    // as written in the URLs below
const secretPlain = "s3cr/t" // decoded

func TestParseURL(t *testing.T) {
	cases := []struct {
		raw        string
		mode       string
		addrs      []string
		db         int
		user, pass string
		master     string
		prefix     string
		tls        bool
		redacted   string
		check      func(t *testing.T, c *Config)
	}{
		{
			raw: "redis://127.0.0.1:6380", mode: ModeSingle, addrs: []string{"127.0.0.1:6380"},
			prefix: DefaultPrefix, redacted: "redis://127.0.0.1:6380",
		},
		{
			raw:  "redis://app:" + secret + "@cache.example:6379/3?prefix=acme-prod&dial_timeout=3&read_timeout=2s&write_timeout=1500ms",
			mode: ModeSingle, addrs: []string{"cache.example:6379"}, db: 3, user: "app", pass: secretPlain,
			prefix:   "acme-prod",
			redacted: "redis://app:xxxxx@cache.example:6379/3?dial_timeout=3&prefix=acme-prod&read_timeout=2s&write_timeout=1500ms",
			check: func(t *testing.T, c *Config) {
				u := c.Universal
				if u.DialTimeout != 3*time.Second || u.ReadTimeout != 2*time.Second || u.WriteTimeout != 1500*time.Millisecond {
					t.Errorf("timeouts %v %v %v", u.DialTimeout, u.ReadTimeout, u.WriteTimeout)
				}
			},
		},
		{
			raw: "rediss://:" + secret + "@cache.example", mode: ModeSingle, addrs: []string{"cache.example:6379"},
			pass: secretPlain, prefix: DefaultPrefix, tls: true, redacted: "rediss://:xxxxx@cache.example",
			check: func(t *testing.T, c *Config) {
				if c.Universal.TLSConfig.ServerName != "cache.example" {
					t.Errorf("TLS server name %q", c.Universal.TLSConfig.ServerName)
				}
			},
		},
		{
			raw: "REDIS://[::1]:7000/0", mode: ModeSingle, addrs: []string{"[::1]:7000"}, prefix: DefaultPrefix,
			redacted: "redis://[::1]:7000/0",
		},
		{
			raw:  "redis+sentinel://app:" + secret + "@s1.example:26379,s2.example,[::1]:26380/mymaster/2?prefix=p1&sentinel_password=sp%40ss&dial_timeout=1",
			mode: ModeSentinel, addrs: []string{"s1.example:26379", "s2.example:26379", "[::1]:26380"},
			db: 2, user: "app", pass: secretPlain, master: "mymaster", prefix: "p1",
			redacted: "redis+sentinel://app:xxxxx@s1.example:26379,s2.example,[::1]:26380/mymaster/2?dial_timeout=1&prefix=p1&sentinel_password=xxxxx",
			check: func(t *testing.T, c *Config) {
				if c.Universal.SentinelPassword != "sp@ss" || c.Universal.SentinelUsername != "" {
					t.Errorf("sentinel credentials %q %q", c.Universal.SentinelUsername, c.Universal.SentinelPassword)
				}
				if c.Universal.DialTimeout != time.Second {
					t.Errorf("dial timeout %v", c.Universal.DialTimeout)
				}
			},
		},
		{
			raw:  "rediss+sentinel://h1:5000/main",
			mode: ModeSentinel, addrs: []string{"h1:5000"}, master: "main", prefix: DefaultPrefix, tls: true,
			redacted: "rediss+sentinel://h1:5000/main",
			check: func(t *testing.T, c *Config) {
				if c.Universal.SentinelPassword != "" || c.Universal.TLSConfig.ServerName != "" {
					t.Errorf("sentinel password %q, TLS server name %q", c.Universal.SentinelPassword, c.Universal.TLSConfig.ServerName)
				}
			},
		},
		{
			raw:  "redis+cluster://u:" + secret + "@n1:7000,n2:7001,n3?prefix=c.1&max_redirects=5&pool_size=20",
			mode: ModeCluster, addrs: []string{"n1:7000", "n2:7001", "n3:6379"}, user: "u", pass: secretPlain,
			prefix:   "c.1",
			redacted: "redis+cluster://u:xxxxx@n1:7000,n2:7001,n3?max_redirects=5&pool_size=20&prefix=c.1",
			check: func(t *testing.T, c *Config) {
				if !c.Universal.IsClusterMode || c.Universal.MaxRedirects != 5 || c.Universal.PoolSize != 20 {
					t.Errorf("cluster options %+v", c.Universal)
				}
			},
		},
		{
			raw: "rediss+cluster://n1:7000/?skip_verify=true", mode: ModeCluster, addrs: []string{"n1:7000"},
			prefix: DefaultPrefix, tls: true, redacted: "rediss+cluster://n1:7000/?skip_verify=true",
			check: func(t *testing.T, c *Config) {
				if !c.Universal.IsClusterMode || !c.Universal.TLSConfig.InsecureSkipVerify {
					t.Errorf("cluster options %+v", c.Universal)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.raw, func(t *testing.T) {
			c, err := ParseURL(tc.raw)
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			u := c.Universal
			if c.Mode != tc.mode || c.Prefix != tc.prefix || !slices.Equal(u.Addrs, tc.addrs) || u.DB != tc.db ||
				u.Username != tc.user || u.Password != tc.pass || u.MasterName != tc.master || (u.TLSConfig != nil) != tc.tls {
				t.Fatalf("got mode %q prefix %q addrs %q db %d user %q pass %q master %q tls %v",
					c.Mode, c.Prefix, u.Addrs, u.DB, u.Username, u.Password, u.MasterName, u.TLSConfig != nil)
			}
			if c.Redacted != tc.redacted {
				t.Errorf("Redacted = %q, want %q", c.Redacted, tc.redacted)
			}
			if strings.Contains(c.Redacted, secret) || strings.Contains(c.Redacted, secretPlain) || strings.Contains(c.Redacted, "sp%40ss") {
				t.Errorf("Redacted leaks the password: %q", c.Redacted)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	const pw = "Hunter2Secret"
	cases := []struct {
		raw  string
		want string // in the error
	}{
		{"", "no scheme"},
		{"localhost:6379", "no scheme"},
		{"http://u:" + pw + "@h:1", `unknown URL scheme "http"`},
		{"redis+foo://u:" + pw + "@h:1", `unknown URL scheme "redis+foo"`},
		{"u:" + pw + "@h://x", "bad scheme"},
		{"redis://u:" + pw + "@", "no host"},
		{"redis://u:" + pw + "@h:1,h:2", "names one server"},
		{"redis://u:" + pw + "@h:99999", "malformed port"},
		{"redis://u:" + pw + "@h:port", "malformed port"},
		{"redis://u:" + pw + "@h:1/x", "invalid database number"},
		{"redis://u:" + pw + "@h:1/1/2", "invalid URL path"},
		{"redis://u:" + pw + "@h:1?prefix=a{b}", "key prefix"},
		{"redis://u:" + pw + "@h:1?prefix=", "key prefix"},
		{"redis://u:" + pw + "@h:1?nope=1", "unexpected option: nope"},
		{"redis://u:" + pw + "@h:1?dial_timeout=" + pw, "dial_timeout"},
		{"redis://u:" + pw + "@h:1#frag", "fragment"},
		{"redis://u:" + pw + "@x@h:1", "user name or password"},
		{"redis://u:Hunter2/Secret@h:1", "malformed"}, // an unescaped '/' ends the authority
		{"redis://u:Hunter2%zzSecret@h:1", "user name or password"},
		{"redis+sentinel://u:" + pw + "@h:1", "master name"},
		{"redis+sentinel://u:" + pw + "@h:1/m/x", "must be a number"},
		{"redis+sentinel://u:" + pw + "@h:1/m/1/2", "master name"},
		{"redis+sentinel://h:1/m?sentinel_password=" + pw + "&bad=1", "unexpected option: bad"},
		{"redis+cluster://u:" + pw + "@h:1/3", "only database 0"},
		{"redis+cluster://u:" + pw + "@h:1?db=2", "only database 0"},
		{"redis+cluster://u:" + pw + "@h:1,,h:2", "empty host"},
		{"redis+cluster://u:" + pw + "@h:1?max_redirects=x", "max_redirects"},
		{"redis://h:1?sentinel_password=" + pw, "unexpected option: sentinel_password"},
	}
	for _, tc := range cases {
		t.Run(tc.raw, func(t *testing.T) {
			c, err := ParseURL(tc.raw)
			if err == nil {
				t.Fatalf("ParseURL accepted it: %+v", c)
			}
			msg := err.Error()
			if strings.Contains(msg, pw) || strings.Contains(msg, "Hunter2") {
				t.Fatalf("error leaks the password: %v", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q does not say %q", msg, tc.want)
			}
		})
	}
}

// FuzzParseURL checks that no error and no Redacted form ever carries the password.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"redis://u:PW@h:1/2?prefix=x", "redis+sentinel://u:PW@a,b/m/1", "redis+cluster://:PW@a:1,b:2",
		"rediss://u:PW@h?dial_timeout=PW", "redis://u:PW/x@h:1", "redis://u:P%2FW@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		const pw = "PW"
		if strings.Count(raw, pw) != 1 || !strings.Contains(raw, ":"+pw+"@") {
			t.Skip()
		}
		c, err := ParseURL(raw)
		if err != nil {
			if strings.Contains(err.Error(), pw) {
				t.Fatalf("error leaks the password: %v", err)
			}
			return
		}
		if strings.Contains(c.Redacted, pw) {
			t.Fatalf("Redacted leaks the password: %q", c.Redacted)
		}
	})
}
